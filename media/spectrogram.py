"""Spectrogram of the visible time range only (numpy FFT, no librosa).

Only what the pane shows is computed: at most `max_columns` FFT frames for
the range. When the range holds more frames than columns the hop grows; for
wide views of seekable files each column's window is read on its own, and
otherwise the range is streamed, so memory stays bounded.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from labeldesk.media.audio import AudioSource, iter_blocks, open_audio, read_samples, sample_windows

__all__ = ["Spectrogram", "spectrogram"]

_DB_FLOOR = -120.0
# A contiguous read is cheaper than per-column seeks until the columns are
# this far apart (in windows).
_SPARSE_FACTOR = 8
_CONTIGUOUS_LIMIT = 1 << 22  # samples read in one piece; wider ranges are streamed or sampled


@dataclass(frozen=True)
class Spectrogram:
    db: np.ndarray  # float32 (n_freqs, n_columns); 0 dB = a full-scale sine
    freqs: np.ndarray  # float32 (n_freqs,) Hz
    times: np.ndarray  # float64 (n_columns,) seconds at each column's window centre
    sample_rate: int
    n_fft: int
    hop: int  # samples between columns


def spectrogram(path: str | os.PathLike[str] | AudioSource, t0: float, t1: float, n_fft: int = 1024,
                hop: int | None = None, max_columns: int = 2000, channel: int | None = None) -> Spectrogram:
    """Magnitude spectrogram in dB of [t0, t1) with a Hann window.

    `channel` None mixes the channels; otherwise that channel alone. `hop`
    defaults to n_fft // 4 and is widened so there are at most `max_columns`
    columns. Column k is centred on max(t0, 0) + k * hop / sample_rate.
    """
    if n_fft < 16 or n_fft & (n_fft - 1):
        raise ValueError("n_fft must be a power of two, at least 16")
    src = open_audio(path)
    sr = src.sample_rate
    start = int(round(max(0.0, t0) * sr))
    stop = int(round(t1 * sr))
    if src.frames is not None:
        stop = min(stop, src.frames)
    hop = max(1, hop or n_fft // 4)
    n_cols = max(0, math.ceil((stop - start) / hop)) if stop > start else 0
    if n_cols > max_columns:
        hop = math.ceil((stop - start) / max_columns)
        n_cols = math.ceil((stop - start) / hop)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr).astype(np.float32)
    if n_cols == 0:
        return Spectrogram(np.zeros((len(freqs), 0), np.float32), freqs, np.zeros(0), sr, n_fft, hop)
    centres = start + hop * np.arange(n_cols)
    frames = _windows(src, centres - n_fft // 2, n_fft, hop, channel)
    window = np.hanning(n_fft).astype(np.float32)
    spectrum = np.abs(np.fft.rfft(frames * window, axis=1))
    # A full-scale sine gives |X| = sum(window) / 2 at its bin: make that 0 dB.
    ref = window.sum() / 2.0
    db = 20.0 * np.log10(np.maximum(spectrum / ref, 10 ** (_DB_FLOOR / 20)))
    return Spectrogram(db.T.astype(np.float32), freqs, centres / sr, sr, n_fft, hop)


def _windows(src: AudioSource, starts: np.ndarray, n_fft: int, hop: int, channel: int | None) -> np.ndarray:
    """(n_columns, n_fft) float32 mono windows starting at `starts` (zero outside the file)."""
    lo, hi = int(starts[0]), int(starts[-1]) + n_fft
    if hi - lo <= _CONTIGUOUS_LIMIT:
        padded = np.zeros(hi - lo, np.float32)
        x = _mono(read_samples(src, max(0, lo), hi), channel)
        offset = max(0, lo) - lo
        padded[offset:offset + len(x)] = x
        return np.lib.stride_tricks.sliding_window_view(padded, n_fft)[starts - lo]
    out = np.zeros((len(starts), n_fft), np.float32)
    if src.backend == "soundfile" and hop >= _SPARSE_FACTOR * n_fft:
        # Wide view of a seekable file: read each column's window on its own.
        inside = int(np.searchsorted(starts, 0))  # windows starting before 0 stay silent
        for row, x in enumerate(sample_windows(src, starts[inside:].tolist(), n_fft, dtype="float32"),
                                start=inside):
            out[row, :len(x)] = _mono(x, channel)
        return out
    # Otherwise stream the range once and copy each window out as it passes.
    pos = max(0, lo)
    for block in iter_blocks(src, start=pos, stop=hi):
        mono = _mono(block, channel)
        end = pos + len(mono)
        first = int(np.searchsorted(starts, pos - n_fft, side="right"))
        last = int(np.searchsorted(starts, end, side="left"))
        for row in range(first, last):
            s0 = int(starts[row])
            a, b = max(s0, pos), min(s0 + n_fft, end)
            out[row, a - s0:b - s0] = mono[a - pos:b - pos]
        pos = end
    return out


def _mono(x: np.ndarray, channel: int | None) -> np.ndarray:
    if channel is not None:
        return x[:, channel]
    return x.mean(axis=1) if x.shape[1] > 1 else x[:, 0]
