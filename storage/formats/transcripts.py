"""Transcript files <-> time segments: ELAN (.eaf), Praat TextGrid, WebVTT, SRT.

A `Segment` is one labeled time range on a tier, the shape of the record
schema's "segments" entries. What each format holds:

* ELAN and TextGrid hold everything. A tier T's annotations are the
  segments' `text`; their `label`s go to a companion tier "T::label" and their
  speakers to "T::speaker" (ELAN uses the tier's PARTICIPANT instead when one
  speaker covers the whole tier). Companion entries join the segment with the
  same times when read back. Tiers cannot hold overlapping segments in either
  format, and ELAN no zero-length ones: writing those raises ValueError. A
  TextGrid drops intervals with no text at all, so a segment with no text,
  label or speaker does not survive a TextGrid.
* WebVTT holds times, text and the speaker (`<v Speaker>`); SRT times and
  text. Both are single-tier: reading names the tier `tier` (default
  "transcript"); writing merges all tiers in time order.

Times are seconds. ELAN, VTT and SRT store milliseconds, so a round trip
keeps times to the millisecond; TextGrid keeps them exactly. Empty text reads
back as None. Bad input raises ValueError naming the file and the line.
Writes are atomic: a temporary file beside the target, then a rename.
"""

from __future__ import annotations

import html
import mimetypes
import os
import re
import xml.etree.ElementTree as etree
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from labeldesk.storage.files import atomic_path
from labeldesk.storage.formats.errors import cut, shown
from labeldesk.storage.vocabulary import TRANSCRIPT_FORMATS

__all__ = ["Segment", "read_transcript", "sniff_format", "write_transcript"]

_EXTENSIONS = {".eaf": "eaf", ".textgrid": "textgrid", ".vtt": "vtt", ".srt": "srt"}
_COMPANIONS = ("label", "speaker")
_SEP = "::"
DEFAULT_TIER = "transcript"


@dataclass(frozen=True)
class Segment:
    start: float  # seconds
    end: float
    tier: str
    label: str | None = None
    text: str | None = None
    speaker: str | None = None


def sniff_format(path: str | os.PathLike[str]) -> str:
    """The format named by the file extension; ValueError for others."""
    fmt = _EXTENSIONS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown transcript format (use .eaf, .TextGrid, .vtt or .srt)")
    return fmt


def read_transcript(path: str | os.PathLike[str], *, tier: str = DEFAULT_TIER) -> list[Segment]:
    """Segments of a transcript file, sorted by (start, end, tier).

    `tier` names the tier of single-tier formats (VTT, SRT).
    """
    path = Path(path)
    fmt = sniff_format(path)
    if fmt == "eaf":
        segments = _read_eaf(path)
    elif fmt == "textgrid":
        segments = _read_textgrid(path)
    else:
        text = _read_text(path)
        segments = _parse_vtt(path, text, tier) if fmt == "vtt" else _parse_srt(path, text, tier)
    return sorted(segments, key=lambda s: (s.start, s.end, s.tier))


def _write_atomically(dst: Path, write: Callable[[Path], None]) -> None:
    with atomic_path(dst) as tmp:
        write(tmp)


def write_transcript(path: str | os.PathLike[str], segments: Iterable[Segment], format: str | None = None,
                     media_path: str | os.PathLike[str] | None = None) -> None:
    """Write segments as `format` (default: by extension). ELAN files link `media_path`."""
    path = Path(path)
    fmt = (format or sniff_format(path)).lower()
    if fmt not in TRANSCRIPT_FORMATS:
        raise ValueError(f"{path}: unknown transcript format {format!r} (one of {', '.join(TRANSCRIPT_FORMATS)})")
    segments = list(segments)
    for seg in segments:
        if not (0 <= seg.start <= seg.end):
            raise ValueError(f"{path}: segment {seg.start}-{seg.end} on tier {seg.tier!r} has bad times")
    if fmt in ("eaf", "textgrid"):
        # Split into tiers first: a segment the format cannot hold fails before any file exists.
        tiers, participants = _to_tiers(path, segments, fmt, speakers_as_participant=fmt == "eaf")
        if fmt == "eaf":
            _write_atomically(path, lambda tmp: _write_eaf(tmp, tiers, participants, media_path))
        else:
            _write_atomically(path, lambda tmp: _write_textgrid(tmp, tiers))
    else:
        body = _format_vtt(path, segments) if fmt == "vtt" else _format_srt(path, segments)
        _write_atomically(path, lambda tmp: tmp.write_text(body, encoding="utf-8", newline="\n"))


# --- tiers with companions (ELAN, TextGrid) ----------------------------------

Entry = tuple[float, float, str]


