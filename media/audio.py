"""Streaming audio decode: blocks, sample ranges and zero crossings.

Two backends, chosen per file by what decodes it fastest (PERFORMANCE.md):

* soundfile (libsndfile) for WAV, FLAC, AIFF, Ogg Vorbis and MP3: exact
  sample counts from the header, sample-exact seeks, and it releases the
  interpreter lock, so threads reading two halves of a file run in parallel.
  (libsndfile 1.1+ decodes MP3 through mpg123 with gapless trimming; its seeks
  were checked sample-exact against a sequential decode.)
* PyAV for everything else: AAC, Opus (libsndfile's Opus is 3x slower), audio
  inside video containers.

Timeline: sample 0 is the first sample the decoder delivers and sample i is
at i / sample_rate seconds. A stream that starts late in its container
reports that offset in `AudioSource.start_time`; callers that align audio
with video add it.

Long media is never decoded into one array: everything here streams in
blocks and only `read_samples` (meant for a visible zoom range) concatenates.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import av
import numpy as np
import soundfile as sf

from labeldesk.media.errors import MediaError, Problem, check_file, open_container, wav_truncation

__all__ = [
    "AudioSource",
    "check_complete",
    "iter_blocks",
    "nearest_zero_crossing",
    "open_audio",
    "read_range",
    "read_samples",
    "sample_windows",
]

Backend = Literal["soundfile", "pyav"]
SampleType = Literal["float32", "int16"]
PathLike = str | os.PathLike[str]

# Containers whose header states the exact sample count: a decode that ends
# early means the file is damaged, not that the estimate was rough.
_EXACT_LENGTH_FORMATS = frozenset({"WAV", "WAVEX", "FLAC", "AIFF", "W64", "RF64", "CAF", "AU"})
# Seconds decoded before a PyAV seek target and thrown away: lets MP3's bit
# reservoir, AAC's overlap and Opus's 80 ms pre-roll settle so the samples
# match a decode from the start.
_PREROLL = 0.5
DEFAULT_BLOCK = 1 << 16


@dataclass(frozen=True)
class AudioSource:
    """How one file's audio is decoded; cheap to create, reuse it for repeated reads."""

    path: Path
    backend: Backend
    sample_rate: int
    channels: int
    frames: int | None  # exact sample count when the header states it, else None
    duration: float  # seconds; exact for soundfile, the container's estimate for PyAV
    codec: str
    exact_length: bool  # a decode shorter than `frames` means the file is truncated
    stream_index: int = 0  # PyAV stream index
    start_time: float = 0.0  # seconds from the container start to the first sample (PyAV)
    first_pts: float = 0.0  # stream time (s) of sample 0: turns frame timestamps into sample indices

    @property
    def estimated_frames(self) -> int:
        return self.frames if self.frames is not None else int(round(self.duration * self.sample_rate))

    def to_json(self) -> str:
        """For handing the description to a worker process (media.peak_worker)."""
        return json.dumps({**asdict(self), "path": str(self.path)})

    @classmethod
    def from_json(cls, text: str) -> AudioSource:
        data = json.loads(text)
        return cls(**{**data, "path": Path(data["path"])})


def open_audio(path: PathLike | AudioSource) -> AudioSource:
    """Describe how to decode `path`; raises MediaError when it has no usable audio."""
    if isinstance(path, AudioSource):
        return path
    p = check_file(path)
    source = _soundfile_source(p)
    return source if source is not None else _pyav_source(p)


def _soundfile_source(p: Path) -> AudioSource | None:
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return None
    if info.subtype == "OPUS" or info.samplerate <= 0 or info.channels <= 0:
        return None  # Opus: PyAV decodes it 3x faster
    if info.format in ("WAV", "WAVEX", "RF64"):
        hint = wav_truncation(p)
        if hint:
            raise MediaError(p, Problem.TRUNCATED, hint)
    codec = {"FLAC": "flac", "MP3": "mp3"}.get(info.format, info.subtype.lower())
    return AudioSource(
        path=p,
        backend="soundfile",
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
        duration=info.frames / info.samplerate,
        codec=codec,
        exact_length=info.format in _EXACT_LENGTH_FORMATS,
    )


