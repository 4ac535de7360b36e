"""Importing files into a project: all rows in one transaction, or none.

Rows are read and validated first; only when every row is good (or `skip_invalid`
is set) are items and annotations written, with Core bulk inserts, in a single
transaction. Re-importing the same file changes nothing: ids are stable and an item
whose id and content are already stored is left alone (also when cleaning changed the
stored content: its provenance keeps the hash of the content it came in with).

Two steps, so a window can show what will happen before anything is written:
`prepare_import` reads, validates and (with a cleaning configuration) cleans the rows
against the workspace's other texts — no database; `commit_import` writes them.
`import_files` is the two in a row. With cleaning, bytes that are not valid in a file's
encoding are read as U+FFFD and reported per item instead of refusing the file, and
items cleaning removes or holds are stored with status `removed` / `review`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from labeldesk.app.workflow.bulk import paused_gc
from labeldesk.app.workflow.clean import CleanConfig
from labeldesk.app.workflow.clean import CleanCancelled
from labeldesk.app.workflow.prepare import (
    STATUS_OF, Answer, Cancel, PrepareOutcome, Reference, StageProgress, clean_on_import, has_nul, is_cancelled,
    load_references,
)
from labeldesk.app.workflow.media_items import MediaFile, is_media_input, media_rows, store_media
from labeldesk.app.workflow.permissions import Actor, require, require_first
from labeldesk.app.workflow.projects import ProjectInfo, get_project
from labeldesk.storage.db import Workspace
from labeldesk.storage.files import atomic_write_bytes, scratch_dir
from labeldesk.storage.formats.readers import Deviation, InputError, Row, input_files, read_file
from labeldesk.storage.models import Annotation, Item, User
from labeldesk.storage.record import answers_to_values, content_hash, content_of

Progress = Callable[[int, int | None], None]
DEFAULT_ANNOTATOR = "imported"


class ImportFailed(Exception):
    """The import was refused; nothing was written. `errors` lists every bad row."""

    def __init__(self, errors: list[InputError]):
        shown = "\n".join(f"  {e}" for e in errors[:20])
        more = f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} invalid row(s), nothing imported (use --skip-invalid to import the rest):\n{shown}{more}")
        self.errors = errors


@dataclass
class ImportReport:
    project: str
    files: list[str]
    read: int = 0
    imported: int = 0
    unchanged: int = 0
    annotations: int = 0
    skipped: list[InputError] = field(default_factory=list)
    cleaning: PrepareOutcome | None = None
    deviations: list[Deviation] = field(default_factory=list)  # rows imported other than exactly as given

    def to_dict(self) -> dict[str, Any]:
        out = {
            "project": self.project, "files": self.files, "read": self.read, "imported": self.imported,
            "unchanged": self.unchanged, "annotations": self.annotations,
            "skipped": [{"location": e.location, "field": e.field, "reason": e.reason} for e in self.skipped],
        }
        if self.deviations:
            out["deviations"] = _deviation_summary(self.deviations)
        if self.cleaning is not None:
            out["clean"] = self.cleaning.to_dict()
        return out


def _deviation_summary(deviations: list[Deviation]) -> list[dict[str, Any]]:
    """Equal changes to one field of one file counted together: a million numeric ids make one entry."""
    summary: dict[tuple[str, str, str], dict[str, Any]] = {}
    for d in deviations:
        file = d.location.split(":")[0].split("#")[0]
        entry = summary.setdefault((file, d.field, d.change), {"field": d.field, "change": d.change, "rows": 0, "first": d.location})
        entry["rows"] += 1
    return list(summary.values())


@dataclass(frozen=True)
class _Pending:
    """One validated row waiting for the write."""

    uid: str
    kind: str
    content: dict[str, Any]
    digest: str
    provenance: dict[str, Any]
    meta: dict[str, Any]
    annotations: list[dict[str, Any]]
    location: str
    status: str = "open"
    deviations: tuple[Deviation, ...] = ()
    repeats: tuple[str, ...] = ()  # later rows that are this row again: imported once, counted as unchanged


@dataclass(frozen=True)
class PreparedImport:
    """Rows read, validated and cleaned, not yet written: what a window shows before "Import"."""

    project: ProjectInfo
    files: list[str]
    pending: list[_Pending]
    skipped: list[InputError]
    read: int
    skip_invalid: bool
    cleaning: PrepareOutcome | None = None
    media: dict[str, MediaFile] = field(default_factory=dict)  # files to copy into the store, by sha256


def _annotation_entries(record: dict[str, Any], questions: list[dict[str, Any]], annotator: str) -> list[dict[str, Any]]:
    """The submissions a record carries: its `annotations`, else its answers as one submission."""
    if record.get("annotations"):
        return record["annotations"]
    values = answers_to_values(questions, record)
    return [{"annotator": annotator, "values": values}] if values else []


def _pending(row: Row, questions: list[dict[str, Any]], annotator: str) -> _Pending:
    record = row.record
    assert record is not None
    content = content_of(record)
    return _Pending(
        uid=record["id"], kind=record["kind"], content=content, digest=content_hash(content),
        provenance=record.get("provenance", {}), meta=record.get("meta", {}),
        annotations=_annotation_entries(record, questions, annotator), location=row.location,
        deviations=row.deviations,
    )


def read_rows(
    paths: Iterable[str | os.PathLike], fmt: str, project: ProjectInfo, annotator: str, progress: Progress | None,
    decoding: str = "strict",
) -> tuple[list[_Pending], list[InputError], int, dict[str, MediaFile]]:
    """Read and validate every row of every file; nothing is written here.

    Media files and folders (with sidecar transcripts) become items too; the files to
    store come back by sha256. `decoding` is what happens to bytes not valid in a file's
    encoding (readers.read_file `errors`).
    """
    pending: dict[str, _Pending] = {}
    errors: list[InputError] = []
    read = 0
    questions = list(project.questions)
    paths = [Path(p) for p in paths]
    media_rows_, media = media_rows([p for p in paths if is_media_input(p)])
    read = _collect(media_rows_, questions, annotator, pending, errors, read, progress)
    with scratch_dir("import") as unpack:
        try:
            files = input_files([p for p in paths if not is_media_input(p)], unpack)
        except InputError as exc:
            raise ImportFailed([exc]) from None
        for path in files:
            try:
                rows = list(read_file(path, fmt, project.kind, questions, decoding))
            except InputError as exc:
                errors.append(exc)
                continue
            read = _collect(rows, questions, annotator, pending, errors, read, progress)
    return list(pending.values()), errors, read, media


def _collect(
    rows: list[Row], questions: list[dict[str, Any]], annotator: str, pending: dict[str, _Pending],
    errors: list[InputError], read: int, progress: Progress | None,
) -> int:
    for row in rows:
        read += 1
        if progress and read % 5000 == 0:
            progress(read, None)
        if row.error is not None:
            errors.append(row.error)
            continue
        item = _pending(row, questions, annotator)
        first = pending.get(item.uid)
        if first is None:
            pending[item.uid] = item
        elif first.digest != item.digest:
            errors.append(InputError(row.location, "id", f"duplicate id {item.uid!r} with different content (first at {first.location})"))
        elif _same_row(first, item):
            pending[item.uid] = replace(first, repeats=(*first.repeats, row.location))
        else:
            errors.append(InputError(row.location, "id", f"same id {item.uid!r} and content as {first.location}, but other meta, "
                                     "provenance or answers, which would be lost; give it another id or merge the rows"))
    return read


def _same_row(first: _Pending, again: _Pending) -> bool:
    """Whether a row says nothing its first occurrence did not (where each came from aside)."""
    def origin_free(provenance: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in provenance.items() if k != "source"}
    return (first.meta, first.annotations, origin_free(first.provenance)) == (again.meta, again.annotations, origin_free(again.provenance))


def import_files(
    ws: Workspace,
    lead: Actor,
    project_name: str,
    paths: Iterable[str | os.PathLike],
    fmt: str = "auto",
    skip_invalid: bool = False,
    annotator: str = DEFAULT_ANNOTATOR,
    progress: Progress | None = None,
    clean: CleanConfig | None = None,
) -> ImportReport:
    project, references = import_context(ws, lead, project_name, clean)
    staged = (lambda _stage, done, total: progress(done, total)) if progress else None
    with paused_gc():
        prepared = prepare_import(project, paths, fmt, skip_invalid, annotator, clean, references, staged)
        return commit_import(ws, lead, prepared, progress)


def import_context(
    ws: Workspace, lead: Actor, project_name: str, clean: CleanConfig | None,
) -> tuple[ProjectInfo, list[Reference]]:
    """What prepare_import needs from the database: the project, and the texts cleaning compares with.

    Refuses who may not import before any file is read (commit_import checks again).
    """
    require_first(ws, lead, "import data")
    project = get_project(ws, project_name)
    return project, load_references(ws, project, clean, include_own=True) if clean is not None else []


def prepare_import(
    project: ProjectInfo,
    paths: Iterable[str | os.PathLike],
    fmt: str = "auto",
    skip_invalid: bool = False,
    annotator: str = DEFAULT_ANNOTATOR,
    clean: CleanConfig | None = None,
    references: Sequence[Reference] = (),
    progress: StageProgress | None = None,
    cancel: Cancel = None,
) -> PreparedImport:
    """Read, validate and clean (when `clean` is given) without writing; raises ImportFailed.

    `references` are the texts cleaning compares with (prepare.load_references with
    include_own: other projects' items and this project's stored ones).
    """
    paths = list(paths)

    def read_progress(done: int, total: int | None) -> None:
        if is_cancelled(cancel):
            raise CleanCancelled()
        if progress:
            progress("read", done, total)

    pending, errors, read, media = read_rows(paths, fmt, project, annotator, read_progress, "strict" if clean is None else "replace")
    if errors and not skip_invalid:
        raise ImportFailed(errors)
    cleaning = None
    if clean is not None:
        cleaned, cleaning = clean_on_import(project, pending, clean, references, progress, cancel)
        pending = [
            replace(p, content=c.content, digest=c.digest, provenance=c.provenance, status=STATUS_OF.get(c.decision, "open"),
                    annotations=_with_answers(p.annotations, c.answers))
            for p, c in zip(pending, cleaned)
        ]
    unstorable = [_nul_error(where) for p in pending if _has_nul_anywhere(p) for where in (p.location, *p.repeats)]
    if unstorable and not skip_invalid:
        raise ImportFailed(unstorable)
    if unstorable:
        bad = {e.location for e in unstorable}
        pending = [p for p in pending if p.location not in bad]
    return PreparedImport(project, [str(p) for p in paths], pending, errors + unstorable, read, skip_invalid, cleaning, media)


def _with_answers(annotations: list[dict[str, Any]], moved: Sequence[Answer]) -> list[dict[str, Any]]:
    """The row's submissions with the values cleaning moved spans in (keyed by position)."""
    if not moved:
        return annotations
    by_index = {a.key: a.values for a in moved}
    return [{**a, "values": by_index[n]} if n in by_index else a for n, a in enumerate(annotations)]


