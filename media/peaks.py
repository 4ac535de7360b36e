"""Waveform peak pyramid: per-bin min/max at several resolutions, cached on disk.

The base level holds int16 min/max of every 256 samples per channel; each
coarser level halves the bin count by combining pairs of the level below
(cheap: 0.09 s for an hour, PERFORMANCE.md). A pane asks `envelope(t0, t1,
width)` and gets one (min, max) per pixel from the coarsest level whose bins
are still no wider than a pixel; zoomed in below 256 samples per pixel it
reads the samples themselves, so the view reaches single samples.

Building streams the file in fixed blocks: memory does not grow with the
length except for the pyramid itself (all levels: 1/64 of the int16 samples,
11 MB per hour of 48 kHz stereo). soundfile releases the interpreter lock, so
WAV/FLAC/MP3 are split over threads; PyAV holds it, so long PyAV-decoded
files (AAC, Opus, audio in video) are split over `media.peak_worker`
processes.

Cache: `<cache_dir>/<sha256>.peaks.npy` (all levels, one int16 array
(bins, channels, 2), opened with mmap) plus `<sha256>.peaks.json` (written
last; its presence marks a complete entry). `<cache_dir>/paths/` maps a
file's (path, size, mtime, inode) to its hash so a cache hit by path does not
re-hash a long file.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import math
import os
import re
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labeldesk.media.audio import AudioSource, iter_blocks, open_audio, read_samples, sample_windows
from labeldesk.media.errors import Cancelled, MediaError, Problem
from labeldesk.media.files import write_atomically
from labeldesk.media.probe import sha256_file

__all__ = ["BASE_BIN", "PeakLevel", "PeakPyramid", "build_peaks", "load_cached_peaks"]

BASE_BIN = 256  # samples per bin of the finest level
_BLOCK = BASE_BIN * 256  # decode block; a multiple of BASE_BIN so blocks hold whole bins
_TOP_BINS = 256  # stop halving once a level is this small
_DIRECT_LIMIT = 1 << 20  # samples per channel that envelope() may decode for one view
_FORMAT_VERSION = 1
_FULL_SCALE = 32768.0  # int16 -> float as libsndfile does: x / 32768
_OVERVIEW_MIN_SECONDS = 30.0  # shorter files are built before a partial view would help
_OVERVIEW_WINDOWS = {"soundfile": 192, "pyav": 96}  # ~1 ms per FLAC seek, a few for PyAV
_OVERVIEW_WINDOW = 2048
_PROCESS_MIN_SECONDS = 600.0  # below this, starting processes (~0.3 s each) costs more than it saves
_POLL = 0.1  # seconds between progress/cancel checks
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent

Progress = Callable[[float], None]
CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class PeakLevel:
    samples_per_bin: int
    data: np.ndarray  # (bins, channels, 2) int16; [..., 0] = min, [..., 1] = max


class PeakPyramid:
    """Min/max envelopes of one audio stream at several resolutions.

    `complete` is False for the quick overview handed to `partial` while the
    real pyramid is being built.
    """

    def __init__(self, levels: Sequence[PeakLevel], sample_rate: int, channels: int, n_samples: int,
                 *, source: AudioSource | str | os.PathLike[str] | None = None,
                 sha256: str | None = None, complete: bool = True) -> None:
        if not levels:
            raise ValueError("a peak pyramid needs at least one level")
        self.levels: tuple[PeakLevel, ...] = tuple(sorted(levels, key=lambda lv: lv.samples_per_bin))
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.n_samples = int(n_samples)
        self.sha256 = sha256
        self.complete = complete
        self._source = source
        self._last_read: tuple[int, int, np.ndarray] | None = None

    @property
    def duration(self) -> float:
        return self.n_samples / self.sample_rate

    def __repr__(self) -> str:
        return (f"PeakPyramid({self.duration:.3f} s, {self.sample_rate} Hz, {self.channels} ch, "
                f"{len(self.levels)} levels{'' if self.complete else ', partial'})")

    def level_for(self, samples_per_pixel: float) -> PeakLevel | None:
        """The coarsest level whose bins are no wider than a pixel (None: zoomed in past the base)."""
        chosen = None
        for level in self.levels:
            if level.samples_per_bin <= samples_per_pixel:
                chosen = level
        return chosen

    def envelope(self, t0: float, t1: float, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel (mins, maxs), float32 in [-1, 1], shape (width, channels).

        Pixel p covers [t0 + p*dt, t0 + (p+1)*dt) with dt = (t1 - t0) / width.
        Pixels outside the file are 0. Below one sample per pixel, min == max
        == the sample under the pixel.
        """
        width = int(width)
        mins = np.zeros((max(width, 0), self.channels), np.float32)
        maxs = np.zeros_like(mins)
        if width <= 0 or not t1 > t0:
            return mins, maxs
        s0, s1 = t0 * self.sample_rate, t1 * self.sample_rate
        edges = s0 + (s1 - s0) / width * np.arange(width + 1)
        spp = (s1 - s0) / width
        if spp < self.levels[0].samples_per_bin and s1 - s0 <= _DIRECT_LIMIT and self._source is not None:
            try:
                return self._from_samples(edges, mins, maxs)
            except MediaError:
                pass  # the source moved or broke: the base level is still worth showing
        level = self.level_for(spp) or self.levels[0]
        return self._from_level(level, edges, mins, maxs)

    def _from_level(self, level: PeakLevel, edges: np.ndarray, mins: np.ndarray,
                    maxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        spb = level.samples_per_bin
        n_bins = min(len(level.data), math.ceil(self.n_samples / spb))
        at = np.floor(edges / spb).astype(np.int64)
        scale = np.float32(1.0 / _FULL_SCALE)
        _reduce_pixels(level.data[:, :, 0], level.data[:, :, 1], at, n_bins, edges > 0, mins, maxs, scale)
        return mins, maxs

    def _from_samples(self, edges: np.ndarray, mins: np.ndarray,
                      maxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start = int(max(0, math.floor(edges[0])))
        stop = int(min(self.n_samples, math.ceil(edges[-1])))
        if stop <= start:
            return mins, maxs
        x = self._read(start, stop)
        at = np.floor(edges).astype(np.int64) - start
        _reduce_pixels(x, x, at, len(x), edges > start, mins, maxs, np.float32(1.0))
        return mins, maxs

    def _read(self, start: int, stop: int) -> np.ndarray:
        """Samples for a deep zoom; the last range is kept since panes repaint the same view often."""
        last = self._last_read
        if last is not None and last[0] <= start and stop <= last[1]:
            return last[2][start - last[0]:stop - last[0]]
        if not isinstance(self._source, AudioSource):
            self._source = open_audio(self._source)
        x = read_samples(self._source, start, stop)
        self._last_read = (start, start + len(x), x)
        return x


def _reduce_pixels(lows: np.ndarray, highs: np.ndarray, at: np.ndarray, n: int, after_origin: np.ndarray,
                   mins: np.ndarray, maxs: np.ndarray, scale: np.float32) -> None:
    """Fill per-pixel min/max from elements (bins or samples) along axis 0.

    `at[p]` is the element under pixel edge p; pixel p takes elements
    [at[p], at[p+1]) and, when narrower than one element, the element under
    its left edge. `after_origin[p]` says edge p lies after the first element.
    Pixels with no elements keep their zeros.
    """
    starts = at[:-1]
    pixels = np.flatnonzero((starts < n) & after_origin[1:])
    if pixels.size == 0 or n == 0:
        return
    p0, p1 = int(pixels[0]), int(pixels[-1]) + 1
    idx = np.clip(starts[p0:p1], 0, n - 1)
    stop = int(min(n, max(at[p1], idx[-1] + 1)))
    rel = idx - idx[0]
    # reduceat over [rel[i], rel[i+1]) yields lows[rel[i]] where rel does not increase.
    mins[p0:p1] = np.minimum.reduceat(lows[idx[0]:stop], rel, axis=0) * scale
    maxs[p0:p1] = np.maximum.reduceat(highs[idx[0]:stop], rel, axis=0) * scale


# --- building ---------------------------------------------------------------

def build_peaks(path: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None,
                progress: Progress | None = None, cancel: CancelCheck | None = None,
                partial: Callable[[PeakPyramid], None] | None = None, *,
                sha256: str | None = None, workers: int | None = None) -> PeakPyramid:
    """Build (or load from the cache) the peak pyramid of `path`'s audio.

    progress(fraction) is called from this thread about ten times a second;
    cancel() is polled as often and, when it returns True, stops the work and
    raises media.errors.Cancelled. partial(pyramid) may be called once, early,
    with a coarse overview (`complete=False`) of a long file. Pass `sha256`
    when the caller already knows the file's hash (saves reading it);
    `workers` overrides how many threads/processes decode in parallel.
    Raises MediaError for unusable files.
    """
    src = open_audio(path)
    cache = _Cache(Path(cache_dir)) if cache_dir is not None else None
    digest = sha256 or (sha256_file(src.path) if cache is not None else None)
    if cache is not None:
        hit = cache.load(digest, src)
        if hit is not None:
            cache.remember(src.path, digest)
            _report(progress, 1.0)
            return hit
    if partial is not None and src.estimated_frames >= _OVERVIEW_MIN_SECONDS * src.sample_rate:
        overview = _overview(src)
        if overview is not None:
            partial(overview)
    base, n_samples = _build_base(src, progress, cancel, workers)
    if n_samples == 0:
        raise MediaError(src.path, Problem.CORRUPT, "no audio samples could be decoded")
    pyramid = PeakPyramid(derive_levels(base), src.sample_rate, src.channels, n_samples,
                          source=src, sha256=digest)
    if cache is not None:
        cache.save(digest, pyramid)
        cache.remember(src.path, digest)
        pyramid = cache.load(digest, src) or pyramid  # hand out the mmap, not a second copy
    _report(progress, 1.0)
    return pyramid


def load_cached_peaks(path_or_sha: str | os.PathLike[str],
                      cache_dir: str | os.PathLike[str]) -> PeakPyramid | None:
    """The cached pyramid for a file (or its sha256), or None when there is none.

    By path, the (path, size, mtime, inode) index answers without hashing;
    only a file never seen at this path is hashed.
    """
    cache = _Cache(Path(cache_dir))
    text = os.fspath(path_or_sha)
    if _SHA_RE.fullmatch(text) and not os.path.exists(text):
        return cache.load(text, None)
    p = Path(text)
    if not p.is_file():
        return None
    digest = cache.lookup(p)
    if digest is None:
        digest = sha256_file(p)
        if not cache.has(digest):
            return None
        cache.remember(p, digest)
    return cache.load(digest, p)


def derive_levels(base: np.ndarray) -> list[PeakLevel]:
    """Base level plus coarser levels, each combining pairs of bins of the one below."""
    levels = [PeakLevel(BASE_BIN, base)]
    current, spb = base, BASE_BIN
    while len(current) > _TOP_BINS:
        n = len(current)
        half = n // 2
        coarser = np.empty(((n + 1) // 2,) + current.shape[1:], current.dtype)
        np.minimum(current[0:2 * half:2, :, 0], current[1:2 * half:2, :, 0], out=coarser[:half, :, 0])
        np.maximum(current[0:2 * half:2, :, 1], current[1:2 * half:2, :, 1], out=coarser[:half, :, 1])
        if n % 2:
            coarser[half] = current[-1]
        spb *= 2
        levels.append(PeakLevel(spb, coarser))
        current = coarser
    return levels


def bin_minmax(block: np.ndarray) -> np.ndarray:
    """(n, channels) samples -> (ceil(n / BASE_BIN), channels, 2) min/max per bin."""
    idx = np.arange(0, len(block), BASE_BIN)
    out = np.empty((len(idx), block.shape[1], 2), block.dtype)
    # reduceat is ~30x faster than reshape(...).min(axis=1) on int16 blocks here.
    np.minimum.reduceat(block, idx, axis=0, out=out[:, :, 0])
    np.maximum.reduceat(block, idx, axis=0, out=out[:, :, 1])
    return out


def segment_bins(src: AudioSource, start: int, stop: int | None,
                  done: Callable[[int], None], stopped: Callable[[], bool]) -> tuple[np.ndarray, int]:
    """Min/max bins of samples [start, stop); returns (bins, samples decoded)."""
    chunks = []
    got = 0
    for block in iter_blocks(src, _BLOCK, "int16", start, stop, reuse_buffer=True):
        if stopped():
            raise Cancelled()
        chunks.append(bin_minmax(block))
        got += len(block)
        done(got)
    if not chunks:
        return np.zeros((0, src.channels, 2), np.int16), 0
    return np.concatenate(chunks), got


def _split(total: int, parts: int) -> list[tuple[int, int | None]]:
    """`parts` ranges over [0, total) cut at block boundaries; the last runs to the end."""
    step = max(_BLOCK, (total // parts) // _BLOCK * _BLOCK)
    cuts = [min(total, i * step) for i in range(parts)]
    return [(cuts[i], cuts[i + 1] if i + 1 < parts else None) for i in range(parts)]


def _build_base(src: AudioSource, progress: Progress | None, cancel: CancelCheck | None,
                workers: int | None) -> tuple[np.ndarray, int]:
    total = max(1, src.estimated_frames)
    cpus = os.cpu_count() or 1
    if src.backend == "soundfile":
        parts = workers or (min(cpus, 4) if total >= 4 * _BLOCK else 1)
        use_processes = False
    else:
        long_enough = total >= _PROCESS_MIN_SECONDS * src.sample_rate
        parts = workers or (min(cpus, 4) if long_enough else 1)
        use_processes = parts > 1
    ranges = _split(total, parts)
    if parts == 1:
        stop_flag = threading.Event()
        next_report = [0.0]

        def done(n: int) -> None:  # runs in the caller's thread, once per block
            now = time.monotonic()
            if now >= next_report[0]:
                next_report[0] = now + _POLL
                if cancel is not None and cancel():
                    stop_flag.set()
                _report(progress, min(1.0, n / total))

        return segment_bins(src, 0, None, done, stop_flag.is_set)
    if use_processes:
        try:
            return _run_processes(src, ranges, total, progress, cancel)
        except (OSError, RuntimeError):
            # The helper processes could not run (a frozen app, a broken environment);
            # decoding here is slower but gives the same pyramid, or the real MediaError.
            return _build_base(src, progress, cancel, workers=1)
    return _run_threads(src, ranges, total, progress, cancel)


def _run_threads(src: AudioSource, ranges, total: int, progress: Progress | None,
                 cancel: CancelCheck | None) -> tuple[np.ndarray, int]:
    counts = [0] * len(ranges)
    stop_flag = threading.Event()

    def run(i: int) -> tuple[np.ndarray, int]:
        start, stop = ranges[i]
        return segment_bins(src, start, stop, lambda n: counts.__setitem__(i, n), stop_flag.is_set)

    with cf.ThreadPoolExecutor(len(ranges), thread_name_prefix="peaks") as pool:
        futures = [pool.submit(run, i) for i in range(len(ranges))]
        _supervise(futures, lambda: sum(counts) / total, progress, cancel, stop_flag.set)
    failures = [f.exception() for f in futures if f.exception() is not None]
    if failures:
        # The part that failed stopped the others, which report Cancelled: raise the cause.
        raise next((e for e in failures if not isinstance(e, Cancelled)), failures[0])
    return _join(ranges, [f.result() for f in futures])


def _run_processes(src: AudioSource, ranges, total: int, progress: Progress | None,
                   cancel: CancelCheck | None) -> tuple[np.ndarray, int]:
    """Decode the ranges in `python -m media.peak_worker` children and join their bins."""
    env = dict(os.environ)
    # The child must import this very package, wherever it was loaded from.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="labeldesk-peaks-") as tmp:
        workers = []
        try:
            for i, (start, stop) in enumerate(ranges):
                out = os.path.join(tmp, f"part{i}.npy")
                with open(os.path.join(tmp, f"part{i}.log"), "wb") as log:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "labeldesk.media.peak_worker", src.to_json(), str(start),
                         str(-1 if stop is None else stop), out],
                        stdout=subprocess.PIPE, stderr=log, env=env)
                workers.append(_Worker(proc, out, os.path.join(tmp, f"part{i}.log")))
            _supervise_workers(workers, total, progress, cancel)
            return _join(ranges, [(np.load(w.out), w.samples) for w in workers])
        finally:
            for w in workers:
                if not w.finished and w.proc.poll() is None:
                    w.proc.kill()  # cancelled or failed: stop our own child, by its handle
                w.proc.wait()
                w.proc.stdout.close()


@dataclass
class _Worker:
    proc: subprocess.Popen
    out: str
    log: str
    samples: int = 0
    pending: bytes = b""
    finished: bool = False


def _supervise_workers(workers: list[_Worker], total: int, progress: Progress | None,
                       cancel: CancelCheck | None) -> None:
    """Read the children's progress lines; report, poll cancel; raise what a child reports."""
    next_check = 0.0
    with selectors.DefaultSelector() as sel:
        for w in workers:
            os.set_blocking(w.proc.stdout.fileno(), False)
            sel.register(w.proc.stdout, selectors.EVENT_READ, w)
        while any(not w.finished for w in workers):
            for key, _ in sel.select(timeout=_POLL):
                w = key.data
                chunk = os.read(w.proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    sel.unregister(w.proc.stdout)
                    _finish(w)
                    continue
                *lines, w.pending = (w.pending + chunk).split(b"\n")
                for line in lines:
                    _handle_line(w, line.decode("utf-8", "replace"))
            now = time.monotonic()
            if now >= next_check:  # children report every block; the caller hears ten times a second
                next_check = now + _POLL
                if cancel is not None and cancel():
                    raise Cancelled()
                _report(progress, min(1.0, sum(w.samples for w in workers) / total))


def _handle_line(w: _Worker, line: str) -> None:
    kind, _, rest = line.partition(" ")
    if kind == "p":
        w.samples = int(rest)
    elif kind == "ok":
        w.samples, w.finished = int(rest), True
    elif kind == "err":
        data = json.loads(rest)
        raise MediaError(data["path"], Problem[data["problem"]], data["detail"])


def _finish(w: _Worker) -> None:
    if w.pending:
        _handle_line(w, w.pending.decode("utf-8", "replace"))
        w.pending = b""
    if not w.finished:
        w.proc.wait()
        with open(w.log, "rb") as fh:
            tail = fh.read()[-2000:].decode("utf-8", "replace").strip()
        raise RuntimeError(f"peak worker exited with {w.proc.returncode}: {tail}")


def _supervise(futures, fraction: Callable[[], float], progress: Progress | None,
               cancel: CancelCheck | None, stop: Callable[[], None]) -> None:
    """Report progress and poll cancel from the caller's thread until the workers end."""
    pending = set(futures)
    while pending:
        finished, pending = cf.wait(pending, timeout=_POLL, return_when=cf.FIRST_EXCEPTION)
        if any(f.exception() is not None for f in finished):
            stop()  # one part failed: the others need not finish
            break
        if cancel is not None and cancel():
            stop()
            cf.wait(pending)
            raise Cancelled()
        _report(progress, min(1.0, fraction()))
    cf.wait(pending)


def _join(ranges, results: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, int]:
    """Concatenate per-part bins; a part that ends early ends the file (truncated MP3, bad estimate)."""
    bins, n_samples = [], 0
    for (start, stop), (part, got) in zip(ranges, results):
        if start != n_samples:
            break  # an earlier part ended short of where this one starts
        bins.append(part)
        n_samples = start + got
        if stop is not None and got < stop - start:
            break
    return np.concatenate(bins), n_samples


def _overview(src: AudioSource) -> PeakPyramid | None:
    """A coarse pyramid from a few hundred short windows spread over the file."""
    total = src.estimated_frames
    windows = _OVERVIEW_WINDOWS[src.backend]
    spb = math.ceil(total / windows)
    starts = [i * spb + max(0, (spb - _OVERVIEW_WINDOW) // 2) for i in range(windows)]
    data = np.zeros((windows, src.channels, 2), np.int16)
    try:
        for i, x in enumerate(sample_windows(src, starts, _OVERVIEW_WINDOW)):
            if len(x):
                data[i, :, 0], data[i, :, 1] = x.min(axis=0), x.max(axis=0)
    except MediaError:
        return None  # the full build will report the problem properly
    return PeakPyramid([PeakLevel(spb, data)], src.sample_rate, src.channels, total,
                       source=src, complete=False)


def _report(progress: Progress | None, fraction: float) -> None:
    if progress is not None:
        progress(fraction)


# --- cache ------------------------------------------------------------------

class _Cache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _files(self, digest: str) -> tuple[Path, Path]:
        return self.root / f"{digest}.peaks.npy", self.root / f"{digest}.peaks.json"

    def has(self, digest: str) -> bool:
        return self._files(digest)[1].is_file()

    def load(self, digest: str, source: AudioSource | Path | None) -> PeakPyramid | None:
        npy, meta_path = self._files(digest)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("version") != _FORMAT_VERSION:
                return None
            data = np.load(npy, mmap_mode="r")
            levels = [PeakLevel(spb, data[offset:offset + count]) for spb, offset, count in meta["levels"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or damaged entry: a miss, the next build rewrites it
        if source is None and meta.get("source") and os.path.exists(meta["source"]):
            source = Path(meta["source"])
        return PeakPyramid(levels, meta["sample_rate"], meta["channels"], meta["n_samples"],
                           source=source, sha256=digest)

    def save(self, digest: str, pyramid: PeakPyramid) -> None:
        npy, meta_path = self._files(digest)
        table, offset = [], 0
        for level in pyramid.levels:
            table.append([level.samples_per_bin, offset, len(level.data)])
            offset += len(level.data)
        src = pyramid._source
        meta = {
            "version": _FORMAT_VERSION,
            "sha256": digest,
            "sample_rate": pyramid.sample_rate,
            "channels": pyramid.channels,
            "n_samples": pyramid.n_samples,
            "levels": table,
            "source": str(src.path if isinstance(src, AudioSource) else src) if src is not None else None,
        }
        write_atomically(npy, lambda tmp: np.save(tmp, np.concatenate([lv.data for lv in pyramid.levels])))
        write_atomically(meta_path, lambda tmp: tmp.write_text(json.dumps(meta), encoding="utf-8"))

    # The path index: a hit by path must not cost a full read of the file.
    def _path_key(self, path: Path) -> Path | None:
        try:
            st = path.stat()
        except OSError:
            return None
        ident = f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}"
        return self.root / "paths" / (hashlib.sha1(ident.encode("utf-8")).hexdigest() + ".sha256")

    def lookup(self, path: Path) -> str | None:
        key = self._path_key(path)
        try:
            text = key.read_text(encoding="ascii").strip() if key is not None else ""
        except OSError:
            return None
        return text if _SHA_RE.fullmatch(text) else None

    def remember(self, path: Path, digest: str) -> None:
        key = self._path_key(path)
        if key is None or self.lookup(path) == digest:
            return
        write_atomically(key, lambda tmp: tmp.write_text(digest, encoding="ascii"))