def _pyav_source(p: Path) -> AudioSource:
    container = open_container(p)
    with container:
        if not container.streams.audio:
            raise MediaError(p, Problem.NO_AUDIO, f"the {container.format.name} file holds no audio track")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        if ctx is None:  # PyAV found no decoder for the stream's codec
            raise MediaError(p, Problem.UNSUPPORTED, "no decoder for the audio track's codec")
        if not ctx.sample_rate or not ctx.channels:
            raise MediaError(p, Problem.UNSUPPORTED, f"audio codec {ctx.name!r} reports no sample rate/channels")
        tb = stream.time_base
        first = float(stream.start_time * tb) if stream.start_time is not None and tb else 0.0
        container_start = container.start_time / av.time_base if container.start_time is not None else 0.0
        if stream.duration is not None and tb:
            duration = float(stream.duration * tb)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        return AudioSource(
            path=p,
            backend="pyav",
            sample_rate=int(ctx.sample_rate),
            channels=int(ctx.channels),
            frames=None,
            duration=duration,
            codec=ctx.name,
            exact_length=False,
            stream_index=stream.index,
            start_time=max(0.0, first - container_start),
            first_pts=first,
        )


def check_complete(src: AudioSource) -> None:
    """Raise MediaError if a file with a declared length cannot reach its last sample.

    One seek to the end (about 10 ms for FLAC) finds a cut FLAC file that
    would otherwise only fail when playback or peak building got there.
    """
    if src.backend != "soundfile" or not src.exact_length or not src.frames:
        return
    try:
        with sf.SoundFile(str(src.path)) as f:
            f.seek(src.frames - 1)
            got = len(f.read(1, always_2d=True))
    except (sf.LibsndfileError, RuntimeError):
        got = 0
    if got != 1:
        raise MediaError(src.path, Problem.TRUNCATED,
                         f"the header declares {src.duration:.3f} s of audio but the end of the data is missing")


def iter_blocks(
    path: PathLike | AudioSource,
    block_frames: int = DEFAULT_BLOCK,
    dtype: SampleType = "float32",
    start: int = 0,
    stop: int | None = None,
    *,
    reuse_buffer: bool = False,
) -> Iterator[np.ndarray]:
    """Yield the samples [start, stop) in blocks of shape (n, channels).

    Every block but the last holds exactly `block_frames` samples, so callers
    that bin samples can align bins with blocks. float32 is in [-1, 1);
    int16 is what peak building wants (half the memory traffic, and the
    conversion is cheaper in numpy than in the decoder, PERFORMANCE.md).
    With `reuse_buffer` the same array is refilled for each block: faster,
    but the caller must finish with a block before asking for the next.
    Raises MediaError when the file turns out damaged partway.
    """
    src = open_audio(path)
    if block_frames <= 0:
        raise ValueError("block_frames must be positive")
    start = max(0, int(start))
    if stop is None:
        stop = src.frames if src.frames is not None else math.inf
    if stop <= start:
        return iter(())
    if src.backend == "soundfile":
        return _sf_blocks(src, start, stop, block_frames, dtype, reuse_buffer)
    return _av_blocks(src, start, stop, block_frames, dtype, reuse_buffer)


def read_samples(path: PathLike | AudioSource, start: int, stop: int) -> np.ndarray:
    """Samples [start, stop) as float32 (n, channels), seeking rather than decoding from the start."""
    src = open_audio(path)
    blocks = [b for b in iter_blocks(src, block_frames=DEFAULT_BLOCK, start=start, stop=stop)]
    if not blocks:
        return np.zeros((0, src.channels), np.float32)
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


def read_range(path: PathLike | AudioSource, t0: float, t1: float) -> tuple[np.ndarray, int]:
    """Samples between t0 and t1 seconds as (float32 (n, channels), sample_rate).

    The first sample returned is sample round(t0 * sample_rate); the range
    is clipped to the file.
    """
    src = open_audio(path)
    sr = src.sample_rate
    start = max(0, int(round(t0 * sr)))
    stop = max(start, int(round(t1 * sr)))
    return read_samples(src, start, stop), sr


