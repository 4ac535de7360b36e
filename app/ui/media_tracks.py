"""One media file as the media pane uses it, decoded on worker threads.

* `MediaProbe` reads what the file holds (off the GUI thread: media may live
  on a shared network path).
* `AudioTrack` builds the peak pyramid (progress, cancel, an early overview
  of long files), renders spectrogram images of the visible range and snaps
  times to zero crossings.
* `VideoTrack` owns a `VideoReader` on its own thread, decodes the frame for
  the newest requested time only, and makes the keyframe thumbnails.

Each object serves one file and is thrown away when the pane shows another:
`close()` stops its threads and drops results still in flight, so a late
frame of the previous file never reaches the next one. Results arrive through
signals of these QObjects, which live on the GUI thread, so their slots run
there.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from labeldesk.app.ui.media_workers import Job, LatestWorker
from labeldesk.media.audio import AudioSource, nearest_zero_crossing, open_audio
from labeldesk.media.errors import MediaError
from labeldesk.media.peaks import PeakPyramid, build_peaks
from labeldesk.media.probe import MediaInfo, probe
from labeldesk.media.spectrogram import spectrogram
from labeldesk.media.thumbnails import keyframe_thumbnails
from labeldesk.media.video import VideoFrame, VideoReader

__all__ = ["AudioTrack", "MediaProbe", "VideoInfo", "VideoTrack", "peaks_cache_dir", "spectrogram_image"]

_SPEC_FLOOR_DB, _SPEC_RANGE_DB = -90.0, 80.0  # a fixed scale: scrolling must not change the colours
_FRAME_CACHE = 48  # decoded frames kept by the reader (stepping back and forth hits them)
_FRAME_CACHE_BYTES = 128 << 20


def peaks_cache_dir(media_root: Path) -> Path | None:
    """<workspace>/cache/peaks beside the media folder, a temp dir when that is not writable, else None."""
    for candidate in (media_root.parent / "cache" / "peaks", Path(tempfile.gettempdir()) / "labeldesk-peaks"):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK):
            return candidate
    return None


def spectrogram_image(src: AudioSource, t0: float, t1: float, width: int, height: int) -> np.ndarray:
    """(height, width) uint8 image of [t0, t1): row 0 is the highest frequency, 255 is loud."""
    img = np.zeros((height, width), np.uint8)
    if width <= 0 or height <= 0 or t1 <= t0:
        return img
    n_fft = 1024 if src.sample_rate >= 32000 else 512
    spec = spectrogram(src, t0, t1, n_fft=n_fft, max_columns=width)
    n_cols = spec.db.shape[1]
    if n_cols == 0:
        return img
    centres = t0 + (np.arange(width) + 0.5) * ((t1 - t0) / width)
    cols = np.rint((centres - spec.times[0]) * spec.sample_rate / spec.hop).astype(np.int64)
    inside = (cols >= 0) & (cols < n_cols) & (centres >= 0)
    freqs = (1.0 - (np.arange(height) + 0.5) / height) * (spec.sample_rate / 2.0)
    bins = np.clip(np.rint(freqs * spec.n_fft / spec.sample_rate), 0, len(spec.freqs) - 1).astype(np.int64)
    levels = np.clip((spec.db - _SPEC_FLOOR_DB) * (255.0 / _SPEC_RANGE_DB), 0, 255).astype(np.uint8)
    img[:, inside] = levels[bins][:, cols[inside]]
    return img


@dataclass(frozen=True)
class VideoInfo:
    """What the GUI needs of an open VideoReader (copied out of the decoder thread)."""

    frame_times: np.ndarray  # seconds, ascending
    keyframe_times: np.ndarray
    duration: float
    width: int
    height: int
    fps: float | None

    @classmethod
    def of(cls, reader: VideoReader) -> VideoInfo:
        width, height = reader.display_size
        return cls(reader.frame_times.copy(), reader.keyframe_times.copy(), reader.duration,
                   width, height, reader.avg_fps)

    @property
    def n_frames(self) -> int:
        return len(self.frame_times)

    def index_at(self, t: float) -> int:
        """The frame shown at t (the rule of VideoReader.frame_index_at)."""
        i = int(np.searchsorted(self.frame_times, t, side="right")) - 1
        return min(max(i, 0), self.n_frames - 1)

    def snap(self, t: float) -> float:
        """The frame start nearest to t: a boundary there falls between two pictures."""
        i = int(np.searchsorted(self.frame_times, t))
        near = [float(self.frame_times[j]) for j in (i - 1, i) if 0 <= j < self.n_frames]
        return min(near, key=lambda ft: abs(ft - t))

    def keyframe_after(self, t: float) -> float | None:
        i = int(np.searchsorted(self.keyframe_times, t + 1e-9, side="right"))
        return float(self.keyframe_times[i]) if i < len(self.keyframe_times) else None

    def keyframe_before(self, t: float) -> float | None:
        i = int(np.searchsorted(self.keyframe_times, t - 1e-9, side="left")) - 1
        return float(self.keyframe_times[i]) if i >= 0 else None


class _Threads:
    """A track's jobs and workers.

    Not a QObject and without a reference to the track, so the track's
    `destroyed` signal can still stop them after the track's C++ side is gone
    (a Python destructor never runs reliably for Qt objects).
    """

    def __init__(self) -> None:
        self.items: list[Job | LatestWorker] = []

    def add(self, thread: Job | LatestWorker) -> None:
        self.items.append(thread)
        thread.start()

    def stop(self, *_: Any) -> None:
        for thread in self.items:
            thread.stop()
        self.items.clear()


class _Track(QObject):
    """Threads that end with this object; results after `close()` are dropped."""

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.closed = False
        self._threads = _Threads()
        self.destroyed.connect(self._threads.stop)

    def close(self) -> None:
        self.closed = True
        self._threads.stop()


def _probe_media(path: Path, _job: Job) -> tuple[MediaInfo, AudioSource | None]:
    info = probe(path)
    # Opened here too, off the GUI thread, and reused for peaks, snapping and the spectrogram.
    return info, open_audio(path) if info.audio is not None else None


class MediaProbe(_Track):
    """What a file holds: ``probed(MediaInfo, AudioSource | None)`` or ``failed(message)``."""

    probed = Signal(object, object)
    failed = Signal(str)

    def start(self) -> None:
        job = Job(partial(_probe_media, self.path), "probe")
        job.succeeded.connect(self._on_done)
        job.failed.connect(self._on_failed)
        self._threads.add(job)

    def _on_done(self, result: tuple[MediaInfo, AudioSource | None]) -> None:
        if not self.closed:
            self.probed.emit(*result)

    def _on_failed(self, message: str) -> None:
        if not self.closed:
            self.failed.emit(message)


class AudioTrack(_Track):
    """Peaks, spectrogram images and zero-crossing snapping of one file's audio."""

    progressed = Signal(float)
    pyramidChanged = Signal()  # the overview, then the complete pyramid
    ready = Signal()  # the complete pyramid is in
    failed = Signal(str)
    cancelled = Signal()
    spectrogramReady = Signal()

    def __init__(self, path: Path, source: AudioSource, cache_dir: Path | None, sha256: str | None,
                 parent: QObject | None = None) -> None:
        super().__init__(path, parent)
        self.source = source
        self.pyramid: PeakPyramid | None = None
        self._cache_dir = cache_dir
        self._sha256 = sha256
        self._peaks_job: Job | None = None
        self._spec_worker: LatestWorker | None = None
        self._spec_requested: tuple | None = None
        self._spec: tuple[tuple, np.ndarray] | None = None

    # --- peaks ---

    def building(self) -> bool:
        return self._peaks_job is not None

    def build_peaks(self) -> None:
        if self._peaks_job is not None or self.closed:
            return
        path, cache, sha = self.path, self._cache_dir, self._sha256

        def work(job: Job) -> PeakPyramid:
            return build_peaks(path, cache, progress=job.progressed.emit, cancel=job.is_cancelled,
                               partial=job.partial.emit, sha256=sha)

        job = Job(work, "peaks")
        job.progressed.connect(self._on_progress)
        job.partial.connect(self._on_overview)
        job.succeeded.connect(self._on_pyramid)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        self._peaks_job = job
        self._threads.add(job)

    def cancel_peaks(self) -> None:
        if self._peaks_job is not None:
            self._peaks_job.cancel()

    def _on_progress(self, fraction: float) -> None:
        if not self.closed:
            self.progressed.emit(fraction)

    def _on_overview(self, pyramid: PeakPyramid) -> None:
        if not self.closed and (self.pyramid is None or not self.pyramid.complete):
            self.pyramid = pyramid  # shown at once; the complete pyramid replaces it
            self.pyramidChanged.emit()

    def _on_pyramid(self, pyramid: PeakPyramid) -> None:
        self._peaks_job = None
        if not self.closed:
            self.pyramid = pyramid
            self.pyramidChanged.emit()
            self.ready.emit()

    def _on_failed(self, message: str) -> None:
        self._peaks_job = None
        if not self.closed:
            self.failed.emit(message)

    def _on_cancelled(self) -> None:
        self._peaks_job = None
        if not self.closed:
            self.cancelled.emit()

    def envelope(self, t0: float, t1: float, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel min/max for the waveform; NaN (nothing drawn) until peaks exist."""
        if self.pyramid is not None:
            try:
                return self.pyramid.envelope(t0, t1, width)
            except MediaError:
                pass  # the file changed under the cache: show nothing rather than fail a paint
        empty = np.full((max(0, width), 1), np.nan, np.float32)
        return empty, empty

    # --- spectrogram ---

    def spectrogram(self, t0: float, t1: float, width: int, height: int) -> np.ndarray:
        """The image of this view when computed; otherwise it is requested and the last one stands in."""
        key = (t0, t1, width, height)
        if self._spec is not None and self._spec[0] == key:
            return self._spec[1]
        if key != self._spec_requested and not self.closed:
            if self._spec_worker is None:
                src = self.source
                worker = LatestWorker(lambda: src, lambda s, k: (k, spectrogram_image(s, *k)), name="spectrogram")
                worker.done.connect(self._on_spectrogram)
                self._spec_worker = worker
                self._threads.add(worker)
            self._spec_requested = key
            self._spec_worker.request(key)
        if self._spec is not None and self._spec[1].shape == (height, width):
            return self._spec[1]
        return np.zeros((height, width), np.uint8)

    def _on_spectrogram(self, _seq: int, result: tuple[tuple, np.ndarray]) -> None:
        if not self.closed:
            self._spec = result
            self.spectrogramReady.emit()

    # --- snapping ---

    def snap(self, t: float) -> float:
        """The nearest zero crossing (±10 ms): a cut there does not click. A short read on this thread."""
        try:
            return nearest_zero_crossing(self.source, t)
        except MediaError:
            return t


class VideoTrack(_Track):
    """Exact frames of one video file for the newest requested time, and its keyframe thumbnails."""

    opened = Signal(object)  # VideoInfo
    openFailed = Signal(str)
    frameReady = Signal(object)  # VideoFrame
    frameFailed = Signal(str)
    thumbnailsReady = Signal(object)  # [(time, rgb)]

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__(path, parent)
        self.info: VideoInfo | None = None
        self._worker: LatestWorker | None = None
        self._requested = -1  # frame index last asked for
        self._seq_shown = 0  # newest request whose answer was handed out

    def start(self, thumb_count: int, thumb_height: int) -> None:
        path = self.path
        worker = LatestWorker(
            lambda: VideoReader(path, cache_frames=_FRAME_CACHE, cache_bytes=_FRAME_CACHE_BYTES),
            lambda reader, index: reader.frame(index),
            VideoInfo.of, lambda reader: reader.close(), name="frames")
        worker.opened.connect(self._on_opened)
        worker.openFailed.connect(self._on_open_failed)
        worker.done.connect(self._on_frame)
        worker.failed.connect(self._on_frame_failed)
        self._worker = worker
        self._threads.add(worker)
        job = Job(lambda _job: keyframe_thumbnails(path, thumb_count, thumb_height), "thumbnails")
        job.succeeded.connect(self._on_thumbnails)
        self._threads.add(job)

    @property
    def decoded(self) -> int:
        """Frame requests the decoder actually served (superseded ones are not counted)."""
        return self._worker.handled if self._worker is not None else 0

    def show_time(self, t: float) -> None:
        """Ask for the frame shown at t; a request not started yet is replaced by this one."""
        if self.info is None or self._worker is None or self.closed:
            return
        index = self.info.index_at(t)
        if index != self._requested:
            self._requested = index
            self._worker.request(index)

    def _on_opened(self, info: VideoInfo) -> None:
        if not self.closed:
            self.info = info
            self.opened.emit(info)

    def _on_open_failed(self, message: str) -> None:
        if not self.closed:
            self.openFailed.emit(message)

    def _on_frame(self, seq: int, frame: VideoFrame) -> None:
        if self.closed or seq < self._seq_shown:
            return  # an older request finished after a newer one was shown
        self._seq_shown = seq
        self.frameReady.emit(frame)

    def _on_frame_failed(self, seq: int, message: str) -> None:
        if self.closed or seq < self._seq_shown:
            return
        self._seq_shown = seq
        self._requested = -1  # the next request of this frame tries again
        self.frameFailed.emit(message)

    def _on_thumbnails(self, thumbs: list[tuple[float, np.ndarray]]) -> None:
        if not self.closed:
            self.thumbnailsReady.emit(thumbs)
