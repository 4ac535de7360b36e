"""What a media file is: container, streams, duration, rotation; and its content hash.

`probe` reads headers, at most the first video frame (the only place the
display rotation can be read) and the packets just before the claimed end
(to tell a whole file from a cut one, `media.truncation`), so it costs
milliseconds even for long files.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np

from labeldesk.media.audio import check_complete, open_audio
from labeldesk.media.errors import MediaError, Problem, check_file, damaged, open_container
from labeldesk.media.extensions import check_extension
from labeldesk.media.truncation import data_end, needs_end_check

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
    duration: float | None  # seconds that can be decoded (for a cut file, less than its header says)
    size: int  # bytes
    audio: AudioStreamInfo | None  # stream details as the header states them
    video: VideoStreamInfo | None
    kind: Kind
    truncated_at: float | None = None  # seconds: where a cut file's data ends (None: the file is whole)
    warning: str | None = None  # names the file and says what is wrong, for the importer to show

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
    """Describe a media file; raises MediaError naming the file when it is unusable.

    The kind (audio, video, image) comes from the content, never the name. A
    known media extension that names another container than the content's
    (a PNG renamed .mp4) is refused with Problem.WRONG_EXTENSION: the store
    and everything downstream trust the extension (`media.extensions`).

    A file cut short after its header (an interrupted copy or recording) is
    described as far as it goes: `duration` is what can be decoded,
    `truncated_at` says where the data ends and `warning` says so in words.
    A cut file that cannot be used at all raises Problem.TRUNCATED: an MP4
    whose index ('moov' box) was at the end and is gone, or a file whose data
    ends before its first packet.
    """
    p = check_file(path)
    size = p.stat().st_size
    container = open_container(p)
    with container:
        fmt = container.format.name
        check_extension(p, container.format)
        container_start = container.start_time / av.time_base if container.start_time is not None else 0.0
        video_stream = next((s for s in container.streams.video if not _is_cover_art(s)), None)
        is_image = video_stream is not None and (fmt.endswith("_pipe") or fmt == "image2")
        video = _video_info(p, container, video_stream, container_start) if video_stream is not None else None
        duration = container.duration / av.time_base if container.duration is not None else None
        end = None if is_image else _data_end(p, container, video_stream, size)
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
    info = MediaInfo(str(p), fmt, None if kind == "image" else duration, size, audio, video, kind)
    return info if end is None else _cut_short(info, end - container_start)


def _cut_short(info: MediaInfo, end: float) -> MediaInfo:
    """`info` of a file whose data ends `end` seconds in, before the length its header states."""
    truncated_at = round(max(0.0, end), 6)
    if truncated_at == 0:
        raise MediaError(info.path, Problem.TRUNCATED, "the data ends before the first audio or video packet;"
                         " the recording or copy was probably interrupted")
    warning = (f"{info.path}: {Problem.TRUNCATED.value} — the header states {info.duration:.3f} s but the data"
               f" ends at {truncated_at:.3f} s; the recording or copy was probably interrupted")
    return replace(info, duration=truncated_at, truncated_at=truncated_at, warning=warning)


def _data_end(p: Path, container, video_stream, size: int) -> float | None:
    """Where the data of the streams probe describes ends, when short of the header's claim."""
    if not needs_end_check(p, container.format.name, size):
        return None
    streams = [s for s in (video_stream, *container.streams.audio[:1]) if s is not None]
    return data_end(container, streams)


def _is_cover_art(stream: av.video.stream.VideoStream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _video_info(p: Path, container, stream, container_start: float) -> VideoStreamInfo:
    ctx = stream.codec_context
    if ctx is None:  # PyAV found no decoder for the stream's codec
        raise MediaError(p, Problem.UNSUPPORTED, "no decoder for the video stream's codec")
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
            raise damaged(p, f"the video stream cannot be read ({exc})") from None
    if rotation is None:
        raise damaged(p, "the first video frame cannot be decoded")
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
