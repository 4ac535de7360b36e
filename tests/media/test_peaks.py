from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf

import labeldesk.media.peaks as peaks_module
from labeldesk.media.audio import iter_blocks
from labeldesk.media.errors import Cancelled, MediaError, Problem
from labeldesk.media.peaks import BASE_BIN, build_peaks, load_cached_peaks


def _int16(path):
    return np.concatenate(list(iter_blocks(path, dtype="int16")))


def _bins(x: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference min/max of consecutive `size`-sample bins, the slow obvious way."""
    n = math.ceil(len(x) / size)
    return (np.array([x[i * size:(i + 1) * size].min(axis=0) for i in range(n)]),
            np.array([x[i * size:(i + 1) * size].max(axis=0) for i in range(n)]))


def test_every_level_equals_numpy_minmax_of_the_decoded_samples(any_audio, tmp_path):
    pyramid = build_peaks(any_audio.path, tmp_path)
    x = _int16(any_audio.path)
    assert pyramid.n_samples == len(x)
    assert pyramid.channels == x.shape[1] and pyramid.sample_rate == any_audio.sample_rate
    assert pyramid.levels[0].samples_per_bin == BASE_BIN
    for level in pyramid.levels[:4]:
        lo, hi = _bins(x, level.samples_per_bin)
        np.testing.assert_array_equal(level.data[:, :, 0], lo)
        np.testing.assert_array_equal(level.data[:, :, 1], hi)
    assert len(pyramid.levels[-1].data) <= 256 or len(pyramid.levels) == 1


def _reference_envelope(x: np.ndarray, sr: int, t0: float, t1: float, width: int):
    """Per pixel p: samples [floor(e_p), floor(e_p+1)) with e = pixel edges in samples."""
    edges = t0 * sr + (t1 - t0) * sr / width * np.arange(width + 1)
    mins = np.zeros((width, x.shape[1]), np.float32)
    maxs = np.zeros_like(mins)
    for p in range(width):
        a = max(0, math.floor(edges[p]))
        b = max(a + 1, math.floor(edges[p + 1]))
        piece = x[a:min(b, len(x))]
        if edges[p + 1] > 0 and len(piece):
            mins[p], maxs[p] = piece.min(axis=0), piece.max(axis=0)
    return mins, maxs


@pytest.mark.parametrize("t0, t1, width", [
    (1.0, 1.004, 400),   # 0.48 samples per pixel: single samples
    (2.0, 2.1, 800),     # 6 samples per pixel: read from the file
    (0.5, 3.5, 1000),    # 144 samples per pixel: still below the base bin
])
def test_envelope_below_the_base_level_reads_samples(wav, tmp_path, t0, t1, width):
    pyramid = build_peaks(wav.path, tmp_path)
    mins, maxs = pyramid.envelope(t0, t1, width)
    x = _int16(wav.path).astype(np.float32) / 32768
    ref_min, ref_max = _reference_envelope(x, 48000, t0, t1, width)
    np.testing.assert_array_equal(mins, ref_min)
    np.testing.assert_array_equal(maxs, ref_max)


def test_envelope_reaches_single_samples(wav, tmp_path):
    pyramid = build_peaks(wav.path, tmp_path)
    start = 48000 * 3
    mins, maxs = pyramid.envelope(start / 48000, (start + 10) / 48000, 10)
    x = sf.read(wav.path, dtype="float32", start=start, stop=start + 10)[0]
    np.testing.assert_array_equal(mins, x)
    np.testing.assert_array_equal(maxs, x)


@pytest.mark.parametrize("t0, t1, width", [(0.0, 12.0, 700), (-1.0, 13.0, 300), (3.3, 9.1, 97)])
def test_envelope_from_levels(wav, tmp_path, t0, t1, width):
    pyramid = build_peaks(wav.path, tmp_path)
    mins, maxs = pyramid.envelope(t0, t1, width)
    assert mins.shape == (width, 2) and mins.dtype == np.float32
    spp = (t1 - t0) * 48000 / width
    level = pyramid.level_for(spp)
    assert level.samples_per_bin <= spp and (level is pyramid.levels[-1] or spp < 2 * level.samples_per_bin)
    # Pixel p holds the bins starting in it: [floor(e_p / spb), floor(e_p+1 / spb)).
    lo, hi = _bins(_int16(wav.path), level.samples_per_bin)
    pixel_edges = t0 * 48000 + (t1 - t0) * 48000 / width * np.arange(width + 1)
    edges = np.floor(pixel_edges / level.samples_per_bin).astype(int)
    for p in range(width):
        a, b = edges[p], edges[p + 1]
        if pixel_edges[p + 1] <= 0 or a >= len(lo):
            assert not mins[p].any() and not maxs[p].any()  # outside the file
            continue
        a = max(a, 0)
        b = max(b, a + 1)  # a pixel narrower than a bin shows the bin under it
        np.testing.assert_array_equal(mins[p], lo[a:b].min(axis=0) / np.float32(32768))
        np.testing.assert_array_equal(maxs[p], hi[a:b].max(axis=0) / np.float32(32768))


def test_cache_hit_by_path_and_by_hash(flac, tmp_path, monkeypatch):
    built = build_peaks(flac.path, tmp_path)
    calls = []
    monkeypatch.setattr(peaks_module, "iter_blocks", lambda *a, **k: calls.append(1) or iter(()))
    by_path = load_cached_peaks(flac.path, tmp_path)
    by_hash = load_cached_peaks(built.sha256, tmp_path)
    again = build_peaks(flac.path, tmp_path)
    assert calls == []  # nothing was decoded
    for pyramid in (by_path, by_hash, again):
        assert pyramid.n_samples == built.n_samples and len(pyramid.levels) == len(built.levels)
        for a, b in zip(pyramid.levels, built.levels):
            np.testing.assert_array_equal(a.data, b.data)
        np.testing.assert_array_equal(pyramid.envelope(0, 12, 500)[0], built.envelope(0, 12, 500)[0])
    assert isinstance(by_path.levels[0].data, np.memmap)


def test_cache_hit_by_path_does_not_rehash(flac, tmp_path, monkeypatch):
    build_peaks(flac.path, tmp_path)
    monkeypatch.setattr(peaks_module, "sha256_file", lambda *a, **k: pytest.fail("re-hashed"))
    assert load_cached_peaks(flac.path, tmp_path) is not None


def test_cache_miss(wav, tmp_path):
    assert load_cached_peaks(wav.path, tmp_path) is None
    assert load_cached_peaks("0" * 64, tmp_path) is None


def test_progress_partial_and_cancel(long_overview_wav, tmp_path):
    seen, partials = [], []
    pyramid = build_peaks(long_overview_wav.path, None, progress=seen.append, partial=partials.append)
    assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    assert len(partials) == 1 and not partials[0].complete and pyramid.complete
    overview = partials[0]
    assert overview.duration == pytest.approx(pyramid.duration, rel=0.01)
    mins, maxs = overview.envelope(0, overview.duration, 200)
    assert (maxs > mins).all()  # a real shape, drawable at once
    with pytest.raises(Cancelled):
        build_peaks(long_overview_wav.path, None, cancel=lambda: True, workers=2)
    with pytest.raises(Cancelled):
        build_peaks(long_overview_wav.path, None, cancel=lambda: True, workers=1)


def test_process_workers_give_the_same_pyramid(opus, aac):
    """PyAV decodes in processes for long files; the halves must join seamlessly."""
    for fx in (opus, aac):
        progress = []
        one = build_peaks(fx.path, None, workers=1)
        two = build_peaks(fx.path, None, workers=2, progress=progress.append)
        assert two.n_samples == one.n_samples
        assert progress[-1] == 1.0
        if fx is opus:
            np.testing.assert_array_equal(two.levels[0].data, one.levels[0].data)
        else:
            # AAC's noise substitution draws random noise: after a seek the
            # noise differs from a decode from the start, never the signal.
            diff = np.abs(two.levels[0].data.astype(np.int32) - one.levels[0].data)
            assert diff.max() < 0.02 * 32768


def test_process_workers_report_errors_and_cancel(damaged, opus, tmp_path):
    # The damage lies in the second worker's half: its MediaError crosses the process boundary.
    with pytest.raises(MediaError) as err:
        build_peaks(damaged["aac"], None, workers=2)
    assert str(damaged["aac"]) in str(err.value) and err.value.problem is Problem.CORRUPT
    with pytest.raises(Cancelled):
        build_peaks(opus.path, None, workers=2, cancel=lambda: True)


def test_errors_name_the_file(damaged, tmp_path):
    for key in ("flac", "zero", "garbage"):
        with pytest.raises(MediaError) as err:
            build_peaks(damaged[key], tmp_path)
        assert str(damaged[key]) in str(err.value)


def test_memory_stays_bounded_for_a_long_file(tmp_path):
    """10 minutes of 48 kHz stereo (110 MB as int16): peak building must not hold it."""
    path = tmp_path / "ten_minutes.wav"
    with sf.SoundFile(path, "w", 48000, 2, subtype="PCM_16") as f:
        block = (np.random.default_rng(0).standard_normal((48000 * 10, 2)) * 3000).astype(np.int16)
        for _ in range(60):
            f.write(block)
    # A fresh interpreter: pytest's own memory must not count. VmHWM (peak
    # resident memory of this process image) is used because ru_maxrss keeps
    # the forking parent's figure across exec.
    script = textwrap.dedent(f"""
        import re, tracemalloc
        from labeldesk.media.peaks import build_peaks
        tracemalloc.start()
        p = build_peaks({str(path)!r}, None)
        peak = tracemalloc.get_traced_memory()[1]
        hwm = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
        print(p.n_samples, peak, hwm)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    n_samples, traced_peak, peak_rss_kb = map(int, out.split())
    assert n_samples == 48000 * 600
    assert traced_peak < 20 * 2 ** 20  # the samples alone would be 110 MB
    assert peak_rss_kb < 150 * 1024  # interpreter + numpy + PyAV + soundfile are ~50 MB of it


def test_falls_back_to_one_process_when_workers_cannot_start(opus, monkeypatch):
    monkeypatch.setattr(peaks_module.sys, "executable", "/nonexistent/python")
    one = build_peaks(opus.path, None, workers=1)
    fallback = build_peaks(opus.path, None, workers=2)
    np.testing.assert_array_equal(fallback.levels[0].data, one.levels[0].data)
