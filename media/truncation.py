"""Where a media file's data really ends when its header claims more.

An interrupted copy or recording keeps the container header, which states the
full length, and FFmpeg reports that length as if the file were whole. The
check here seeks just before the claimed end and demuxes: data there means
the file is whole (one seek and a few packets, milliseconds at any length);
none means the file was cut, and a bisection over seek targets finds the last
packet that is really there (a dozen seeks even for hours of media).

Only containers whose header states the length are checked (MP4/QuickTime,
Matroska/WebM, MP3 with a Xing/Info/VBRI tag). Elsewhere FFmpeg estimates
the length from the bytes present, so a cut file contradicts nothing, and a
rough estimate must not be reported as damage. WAV and FLAC are checked
against their sample counts in `media.audio`.
"""

from __future__ import annotations

import math
from pathlib import Path

import av

__all__ = ["data_end", "needs_end_check"]

# Seconds the data may stop short of the claim in a whole file: encoder
# priming/padding and a last packet without a duration stay well below it.
_TOLERANCE = 0.1
# Seconds before the claimed end to seek to, so that inexact seeks still land
# before the claim; backward seeks go to a keyframe.
_TAIL = 1.0
# The bisection stops when it has bracketed the end this closely (seconds);
# the rest is demuxed packet by packet.
_PRECISION = 1.0
_HEADER_FORMATS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"})
_MP3_TAG_WINDOW = 256  # bytes from the first frame header that hold a Xing/Info/VBRI tag


def needs_end_check(path: Path, fmt: str, size: int) -> bool:
    """True when the header states a length that the data may fall short of.

    MP4 and Matroska always state one, and their indexes make the check one
    cheap seek. An MP3 states one only in a Xing/Info/VBRI tag, which also
    gives the stream's size in bytes: comparing that with the file answers
    at once, where a seek in an MP3 reads every frame header up to its target.
    """
    if fmt in _HEADER_FORMATS:
        return True
    if fmt != "mp3":
        return False
    tag = _mp3_length_tag(path)
    if tag is None:
        return False  # FFmpeg estimated the length from the bytes present
    first_frame, stated_bytes = tag
    return stated_bytes is None or size - first_frame < stated_bytes


def _mp3_length_tag(path: Path) -> tuple[int, int | None] | None:
    """(offset of the first frame, stream bytes the tag states or None), or None without a tag."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(10)
            first_frame = 0
            if head[:3] == b"ID3" and len(head) == 10:
                # An ID3v2 tag comes first; its size is four 7-bit bytes, without its 10-byte header.
                first_frame = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
            fh.seek(first_frame)
            frame = fh.read(_MP3_TAG_WINDOW)
    except OSError:
        return None
    for tag in (b"Xing", b"Info"):
        at = frame.find(tag)
        if at >= 0:
            # Flags, then the frame count if bit 0 is set, then the byte count if bit 1 is.
            fields = frame[at + 4:at + 16].ljust(12, b"\0")
            flags = int.from_bytes(fields[:4], "big")
            if not flags & 2:
                return first_frame, None
            offset = 8 if flags & 1 else 4
            return first_frame, int.from_bytes(fields[offset:offset + 4], "big")
    at = frame.find(b"VBRI")
    if at >= 0:
        # Version, delay and quality (2 bytes each), then the byte count.
        return first_frame, int.from_bytes(frame[at + 10:at + 14].ljust(4, b"\0"), "big")
    return None


def data_end(container: av.container.InputContainer, streams: list[av.stream.Stream]) -> float | None:
    """Seconds (stream time) where `streams`' data ends, or None when it reaches the header's claim.

    Call only when `needs_end_check` is true. A file with no packet at all
    returns the container's start time.
    """
    claimed = _claimed_end(container, streams)
    if claimed is None:
        return None
    start = (container.start_time or 0) / av.time_base
    goal = claimed - _TOLERANCE
    end = _read_from(container, streams, claimed - _TAIL, goal)
    if end is not None:
        # Demuxing stops at the goal or at the end of the data, whichever comes first.
        return None if end >= goal else end
    lo, hi = start, claimed - _TAIL  # the file opened, so data starts at lo; none from hi on
    while hi - lo > _PRECISION:
        mid = (lo + hi) / 2
        end = _read_from(container, streams, mid, mid)
        if end is None:
            hi = mid
        elif end < mid:
            return end  # the seek landed earlier (a keyframe) and read up to the end of the data
        else:
            lo = mid
    end = _read_from(container, streams, lo, math.inf)
    return start if end is None else end


def _claimed_end(container, streams) -> float | None:
    """Where the header says `streams` end (seconds, stream time); None when it does not say.

    Streams that state their own length (MP4) are taken at their word, so a
    longer data or timecode track cannot make whole audio and video look cut;
    Matroska states only the file's length.
    """
    ends = [float(((s.start_time or 0) + s.duration) * s.time_base)
            for s in streams if s.duration and s.time_base]
    if ends:
        return max(ends)
    if container.duration is None:
        return None
    return ((container.start_time or 0) + container.duration) / av.time_base


def _read_from(container, streams, t: float, until: float) -> float | None:
    """Seek to t seconds and demux until a packet ends at or after `until`, or the data ends.

    Returns the latest end (seconds) of the whole packets read, None when
    there were none.
    """
    try:
        container.seek(max(0, int(t * av.time_base)), backward=True)
    except av.FFmpegError:
        return None  # nothing to seek to there: as good as no data
    end = None
    try:
        for packet in container.demux(streams):
            packet_end = _packet_end(packet)
            if packet_end is None:
                continue
            end = packet_end if end is None else max(end, packet_end)
            if end >= until:
                break
    except av.FFmpegError:
        pass  # unreadable data ends the usable stream as surely as missing bytes do
    return end


def _packet_end(packet: av.Packet) -> float | None:
    """When a whole packet ends (seconds); None for flush, cut-short or untimed packets."""
    ts = packet.pts if packet.pts is not None else packet.dts
    if ts is None or not packet.size or packet.is_corrupt or packet.time_base is None:
        return None
    return float((ts + (packet.duration or 0)) * packet.time_base)
