from __future__ import annotations

import random

import numpy as np
import pytest

from labeldesk.media.errors import MediaError, Problem
from labeldesk.media.video import VideoReader


def _expected_index(frames, origin_seconds, t):
    """Index of the sequentially decoded frame whose [pts, next pts) covers t."""
    times = [float(pts * tb) - origin_seconds for pts, _, tb in frames]
    return max(0, max((i for i, s in enumerate(times) if s <= t), default=0))


def test_frame_times_are_the_stream_timestamps(video, video_frames):
    with VideoReader(video) as reader:
        expected = [float(pts * tb) for pts, _, tb in video_frames]
        np.testing.assert_allclose(reader.frame_times, expected, atol=1e-9)
        assert reader.n_frames == 180 and reader.avg_fps == pytest.approx(30)
        np.testing.assert_allclose(reader.keyframe_times, np.arange(6), atol=1e-9)
        assert reader.duration == pytest.approx(6.0)
        assert not reader.variable_frame_rate


def test_random_frames_equal_the_sequential_decode(video, video_frames):
    """frame_at(t) gives the very pixels of the frame covering t, decoded from the start."""
    rng = random.Random(7)
    with VideoReader(video, cache_frames=0) as reader:  # no cache: every call decodes
        times = list(reader.frame_times)
        probes = [rng.uniform(0, 6.0) for _ in range(25)]
        probes += [times[37], times[38] - 1e-6, times[30], times[29], 0.0, times[-1], 99.0]  # edges
        for t in probes:
            frame = reader.frame_at(t)
            i = _expected_index(video_frames, 0.0, t)
            assert frame.index == i
            assert frame.pts == pytest.approx(times[i])
            np.testing.assert_array_equal(frame.rgb, video_frames[i][1])


def test_variable_frame_rate(vfr_video, vfr_frames):
    frames = vfr_frames
    with VideoReader(vfr_video, cache_frames=0) as reader:
        assert reader.variable_frame_rate
        expected = [float(pts * tb) for pts, _, tb in frames]
        np.testing.assert_allclose(reader.frame_times, expected, atol=1e-9)
        steps = np.round(np.diff(reader.frame_times) * 1000).astype(int)
        assert set(steps.tolist()) == {20, 33, 40, 67, 100}  # never guessed from an average rate
        rng = random.Random(3)
        for t in [rng.uniform(0, reader.duration) for _ in range(20)] + list(reader.frame_times[:5]):
            frame = reader.frame_at(t)
            i = _expected_index(frames, 0.0, t)
            assert frame.index == i
            np.testing.assert_array_equal(frame.rgb, frames[i][1])


def test_stepping_after_a_seek_does_not_seek_again(video, video_frames, monkeypatch):
    with VideoReader(video) as reader:
        seeks = []
        original = reader._seek
        monkeypatch.setattr(reader, "_seek", lambda key: (seeks.append(key), original(key)))
        reader.frame(100)
        assert len(seeks) == 1
        for i in range(101, 140):  # crosses the keyframe at frame 120
            np.testing.assert_array_equal(reader.frame(i).rgb, video_frames[i][1])
        reader.frame(145)  # a short jump ahead keeps decoding too
        assert len(seeks) == 1
        reader.frame(20)  # going back needs a seek
        assert len(seeks) == 2


def test_cache(video):
    with VideoReader(video, cache_frames=4) as reader:
        first = reader.frame(50)
        again = reader.frame(50)
        assert again is first  # served from the cache, not decoded again (bench_media.py times it)
        assert not first.rgb.flags.writeable  # shared with the cache: read-only
        for i in range(51, 56):
            reader.frame(i)
        assert reader.frame(50) is not first  # evicted (LRU of 4), decoded again
        assert len(reader._cache) == 4


def test_keyframe_helpers(video):
    with VideoReader(video) as reader:
        assert reader.next_keyframe_time(0.0) == pytest.approx(1.0)
        assert reader.next_keyframe_time(2.5) == pytest.approx(3.0)
        assert reader.prev_keyframe_time(2.5) == pytest.approx(2.0)
        assert reader.prev_keyframe_time(2.0) == pytest.approx(1.0)
        assert reader.prev_keyframe_time(0.0) is None
        assert reader.next_keyframe_time(5.5) is None
        assert list(reader.keyframe_indices) == [0, 30, 60, 90, 120, 150]


def test_rotation_is_applied_and_reported(rotated_video, rotated_frames):
    frames = rotated_frames
    with VideoReader(rotated_video) as upright, VideoReader(rotated_video, apply_rotation=False) as raw:
        assert upright.rotation == 90 and upright.display_size == (96, 160)
        assert raw.display_size == (160, 96)
        a, b = upright.frame(7), raw.frame(7)
        assert a.rotation == b.rotation == 90
        assert a.rotation_applied and not b.rotation_applied
        np.testing.assert_array_equal(b.rgb, frames[7][1])
        np.testing.assert_array_equal(a.rgb, np.rot90(frames[7][1]))  # 90 degrees counter-clockwise
        assert a.rgb.flags.c_contiguous and a.rgb.shape == (160, 96, 3)


def test_truncated_tail_raises_a_clear_error(truncated_video):
    with VideoReader(truncated_video) as reader:
        assert reader.frame(5).index == 5  # the start decodes
        last = reader.n_frames - 1
        try:
            frame = reader.frame(last)
        except MediaError as err:
            assert err.problem in (Problem.TRUNCATED, Problem.CORRUPT)
            assert str(truncated_video) in str(err) and f"frame {last}" in str(err)
            with pytest.raises(MediaError):
                reader.frame(last)  # remembered: fails at once
            assert reader.frame(last - 1).index == last - 1  # what is whole still decodes
        else:
            assert frame.index == last  # the demuxer kept only whole packets


def test_missing_index_and_no_video(damaged, wav):
    with pytest.raises(MediaError) as err:
        VideoReader(damaged["mp4"])
    assert err.value.problem is Problem.TRUNCATED and "moov" in str(err.value)
    with pytest.raises(MediaError) as err:
        VideoReader(wav.path)
    assert err.value.problem is Problem.NO_VIDEO and str(wav.path) in str(err.value)
    with pytest.raises(IndexError):
        with VideoReader(damaged["mp4"].with_name("clip.mp4")) as reader:
            reader.frame(reader.n_frames)