def _has_nul_anywhere(p: _Pending) -> bool:
    return has_nul((p.content, p.provenance, p.meta, p.annotations))


def _nul_error(location: str) -> InputError:
    return InputError(location, "", "contains U+0000 (NUL), which the database cannot store; import with --clean to remove it")


def commit_import(ws: Workspace, lead: Actor, prepared: PreparedImport, progress: Progress | None = None) -> ImportReport:
    """Write prepared rows in one transaction; rows whose id is stored with other content are conflicts."""
    project, pending = prepared.project, prepared.pending
    report = ImportReport(project=project.name, files=prepared.files, read=prepared.read, skipped=list(prepared.skipped),
                          deviations=[d for p in pending for d in p.deviations])
    with ws.transaction() as session:
        require(session, lead, "import data")
        stored = dict(session.execute(select(Item.uid, Item.content_hash).where(Item.project_id == project.id)).all())
        known = _known_digests(session, project, stored, pending)
        conflicts = [
            InputError(where, "id", f"id {p.uid!r} is stored already with different content")
            for p in pending
            if p.uid in stored and p.digest not in known[p.uid]
            for where in (p.location, *p.repeats)
        ]
        if conflicts and not prepared.skip_invalid:
            raise ImportFailed(conflicts)
        report.skipped += conflicts
        fresh = [p for p in pending if p.uid not in stored]
        # every row is counted once: imported, unchanged (stored already, or a repeat of a row imported now) or skipped
        report.unchanged = sum(len(p.repeats) for p in fresh) + sum(
            1 + len(p.repeats) for p in pending if p.uid in stored and p.digest in known[p.uid])
        report.imported = _insert_items(session, project, fresh)
        if prepared.media:
            store_media(session, ws.media_root, prepared.media, project.id)
        report.annotations = _insert_annotations(session, project, pending, stored)
        if progress:
            progress(prepared.read, prepared.read)
    if prepared.cleaning is not None:
        # what cleaning did to this workspace: rows already stored kept what they had
        inserted = {p.uid for p in fresh}
        report.cleaning = replace(
            prepared.cleaning, applied=True, items=tuple(i for i in prepared.cleaning.items if i.uid in inserted),
            skipped={"already stored": report.unchanged} if report.unchanged else {},
        )
    return report


