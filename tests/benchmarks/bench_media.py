"""Benchmark of the media layer (run as a script, not collected by pytest).

    python tests/benchmarks/bench_media.py [--media-dir DIR] [--audio-minutes 60] [--video-minutes 10]

Makes (or reuses, with --media-dir) an hour of 48 kHz stereo as FLAC and as
MP3, and 10 minutes of 1280x720 30 fps H.264 + AAC with a keyframe every
10 s. Generating takes several minutes (MP3 and H.264 encoding); pass a
--media-dir to keep the files for the next run. Every figure is measured
against its floor in the same run, since the machine is shared and noisy:

* peak pyramid build (cache miss) vs a plain decode of the same file
  (soundfile blocks for FLAC; PyAV and soundfile for MP3) — goal <= 1.3x;
* peak memory of a build in a fresh process (VmHWM) — goal < 200 MB;
* cache-hit open by path and by hash — goal < 100 ms;
* exact random seek (frame_at) p50/p95 vs bare PyAV seek + decode + RGB of
  the same frames — goal <= 1.2x; a cached frame — goal < 5 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import av  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from labeldesk.media.peaks import build_peaks, load_cached_peaks  # noqa: E402
from labeldesk.media.probe import sha256_file  # noqa: E402
from labeldesk.media.thumbnails import keyframe_thumbnails  # noqa: E402
from labeldesk.media.video import VideoReader  # noqa: E402

SR = 48000


# --- test media -------------------------------------------------------------------

def _signal(start: int, n: int) -> np.ndarray:
    """Speech-like stereo: tones under a syllable-rate envelope with pauses, light noise."""
    t = (start + np.arange(n)) / SR
    env = np.clip(np.sin(2 * np.pi * 3.1 * t) * np.sin(2 * np.pi * 0.17 * t) * 1.4, 0, 1)
    left = env * (0.5 * np.sin(2 * np.pi * 180 * t) + 0.2 * np.sin(2 * np.pi * 910 * t))
    right = env * (0.4 * np.sin(2 * np.pi * 240 * t + 1) + 0.2 * np.sin(2 * np.pi * 1530 * t))
    noise = np.random.default_rng(start).standard_normal((n, 2)) * 0.003
    return (np.stack([left, right], 1) + noise).astype(np.float32)


def make_audio(dir_: Path, minutes: float) -> tuple[Path, Path]:
    flac, mp3 = dir_ / f"speech_{minutes:g}min.flac", dir_ / f"speech_{minutes:g}min.mp3"
    total = int(minutes * 60 * SR)
    chunk = SR * 30
    if not flac.exists():
        t = time.perf_counter()
        tmp = flac.with_suffix(".part.flac")
        with sf.SoundFile(tmp, "w", SR, 2, subtype="PCM_16", format="FLAC") as out:
            for i in range(0, total, chunk):
                out.write(_signal(i, min(chunk, total - i)))
        tmp.rename(flac)
        print(f"  made {flac.name} ({flac.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s")
    if not mp3.exists():
        t = time.perf_counter()
        tmp = mp3.with_suffix(".part.mp3")
        with av.open(str(tmp), "w", format="mp3") as out:
            stream = out.add_stream("libmp3lame", rate=SR)
            stream.layout, stream.bit_rate = "stereo", 128000
            resampler = av.AudioResampler(format=stream.format.name, layout="stereo", rate=SR)
            for i in range(0, total, chunk):
                x = _signal(i, min(chunk, total - i))
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x.T), format="fltp", layout="stereo")
                frame.sample_rate, frame.pts, frame.time_base = SR, i, Fraction(1, SR)
                for f in resampler.resample(frame):
                    for packet in stream.encode(f):
                        out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        tmp.rename(mp3)
        print(f"  made {mp3.name} ({mp3.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s")
    return flac, mp3


def make_video(dir_: Path, minutes: float) -> Path:
    path = dir_ / f"h264_720p_{minutes:g}min_kf10s.mp4"
    if path.exists():
        return path
    t = time.perf_counter()
    fps, w, h = 30, 1280, 720
    n = int(minutes * 60 * fps)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) * 255 // (w + h)], -1).astype(np.uint8)
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.options = {"preset": "superfast", "crf": "23",
                     "x264-params": "keyint=300:min-keyint=300:scenecut=0"}  # B-frames on
        a = out.add_stream("aac", rate=SR)
        a.layout = "stereo"
        audio_pts = 0
        for i in range(n):
            img = np.roll(base, (i * 7) % w, axis=1)
            y0 = (i * 13) % (h - 80)
            img[y0:y0 + 80, 200:280] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in v.encode(frame):
                out.mux(packet)
            # Interleave the sound with the picture, as a camera file would be.
            while audio_pts < (i + 1) * SR // fps:
                x = _signal(audio_pts, 1024)
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(x.T), format="fltp", layout="stereo")
                af.sample_rate, af.pts, af.time_base = SR, audio_pts, Fraction(1, SR)
                for packet in a.encode(af):
                    out.mux(packet)
                audio_pts += 1024
        for stream in (v, a):
            for packet in stream.encode(None):
                out.mux(packet)
    tmp.rename(path)
    print(f"  made {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s")
    return path


# --- floors ---------------------------------------------------------------------------

def decode_soundfile(path: Path, dtype: str = "float32") -> float:
    t = time.perf_counter()
    with sf.SoundFile(str(path)) as f:
        buf = np.empty((1 << 16, f.channels), dtype)
        while f.read(out=buf, dtype=dtype).shape[0] == len(buf):
            pass
    return time.perf_counter() - t


def decode_pyav(path: Path) -> float:
    t = time.perf_counter()
    with av.open(str(path)) as c:
        for frame in c.decode(audio=0):
            frame.to_ndarray()
    return time.perf_counter() - t


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def peak_rss_of_build(path: Path, cache: Path) -> tuple[float, float]:
    """(MB after imports, MB peak during the build) in a fresh interpreter (VmHWM)."""
    script = (
        "import re, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
        "from media.peaks import build_peaks\n"
        "hwm = lambda: int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "before = hwm()\n"
        f"build_peaks({str(path)!r}, {str(cache)!r})\n"
        "print(before, hwm())\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    before, after = map(int, out.split())
    return before / 1024, after / 1024


# --- benchmarks -----------------------------------------------------------------------------

def bench_audio(flac: Path, mp3: Path, work: Path) -> None:
    print(f"\n== Peak pyramid, {sf.info(str(flac)).duration / 60:.0f} min 48 kHz stereo ==")
    rows = []
    for path, floors in ((flac, {"soundfile float32 blocks": lambda: decode_soundfile(flac),
                                 "soundfile int16 blocks": lambda: decode_soundfile(flac, "int16")}),
                         (mp3, {"PyAV stream": lambda: decode_pyav(mp3),
                                "soundfile float32 blocks": lambda: decode_soundfile(mp3)})):
        sha = sha256_file(path)
        # Interleave floor and build runs, best of three each: the machine is shared.
        floor_times = {name: [] for name in floors}
        builds, builds_known_hash = [], []
        for run in range(3):
            for name, fn in floors.items():
                floor_times[name].append(fn())
            cache = Path(tempfile.mkdtemp(dir=work))
            builds.append(timed(lambda: build_peaks(path, cache)))
            cache = Path(tempfile.mkdtemp(dir=work))
            builds_known_hash.append(timed(lambda: build_peaks(path, cache, sha256=sha)))
        build, build_known = min(builds), min(builds_known_hash)
        start, first_view = time.perf_counter(), []
        with_partial = timed(lambda: build_peaks(path, Path(tempfile.mkdtemp(dir=work)), sha256=sha,
                                                 partial=lambda p: first_view.append(time.perf_counter() - start)))
        print(f"{path.suffix[1:].upper()} ({path.stat().st_size / 1e6:.0f} MB)")
        for name, times in floor_times.items():
            floor = min(times)
            print(f"  plain decode, {name:26s} {floor:6.2f} s")
        main_floor = min(floor_times[next(iter(floors))])
        print(f"  build_peaks (hash + decode + levels + save) {build:6.2f} s  = {build / main_floor:4.2f}x "
              f"the {next(iter(floors))} decode (goal <= 1.3x)")
        print(f"  build_peaks, hash already known          {build_known:6.2f} s  = {build_known / main_floor:4.2f}x")
        print(f"  build_peaks with a partial overview      {with_partial:6.2f} s, overview handed out after "
              f"{first_view[0] * 1e3:.0f} ms")
        rows.append((path, sha))
    print("\nMemory (fresh process, VmHWM):")
    for path, _ in rows:
        before, peak = peak_rss_of_build(path, Path(tempfile.mkdtemp(dir=work)))
        print(f"  {path.suffix[1:].upper()}: {before:5.0f} MB after imports, {peak:5.0f} MB peak during "
              f"build (goal < 200 MB)")
    print("\nCache hits:")
    for path, sha in rows:
        cache = Path(tempfile.mkdtemp(dir=work))
        pyramid = build_peaks(path, cache, sha256=sha)
        by_path = [timed(lambda: load_cached_peaks(path, cache)) for _ in range(20)]
        by_sha = [timed(lambda: load_cached_peaks(sha, cache)) for _ in range(20)]
        env_all = [timed(lambda: pyramid.envelope(0, pyramid.duration, 2000)) for _ in range(50)]
        mid = pyramid.duration / 2
        env_10s = [timed(lambda: pyramid.envelope(mid, mid + 10, 2000)) for _ in range(50)]
        env_samples = [timed(lambda: pyramid.envelope(mid, mid + 0.02, 2000)) for _ in range(5)]
        print(f"  {path.suffix[1:].upper()}: open by path {statistics.median(by_path) * 1e3:5.2f} ms, "
              f"by hash {statistics.median(by_sha) * 1e3:5.2f} ms (goal < 100 ms); envelope 2000 px: "
              f"whole file {statistics.median(env_all) * 1e3:4.2f} ms, 10 s {statistics.median(env_10s) * 1e3:4.2f} ms, "
              f"20 ms (samples) {statistics.median(env_samples) * 1e3:4.2f} ms")


def bench_video(path: Path, seeks: int) -> None:
    print(f"\n== Video: {path.name} ==")
    t = time.perf_counter()
    reader = VideoReader(path, cache_frames=0)
    print(f"  open + demux index of {reader.n_frames} frames, {len(reader.keyframe_times)} keyframes: "
          f"{(time.perf_counter() - t) * 1e3:.0f} ms")
    rng = random.Random(1)
    targets = [rng.randrange(reader.n_frames) for _ in range(seeks)]
    bare = av.open(str(path))
    stream = bare.streams.video[0]
    pts = reader.index.frame_pts

    def bare_seek(i: int) -> np.ndarray:
        target = int(pts[i])
        bare.seek(target, stream=stream, backward=True, any_frame=False)
        for frame in bare.decode(stream):
            if frame.pts >= target:
                return frame.to_ndarray(format="rgb24")

    threaded = VideoReader(path, cache_frames=0, thread_type="AUTO")
    ours, floor, frame_threads = [], [], []
    runs = [(floor, bare_seek), (ours, reader.frame), (frame_threads, threaded.frame)]
    for n, i in enumerate(targets):  # interleaved, in rotating order, so load spikes hit all alike
        for times, fn in runs[n % 3:] + runs[:n % 3]:
            times.append(timed(lambda: fn(i)))
    f50, f95 = np.percentile(floor, 50) * 1e3, np.percentile(floor, 95) * 1e3
    print(f"  exact random seek to {seeks} random frames; floor = bare PyAV seek + decode + RGB of the same "
          f"frames: p50 {f50:4.0f} ms, p95 {f95:4.0f} ms")
    for name, times in (("VideoReader.frame(i) (default)", ours),
                        ("VideoReader(thread_type='AUTO')", frame_threads)):
        p50, p95 = np.percentile(times, 50) * 1e3, np.percentile(times, 95) * 1e3
        print(f"  {name:32s} p50 {p50:4.0f} ms, p95 {p95:4.0f} ms = {p50 / f50:4.2f}x / "
              f"{p95 / f95:4.2f}x the floor (goal <= 1.2x)")
    reader.close()
    threaded.close()
    bare.close()
    with VideoReader(path) as cached:
        third = cached.n_frames // 3
        cached.frame(third)
        hits = [timed(lambda: cached.frame(third)) for _ in range(200)]
        step = [timed(lambda k=k: cached.frame(2 * third + k)) for k in range(60)]
    print(f"  cached frame: median {statistics.median(hits) * 1e3:.3f} ms, max {max(hits) * 1e3:.3f} ms "
          f"(goal < 5 ms); stepping forward (decode + RGB): median {statistics.median(step[1:]) * 1e3:.1f} ms")
    t = time.perf_counter()
    thumbs = keyframe_thumbnails(path, 100, 90)
    print(f"  {len(thumbs)} keyframe thumbnails (of 100 asked, one per keyframe at most): "
          f"{(time.perf_counter() - t) * 1e3:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media-dir", type=Path, help="keep generated media here (reused when present)")
    parser.add_argument("--audio-minutes", type=float, default=60)
    parser.add_argument("--video-minutes", type=float, default=10)
    parser.add_argument("--seeks", type=int, default=120)
    parser.add_argument("--skip-audio", action="store_true")
    parser.add_argument("--skip-video", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        media_dir = args.media_dir or Path(tmp)
        media_dir.mkdir(parents=True, exist_ok=True)
        print(f"media in {media_dir} ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f})")
        if not args.skip_audio:
            flac, mp3 = make_audio(media_dir, args.audio_minutes)
            bench_audio(flac, mp3, Path(tmp))
        if not args.skip_video:
            bench_video(make_video(media_dir, args.video_minutes), args.seeks)
        print(f"\n(load average at the end: {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
