from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from labeldesk.media.audio import iter_blocks, nearest_zero_crossing, open_audio, read_range, read_samples
from labeldesk.media.errors import MediaError, Problem


def _full(path, dtype="float32"):
    return np.concatenate(list(iter_blocks(path, dtype=dtype)))


def test_blocks_match_soundfile_exactly(wav, flac_6ch, wav_192k):
    for fx in (wav, flac_6ch, wav_192k):
        blocks = list(iter_blocks(fx.path, block_frames=10_000))
        assert all(len(b) == 10_000 for b in blocks[:-1])
        assert blocks[0].shape[1] == fx.samples.shape[1] and blocks[0].dtype == np.float32
        expected = sf.read(fx.path, dtype="float32", always_2d=True)[0]
        np.testing.assert_array_equal(np.concatenate(blocks), expected)


def test_int16_blocks_are_the_float_blocks_to_one_step(any_audio):
    floats = _full(any_audio.path)
    ints = _full(any_audio.path, "int16")
    assert ints.dtype == np.int16 and ints.shape == floats.shape
    # libsndfile truncates 24-bit to 16 (shift) where rounding would be off by one step.
    diff = ints.astype(np.int32) - np.clip(np.rint(floats * 32768), -32768, 32767)
    assert np.abs(diff).max() <= 1


def test_decoded_audio_resembles_what_was_encoded(any_audio):
    x = _full(any_audio.path)
    assert x.shape[1] == any_audio.samples.shape[1]
    assert abs(len(x) - len(any_audio.samples)) <= 2112  # encoder padding of lossy codecs
    # Lossy codecs shift by their delay; compare loudness rather than samples.
    rms = np.sqrt(np.mean(x.astype(np.float64) ** 2))
    assert rms == pytest.approx(np.sqrt(np.mean(any_audio.samples.astype(np.float64) ** 2)), rel=0.1)


def test_read_range_seeks_to_exact_samples(any_audio):
    """A seek lands on the same samples as a decode from the start, for every backend."""
    full = _full(any_audio.path)
    sr = any_audio.sample_rate
    noisy = open_audio(any_audio.path).codec == "aac"
    for t0 in (0.0, 0.3217, 1.7, len(full) / sr / 2 + 0.01, len(full) / sr - 0.05):
        x, rate = read_range(any_audio.path, t0, t0 + 0.04)
        start = int(round(t0 * sr))
        assert rate == sr
        assert len(x) == max(0, min(int(round((t0 + 0.04) * sr)), len(full)) - start)
        if noisy:
            # AAC noise substitution draws random noise, which a seek re-draws:
            # same signal, same position, slightly different noise.
            assert np.sqrt(np.mean((x - full[start:start + len(x)]) ** 2)) < 0.01
        else:
            np.testing.assert_array_equal(x, full[start:start + len(x)])


def test_read_range_clips_to_the_file(wav):
    x, _ = read_range(wav.path, 11.99, 13.0)
    assert len(x) == len(wav.samples) - int(round(11.99 * 48000))
    assert read_samples(wav.path, 10 ** 9, 10 ** 9 + 10).shape == (0, 2)


def test_audio_inside_video(video):
    src = open_audio(video)
    assert src.backend == "pyav" and src.channels == 2
    x, sr = read_range(video, 2.0, 2.5)
    assert sr == 48000 and x.shape == (24000, 2)
    assert np.abs(x).max() > 0.1


def test_zero_crossing_snaps_to_the_nearest_sign_change(media_dir):
    sr = 8000
    t = np.arange(sr) / sr
    path = media_dir / "sine100.wav"
    sf.write(path, 0.5 * np.sin(2 * np.pi * 100 * t + 0.3), sr, subtype="FLOAT")
    # Zeros of sin(2*pi*100*t + 0.3) fall at (k*pi - 0.3) / (200*pi).
    zeros = (np.arange(1, 200) * np.pi - 0.3) / (200 * np.pi)
    for t0 in (0.1234, 0.5, 0.7777):
        snapped = nearest_zero_crossing(path, t0)
        nearest = zeros[np.argmin(np.abs(zeros - t0))]
        assert abs(snapped - nearest) <= 1 / sr
        assert snapped * sr == pytest.approx(round(snapped * sr))  # on a sample


def test_zero_crossing_in_speech(speech):
    info = sf.info(speech)
    x = sf.read(speech, dtype="float32")[0]
    for t0 in (0.6, 1.1):
        snapped = nearest_zero_crossing(speech, t0, window=0.01)
        assert abs(snapped - t0) <= 0.01
        i = int(round(snapped * info.samplerate))
        # The chosen sample sits next to a sign change, or the window was silent.
        near = x[max(0, i - 1):i + 2]
        assert (np.sign(near).min() <= 0 <= np.sign(near).max()) or snapped == t0


def test_silence_has_no_crossing(media_dir):
    path = media_dir / "silence.wav"
    sf.write(path, np.zeros(8000), 8000)
    assert nearest_zero_crossing(path, 0.5) == 0.5


def test_truncated_flac_fails_with_the_file_name(damaged):
    with pytest.raises(MediaError) as err:
        _full(damaged["flac"])
    assert str(damaged["flac"]) in str(err.value)
    assert err.value.problem in (Problem.CORRUPT, Problem.TRUNCATED)


def test_video_without_sound_has_no_audio(rotated_video):
    with pytest.raises(MediaError) as err:
        open_audio(rotated_video)
    assert err.value.problem is Problem.NO_AUDIO
    assert str(rotated_video) in str(err.value)