def _known_digests(
    session: Session, project: ProjectInfo, stored: dict[str, str], pending: list[_Pending],
) -> dict[str, set[str]]:
    """Per stored id, the contents it stands for: what is stored, and what it was before cleaning."""
    known = {p.uid: {stored[p.uid]} for p in pending if p.uid in stored}
    differing = [p.uid for p in pending if p.uid in stored and stored[p.uid] != p.digest]
    for start in range(0, len(differing), 900):
        chunk = differing[start : start + 900]
        for uid, provenance in session.execute(
            select(Item.uid, Item.provenance).where(Item.project_id == project.id, Item.uid.in_(chunk))
        ):
            original = (provenance or {}).get("original_hash")
            if original:
                known[uid].add(original)
    return known


def _insert_items(session: Session, project: ProjectInfo, items: list[_Pending]) -> int:
    now = datetime.now(timezone.utc)
    rows = [
        {
            "project_id": project.id, "uid": p.uid, "kind": p.kind, "content": p.content, "content_hash": p.digest,
            "provenance": p.provenance, "meta": p.meta, "status": p.status, "priority": 0, "assigned_count": 0,
            "created_at": now,
        }
        for p in items
    ]
    # Core insert on the session's connection: the ORM bulk path costs several times more per row.
    conn = session.connection()
    for start in range(0, len(rows), 20000):
        conn.execute(insert(Item.__table__), rows[start : start + 20000])
    return len(rows)