def nearest_zero_crossing(path: PathLike | AudioSource, t: float, window: float = 0.01) -> float:
    """Snap t to the closest zero crossing of the channel mix within ±window seconds.

    Returns the time of the sample at the crossing (the one of the pair
    nearer to zero), so a cut there does not click. When the window holds no
    sign change (silence, DC) t is returned unchanged.
    """
    src = open_audio(path)
    sr = src.sample_rate
    centre = int(round(t * sr))
    half = max(1, int(round(window * sr)))
    first = max(0, centre - half)
    x = read_samples(src, first, centre + half + 1)
    if len(x) < 2:
        return t
    mono = x.mean(axis=1, dtype=np.float64)
    sign = np.signbit(mono)
    crossings = np.flatnonzero(sign[1:] != sign[:-1])  # between i and i+1
    if crossings.size == 0:
        return t
    # Of each crossing pair take the sample closer to zero, then the one closest to t.
    pick = np.where(np.abs(mono[crossings]) <= np.abs(mono[crossings + 1]), crossings, crossings + 1)
    best = pick[np.argmin(np.abs(first + pick - t * sr))]
    return float(first + best) / sr


def sample_windows(path: PathLike | AudioSource, starts: list[int], length: int,
                   dtype: SampleType = "int16") -> Iterator[np.ndarray]:
    """Yield `length` samples at each of `starts` (ascending), keeping one decoder open.

    For quick overviews of long files: seeking to a few hundred places costs
    a fraction of decoding everything. PyAV seeks use a short pre-roll here,
    so the first samples after a seek may differ slightly from a full decode.
    """
    src = open_audio(path)
    if src.backend == "soundfile":
        with sf.SoundFile(str(src.path)) as f:
            for start in starts:
                if start >= f.frames:
                    return
                try:
                    f.seek(start)
                    block = f.read(length, dtype=dtype, always_2d=True)
                except (sf.LibsndfileError, RuntimeError) as exc:
                    raise _decode_failure(src, start, exc) from None
                yield block
        return
    container = open_container(src.path)
    with container:
        stream = container.streams[src.stream_index]
        for i, start in enumerate(starts):
            got = []
            frames = _av_positioned_frames(container, stream, src, start, dtype, preroll=0.05, fresh=i == 0)
            for frame_start, samples in frames:
                if frame_start >= start + length:
                    break
                got.append(samples[max(0, start - frame_start):start + length - frame_start])
            if not got:
                return
            yield np.concatenate(got)


# --- backends ---------------------------------------------------------------