def _to_tiers(path: Path, segments: list[Segment], fmt: str, speakers_as_participant: bool
              ) -> tuple[dict[str, list[Entry]], dict[str, str]]:
    """Split segments into named tiers of (start, end, value); also tier -> participant."""
    by_tier: dict[str, list[Segment]] = {}
    for seg in segments:
        by_tier.setdefault(seg.tier, []).append(seg)
    tiers: dict[str, list[Entry]] = {}
    participants: dict[str, str] = {}
    for name, segs in by_tier.items():
        segs.sort(key=lambda s: (s.start, s.end))
        _check_tier(path, fmt, name, segs)
        speakers = {s.speaker for s in segs}
        one_speaker = speakers_as_participant and len(speakers) == 1 and None not in speakers
        if one_speaker:
            participants[name] = speakers.pop()
        base = [(s.start, s.end, s.text or "") for s in segs
                if s.text is not None or (s.label is None and (s.speaker is None or one_speaker))]
        labels = [(s.start, s.end, s.label) for s in segs if s.label is not None]
        spoken = [] if one_speaker else [(s.start, s.end, s.speaker) for s in segs if s.speaker is not None]
        if base or one_speaker or not (labels or spoken):
            tiers[name] = base
        if labels:
            tiers[f"{name}{_SEP}label"] = labels
        if spoken:
            tiers[f"{name}{_SEP}speaker"] = spoken
    return tiers, participants


def _check_tier(path: Path, fmt: str, name: str, segs: list[Segment]) -> None:
    what = "an ELAN" if fmt == "eaf" else "a TextGrid"
    for prev, seg in zip(segs, segs[1:]):
        if seg.start < prev.end:
            raise ValueError(f"{path}: tier {name!r} has overlapping segments ({prev.start:.3f}-{prev.end:.3f} "
                             f"and {seg.start:.3f}-{seg.end:.3f}); {what} tier cannot hold them — "
                             "split the tier (for instance by speaker)")
    if fmt == "eaf":
        for seg in segs:
            if round(seg.end * 1000) <= round(seg.start * 1000):
                raise ValueError(f"{path}: tier {name!r} has a segment shorter than 1 ms at {seg.start:.3f} s; "
                                 "ELAN annotations need a length")


def _from_tiers(tiers: dict[str, list[Entry]], participants: dict[str, str]) -> list[Segment]:
    """Inverse of _to_tiers: join companion tiers to their base tier by time."""
    found: dict[tuple[str, float, float], dict] = {}
    order = sorted(tiers, key=lambda n: _SEP in n)  # base tiers first
    for name in order:
        base, _, field = name.rpartition(_SEP)
        if not base or field not in _COMPANIONS:
            base, field = name, "text"
        for start, end, value in tiers[name]:
            key = (base, round(start, 6), round(end, 6))
            fields = found.setdefault(key, {"start": start, "end": end})
            if field == "text":
                fields["text"] = value or None
            elif value:
                fields[field] = value
    segments = []
    for (tier, _, _), fields in found.items():
        fields.setdefault("speaker", participants.get(tier))
        segments.append(Segment(tier=tier, **fields))
    return segments


# --- ELAN ---------------------------------------------------------------------

def _read_eaf(path: Path) -> list[Segment]:
    from pympi.Elan import Eaf  # imported here: loading pympi costs start-up time

    try:
        eaf = Eaf(str(path))
    except Exception as exc:  # pympi wraps XML errors in a bare Exception, and raises others as they come
        cause = exc if isinstance(exc, etree.ParseError) else exc.__cause__ or exc.__context__
        if isinstance(cause, etree.ParseError):
            raise ValueError(f"{path}:{cause.position[0]}: not a valid ELAN file: {cut(str(cause))}") from None
        raise _bad_eaf(path, exc) from None
    try:
        return _from_tiers(*_eaf_tiers(eaf))
    except (KeyError, IndexError, TypeError, ValueError) as exc:  # references pympi follows without checking them
        raise _bad_eaf(path, exc) from None


def _bad_eaf(path: Path, exc: Exception) -> ValueError:
    return ValueError(f"{path}:{_line_of(path, str(exc).strip(chr(39)))}: not a valid ELAN file: "
                      f"{type(exc).__name__} {cut(str(exc))}")


def _eaf_tiers(eaf) -> tuple[dict[str, list[Entry]], dict[str, str]]:
    tiers: dict[str, list[Entry]] = {}
    participants: dict[str, str] = {}
    for name in eaf.get_tier_names():
        attrs = eaf.tiers[name][2]
        if attrs.get("PARTICIPANT"):
            participants[name] = attrs["PARTICIPANT"]
        entries = []
        for row in eaf.get_annotation_data_for_tier(name):
            start, end, value = row[0], row[1], row[2]
            if start is None or end is None:
                continue  # unaligned time slot (ELAN interpolates these for display); no time to give
            entries.append((start / 1000.0, end / 1000.0, value or ""))
        tiers[name] = entries
    return tiers, participants


