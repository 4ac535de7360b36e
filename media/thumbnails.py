"""Timeline thumbnails from keyframes only.

Decoding only keyframes (`skip_frame="NONKEY"`) skips everything between
them: 100 thumbnails of a 10 min 720p file take ~1 s (PERFORMANCE.md). When
far fewer thumbnails than keyframes are wanted, seeking to each chosen
keyframe is cheaper than reading the whole file.
"""

from __future__ import annotations

import os

import av
import numpy as np

from labeldesk.media.errors import MediaError, Problem
from labeldesk.media.probe import frame_rotation
from labeldesk.media.video import build_index, open_video

__all__ = ["keyframe_thumbnails"]

# Seeking pays off when it skips at least this many keyframes per thumbnail.
_SEEK_RATIO = 4


def keyframe_thumbnails(path: str | os.PathLike[str], count: int, height: int
                        ) -> list[tuple[float, np.ndarray]]:
    """Up to `count` (time, rgb) thumbnails, `height` pixels high, spread evenly over the keyframes.

    Times are keyframe times on the VideoReader clock; images are upright
    (the display rotation is applied) and keep the display aspect ratio.
    A file with fewer keyframes than `count` gives one per keyframe.
    """
    if count <= 0:
        return []
    if height <= 0:
        raise ValueError("height must be positive")
    container, stream = open_video(path)
    with container:
        index = build_index(container, stream)
        keys = index.keyframe_pts
        if len(keys) == 0:
            raise MediaError(path, Problem.CORRUPT, "the video stream holds no keyframes")
        chosen = keys[np.unique(np.linspace(0, len(keys) - 1, min(count, len(keys))).round().astype(int))]
        ctx = stream.codec_context
        ctx.skip_frame = "NONKEY"
        frames = (_seek_each(container, stream, chosen) if len(keys) >= _SEEK_RATIO * len(chosen)
                  else _scan(container, stream, set(chosen.tolist())))
        sar = float(stream.sample_aspect_ratio or 1) or 1.0
        return [(float(index.seconds(frame.pts)), _scaled_rgb(frame, height, sar)) for frame in frames]


def _scan(container, stream, wanted: set[int]):
    """Decode every keyframe from the start, keeping the wanted ones."""
    container.seek(0)
    stream.codec_context.flush_buffers()
    try:
        for packet in container.demux(stream):
            for frame in stream.codec_context.decode(packet if packet.size else None):
                if frame.pts in wanted:
                    wanted.discard(frame.pts)
                    yield frame
            if not wanted:
                return
    except av.FFmpegError:
        return  # damaged tail: keep the thumbnails found so far


def _seek_each(container, stream, chosen: np.ndarray):
    """Seek to each chosen keyframe and decode just it."""
    ctx = stream.codec_context
    for pts in chosen.tolist():
        container.seek(pts, stream=stream, backward=True, any_frame=False)
        ctx.flush_buffers()
        try:
            for packet in container.demux(stream):
                frames = ctx.decode(packet if packet.size else None)
                if frames:
                    yield frames[0]
                    break
        except av.FFmpegError:
            continue


def _scaled_rgb(frame: av.VideoFrame, height: int, sar: float) -> np.ndarray:
    rotation = frame_rotation(frame)
    turned = rotation % 180 != 0
    # Scale while converting to RGB (one swscale pass), then rotate the small image.
    shown_w = frame.width * sar  # non-square pixels (anamorphic video) shown at their real shape
    src_w, src_h = (frame.height, shown_w) if turned else (shown_w, frame.height)
    width = max(2, int(round(src_w * height / src_h)) // 2 * 2)
    out_w, out_h = (height, width) if turned else (width, height)
    rgb = frame.reformat(width=out_w, height=out_h, format="rgb24").to_ndarray()
    if rotation:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=rotation // 90))
    return rgb
