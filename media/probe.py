"""What a media file is: container, streams, duration, rotation; and its content hash.

`probe` reads headers and at most the first video frame (the only place the
display rotation can be read), so it costs milliseconds even for long files.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np

from labeldesk.media.audio import check_complete, open_audio
from labeldesk.media.errors import MediaError, Problem, check_file, diagnose

__all__ = ["AudioStreamInfo", "MediaInfo", "VideoStreamInfo", "probe", "frame_rotation", "is_variable_rate", "sha256_file"]

Kind = Literal["audio", "video", "image"]

# Demuxing this many packets tells constant from variable frame rate for
# practically every file, at the cost of a few milliseconds.
_VFR_SAMPLE_PACKETS = 240


@dataclass(frozen=True)
class AudioStreamInfo:
    sample_rate: int
    channels: int
    codec: str
    frames: int | None  # exact sample count when the header states it
    duration: float | None  # seconds
    start_time: float = 0.0  # seconds after the container start (A/V alignment)


@dataclass(frozen=True)
class VideoStreamInfo:
    width: int  # coded size; `display_size` accounts for rotation
    height: int
    codec: str
    avg_fps: float | None
    time_base: Fraction
    rotation: int  # degrees counter-clockwise to turn frames to show them upright
    frame_count: int | None  # from the container header, when it states one
    variable_frame_rate: bool  # judged from the first packets' timestamps
    start_time: float = 0.0

    @property
    def display_size(self) -> tuple[int, int]:
        return (self.height, self.width) if self.rotation % 180 else (self.width, self.height)


@dataclass(frozen=True)
class MediaInfo:
    path: str
    format: str  # container format, as FFmpeg/libsndfile names it
    duration: float | None
    size: int  # bytes
    audio: AudioStreamInfo | None
    video: VideoStreamInfo | None
    kind: Kind

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (the time base becomes "num/den")."""
        data = asdict(self)
        if self.video is not None:
            data["video"]["time_base"] = f"{self.video.time_base.numerator}/{self.video.time_base.denominator}"
        return data


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks into one reused buffer (hashlib drops the GIL)."""
    digest = hashlib.sha256()
    buf = bytearray(chunk)
    view = memoryview(buf)
    with open(path, "rb") as fh:
        while n := fh.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Describe a media file; raises MediaError naming the file when it is unusable."""
    p = check_file(path)
    size = p.stat().st_size
    try:
        container = av.open(str(p))
    except av.FFmpegError as exc:
        raise diagnose(p, exc) from None
    with container:
        fmt = container.format.name
        container_start = container.start_time / av.time_base if container.start_time is not None else 0.0
        video_stream = next((s for s in container.streams.video if not _is_cover_art(s)), None)
        is_image = video_stream is not None and (fmt.endswith("_pipe") or fmt == "image2")
        video = _video_info(p, container, video_stream, container_start) if video_stream is not None else None
        duration = container.duration / av.time_base if container.duration is not None else None
    audio = None
    if not is_image:
        try:
            src = open_audio(p)
        except MediaError as err:
            if err.problem is not Problem.NO_AUDIO:
                raise
        else:
            check_complete(src)
            audio = AudioStreamInfo(src.sample_rate, src.channels, src.codec, src.frames,
                                    src.duration or None, src.start_time)
            if src.frames is not None:
                duration = src.duration  # the decoder's exact count beats the container's estimate
    if video is None and audio is None:
        raise MediaError(p, Problem.UNSUPPORTED, f"the {fmt} file holds neither audio nor video")
    kind: Kind = "image" if is_image else ("video" if video is not None else "audio")
    return MediaInfo(str(p), fmt, None if kind == "image" else duration, size, audio, video, kind)


def _is_cover_art(stream: av.video.stream.VideoStream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _video_info(p: Path, container, stream, container_start: float) -> VideoStreamInfo:
    ctx = stream.codec_context
    tb = stream.time_base or Fraction(1, 1)
    rate = stream.average_rate or stream.guessed_rate
    pts: list[int] = []
    rotation = None
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and not packet.is_discard:
                pts.append(packet.pts)
            if rotation is None:
                for frame in stream.decode(packet if packet.size else None):
                    rotation = frame_rotation(frame)
                    break
            if len(pts) >= _VFR_SAMPLE_PACKETS and rotation is not None:
                break
    except av.FFmpegError as exc:
        if not pts:
            raise MediaError(p, Problem.CORRUPT, f"the video stream cannot be read ({exc})") from None
    if rotation is None:
        raise MediaError(p, Problem.CORRUPT, "the first video frame cannot be decoded")
    start = float(stream.start_time * tb) - container_start if stream.start_time is not None else 0.0
    return VideoStreamInfo(
        width=int(ctx.width),
        height=int(ctx.height),
        codec=ctx.name,
        avg_fps=float(rate) if rate else None,
        time_base=Fraction(tb),
        rotation=rotation,
        frame_count=int(stream.frames) or None,
        variable_frame_rate=is_variable_rate(pts),
        start_time=max(0.0, start),
    )


def frame_rotation(frame: av.VideoFrame) -> int:
    """Counter-clockwise degrees (0/90/180/270) from the frame's display matrix."""
    try:
        degrees = frame.rotation
    except (AttributeError, ValueError):
        return 0
    return int(round(degrees / 90.0)) * 90 % 360


def is_variable_rate(pts: list[int] | np.ndarray) -> bool:
    """True when frame durations differ by more than rounding to the time base allows."""
    if len(pts) < 3:
        return False
    steps = np.diff(np.sort(np.asarray(pts, dtype=np.int64)))
    steps = steps[steps > 0]
    if steps.size < 2:
        return False
    # Timestamps rounded to the time base jitter by one tick (29.97 fps in 1/1000).
    return int(steps.max() - steps.min()) > max(1, int(0.01 * np.median(steps)))
