"""Multimodal items: media files (with sidecar transcripts) in, transcripts out.

A media file becomes a `conversation` record whose `media` names the file by sha256
and whose turns (`messages`) carry time ranges; a sidecar transcript of the same name
(.eaf, .TextGrid, .vtt, .srt) gives the turns, and its segments are kept in
`meta.transcript_segments`: the annotator's segments answer starts from them. Files are copied into
the workspace's content-addressed media folder when the import commits.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from labeldesk.media.errors import MediaError
from labeldesk.media.probe import MediaInfo, probe, sha256_file
from labeldesk.storage.vocabulary import TRANSCRIPT_FORMATS
from labeldesk.storage.formats.errors import Deviation
from labeldesk.storage.formats.readers import InputError, Row
from labeldesk.storage.formats.transcripts import Segment, read_transcript, write_transcript
from labeldesk.storage.models import Item, ItemMedia, MediaAsset
from labeldesk.storage.record import SCHEMA_ID, validate

MEDIA_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".m4a", ".aac", ".opus", ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi"}
TRANSCRIPT_SUFFIXES = (".eaf", ".textgrid", ".vtt", ".srt")
EXTENSIONS = {"eaf": ".eaf", "textgrid": ".TextGrid", "vtt": ".vtt", "srt": ".srt"}
TURN_TIERS = ("transcript", "speaker", "turns")


@dataclass(frozen=True)
class MediaFile:
    """A media file read for import: where it is, what it is, and its name in the store."""

    source: Path
    sha256: str
    info: MediaInfo

    @property
    def stored_name(self) -> str:
        return f"{self.sha256}{self.source.suffix.lower()}"

    @property
    def type(self) -> str:
        return self.info.kind  # from the content, never the file name


def is_media_input(path: Path) -> bool:
    """Paths the media importer handles: media, transcripts, or folders holding media."""
    if path.is_dir():
        return any(p.suffix.lower() in MEDIA_SUFFIXES for p in path.iterdir())
    return path.suffix.lower() in MEDIA_SUFFIXES or path.suffix.lower() in TRANSCRIPT_SUFFIXES


def _sidecar(media: Path) -> Path | None:
    for suffix in TRANSCRIPT_SUFFIXES:
        for candidate in (media.with_suffix(suffix), media.with_suffix(suffix.upper()), media.with_suffix(".TextGrid")):
            if candidate.exists() and candidate.suffix.lower() == suffix:
                return candidate
    return None


def _media_beside(transcript: Path) -> Path:
    for candidate in sorted(transcript.parent.glob(f"{transcript.stem}.*")):
        if candidate.suffix.lower() in MEDIA_SUFFIXES:
            return candidate
    raise InputError(transcript.name, "", f"no media file named {transcript.stem}.* beside it (one of {', '.join(sorted(MEDIA_SUFFIXES))})")


def media_pairs(paths: Iterable[Path]) -> list[tuple[Path, Path | None]]:
    """(media, sidecar transcript or None) for every media input, in a stable order."""
    pairs: dict[Path, Path | None] = {}
    for path in paths:
        if path.is_dir():
            for media in sorted(p for p in path.iterdir() if p.suffix.lower() in MEDIA_SUFFIXES):
                pairs[media] = _sidecar(media)
        elif path.suffix.lower() in TRANSCRIPT_SUFFIXES:
            pairs[_media_beside(path)] = path
        else:
            pairs[path] = _sidecar(path)
    return list(pairs.items())


def _turns(segments: list[Segment]) -> list[dict[str, Any]]:
    """Dialogue turns: the segments of the first tier that carries text, in time order."""
    texted = [s for s in segments if s.text]
    tiers = [t for t in TURN_TIERS if any(s.tier == t for s in texted)] or sorted({s.tier for s in texted})
    if not tiers:
        return []
    turns = []
    for seg in (s for s in texted if s.tier == tiers[0]):
        turn: dict[str, Any] = {"role": "user", "content": seg.text, "media": [{"ref": "m1", "start": seg.start, "end": seg.end}]}
        if seg.speaker or seg.label:
            turn["speaker"] = seg.speaker or seg.label
        turns.append(turn)
    return turns


def _segment_entry(seg: Segment) -> dict[str, Any]:
    entry: dict[str, Any] = {"media": "m1", "start": seg.start, "end": seg.end, "tier": seg.tier}
    if seg.label:
        entry["label"] = seg.label
    if seg.text:
        entry["text"] = seg.text
    return entry


def read_media_item(media: Path, transcript: Path | None) -> tuple[dict[str, Any], MediaFile]:
    """One media file (and its transcript) as a validated record."""
    try:
        info = probe(media)
    except MediaError as exc:
        raise InputError(media.name, "", str(exc)) from None
    if info.audio is None and info.video is None:
        raise InputError(media.name, "", "has neither an audio nor a video stream")
    file = MediaFile(media, sha256_file(media), info)
    try:
        segments = read_transcript(transcript) if transcript else []
    except ValueError as exc:
        raise InputError(transcript.name, "", str(exc)) from None
    ref: dict[str, Any] = {"id": "m1", "type": file.type, "sha256": file.sha256, "path": file.stored_name}
    if info.duration:
        ref["duration"] = round(float(info.duration), 6)
    record: dict[str, Any] = {
        "schema": SCHEMA_ID, "id": f"m-{file.sha256[:20]}", "kind": "conversation",
        "messages": _turns(segments), "media": [ref],
        "provenance": {"source": media.name + (f" + {transcript.name}" if transcript else "")},
    }
    meta: dict[str, Any] = {}
    if segments:
        # a sidecar transcript is a starting point for the annotator, not a submission
        meta["transcript_segments"] = [_segment_entry(s) for s in segments]
    if info.warning:
        meta["media_warnings"] = [info.warning]
    if meta:
        record["meta"] = meta
    if not record["messages"]:
        del record["messages"]
    validate(record)
    return record, file


def _media_deviations(location: str, info: MediaInfo) -> tuple[Deviation, ...]:
    """A cut recording is imported with the length it really has; the report says so."""
    if info.truncated_at is None:
        return ()
    return (Deviation(location, "media.duration", "truncated file: the duration is where its data ends, not its header's"),)


def media_rows(paths: Iterable[Path]) -> tuple[list[Row], dict[str, MediaFile]]:
    """Rows for the importer, and the files to copy into the store when it commits."""
    rows: list[Row] = []
    files: dict[str, MediaFile] = {}
    try:
        pairs = media_pairs(paths)
    except InputError as exc:
        return [Row(exc.location, error=exc)], files
    for media, transcript in pairs:
        try:
            record, file = read_media_item(media, transcript)
        except InputError as exc:
            rows.append(Row(exc.location, error=exc))
            continue
        rows.append(Row(media.name, record=record, deviations=_media_deviations(media.name, file.info)))
        files[file.sha256] = file
    return rows, files


def store_media(session: Session, media_root: Path, files: dict[str, MediaFile], project_id: int) -> None:
    """Copy new files into the store and link every item to its asset, inside the import's transaction."""
    media_root.mkdir(parents=True, exist_ok=True)
    known = dict(session.execute(select(MediaAsset.sha256, MediaAsset.id).where(MediaAsset.sha256.in_(list(files)))).all())
    for sha, file in files.items():
        target = media_root / file.stored_name
        if not target.exists():
            tmp = target.with_name(target.name + ".part")
            shutil.copyfile(file.source, tmp)
            os.replace(tmp, target)
        if sha not in known:
            known[sha] = session.execute(insert(MediaAsset).values(
                sha256=sha, path=file.stored_name, type=file.type, duration=file.info.duration, size=file.info.size,
                probe=file.info.to_dict(),
            ).returning(MediaAsset.id)).scalar_one()
    uids = {f"m-{sha[:20]}": sha for sha in files}
    items = session.execute(select(Item.id, Item.uid).where(Item.project_id == project_id, Item.uid.in_(list(uids)))).all()
    linked = set(session.execute(select(ItemMedia.item_id).where(ItemMedia.item_id.in_([i for i, _ in items]))).scalars())
    rows = [{"item_id": item_id, "ref": "m1", "asset_id": known[uids[uid]]} for item_id, uid in items if item_id not in linked]
    if rows:
        session.execute(insert(ItemMedia), rows)


