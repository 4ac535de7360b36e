from __future__ import annotations

import hashlib
import json

import av
import numpy as np
import pytest

from labeldesk.media.errors import MediaError, Problem
from labeldesk.media.probe import probe, sha256_file


def test_audio_files_are_described(wav, flac, wav_8k, wav_192k, flac_6ch):
    for fx, channels in ((wav, 2), (flac, 2), (wav_8k, 1), (wav_192k, 2), (flac_6ch, 6)):
        info = probe(fx.path)
        assert info.kind == "audio" and info.video is None
        assert info.audio.sample_rate == fx.sample_rate
        assert info.audio.channels == channels
        assert info.audio.frames == len(fx.samples)
        assert info.duration == pytest.approx(len(fx.samples) / fx.sample_rate)
        assert info.size == fx.path.stat().st_size


@pytest.mark.parametrize("name, codec", [("mp3", "mp3"), ("aac", "aac"), ("opus", "opus")])
def test_lossy_audio(request, name, codec):
    fx = request.getfixturevalue(name)
    info = probe(fx.path)
    assert info.kind == "audio"
    assert info.audio.codec == codec
    assert info.audio.sample_rate == fx.sample_rate
    assert info.duration == pytest.approx(len(fx.samples) / fx.sample_rate, abs=0.1)


def test_video_with_sound(video):
    info = probe(video)
    assert info.kind == "video"
    v = info.video
    assert (v.width, v.height, v.codec) == (640, 360, "h264")
    assert v.avg_fps == pytest.approx(30)
    assert v.rotation == 0 and not v.variable_frame_rate
    assert v.frame_count == 180
    assert info.audio is not None and info.audio.codec == "aac"
    data = info.to_dict()
    json.dumps(data)  # plain JSON types only
    assert data["video"]["time_base"] == f"{v.time_base.numerator}/{v.time_base.denominator}"


def test_rotation_from_display_matrix(rotated_video):
    v = probe(rotated_video).video
    assert v.rotation == 90
    assert v.display_size == (96, 160)


def test_variable_frame_rate_is_detected(vfr_video):
    assert probe(vfr_video).video.variable_frame_rate


def test_image(media_dir):
    path = media_dir / "still.png"
    av.VideoFrame.from_ndarray(np.zeros((30, 40, 3), np.uint8), format="rgb24").save(str(path))
    info = probe(path)
    assert info.kind == "image" and info.duration is None
    assert (info.video.width, info.video.height) == (40, 30)


def test_sha256(wav):
    assert sha256_file(wav.path, chunk=4096) == hashlib.sha256(wav.path.read_bytes()).hexdigest()


@pytest.mark.parametrize("key, problem", [
    ("zero", Problem.ZERO_LENGTH),
    ("garbage", Problem.CORRUPT),
    ("wav", Problem.TRUNCATED),
    ("flac", Problem.TRUNCATED),
    ("mp4", Problem.TRUNCATED),
    ("missing", Problem.MISSING),
])
def test_errors_name_the_file_and_the_problem(damaged, key, problem):
    with pytest.raises(MediaError) as err:
        probe(damaged[key])
    assert err.value.problem is problem
    assert str(damaged[key]) in str(err.value)
    assert problem.value in str(err.value)
