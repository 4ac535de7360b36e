"""Test media made on the fly: tones written with soundfile, lossy audio and
video encoded with PyAV, speech from espeak-ng, and damaged files.

Everything expensive is session-scoped and small (seconds, not minutes) so
the whole tests/media run stays well under a minute on two cores.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf


# --- signal and file makers (also used by tests directly) ---------------------

def tone(seconds: float, sr: int = 48000, channels: int = 2, seed: int = 0) -> np.ndarray:
    """Deterministic float32 (n, channels): a different sine per channel, slow
    amplitude swell (so peaks vary along the file), a little noise."""
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    rng = np.random.default_rng(seed)
    cols = []
    for c in range(channels):
        freq = min(220.0 * (c + 1), sr / 4)
        swell = 0.55 + 0.4 * np.sin(2 * np.pi * (0.2 + 0.05 * c) * t)
        cols.append(swell * np.sin(2 * np.pi * freq * t + c))
    x = np.stack(cols, axis=1) * 0.8 + 0.01 * rng.standard_normal((n, channels))
    return np.clip(x, -1, 1).astype(np.float32)


def encode_audio(path: Path, x: np.ndarray, sr: int, codec: str, bit_rate: int | None = None, *,
                 options: dict[str, str] | None = None) -> Path:
    """Encode float32 (n, channels) with PyAV (format chosen by the extension; `options` go to the muxer)."""
    with av.open(str(path), "w", options=options or {}) as out:
        stream = out.add_stream(codec, rate=sr)
        stream.layout = av.AudioLayout(f"{x.shape[1]}c").name
        if bit_rate:
            stream.bit_rate = bit_rate
        resampler = av.AudioResampler(format=stream.format.name, layout=stream.layout.name, rate=sr)
        for i in range(0, len(x), 4800):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[i:i + 4800].T), format="fltp",
                                               layout=stream.layout.name)
            frame.sample_rate, frame.pts, frame.time_base = sr, i, Fraction(1, sr)
            for f in resampler.resample(frame):
                for packet in stream.encode(f):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def picture(i: int, w: int, h: int) -> np.ndarray:
    """A distinct RGB picture per frame index: a moving gradient and a bright square."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([(xx * 3 + i * 7) % 256, (yy * 3 + i * 5) % 256, ((xx + yy + i * 11) // 2) % 256], -1)
    s = max(4, h // 8)
    y0, x0 = (i * 5) % (h - s), (i * 9) % (w - s)
    img[y0:y0 + s, x0:x0 + s] = 255
    return img.astype(np.uint8)


def encode_video(path: Path, n_frames: int, w: int, h: int, *, fps: int = 30, gop: int = 30,
                 pts: list[int] | None = None, time_base: Fraction | None = None, rotation: int = 0,
                 audio_seconds: float = 0.0, faststart: bool = False, bframes: bool = True) -> Path:
    """H.264 in MP4. `pts` (in `time_base`) gives a variable frame rate; B-frames on by default."""
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.codec_context.gop_size = gop
        if time_base is not None:
            v.codec_context.time_base = time_base
        v.options = {"preset": "veryfast" if bframes else "ultrafast",
                     "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
        if rotation:
            v.set_display_rotation(rotation)
        a = None
        if audio_seconds:
            a = out.add_stream("aac", rate=48000)
            a.layout = "stereo"
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(picture(i, w, h), format="rgb24")
            frame.pts = pts[i] if pts is not None else i
            if time_base is not None:
                frame.time_base = time_base
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)
        if a is not None:
            x = tone(audio_seconds, 48000, 2)
            for i in range(0, len(x), 1024):
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[i:i + 1024].T), format="fltp",
                                                   layout="stereo")
                frame.sample_rate, frame.pts, frame.time_base = 48000, i, Fraction(1, 48000)
                for packet in a.encode(frame):
                    out.mux(packet)
            for packet in a.encode(None):
                out.mux(packet)
    return path


