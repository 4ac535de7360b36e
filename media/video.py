"""Frame-accurate random access to video.

A `VideoReader` first demuxes the whole stream once, without decoding
(0.3 s for 10 min of 720p, PERFORMANCE.md), to learn the presentation
timestamp of every frame and where the keyframes are. Times come from the
stream's own timestamps, so variable frame rate files are exact; nothing is
guessed from the frame rate.

`frame(i)` then seeks to the keyframe at or before frame i and decodes
forward to it. A request just ahead of the last decoded frame (stepping,
playback) keeps decoding instead of seeking again. Decoded RGB frames are
kept in a small LRU cache.

Time 0 is the container's start: t = (pts - container start) * time_base.
A reader is not thread-safe; give each thread its own. It decodes with
FFmpeg's default slice threading. `thread_type="AUTO"` (frame threads) made
deep seeks ~10% faster here, but when a packet fails to decode, the frames
still in flight in other threads are lost too, so a damaged tail would cost
good frames before it.
"""

from __future__ import annotations

import os
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from labeldesk.media.errors import MediaError, Problem, check_file, open_container
from labeldesk.media.probe import frame_rotation, is_variable_rate

__all__ = ["VideoFrame", "VideoIndex", "VideoReader", "build_index", "open_video"]

# Stepping this many frames forward is cheaper than a seek (a seek plus the
# first decode costs ~15 ms, a decoded frame ~2 ms at 720p).
_CONTINUE_MAX_FRAMES = 8
_DEFAULT_CACHE_BYTES = 512 << 20


@dataclass(frozen=True)
class VideoFrame:
    index: int
    pts: float  # seconds
    rgb: np.ndarray  # (height, width, 3) uint8, read-only (shared with the cache)
    rotation: int  # degrees counter-clockwise the file asks frames to be turned for display
    rotation_applied: bool  # True: `rgb` is already upright


@dataclass(frozen=True)
class VideoIndex:
    """Every frame's timestamp and the keyframes, from one demux pass."""

    stream_index: int
    time_base: Fraction
    origin: int  # pts of t = 0 (the container start) in time_base ticks
    frame_pts: np.ndarray  # int64, ascending (presentation order)
    keyframe_pts: np.ndarray  # int64, ascending
    complete: bool  # False when demuxing stopped at damaged or missing data

    def seconds(self, pts: np.ndarray | int) -> np.ndarray | float:
        return (np.asarray(pts, np.int64) - self.origin) * float(self.time_base)


def open_video(path: str | os.PathLike[str]) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    """Open a file's first real video stream (cover art is not video); MediaError if none."""
    p = check_file(path)
    container = open_container(p)
    stream = next((s for s in container.streams.video
                   if not s.disposition & av.stream.Disposition.attached_pic), None)
    if stream is None:
        container.close()
        raise MediaError(p, Problem.NO_VIDEO)
    if stream.codec_context is None:  # PyAV found no decoder for the stream's codec
        container.close()
        raise MediaError(p, Problem.UNSUPPORTED, "no decoder for the video stream's codec")
    return container, stream


