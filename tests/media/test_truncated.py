"""Files cut short after their header: probe says where the data ends, decoding stops there.

Each source is real media encoded with PyAV (tones, H.264 pictures), cut at
10%, 50% and 90% of its bytes. MP4 with its index ('moov' box) at the end
loses the index with any cut and must be refused; every other cut file must
be described as far as its data goes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labeldesk.media.audio import iter_blocks, open_audio, read_range
from labeldesk.media.errors import MediaError, Problem
from labeldesk.media.peaks import build_peaks
from labeldesk.media.probe import probe

from .conftest import encode_audio, encode_video, tone, truncate_copy

FRACTIONS = (0.1, 0.5, 0.9)
READABLE = ("mp3", "aac_mp4", "opus_mkv", "h264_mp4", "h264_mkv")


@pytest.fixture(scope="module")
def sources(media_dir, mp3) -> dict[str, Path]:
    """Whole files whose cut copies stay readable (index in front, or none needed): READABLE."""
    aac = tone(8.0, 48000, 2, seed=11)
    return {
        "mp3": mp3.path,
        "aac_mp4": encode_audio(media_dir / "faststart.m4a", aac, 48000, "aac", 128000,
                                options={"movflags": "faststart"}),
        "opus_mkv": encode_audio(media_dir / "tone.mka", aac, 48000, "libopus", 96000),
        "h264_mp4": encode_video(media_dir / "faststart.mp4", 180, 320, 240, audio_seconds=6.0, faststart=True),
        "h264_mkv": encode_video(media_dir / "clip.mkv", 180, 320, 240, audio_seconds=6.0),
    }


@pytest.fixture(scope="module")
def cut(sources, media_dir):
    def make(name: str, fraction: float) -> Path:
        src = sources[name]
        return truncate_copy(src, media_dir / f"{src.stem}_cut{int(fraction * 100)}{src.suffix}", fraction)
    return make


def decoded_seconds(path: Path) -> float:
    """How far the app's own audio decoder gets, in seconds on the file's timeline."""
    src = open_audio(path)
    return src.start_time + sum(len(b) for b in iter_blocks(src)) / src.sample_rate


@pytest.mark.parametrize("name", READABLE)
def test_whole_files_are_not_reported(sources, name):
    info = probe(sources[name])
    assert info.truncated_at is None and info.warning is None


@pytest.mark.parametrize("fraction", FRACTIONS)
@pytest.mark.parametrize("name", READABLE)
def test_probe_says_where_a_cut_file_ends(sources, cut, name, fraction):
    whole = probe(sources[name]).duration
    path = cut(name, fraction)
    info = probe(path)
    assert info.truncated_at is not None, f"{path.name}: reported whole ({info.duration} s)"
    assert info.duration == info.truncated_at
    # Test media has a steady bit rate: time ends about where the bytes do.
    assert 0 < info.truncated_at < whole - 0.3
    assert info.truncated_at == pytest.approx(fraction * whole, abs=0.15 * whole)
    # ... and where the decoder really stops (in video files audio lags the video packets a little).
    slack = 0.25 if info.video is not None else 0.05
    assert decoded_seconds(path) == pytest.approx(info.truncated_at, abs=slack)
    assert str(path) in info.warning and Problem.TRUNCATED.value in info.warning
    assert f"{whole:.3f} s" in info.warning and f"{info.truncated_at:.3f} s" in info.warning
    assert info.to_dict()["truncated_at"] == info.truncated_at


@pytest.mark.parametrize("fraction", FRACTIONS)
@pytest.mark.parametrize("fixture", ["aac", "video"])  # index ('moov') at the end, as muxers write by default
def test_mp4_without_its_index_is_refused(request, media_dir, fixture, fraction):
    src = request.getfixturevalue(fixture)
    src = getattr(src, "path", src)
    path = truncate_copy(src, media_dir / f"{src.stem}_moovcut{int(fraction * 100)}{src.suffix}", fraction)
    with pytest.raises(MediaError) as err:
        probe(path)
    assert err.value.problem is Problem.TRUNCATED
    assert str(path) in str(err.value) and "moov" in str(err.value)
    with pytest.raises(MediaError):
        open_audio(path)


# Where the media data begins: Matroska's first Cluster element, MP4's 'mdat' box.
@pytest.mark.parametrize("name, data_marker", [("opus_mkv", b"\x1f\x43\xb6\x75"), ("h264_mp4", b"mdat")])
def test_a_file_cut_before_its_first_frame_is_refused(sources, media_dir, name, data_marker):
    """Header (and index) whole, but no whole packet or frame left: nothing to describe."""
    src = sources[name]
    data = src.read_bytes()
    path = media_dir / f"first_frame_cut{src.suffix}"
    path.write_bytes(data[:data.index(data_marker) + 64])
    with pytest.raises(MediaError) as err:
        probe(path)
    assert err.value.problem is Problem.TRUNCATED
    assert str(path) in str(err.value)


def test_mp3_without_a_length_tag_is_not_judged(media_dir):
    """Without a Xing/Info tag FFmpeg estimates the length from the bytes: a cut file claims nothing more."""
    x = tone(6.0, 44100, 2, seed=12)
    whole = encode_audio(media_dir / "untagged.mp3", x, 44100, "libmp3lame", 128000, options={"write_xing": "0"})
    half = truncate_copy(whole, media_dir / "untagged_cut50.mp3", 0.5)
    for path, seconds in ((whole, 6.0), (half, 3.0)):
        info = probe(path)
        assert info.truncated_at is None
        assert info.duration == pytest.approx(seconds, abs=0.15)


@pytest.mark.parametrize("fraction", FRACTIONS)
@pytest.mark.parametrize("name", READABLE)
def test_decode_and_peaks_stop_at_the_real_end(cut, name, fraction):
    path = cut(name, fraction)
    src = open_audio(path)
    blocks = list(iter_blocks(src, block_frames=4096, dtype="int16"))
    n = sum(len(b) for b in blocks)
    assert 0 < n < src.estimated_frames
    assert all(len(b) == 4096 for b in blocks[:-1])
    pyramid = build_peaks(path, None, workers=1)
    assert pyramid.n_samples == n
    mins, maxs = pyramid.envelope(0.0, pyramid.duration, 64)
    assert np.all(maxs[-1] > mins[-1])  # signal right up to the end, no zero padding
    samples, _ = read_range(src, src.duration - 0.5, src.duration)  # where the header says there is audio
    assert len(samples) == 0


@pytest.mark.parametrize("name", ["mp3", "aac_mp4"])  # threads (soundfile) and worker processes (PyAV)
def test_parallel_peaks_of_a_cut_file(cut, name):
    """Parts planned from the header's length start past the real end: they must come back empty, not fail."""
    path = cut(name, 0.5)
    serial = build_peaks(path, None, workers=1)
    parallel = build_peaks(path, None, workers=3)
    assert parallel.n_samples == serial.n_samples
    # AAC's noise substitution differs after a seek (see test_peaks); the signal does not.
    diff = np.abs(parallel.levels[0].data.astype(np.int32) - serial.levels[0].data)
    assert diff.max() < 0.02 * 32768


def test_overview_of_a_long_cut_file(media_dir):
    """The quick overview seeks over the header's whole length; the windows past the cut stay empty."""
    x = tone(40.0, 8000, 1, seed=13)
    whole = encode_audio(media_dir / "long8k.mp3", x, 8000, "libmp3lame", 32000)
    path = truncate_copy(whole, media_dir / "long8k_cut50.mp3", 0.5)
    overviews = []
    pyramid = build_peaks(path, None, partial=overviews.append)
    assert pyramid.complete and pyramid.duration == pytest.approx(probe(path).truncated_at, abs=0.1)
    assert len(overviews) <= 1 and all(not o.complete for o in overviews)