def _user_ids(session: Session, names: set[str]) -> dict[str, int]:
    known = dict(session.execute(select(User.name, User.id).where(User.name.in_(names))).all()) if names else {}
    missing = sorted(names - known.keys())
    if missing:
        session.execute(insert(User), [{"name": n, "role": "annotator", "domains": [], "locales": [], "active": True} for n in missing])
        known.update(session.execute(select(User.name, User.id).where(User.name.in_(missing))).all())
    return known


def _parse_time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime.now(timezone.utc)


def _insert_annotations(session: Session, project: ProjectInfo, pending: list[_Pending], stored: dict[str, str]) -> int:
    """Store the submissions rows carry, once: an (item, annotator) pair already stored is kept."""
    with_answers = [p for p in pending if p.annotations and stored.get(p.uid, p.digest) == p.digest]
    if not with_answers:
        return 0
    users = _user_ids(session, {a["annotator"] for p in with_answers for a in p.annotations})
    item_ids = dict(session.execute(select(Item.uid, Item.id).where(Item.project_id == project.id)).all())
    existing = set(
        session.execute(
            select(Annotation.item_id, Annotation.user_id).join(Item, Item.id == Annotation.item_id).where(Item.project_id == project.id)
        ).all()
    )
    rows = []
    per_item: dict[int, int] = {}
    for p in with_answers:
        item_id = item_ids[p.uid]
        for entry in p.annotations:
            user_id = users[entry["annotator"]]
            if (item_id, user_id) in existing:
                continue
            existing.add((item_id, user_id))
            when = _parse_time(entry.get("submitted_at"))
            rows.append({
                "item_id": item_id, "user_id": user_id, "status": "submitted", "values": entry["values"],
                "guideline_version": entry.get("guideline_version"), "active_seconds": float(entry.get("seconds", 0.0)),
                "source": f"import:{p.location.split(':')[0].split('#')[0]}", "created_at": when, "updated_at": when,
                "submitted_at": when,
            })
            per_item[item_id] = per_item.get(item_id, 0) + 1
    conn = session.connection()
    for start in range(0, len(rows), 20000):
        conn.execute(insert(Annotation.__table__), rows[start : start + 20000])
    _count_imported_submissions(session, project, per_item)
    return len(rows)


def _count_imported_submissions(session: Session, project: ProjectInfo, per_item: dict[int, int]) -> None:
    """Imported submissions fill overlap slots like submissions made in the app."""
    by_count: dict[int, list[int]] = {}
    for item_id, count in per_item.items():
        by_count.setdefault(count, []).append(item_id)
    for count, ids in by_count.items():
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            session.execute(update(Item).where(Item.id.in_(chunk)).values(assigned_count=Item.assigned_count + count))
    session.execute(
        update(Item)
        .where(Item.project_id == project.id, Item.status == "open", Item.assigned_count >= project.overlap)
        .values(status="full")
    )


def dumps_report(report: ImportReport) -> bytes:
    return orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2)


def write_skip_report(report: ImportReport, path: Path) -> None:
    atomic_write_bytes(path, dumps_report(report))
