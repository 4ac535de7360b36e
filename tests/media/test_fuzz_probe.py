"""Property: whatever bytes a file holds, probe (and decoding what it accepts) fails only with MediaError.

Small valid files of every kind the app imports are cut, overwritten, grown
and shrunk at random places; a traceback of PyAV or soundfile escaping as
anything but a MediaError naming the file is a bug. The example count is
bounded so the run stays a few seconds in CI.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labeldesk.media.audio import iter_blocks
from labeldesk.media.errors import MediaError, Problem
from labeldesk.media.probe import probe

from .conftest import encode_audio, encode_video, tone

settings.register_profile(
    "media-fuzz", max_examples=50, deadline=None, database=None,  # no .hypothesis/ folder in the checkout
    suppress_health_check=[HealthCheck.too_slow],  # decoding a mutated file can take a while
)
FUZZ = settings.get_profile("media-fuzz")


@pytest.fixture(scope="module")
def seeds(media_dir) -> dict[str, Path]:
    """A few kilobytes each: the mutations, not the decoding, are what the examples explore."""
    d = media_dir / "fuzz_seeds"
    d.mkdir()
    x = tone(0.5, 8000, 1, seed=20)
    sf.write(d / "s.wav", x, 8000, subtype="PCM_16")
    sf.write(d / "s.flac", x, 8000, subtype="PCM_16")
    x48 = tone(0.3, 48000, 2, seed=21)
    av.VideoFrame.from_ndarray(np.full((8, 8, 3), 200, np.uint8), format="rgb24").save(str(d / "s.png"))
    paths = [
        d / "s.wav", d / "s.flac", d / "s.png",
        encode_audio(d / "s.mp3", x, 8000, "libmp3lame", 16000),
        encode_audio(d / "s.m4a", x48, 48000, "aac", 32000),
        encode_audio(d / "fast.m4a", x48, 48000, "aac", 32000, options={"movflags": "faststart"}),
        encode_audio(d / "s.opus", x48, 48000, "libopus", 24000),
        encode_audio(d / "s.mka", x48, 48000, "libopus", 24000),
        encode_video(d / "s.mp4", 6, 32, 32, gop=3, audio_seconds=0.2, faststart=True),
        encode_video(d / "s.mkv", 6, 32, 32, gop=3, audio_seconds=0.2),
    ]
    return {p.name: p for p in paths}  # paths, not bytes: a failing example's report stays short


@st.composite
def mutated(draw, original: bytes) -> bytes:
    """`original` after one to four random cuts, overwrites, insertions and deletions."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["cut", "overwrite", "insert", "delete"]))
        if op == "cut":
            del data[at:]
        elif op == "overwrite":
            patch = draw(st.binary(min_size=1, max_size=64))
            data[at:at + len(patch)] = patch
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            del data[at:at + draw(st.integers(1, 256))]
    return bytes(data)


@FUZZ
@given(data=st.data())
def test_damaged_files_fail_only_with_media_error(seeds, media_dir, data):
    name = data.draw(st.sampled_from(sorted(seeds)), label="seed")
    path = media_dir / f"fuzz_{name}"
    path.write_bytes(data.draw(mutated(seeds[name].read_bytes()), label="bytes"))
    try:
        info = probe(path)
        if info.audio is not None:
            for _ in iter_blocks(path, block_frames=4096):
                pass
    except MediaError as err:
        assert str(path) in str(err)
        return
    assert info.kind in ("audio", "video", "image")
    assert info.duration is None or info.duration >= 0
    assert info.warning is None or str(path) in info.warning


# --- what the property found, kept as fixed examples ---------------------------

def test_tags_that_are_not_utf8_do_not_stop_a_file(aac, media_dir):
    path = media_dir / "latin1_tag.m4a"
    path.write_bytes(aac.path.read_bytes().replace(b"SoundHandler", b"\x80oundHandler"))
    assert probe(path).kind == "audio"


def test_a_codec_without_decoder_is_unsupported(media_dir):
    x = tone(0.5, 48000, 2, seed=22)
    src = encode_audio(media_dir / "known_codec.mka", x, 48000, "libopus", 24000)
    path = media_dir / "unknown_codec.mka"
    path.write_bytes(src.read_bytes().replace(b"A_OPUS", b"A_XXXX"))  # Matroska's codec id, same length
    with pytest.raises(MediaError) as err:
        probe(path)
    assert err.value.problem is Problem.UNSUPPORTED and "decoder" in str(err.value)


def test_audio_that_changes_its_channel_count_is_refused_when_decoded(media_dir):
    """Raw AAC (ADTS) frames carry their own layout: a mono run followed by a stereo one."""
    mono = encode_audio(media_dir / "mono.aac", tone(1.0, 48000, 1, seed=23), 48000, "aac", 64000)
    stereo = encode_audio(media_dir / "stereo.aac", tone(1.0, 48000, 2, seed=24), 48000, "aac", 64000)
    path = media_dir / "mono_then_stereo.aac"
    path.write_bytes(mono.read_bytes() + stereo.read_bytes())
    assert probe(path).audio.channels == 1
    with pytest.raises(MediaError) as err:
        for _ in iter_blocks(path):
            pass
    assert err.value.problem is Problem.UNSUPPORTED and "from 1 to 2 channels" in str(err.value)
