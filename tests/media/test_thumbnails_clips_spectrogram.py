from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from labeldesk.media.clips import cut_clip
from labeldesk.media.errors import MediaError, Problem
from labeldesk.media.probe import probe
from labeldesk.media.spectrogram import spectrogram
from labeldesk.media.thumbnails import keyframe_thumbnails
from labeldesk.media.video import VideoReader


# --- thumbnails ---------------------------------------------------------------

@pytest.mark.parametrize("count", [3, 6, 50])
def test_thumbnails_come_from_keyframes(video, video_frames, count):
    thumbs = keyframe_thumbnails(video, count, 72)
    assert len(thumbs) == min(count, 6)  # one keyframe per second in 6 s
    times = [t for t, _ in thumbs]
    assert times == sorted(times) and times[0] == 0.0
    assert all(float(t).is_integer() for t in times)
    for t, rgb in thumbs:
        assert rgb.shape == (72, 128, 3) and rgb.dtype == np.uint8
        full = video_frames[int(t) * 30][1]
        small = full[::5, ::5][:72, :128].astype(int)  # 360/72 = 5
        assert np.abs(rgb.astype(int) - small).mean() < 20  # the same picture, scaled


def test_thumbnails_of_a_rotated_video(rotated_video):
    thumbs = keyframe_thumbnails(rotated_video, 2, 80)
    assert len(thumbs) == 2
    assert thumbs[0][1].shape == (80, 48, 3)  # upright: portrait


def test_thumbnails_need_video(wav):
    with pytest.raises(MediaError) as err:
        keyframe_thumbnails(wav.path, 3, 50)
    assert err.value.problem is Problem.NO_VIDEO


# --- clips --------------------------------------------------------------------

def test_audio_clip_holds_the_exact_samples(flac, tmp_path):
    clip = cut_clip(flac.path, tmp_path / "part.flac", 1.25, 2.5)
    assert clip.kind == "audio" and (clip.start, clip.end) == (1.25, 2.5)
    got, sr = sf.read(clip.path, dtype="int16")
    source = sf.read(flac.path, dtype="int16")[0]
    assert sr == 48000 and sf.info(clip.path).subtype == "PCM_16"
    np.testing.assert_array_equal(got, source[60000:120000])
    assert [p.name for p in tmp_path.iterdir()] == ["part.flac"]  # no temporary file left


def test_audio_clip_from_lossy_and_from_video(mp3, video, tmp_path):
    clip = cut_clip(mp3.path, tmp_path / "a.wav", 0.5, 1.0)
    assert sf.info(clip.path).subtype == "PCM_24" and sf.info(clip.path).frames == 22050
    clip = cut_clip(video, tmp_path / "sound.flac", 1.0, 2.0)
    assert sf.info(clip.path).frames == 48000 and sf.info(clip.path).channels == 2


def test_video_clip_is_frame_accurate(video, video_frames, tmp_path):
    clip = cut_clip(video, tmp_path / "part.mp4", 1.51, 2.2)
    # The frame showing at 1.51 s starts at 1.5 s; the last one starting before 2.2 s is at 2.1667 s.
    assert clip.kind == "video"
    assert clip.start == pytest.approx(1.5) and clip.end == pytest.approx(2.2)
    info = probe(clip.path)
    assert info.audio is not None and info.video.frame_count == 21
    with VideoReader(clip.path) as reader:
        assert reader.n_frames == 21
        np.testing.assert_allclose(reader.frame_times, np.arange(21) / 30, atol=1e-6)
        for k in (0, 10, 20):
            diff = np.abs(reader.frame(k).rgb.astype(int) - video_frames[45 + k][1]).mean()
            assert diff < 3  # re-encoded (CRF 18), but the same frame


def test_video_clip_keeps_variable_timing_and_rotation(vfr_video, rotated_video, tmp_path):
    with VideoReader(vfr_video) as source:
        times = source.frame_times
        clip = cut_clip(vfr_video, tmp_path / "vfr.mp4", times[10], times[20])
    with VideoReader(clip.path) as reader:
        np.testing.assert_allclose(reader.frame_times, times[10:20] - times[10], atol=1e-6)
    clip = cut_clip(rotated_video, tmp_path / "rot.mp4", 0.0, 0.3)
    assert probe(clip.path).video.rotation == 90


def test_clip_errors(flac, damaged, tmp_path):
    with pytest.raises(ValueError):
        cut_clip(flac.path, tmp_path / "x.flac", 2.0, 2.0)
    with pytest.raises(ValueError):
        cut_clip(flac.path, tmp_path / "x.xyz", 0.0, 1.0)
    with pytest.raises(MediaError) as err:
        cut_clip(flac.path, tmp_path / "x.mp4", 0.0, 1.0)
    assert err.value.problem is Problem.NO_VIDEO
    with pytest.raises(MediaError):
        cut_clip(damaged["flac"], tmp_path / "x.flac", 9.0, 10.0)
    assert list(tmp_path.iterdir()) == []  # failures leave nothing behind


# --- spectrogram --------------------------------------------------------------

def test_spectrogram_finds_a_tone(media_dir):
    sr = 16000
    t = np.arange(sr * 2) / sr
    path = media_dir / "tone1k.wav"
    sf.write(path, np.sin(2 * np.pi * 1000 * t), sr, subtype="FLOAT")
    spec = spectrogram(path, 0.5, 1.5, n_fft=512)
    assert spec.db.dtype == np.float32 and spec.db.shape == (257, spec.times.size)
    assert spec.hop == 128 and spec.times.size == 125
    assert spec.times[0] == pytest.approx(0.5) and spec.times[1] - spec.times[0] == pytest.approx(128 / sr)
    peak = spec.freqs[np.argmax(spec.db, axis=0)]
    assert np.all(peak == 1000)
    assert spec.db.max() == pytest.approx(0.0, abs=0.5)  # a full-scale sine reads 0 dB


def test_spectrogram_limits_columns_and_handles_edges(wav, speech, opus):
    spec = spectrogram(wav.path, 0.0, 12.0, n_fft=1024, max_columns=300)
    assert spec.db.shape[1] <= 300 and spec.hop >= 12 * 48000 // 300
    beyond = spectrogram(wav.path, 11.9, 20.0)
    assert beyond.times[-1] < 12.0
    assert spectrogram(wav.path, 30.0, 31.0).db.shape[1] == 0
    voice = spectrogram(speech, 0.2, 1.2, n_fft=512)
    assert voice.db.max() > -30  # speech energy shows up
    left = spectrogram(opus.path, 1.0, 2.0, channel=0)
    right = spectrogram(opus.path, 1.0, 2.0, channel=1)
    assert left.freqs[np.argmax(left.db.mean(axis=1))] != right.freqs[np.argmax(right.db.mean(axis=1))]


@pytest.mark.parametrize("name", ["wav", "opus"])
def test_wide_views_read_per_column_or_stream_with_the_same_result(request, name, monkeypatch):
    """Wide ranges are not read in one piece (memory); the columns must not change."""
    import labeldesk.media.spectrogram as spectrogram_module

    fx = request.getfixturevalue(name)
    whole = spectrogram(fx.path, 0.5, 7.5, n_fft=256, max_columns=100)  # hop 3360 >= 8 * 256
    monkeypatch.setattr(spectrogram_module, "_CONTIGUOUS_LIMIT", 10_000)
    apart = spectrogram(fx.path, 0.5, 7.5, n_fft=256, max_columns=100)
    assert apart.hop == whole.hop and apart.db.shape == whole.db.shape
    np.testing.assert_allclose(apart.db, whole.db, atol=1e-3)
