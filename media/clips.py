"""Cut a labeled time range out of a media file into a new file.

Audio is cut at exact samples and written losslessly (FLAC or WAV). Video is
re-encoded (H.264, plus AAC when the source has sound) from the frame shown
at t0 up to the last frame that starts before t1, so the clip holds exactly
the frames the annotator saw; copying packets would have to start at a
keyframe. The result is written under a temporary name and renamed, so a
crash never leaves a half-written clip under the real name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
import soundfile as sf

from labeldesk.media.audio import AudioSource, iter_blocks, open_audio
from labeldesk.media.errors import Cancelled, MediaError, Problem
from labeldesk.media.files import write_atomically
from labeldesk.media.probe import probe
from labeldesk.media.video import build_index, open_video

__all__ = ["Clip", "cut_clip"]

_AUDIO_FORMATS = {".flac": "FLAC", ".wav": "WAV"}
_VIDEO_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
_LOSSLESS_SUBTYPES = {"FLAC": {"PCM_16", "PCM_24", "PCM_S8"}, "WAV": {"PCM_16", "PCM_24", "PCM_32", "FLOAT"}}
_X264_OPTIONS = {"preset": "fast", "crf": "18"}


@dataclass(frozen=True)
class Clip:
    path: Path
    kind: Literal["audio", "video"]
    start: float  # seconds in the source where the clip really starts (a sample or frame boundary)
    end: float  # seconds in the source where it ends (exclusive)


def cut_clip(src: str | os.PathLike[str], dst: str | os.PathLike[str], t0: float, t1: float, *,
             progress: Callable[[float], None] | None = None,
             cancel: Callable[[], bool] | None = None) -> Clip:
    """Write the range [t0, t1) of `src` to `dst`; the extension of dst picks the format.

    .flac/.wav give an audio clip (of a video's sound too); .mp4/.m4v/.mov/.mkv
    give a video clip. Raises MediaError for unusable sources, ValueError for
    an empty range or an unknown extension, Cancelled when cancel() says so.
    """
    src, dst = Path(src), Path(dst)
    if not t1 > t0:
        raise ValueError(f"cannot cut {src}: the range [{t0}, {t1}) is empty")
    suffix = dst.suffix.lower()
    if suffix in _AUDIO_FORMATS:
        return _cut_audio(open_audio(src), dst, _AUDIO_FORMATS[suffix], t0, t1, progress, cancel)
    if suffix in _VIDEO_FORMATS:
        return _cut_video(src, dst, _VIDEO_FORMATS[suffix], t0, t1, progress, cancel)
    raise ValueError(f"cannot write a clip as {dst.name}: use one of "
                     f"{', '.join(sorted(_AUDIO_FORMATS) + sorted(_VIDEO_FORMATS))}")


def _cut_audio(source: AudioSource, dst: Path, fmt: str, t0: float, t1: float,
               progress, cancel) -> Clip:
    sr = source.sample_rate
    start = max(0, int(round(t0 * sr)))
    stop = int(round(t1 * sr))
    if source.frames is not None:
        stop = min(stop, source.frames)
    if stop <= start:
        raise ValueError(f"cannot cut {source.path}: [{t0}, {t1}) lies outside its {source.duration:.3f} s")
    subtype = _lossless_subtype(source, fmt)
    # 16-bit sources are copied as integers so the clip holds the very same samples.
    dtype = "int16" if subtype == "PCM_16" else "float32"
    written = 0

    def write(path: Path) -> None:
        nonlocal written
        with sf.SoundFile(str(path), "w", samplerate=sr, channels=source.channels,
                          subtype=subtype, format=fmt) as out:
            for block in iter_blocks(source, dtype=dtype, start=start, stop=stop):
                _check_cancel(cancel)
                out.write(block)
                written += len(block)
                if progress is not None:
                    progress(min(1.0, written / (stop - start)))

    write_atomically(dst, write)
    return Clip(dst, "audio", start / sr, (start + written) / sr)


def _lossless_subtype(source: AudioSource, fmt: str) -> str:
    if source.backend == "soundfile":
        subtype = sf.info(str(source.path)).subtype
        if subtype in _LOSSLESS_SUBTYPES[fmt]:
            return subtype
    return "PCM_24"  # decoded lossy audio: 24 bits keep it all and FLAC still compresses it


def _cut_video(src: Path, dst: Path, fmt: str, t0: float, t1: float, progress, cancel) -> Clip:
    info = probe(src)
    if info.video is None:
        raise MediaError(src, Problem.NO_VIDEO, f"cannot write a video clip to {dst.name}")
    container, stream = open_video(src)
    with container:
        index = build_index(container, stream)
        times = index.seconds(index.frame_pts)
        first = max(0, int(np.searchsorted(times, t0, side="right")) - 1)
        last = max(first + 1, int(np.searchsorted(times, t1, side="left")))  # exclusive
        pts_first, pts_last = int(index.frame_pts[first]), int(index.frame_pts[last - 1])
        start = float(times[first])
        end = float(times[last]) if last < len(times) else info.duration or float(times[-1])
        key = index.keyframe_pts[max(0, int(np.searchsorted(index.keyframe_pts, pts_first, side="right")) - 1)]
        container.seek(int(key), stream=stream, backward=True, any_frame=False)
        stream.codec_context.flush_buffers()
        audio = open_audio(src) if info.audio is not None else None

        def write(path: Path) -> None:
            with av.open(str(path), "w", format=fmt) as out:
                ov = out.add_stream("libx264", rate=stream.average_rate or stream.guessed_rate or 30)
                ov.width, ov.height, ov.pix_fmt = stream.codec_context.width, stream.codec_context.height, "yuv420p"
                ov.codec_context.time_base = index.time_base  # keep the source timestamps: VFR stays VFR
                ov.options = dict(_X264_OPTIONS)
                if info.video.rotation:
                    ov.set_display_rotation(info.video.rotation)
                oa = None
                if audio is not None:
                    oa = out.add_stream("aac", rate=audio.sample_rate)
                    oa.layout = av.AudioLayout(f"{audio.channels}c").name  # FFmpeg's default layout for the count
                done = 0
                for frame in _frames_between(container, stream, pts_first, pts_last, src):
                    _check_cancel(cancel)
                    frame.pts -= pts_first
                    frame.time_base = index.time_base
                    frame.pict_type = av.video.frame.PictureType.NONE  # let x264 choose frame types
                    if frame.format.name != "yuv420p":
                        frame = frame.reformat(format="yuv420p")
                    for packet in ov.encode(frame):
                        out.mux(packet)
                    done += 1
                    if progress is not None:
                        progress(min(0.95, done / (last - first)))
                for packet in ov.encode(None):
                    out.mux(packet)
                if oa is not None:
                    _encode_audio(out, oa, audio, start, end, cancel)

        write_atomically(dst, write)
    if progress is not None:
        progress(1.0)
    return Clip(dst, "video", start, end)


def _frames_between(container, stream, pts_first: int, pts_last: int, src: Path):
    """Decoded frames with pts_first <= pts <= pts_last, in presentation order."""
    ctx = stream.codec_context
    expected_first = True
    for packet in container.demux(stream):
        try:
            frames = ctx.decode(packet if packet.size else None)
        except av.FFmpegError as exc:
            raise MediaError(src, Problem.CORRUPT, f"video decoding failed while cutting ({exc})") from None
        for frame in frames:
            if frame.pts is None or frame.pts < pts_first:
                continue
            if expected_first and frame.pts != pts_first:
                raise MediaError(src, Problem.CORRUPT, "the first frame of the clip could not be decoded")
            expected_first = False
            if frame.pts > pts_last:
                return
            yield frame
            if frame.pts == pts_last:
                return
    if expected_first:
        raise MediaError(src, Problem.TRUNCATED, "the clip's frames are missing from the file")


def _encode_audio(out, oa, audio: AudioSource, start: float, end: float, cancel) -> None:
    """Encode the sound under [start, end) of the container clock."""
    sr = audio.sample_rate
    first = max(0, int(round((start - audio.start_time) * sr)))
    stop = max(first, int(round((end - audio.start_time) * sr)))
    layout = oa.layout.name
    pts = 0
    for block in iter_blocks(audio, dtype="float32", start=first, stop=stop):
        _check_cancel(cancel)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block.T), format="fltp", layout=layout)
        frame.sample_rate = sr
        frame.pts = pts
        frame.time_base = Fraction(1, sr)
        pts += len(block)
        for packet in oa.encode(frame):
            out.mux(packet)
    for packet in oa.encode(None):
        out.mux(packet)


def _check_cancel(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled()