def decode_all_frames(path: Path) -> list[tuple[int, np.ndarray, Fraction]]:
    """Reference: every frame decoded sequentially, as (pts, rgb, time_base)."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        return [(f.pts, f.to_ndarray(format="rgb24"), f.time_base) for f in c.decode(stream)]


def truncate_copy(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[:int(len(data) * fraction)])
    return dst


# --- session fixtures ----------------------------------------------------------

@dataclass(frozen=True)
class AudioFixture:
    path: Path
    samples: np.ndarray  # what was encoded (float32 (n, ch))
    sample_rate: int


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def wav(media_dir) -> AudioFixture:
    x = tone(12.0, 48000, 2)
    path = media_dir / "tone.wav"
    sf.write(path, x, 48000, subtype="PCM_16")
    return AudioFixture(path, x, 48000)


@pytest.fixture(scope="session")
def flac(media_dir) -> AudioFixture:
    x = tone(12.0, 48000, 2, seed=1)
    path = media_dir / "tone.flac"
    sf.write(path, x, 48000, subtype="PCM_16")
    return AudioFixture(path, x, 48000)


@pytest.fixture(scope="session")
def wav_8k(media_dir) -> AudioFixture:
    x = tone(3.0, 8000, 1, seed=2)
    path = media_dir / "mono8k.wav"
    sf.write(path, x, 8000, subtype="PCM_16")
    return AudioFixture(path, x, 8000)


@pytest.fixture(scope="session")
def wav_192k(media_dir) -> AudioFixture:
    x = tone(1.5, 192000, 2, seed=3)
    path = media_dir / "hires192k.wav"
    sf.write(path, x, 192000, subtype="PCM_24")
    return AudioFixture(path, x, 192000)


@pytest.fixture(scope="session")
def flac_6ch(media_dir) -> AudioFixture:
    x = tone(3.0, 48000, 6, seed=4)
    path = media_dir / "surround.flac"
    sf.write(path, x, 48000, subtype="PCM_24")
    return AudioFixture(path, x, 48000)


@pytest.fixture(scope="session")
def long_overview_wav(media_dir) -> AudioFixture:
    """Long enough (40 s) for build_peaks to hand out a partial overview; small (8 kHz mono)."""
    x = tone(40.0, 8000, 1, seed=5)
    path = media_dir / "long8k.wav"
    sf.write(path, x, 8000, subtype="PCM_16")
    return AudioFixture(path, x, 8000)


@pytest.fixture(scope="session")
def mp3(media_dir) -> AudioFixture:
    x = tone(8.0, 44100, 2, seed=6)
    return AudioFixture(encode_audio(media_dir / "tone.mp3", x, 44100, "libmp3lame", 128000), x, 44100)


@pytest.fixture(scope="session")
def aac(media_dir) -> AudioFixture:
    x = tone(8.0, 48000, 2, seed=7)
    return AudioFixture(encode_audio(media_dir / "tone.m4a", x, 48000, "aac", 128000), x, 48000)


@pytest.fixture(scope="session")
def opus(media_dir) -> AudioFixture:
    x = tone(8.0, 48000, 2, seed=8)
    return AudioFixture(encode_audio(media_dir / "tone.opus", x, 48000, "libopus", 96000), x, 48000)


@pytest.fixture(scope="session", params=["wav", "flac", "mp3", "aac", "opus", "wav_8k", "wav_192k", "flac_6ch"])
def any_audio(request) -> AudioFixture:
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def speech(media_dir) -> Path:
    """Real speech from espeak-ng (22.05 kHz mono WAV)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    path = media_dir / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "The quick brown fox jumps over the lazy dog."],
                   check=True, capture_output=True)
    return path


@pytest.fixture(scope="session")
def video(media_dir) -> Path:
    """6 s of 640x360 H.264 at 30 fps, keyframe every second, B-frames, AAC sound."""
    return encode_video(media_dir / "clip.mp4", 180, 640, 360, gop=30, audio_seconds=6.0)


@pytest.fixture(scope="session")
def video_frames(video) -> list[tuple[int, np.ndarray, Fraction]]:
    return decode_all_frames(video)


@pytest.fixture(scope="session")
def vfr_video(media_dir) -> Path:
    """Variable frame rate: frame durations of 20, 40 and 100 ms in a 1/1000 time base."""
    steps = [20, 40, 100, 40, 20, 33, 67]
    pts = [0]
    for i in range(59):
        pts.append(pts[-1] + steps[i % len(steps)])
    return encode_video(media_dir / "vfr.mp4", 60, 320, 240, gop=12, pts=pts, time_base=Fraction(1, 1000))


@pytest.fixture(scope="session")
def vfr_frames(vfr_video) -> list[tuple[int, np.ndarray, Fraction]]:
    return decode_all_frames(vfr_video)


@pytest.fixture(scope="session")
def rotated_frames(rotated_video) -> list[tuple[int, np.ndarray, Fraction]]:
    return decode_all_frames(rotated_video)


@pytest.fixture(scope="session")
def rotated_video(media_dir) -> Path:
    """Display matrix asking for 90 degrees counter-clockwise; no sound."""
    return encode_video(media_dir / "rotated.mp4", 20, 160, 96, gop=10, rotation=90, bframes=False)


@pytest.fixture(scope="session")
def truncated_video(media_dir) -> Path:
    """Index at the front (faststart), data cut at 70%: the last frames are gone."""
    whole = encode_video(media_dir / "whole_faststart.mp4", 90, 320, 240, gop=30, faststart=True)
    return truncate_copy(whole, media_dir / "cut_faststart.mp4", 0.7)


def scramble_copy(src: Path, dst: Path, at: float, n_bytes: int = 3000) -> Path:
    """Overwrite n_bytes at fraction `at` of the file with noise (damaged data, intact framing)."""
    data = bytearray(src.read_bytes())
    i = int(len(data) * at)
    data[i:i + n_bytes] = np.random.default_rng(10).bytes(n_bytes)
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="session")
def damaged(media_dir, wav, flac, aac, video) -> dict[str, Path]:
    """Files that must fail with a clear MediaError."""
    zero = media_dir / "empty.wav"
    zero.write_bytes(b"")
    garbage = media_dir / "noise.mp4"
    garbage.write_bytes(np.random.default_rng(9).bytes(20000))
    return {
        "aac": scramble_copy(aac.path, media_dir / "scrambled.m4a", 0.6),
        "zero": zero,
        "garbage": garbage,
        "wav": truncate_copy(wav.path, media_dir / "cut.wav", 0.5),
        "flac": truncate_copy(flac.path, media_dir / "cut.flac", 0.5),
        "mp4": truncate_copy(video, media_dir / "cut_moov_at_end.mp4", 0.5),
        "missing": media_dir / "does-not-exist.wav",
    }