def _sf_blocks(src: AudioSource, start: int, stop: float, block: int, dtype: str,
               reuse: bool) -> Iterator[np.ndarray]:
    sr = src.sample_rate
    pos = start
    with sf.SoundFile(str(src.path)) as f:
        if start >= f.frames:
            return
        if start:
            try:
                f.seek(start)
            except (sf.LibsndfileError, RuntimeError) as exc:
                raise _decode_failure(src, start, exc) from None
        buf = np.empty((block, src.channels), dtype) if reuse else None
        while pos < stop:
            want = int(min(block, stop - pos))
            try:
                if buf is not None:
                    out = f.read(dtype=dtype, always_2d=True, out=buf[:want])
                else:
                    out = f.read(want, dtype=dtype, always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as exc:
                raise _decode_failure(src, pos, exc) from None
            if len(out) == 0:
                break
            pos += len(out)
            yield out
            if len(out) < want:
                break
    wanted_end = min(stop, src.frames or 0)
    if src.exact_length and pos < wanted_end:
        raise MediaError(src.path, Problem.TRUNCATED,
                         f"the header declares {src.frames / sr:.3f} s of audio but decoding stops at "
                         f"{pos / sr:.3f} s")


def _decode_failure(src: AudioSource, pos: int, exc: BaseException) -> MediaError:
    total = f" of {src.duration:.3f} s" if src.duration else ""
    return MediaError(src.path, Problem.CORRUPT,
                      f"audio decoding failed at {pos / src.sample_rate:.3f} s{total} ({exc}); "
                      "the file is damaged or was cut short")


def _frame_samples(frame: av.AudioFrame, dtype: str) -> np.ndarray:
    """One decoded frame as (n, channels) in the wanted dtype (a view when possible)."""
    arr = frame.to_ndarray()
    if frame.format.is_planar:
        arr = arr.T  # (channels, n) -> (n, channels); copied once below into the block
    else:
        arr = arr.reshape(-1, len(frame.layout.channels))
    if arr.dtype == dtype:
        return arr
    if arr.dtype.kind == "f":
        if dtype == "int16":
            return np.clip(np.rint(arr * 32768.0), -32768, 32767).astype(np.int16)
        return arr.astype(np.float32)
    # Integer PCM: scale to the wanted width the way libsndfile does (x / 2**(bits-1)).
    if arr.dtype == np.uint8:
        arr = (arr.astype(np.int16) - 128) << 8
    bits = arr.dtype.itemsize * 8
    if dtype == "int16":
        return (arr >> (bits - 16)).astype(np.int16) if bits > 16 else arr.astype(np.int16)
    return arr.astype(np.float32) / float(1 << (bits - 1))


def _av_blocks(src: AudioSource, start: int, stop: float, block: int, dtype: str,
               reuse: bool) -> Iterator[np.ndarray]:
    container = open_container(src.path)
    with container:
        stream = container.streams[src.stream_index]
        for other in container.streams:
            if other.index != stream.index:
                other.discard = av.stream.Discard.all  # do not even allocate their packets
        buf = np.empty((block, src.channels), dtype)
        fill = 0
        for frame_start, samples in _av_positioned_frames(container, stream, src, start, dtype):
            if frame_start >= stop:
                break
            lo = max(0, start - frame_start)
            hi = int(min(len(samples), stop - frame_start))
            chunk = samples[lo:hi]
            while len(chunk):
                take = min(block - fill, len(chunk))
                buf[fill:fill + take] = chunk[:take]
                fill += take
                chunk = chunk[take:]
                if fill == block:
                    yield buf if reuse else buf.copy()
                    fill = 0
        if fill:
            yield buf[:fill] if reuse else buf[:fill].copy()


def _decoded_frames(container, stream) -> Iterator[av.AudioFrame]:
    """Decoded frames of `stream` from the container's current position to the end of its data.

    The last packet of a cut file is flagged corrupt by the demuxer (MP4 reads
    it short) and may not decode: when no data follows it, the stream just
    ends there. Any other decoding failure raises av.FFmpegError.
    """
    ctx = stream.codec_context
    cut_short: av.FFmpegError | None = None
    for packet in container.demux(stream):
        if cut_short is not None and packet.size:
            raise cut_short  # data follows: the packet was damaged, not the end of a cut file
        try:
            frames = ctx.decode(packet if packet.size else None)
        except av.FFmpegError as exc:
            if not packet.is_corrupt:
                raise
            cut_short = exc
            continue
        yield from frames


def _av_positioned_frames(container, stream, src: AudioSource, start: int, dtype: str,
                          preroll: float = _PREROLL, fresh: bool = True
                          ) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (index of the frame's first sample, samples) from about `start` on.

    From the file start, sample indices are counted; after a seek they come
    from the first frame's timestamp. A seek that lands after its target
    (containers seek inexactly) is retried further back, and in the end the
    file is decoded from its start.
    """
    sr = src.sample_rate
    tb = stream.time_base
    ctx = stream.codec_context
    for attempt in range(4):
        seek_to = start / sr - preroll
        from_start = attempt == 3 or seek_to <= 0 or not tb
        position: int | None = 0 if from_start else None
        try:
            if not from_start:
                container.seek(int((seek_to + src.first_pts) / tb), stream=stream, backward=True)
                ctx.flush_buffers()
            elif attempt or not fresh:
                container.seek(0)
                ctx.flush_buffers()
            for frame in _decoded_frames(container, stream):
                if position is None:
                    if frame.pts is None:
                        break  # nothing to place samples by: retry, finally from the start
                    position = int(round((float(frame.pts * frame.time_base) - src.first_pts) * sr))
                    if position > start:
                        position = None  # landed after the target
                        break
                samples = _frame_samples(frame, dtype)
                if samples.shape[1] != src.channels:  # blocks and peaks have one width per file
                    raise MediaError(src.path, Problem.UNSUPPORTED,
                                     f"the audio changes from {src.channels} to {samples.shape[1]} channels "
                                     f"at {position / sr:.3f} s (damaged, or a broadcast recording)")
                yield position, samples
                position += len(samples)
            else:
                return
        except av.FFmpegError as exc:
            raise _decode_failure(src, position if position is not None else start, exc) from None
        preroll *= 4
    raise MediaError(src.path, Problem.CORRUPT, "audio timestamps are unusable after seeking")