# --- transcripts out --------------------------------------------------------------------


def labeled_segments(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's segments: the annotators' answer, else the imported transcript's."""
    return record.get("segments") or record.get("meta", {}).get("transcript_segments", [])


def record_segments(record: dict[str, Any]) -> list[Segment]:
    """The segments of a record, plus its turns as a transcript tier when no segment has that tier."""
    segments = [
        Segment(s["start"], s["end"], s.get("tier", "segments"), s.get("label"), s.get("text"))
        for s in labeled_segments(record)
    ]
    tiers = {s.tier for s in segments}
    if "transcript" not in tiers:
        for message in record.get("messages", ()):
            for span in message.get("media", ()):
                if "start" in span and "end" in span:
                    segments.append(Segment(span["start"], span["end"], "transcript", None, message["content"], message.get("speaker")))
    return sorted(segments, key=lambda s: (s.start, s.end, s.tier))


def _for_format(segments: list[Segment], fmt: str) -> list[Segment]:
    """Subtitles hold one tier of text: the transcript tier (or every texted segment without one)."""
    if fmt in ("eaf", "textgrid"):
        return segments
    texted = [s for s in segments if s.text]
    transcript = [s for s in texted if s.tier == "transcript"]
    return transcript or texted


def write_transcripts(records: Iterable[dict[str, Any]], fmt: str, out_dir: Path, media_root: Path) -> Iterator[Path]:
    """One transcript file per record that has media, named after the record id."""
    if fmt not in TRANSCRIPT_FORMATS:
        raise ValueError(f"unknown transcript format {fmt!r}; one of {', '.join(TRANSCRIPT_FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    for record in records:
        if not record.get("media"):
            continue
        target = out_dir / f"{record['id']}{EXTENSIONS[fmt]}"
        media_path = media_root / record["media"][0]["path"] if record["media"][0].get("path") else None
        write_transcript(target, _for_format(record_segments(record), fmt), fmt, media_path=media_path)
        yield target