def _write_eaf(tmp: Path, tiers: dict[str, list[Entry]], participants: dict[str, str], media_path) -> None:
    from pympi.Elan import Eaf, to_adocument

    eaf = Eaf(author="LabelDesk")
    eaf.remove_tier("default")
    for name, entries in tiers.items():
        eaf.add_tier(name, part=participants.get(name))
        for start, end, value in entries:
            eaf.add_annotation(name, int(round(start * 1000)), int(round(end * 1000)), value)
    if media_path is not None:
        media = Path(media_path).resolve()
        mime = mimetypes.guess_type(media.name)[0] or "application/octet-stream"
        rel = os.path.relpath(media, Path(tmp).resolve().parent)
        eaf.add_linked_file(media.as_uri(), relpath=f"./{rel}" if not rel.startswith(".") else rel, mimetype=mime)
    # to_adocument + our own write: pympi's to_eaf renames an existing file to .bak.
    etree.ElementTree(to_adocument(eaf, True)).write(str(tmp), xml_declaration=True, encoding="UTF-8")


# --- TextGrid -------------------------------------------------------------------

def _read_textgrid(path: Path) -> list[Segment]:
    from praatio import textgrid
    from praatio.utilities.constants import Interval

    try:
        tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=False, reportingMode="silence")
    except Exception as exc:  # praatio raises many kinds; all mean a bad file
        raise ValueError(f"{path}:{_textgrid_bad_line(path)}: not a valid TextGrid: {cut(str(exc))}") from None
    tiers: dict[str, list[Entry]] = {}
    for name in tg.tierNames:
        entries = []
        for entry in tg.getTier(name).entries:
            if isinstance(entry, Interval):
                entries.append((float(entry.start), float(entry.end), entry.label))
            else:  # a point tier: zero-length segments
                entries.append((float(entry.time), float(entry.time), entry.label))
        tiers[name] = entries
    return _from_tiers(tiers, {})


def _write_textgrid(tmp: Path, tiers: dict[str, list[Entry]]) -> None:
    from praatio import textgrid
    from praatio.data_classes.interval_tier import IntervalTier
    from praatio.data_classes.point_tier import PointTier

    xmax = max((end for entries in tiers.values() for _, end, _ in entries), default=0.0) or 1.0
    tg = textgrid.Textgrid(0.0, xmax)
    for name, entries in tiers.items():
        if entries and all(start == end for start, end, _ in entries):
            tg.addTier(PointTier(name, [(start, value) for start, _, value in entries], 0.0, xmax))
        else:
            tg.addTier(IntervalTier(name, entries, 0.0, xmax))
    tg.save(str(tmp), format="long_textgrid", includeBlankSpaces=True, reportingMode="silence")


def _textgrid_bad_line(path: Path) -> int | str:
    """Best guess at the first malformed line, for the error message: praatio does not say."""
    try:
        lines = _read_text(path).splitlines()
    except ValueError:
        return 1
    if not lines or "ooTextFile" not in lines[0]:
        return 1
    number_re = re.compile(r"-?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?")
    for number, line in enumerate(lines, 1):
        m = re.match(r"\s*(?:xmin|xmax|time|number|size|intervals:\s*size|points:\s*size)\s*=\s*(\S*)", line)
        if m and not number_re.fullmatch(m.group(1)):
            return number
    return len(lines)  # nothing malformed on its own: the file ends too early


# --- WebVTT ---------------------------------------------------------------------

_VTT_TIME = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_VTT_TIMING = re.compile(rf"^{_VTT_TIME}[ \t]+-->[ \t]+{_VTT_TIME}(?:[ \t].*)?$")
_VOICE = re.compile(r"^<v(?:\.[^\s>]*)?[ \t]+([^>]*)>")
_TAG = re.compile(r"</?[^>]*>")
_LINE_END = re.compile(r"\r\n|\r|\n")


def _lines(text: str) -> list[str]:
    """The lines of a subtitle file: they end at CR LF, LF or CR only (str.splitlines would
    also break cue text at U+2028, form feeds and the like, changing it)."""
    return _LINE_END.split(text)