def build_index(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> VideoIndex:
    """Demux (no decode) `stream` from the start and collect packet timestamps.

    Leaves the container at its end; seek before decoding.
    """
    for other in container.streams:
        other.discard = av.stream.Discard.default if other is stream else av.stream.Discard.all
    pts: list[int] = []
    keys: list[int] = []
    complete = True
    try:
        for packet in container.demux(stream):
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None or packet.is_discard or not packet.size:
                continue
            pts.append(stamp)
            if packet.is_keyframe:
                keys.append(stamp)
    except av.FFmpegError:
        complete = False  # a cut or damaged tail: index what could be read
    tb = stream.time_base or Fraction(1, 1)
    start = container.start_time
    origin = int(round(start / av.time_base / tb)) if start is not None else 0
    frame_pts = np.unique(np.asarray(pts, np.int64))
    key_pts = np.unique(np.asarray(keys, np.int64))
    return VideoIndex(stream.index, Fraction(tb), origin, frame_pts, key_pts, complete)


class VideoReader:
    """Exact frames of one video file by index or time, with an LRU cache."""

    def __init__(self, path: str | os.PathLike[str], cache_frames: int = 64, *,
                 apply_rotation: bool = True, cache_bytes: int = _DEFAULT_CACHE_BYTES,
                 thread_type: str = "SLICE") -> None:
        self.path = Path(path)
        self._container, self._stream = open_video(path)
        try:
            self._ctx = self._stream.codec_context
            self._ctx.thread_type = thread_type
            self.index = build_index(self._container, self._stream)
            if len(self.index.frame_pts) == 0:
                raise MediaError(self.path, Problem.CORRUPT, "the video stream holds no frames")
            if len(self.index.keyframe_pts) == 0:
                raise MediaError(self.path, Problem.CORRUPT, "the video stream holds no keyframe to decode from")
        except BaseException:
            self._container.close()
            raise
        self._pts = self.index.frame_pts
        self.frame_times: np.ndarray = self.index.seconds(self._pts)
        self.keyframe_times: np.ndarray = self.index.seconds(self.index.keyframe_pts)
        self.keyframe_indices: np.ndarray = np.searchsorted(self._pts, self.index.keyframe_pts)
        self.width = int(self._ctx.width)
        self.height = int(self._ctx.height)
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.avg_fps: float | None = float(rate) if rate else None
        self.variable_frame_rate = is_variable_rate(self._pts)
        self.apply_rotation = apply_rotation
        self._cache: OrderedDict[int, VideoFrame] = OrderedDict()
        self._cache_frames = max(0, int(cache_frames))
        self._cache_bytes = int(cache_bytes)
        self._cached_bytes = 0
        self._packets: Iterator[av.Packet] | None = None
        self._decoded: deque[av.VideoFrame] = deque()
        self._last_pts: int | None = None  # pts of the last frame the decoder gave us
        self._bad_from: int | None = None  # first frame index found undecodable at the tail
        self._seek_key = 0
        self.decode_errors = 0
        try:
            # Validates the stream at once, gives the rotation, and frame 0 is wanted first anyway.
            self.rotation = self.frame(0).rotation
        except BaseException:
            self._container.close()
            raise

    # --- description ---

    @property
    def n_frames(self) -> int:
        return len(self._pts)

    @property
    def duration(self) -> float:
        """Seconds from t = 0 to the end of the last frame."""
        times = self.frame_times
        last = times[-1] - times[-2] if len(times) > 1 else (1.0 / self.avg_fps if self.avg_fps else 0.0)
        return float(times[-1] + last)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) of the frames this reader returns."""
        turned = self.apply_rotation and self.rotation % 180
        return (self.height, self.width) if turned else (self.width, self.height)

    def frame_index_at(self, t: float) -> int:
        """The frame shown at time t: the last one whose pts <= t (clamped to the stream)."""
        i = int(np.searchsorted(self.frame_times, t, side="right")) - 1
        return min(max(i, 0), self.n_frames - 1)

    def next_keyframe_time(self, t: float) -> float | None:
        """The first keyframe strictly after t, or None."""
        i = int(np.searchsorted(self.keyframe_times, t + 1e-9, side="right"))
        return float(self.keyframe_times[i]) if i < len(self.keyframe_times) else None

    def prev_keyframe_time(self, t: float) -> float | None:
        """The last keyframe strictly before t, or None."""
        i = int(np.searchsorted(self.keyframe_times, t - 1e-9, side="left")) - 1
        return float(self.keyframe_times[i]) if i >= 0 else None

    # --- frames ---

    def frame_at(self, t: float) -> VideoFrame:
        return self.frame(self.frame_index_at(t))

    def frame(self, index: int) -> VideoFrame:
        """Frame `index` (presentation order), decoded exactly; raises MediaError when undecodable."""
        if not 0 <= index < self.n_frames:
            raise IndexError(f"frame {index} out of range 0..{self.n_frames - 1}")
        hit = self._cache.get(index)
        if hit is not None:
            self._cache.move_to_end(index)
            return hit
        if self._bad_from is not None and index >= self._bad_from:
            raise self._tail_error(index)
        if not self._can_continue_to(index):
            self._seek(self._keyframe_for(index))
        return self._decode_to(index)

    def close(self) -> None:
        self._packets = None
        self._decoded.clear()
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- decoding ---

    def _keyframe_for(self, index: int) -> int:
        """Position in keyframe_pts of the last keyframe at or before frame `index`."""
        k = int(np.searchsorted(self.index.keyframe_pts, self._pts[index], side="right")) - 1
        return max(k, 0)

    def _can_continue_to(self, index: int) -> bool:
        if self._last_pts is None or self._packets is None:
            return False
        target = self._pts[index]
        if self._last_pts >= target:
            return False
        key = self.index.keyframe_pts[self._keyframe_for(index)]
        if self._last_pts >= key:
            return True  # already inside the target's group of pictures
        last_index = int(np.searchsorted(self._pts, self._last_pts))
        return index - last_index <= _CONTINUE_MAX_FRAMES

    def _seek(self, key: int) -> None:
        pts = int(self.index.keyframe_pts[key])
        self._container.seek(pts, stream=self._stream, backward=True, any_frame=False)
        self._ctx.flush_buffers()
        self._packets = self._container.demux(self._stream)
        self._decoded.clear()
        self._last_pts = None
        self._seek_key = key

    def _next_decoded(self) -> av.VideoFrame | None:
        """The decoder's next frame in presentation order, or None at the end of the stream."""
        while not self._decoded:
            if self._packets is None:
                return None
            try:
                packet = next(self._packets)
            except (StopIteration, av.FFmpegError):
                packet = None  # end, or a cut/damaged file: drain what the decoder holds
            try:
                frames = self._ctx.decode(packet if packet is not None and packet.size else None)
            except av.FFmpegError:
                self.decode_errors += 1  # one damaged packet; later ones may decode
                frames = []
            if packet is None or not packet.size:
                self._packets = None
            self._decoded.extend(frames)
        return self._decoded.popleft()

    def _decode_to(self, index: int) -> VideoFrame:
        target = int(self._pts[index])
        just_sought = self._last_pts is None
        while True:
            frame = self._next_decoded()
            if frame is None:
                self._bad_from = index if self._bad_from is None else min(self._bad_from, index)
                raise self._tail_error(index)
            pts = frame.pts if frame.pts is not None else frame.dts
            if pts is None:
                raise MediaError(self.path, Problem.UNSUPPORTED, "decoded frames carry no timestamps")
            self._last_pts = pts
            if just_sought and pts > target:
                # The seek landed after the target (inexact container index):
                # go one keyframe further back, and at worst to the start.
                if self._seek_key == 0:
                    raise MediaError(self.path, Problem.CORRUPT,
                                     f"frame {index} at {self.frame_times[index]:.3f} s cannot be reached")
                self._seek(self._seek_key - 1)
                continue
            just_sought = False
            if pts < target:
                continue
            if pts > target:
                raise MediaError(self.path, Problem.CORRUPT,
                                 f"frame {index} at {self.frame_times[index]:.3f} s could not be decoded "
                                 "(damaged data; the decoder skipped it)")
            return self._remember(index, frame)

    def _remember(self, index: int, frame: av.VideoFrame) -> VideoFrame:
        rgb = frame.to_ndarray(format="rgb24")
        rotation = frame_rotation(frame)
        if self.apply_rotation and rotation:
            rgb = np.ascontiguousarray(np.rot90(rgb, k=rotation // 90))
        rgb.flags.writeable = False
        result = VideoFrame(index, float(self.frame_times[index]), rgb, rotation, self.apply_rotation)
        if self._cache_frames:
            self._cache[index] = result
            self._cached_bytes += rgb.nbytes
            while self._cache and (len(self._cache) > self._cache_frames
                                   or self._cached_bytes > self._cache_bytes):
                _, old = self._cache.popitem(last=False)
                self._cached_bytes -= old.rgb.nbytes
        return result

    def _tail_error(self, index: int) -> MediaError:
        good = self._last_good_before(index)
        where = (f"; the last frame that decodes is {good} at {self.frame_times[good]:.3f} s"
                 if good is not None else "")
        return MediaError(self.path, Problem.TRUNCATED,
                          f"frame {index} at {self.frame_times[index]:.3f} s is missing or undecodable: "
                          f"the file is cut short or its last group of pictures is broken{where}")

    def _last_good_before(self, index: int) -> int | None:
        """The last frame this decoding pass produced before `index`, if any."""
        if self._last_pts is not None and self._last_pts < self._pts[index]:
            return int(np.searchsorted(self._pts, self._last_pts))
        return None
