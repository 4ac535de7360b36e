"""The kind of a file comes from its content; a known extension naming another container is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from labeldesk.media.errors import MediaError, Problem
from labeldesk.media.probe import probe


@pytest.fixture(scope="module")
def png(media_dir) -> Path:
    path = media_dir / "picture.png"
    av.VideoFrame.from_ndarray(np.full((24, 32, 3), 90, np.uint8), format="rgb24").save(str(path))
    return path


def renamed(src: Path, name: str) -> Path:
    dst = src.with_name(name)
    shutil.copyfile(src, dst)
    return dst


@pytest.mark.parametrize("source, name, holds, right", [
    ("png", "picture_as.mp4", "a PNG image", ".png"),
    ("mp3", "song_as.wav", "MP2/3", ".mp3"),
    ("wav", "tone_as.flac", "WAV", ".wav"),
    ("opus", "speech_as.m4a", "Ogg", ".ogg"),
    ("video", "clip_as.mkv", "QuickTime / MOV", ".mp4"),
])
def test_an_extension_naming_another_container_is_refused(request, source, name, holds, right):
    fx = request.getfixturevalue(source)
    path = renamed(getattr(fx, "path", fx), name)
    with pytest.raises(MediaError) as err:
        probe(path)
    assert err.value.problem is Problem.WRONG_EXTENSION
    message = str(err.value)
    assert str(path) in message and path.suffix in message and holds in message and right in message


@pytest.mark.parametrize("name", ["clip_as.mov", "clip_as.m4v", "clip_as.MP4"])
def test_other_names_of_the_same_container_are_accepted(video, name):
    assert probe(renamed(video, name)).kind == "video"


def test_audio_only_mp4_is_audio(aac):
    assert probe(renamed(aac.path, "tone_as.mp4")).kind == "audio"


@pytest.mark.parametrize("name, kind", [("picture_noext", "image"), ("picture.dat", "image")])
def test_unknown_extensions_go_by_the_content(png, name, kind):
    info = probe(renamed(png, name))
    assert info.kind == kind and info.format == "png_pipe"


def test_a_wav_without_extension_is_audio(wav):
    info = probe(renamed(wav.path, "tone_noext"))
    assert info.kind == "audio" and info.audio.frames == len(wav.samples)