def _parse_vtt(path: Path, text: str, tier: str) -> list[Segment]:
    lines = _lines(text)
    if not lines or not re.match(r"^WEBVTT(?:[ \t].*)?$", lines[0]):
        raise ValueError(f"{path}:1: not a WebVTT file (the first line must be 'WEBVTT')")
    segments = []
    i = 1
    while i < len(lines) and lines[i].strip():
        i += 1  # header lines ("Kind: captions", "Language: en") run up to the first blank line
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        block_start = i
        block = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i])
            i += 1
        head = block[0]
        if head.startswith(("NOTE", "STYLE", "REGION")) and "-->" not in head:
            continue
        timing_at = 0 if "-->" in head else 1  # an optional cue identifier comes first
        if timing_at >= len(block) or "-->" not in block[timing_at]:
            raise ValueError(f"{path}:{block_start + 1 + timing_at}: expected a cue timing line "
                             "'00:00:01.000 --> 00:00:02.000'")
        line_no = block_start + 1 + timing_at
        m = _VTT_TIMING.match(block[timing_at].strip())
        if not m:
            raise ValueError(f"{path}:{line_no}: bad cue timing {shown(block[timing_at].strip())}")
        start, end = _hms(m.group(1, 2, 3, 4)), _hms(m.group(5, 6, 7, 8))
        if end < start:
            raise ValueError(f"{path}:{line_no}: cue ends before it starts")
        payload = "\n".join(block[timing_at + 1:])
        speaker = None
        voice = _VOICE.match(payload)
        if voice:
            speaker = voice.group(1).strip() or None
            payload = payload[voice.end():]
        body = html.unescape(_TAG.sub("", payload))
        segments.append(Segment(start, end, tier, text=body or None, speaker=speaker))
    return segments


def _format_vtt(path: Path, segments: list[Segment]) -> str:
    out = ["WEBVTT", ""]
    for seg in sorted(segments, key=lambda s: (s.start, s.end, s.tier)):
        body = _cue_text(path, seg)
        body = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if seg.speaker:
            if ">" in seg.speaker or "\n" in seg.speaker:
                raise ValueError(f"{path}: speaker {seg.speaker!r} cannot be written in a WebVTT voice tag")
            body = f"<v {seg.speaker}>{body}"
        out += [f"{_clock(seg.start, '.')} --> {_clock(seg.end, '.')}", body, ""]
    return "\n".join(out)


# --- SRT ------------------------------------------------------------------------

_SRT_TIME = r"(\d{1,}):([0-5]\d):([0-5]\d)[,.](\d{3})"
_SRT_TIMING = re.compile(rf"^{_SRT_TIME}[ \t]*-->[ \t]*{_SRT_TIME}(?:[ \t].*)?$")


def _parse_srt(path: Path, text: str, tier: str) -> list[Segment]:
    lines = _lines(text)
    segments = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        block_start = i
        block = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i])
            i += 1
        timing_at = 1 if block[0].strip().isdigit() else 0  # the cue number is customary, not needed
        if timing_at >= len(block):
            raise ValueError(f"{path}:{block_start + 1}: cue {cut(block[0].strip())} has no timing line")
        line_no = block_start + 1 + timing_at
        m = _SRT_TIMING.match(block[timing_at].strip())
        if not m:
            raise ValueError(f"{path}:{line_no}: bad SRT timing {shown(block[timing_at].strip())} "
                             "(expected '00:00:01,000 --> 00:00:02,000')")
        start, end = _hms(m.group(1, 2, 3, 4)), _hms(m.group(5, 6, 7, 8))
        if end < start:
            raise ValueError(f"{path}:{line_no}: cue ends before it starts")
        body = "\n".join(block[timing_at + 1:])
        segments.append(Segment(start, end, tier, text=body or None))
    return segments


def _format_srt(path: Path, segments: list[Segment]) -> str:
    out = []
    for n, seg in enumerate(sorted(segments, key=lambda s: (s.start, s.end, s.tier)), 1):
        out += [str(n), f"{_clock(seg.start, ',')} --> {_clock(seg.end, ',')}", _cue_text(path, seg), ""]
    return "\n".join(out)


# --- shared helpers -----------------------------------------------------------------

def _cue_text(path: Path, seg: Segment) -> str:
    body = seg.text or ""
    if "-->" in body or any(not line.strip() for line in body.split("\n")[1:]) or body.startswith("\n"):
        raise ValueError(f"{path}: the text of the segment at {seg.start:.3f} s holds a blank line or '-->', "
                         "which would end the subtitle cue")
    return body


def _hms(parts: tuple[str | None, str, str, str]) -> float:
    hours, minutes, seconds, millis = parts
    return (int(hours or 0) * 3600_000 + int(minutes) * 60_000 + int(seconds) * 1000 + int(millis)) / 1000.0


def _clock(t: float, sep: str) -> str:
    ms = int(round(t * 1000))
    hours, ms = divmod(ms, 3600_000)
    minutes, ms = divmod(ms, 60_000)
    seconds, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{ms:03d}"


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read: {exc.strerror}") from None
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            data, chosen = data[len(bom):], encoding
            break
    else:
        chosen = "utf-8"
    try:
        return data.decode(chosen)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not valid {chosen} text") from None


def _line_of(path: Path, needle: str) -> int | str:
    """Line of the first mention of `needle` (an id from an error), for messages."""
    try:
        for number, line in enumerate(_read_text(path).splitlines(), 1):
            if needle and needle in line:
                return number
    except ValueError:
        pass
    return "?"
