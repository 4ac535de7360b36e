"""Data preparation on a workspace: clean a project's items, or records on their way in.

The cleaning itself is :mod:`app.workflow.clean` (no database); this module feeds it
items and writes back what it decided, so that the command line and the window do the
same thing:

* :func:`clean_project` streams a project's items (id order), cleans them against the
  items of every *other* project (an evaluation item found in a training project is a
  ``duplicate.reference``: it must not leak into training data), and — unless it is a
  dry run — writes everything in one transaction: changed content (and its hash),
  the new entries of ``provenance["cleaning"]``, and the status of the items it takes out
  (``removed``, or ``review`` for a lead to look at). Nothing is deleted.
* :func:`clean_on_import` applies the same stages to records the importer is about to
  insert; the importer stores what it returns.

A re-run acts only on what it newly finds: an entry already in an item's provenance is
not recorded again and does not decide again, so an item a lead released from review
stays released, and items already removed or awaiting review are left alone.

Span answers move with the text: every annotation's spans go through the pipeline with
the item, so a redaction in front of a span shifts the span instead of breaking it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any, Protocol

import orjson
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from labeldesk.app.workflow.clean import CleanCancelled, CleanConfig, CleanReport, dedup_text, run_pipeline
from labeldesk.app.workflow.clean.pipeline import ItemResult
from labeldesk.app.workflow.clean.report import _md_cell
from labeldesk.app.workflow.permissions import Actor, require, require_first
from labeldesk.app.workflow.projects import ProjectInfo, get_project
from labeldesk.storage.db import Workspace
from labeldesk.storage.files import atomic_write_bytes
from labeldesk.storage.models import Annotation, Assignment, Item, Project
from labeldesk.storage.record import content_hash, content_of, values_to_answers

__all__ = [
    "REMOVED", "REVIEW", "HELD_OUT", "STATUS_OF", "STAGES", "Answer", "Cancel", "Candidate", "Cleaned", "ItemOutcome",
    "PrepareOutcome", "Reference", "StageProgress", "clean_on_import", "clean_project", "has_nul", "in_dataset",
    "is_cancelled", "items_in_review", "load_references", "release_from_review", "write_reports",
]

REMOVED = "removed"  # taken out by cleaning: never a task, never exported, kept to show why
REVIEW = "review"  # held by cleaning until a lead keeps or removes it
HELD_OUT = (REMOVED, REVIEW)
"""Item statuses that are out of "next task" (it takes only `open`) and out of export."""
STATUS_OF = {"remove": REMOVED, "review": REVIEW}
"""The status a cleaning decision gives an item (`keep` leaves it as it is)."""

WITHDRAWN = "withdrawn"  # unfinished work on an item cleaning took out; tasks._hold refuses its submit
UNFINISHED = ("active", "rework", "expired")  # assignment statuses whose holder may still submit
BATCH = 2000
TEXTLESS_RULES = ("input.empty", "filter.length_min")  # judge text alone: not for items whose content is media

StageProgress = Callable[[str, int, int | None], None]
Cancel = Callable[[], bool] | threading.Event | None

STAGES = {
    "loading": "Loading other projects' texts",
    "read": "Reading files",
    "clean": "Cleaning items",
    "reference": "Preparing other projects' texts",
    "duplicates": "Finding duplicates",
    "write": "Writing",
    "done": "Done",
}
"""What each progress stage is called on screen (the command line and the window alike)."""


def in_dataset() -> ColumnElement[bool]:
    """WHERE clause keeping the items that are data: neither removed nor held by cleaning."""
    return Item.status.not_in(HELD_OUT)


# --- what goes in --------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One submission's values; `key` says where to write them back (annotation id, or index)."""

    key: Any
    values: dict[str, Any]


@dataclass(frozen=True)
class Candidate:
    """An item as cleaning sees it; `labels` are the answer fields label checks read."""

    uid: str
    kind: str
    content: dict[str, Any]
    provenance: dict[str, Any]
    labels: dict[str, Any] = field(default_factory=dict)
    answers: tuple[Answer, ...] = ()
    key: Any = None  # the item's row id, when it is stored
    digest: str = ""


@dataclass(frozen=True)
class Reference:
    """A text items are compared with and never changed: another project's item."""

    project: str
    uid: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.project}/{self.uid}"


class PendingLike(Protocol):
    """What clean_on_import needs of the importer's pending rows."""

    uid: str
    kind: str
    content: dict[str, Any]
    digest: str
    provenance: dict[str, Any]
    annotations: list[dict[str, Any]]


# --- what comes out ------------------------------------------------------------------


@dataclass(frozen=True)
class Cleaned:
    """One item after cleaning: what to store, and why."""

    uid: str
    decision: str  # keep | review | remove, from the entries this run newly found
    entries: tuple[dict[str, Any], ...]  # the new entries, as appended to provenance["cleaning"]
    content: dict[str, Any]
    digest: str
    provenance: dict[str, Any]
    answers: tuple[Answer, ...]  # only the submissions whose spans moved
    changed: bool  # content differs from what came in

    @property
    def touched(self) -> bool:
        return bool(self.entries) or self.changed or bool(self.answers)


@dataclass(frozen=True)
class ItemOutcome:
    uid: str
    decision: str
    rules: tuple[str, ...]
    changed: bool
    duplicate_of: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.uid, "decision": self.decision, "rules": list(self.rules), "changed": self.changed}
        if self.duplicate_of is not None:
            out["duplicate_of"] = self.duplicate_of
        return out


@dataclass(frozen=True)
class PrepareOutcome:
    """A cleaning run: the library's report plus what it means for this project's items."""

    project: str
    report: CleanReport
    items: tuple[ItemOutcome, ...]  # every item the run found something about, in input order
    applied: bool  # False: a dry run, or an import not committed yet
    skipped: Mapping[str, int] = field(default_factory=dict)  # status -> items left alone
    conflicts: tuple[str, ...] = ()  # changed by someone else while cleaning: left alone
    notes: tuple[str, ...] = ()

    def decisions(self) -> dict[str, int]:
        counts = Counter(i.decision for i in self.items if i.uid not in self.conflicts)
        changed = sum(1 for i in self.items if i.changed and i.uid not in self.conflicts)
        return {"removed": counts["remove"], "review": counts["review"], "changed": changed}

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project, "applied": self.applied, "decisions": self.decisions(),
            "skipped": dict(self.skipped), "conflicts": list(self.conflicts), "notes": list(self.notes),
            "report": self.report.to_dict(), "items": [i.to_dict() for i in self.items],
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str)

    def _summary_lines(self) -> list[str]:
        d = self.decisions()
        if self.applied:
            lines = [f"Written: {d['changed']} item(s) changed, {d['removed']} removed, {d['review']} sent to review."]
        else:
            lines = [f"Not written yet: {d['changed']} item(s) would change, {d['removed']} would be removed, "
                     f"{d['review']} would go to review."]
        if self.skipped:
            lines.append("Left alone: " + ", ".join(f"{n} {status}" for status, n in sorted(self.skipped.items())) + ".")
        if self.conflicts:
            lines.append(f"{len(self.conflicts)} item(s) changed by someone else while cleaning were left alone: run again.")
        lines.extend(self.notes)
        return lines

    def _taken_out(self, limit: int) -> list[ItemOutcome]:
        return [i for i in self.items if i.decision != "keep"][:limit]

    def to_markdown(self, limit: int = 200) -> str:
        """The library's report with this run's summary on top and its removed/held items after the rules."""
        head, _, rest = self.report.to_markdown().partition("\n")
        lines = [f"{head} — project {_md_cell(self.project)}", ""]
        lines += [f"**{line}**" if n == 0 else line for n, line in enumerate(self._summary_lines())]
        shown = self._taken_out(limit)
        table: list[str] = []
        if shown:
            table = ["## Items removed or sent to review", "", "| item | decision | why | duplicate of |", "|---|---|---|---|"]
            table += [
                f"| `{_md_cell(i.uid)}` | {i.decision} | {_md_cell(', '.join(i.rules))} | {_md_cell(i.duplicate_of or '')} |"
                for i in shown
            ]
            more = sum(1 for i in self.items if i.decision != "keep") - len(shown)
            if more > 0:
                table += ["", f"… and {more} more (every item is in the JSON report)."]
            table += [""]
        before, timing, after = rest.partition("## Timing")
        body = before + "\n".join(table) + "\n" + timing + after if timing else rest + "\n" + "\n".join(table)
        return "\n".join(lines) + "\n" + body.rstrip("\n") + "\n"

    def to_html(self, limit: int = 200) -> str:
        summary = "".join(f"<p>{escape(line)}</p>" for line in self._summary_lines())
        page = self.report.to_html().replace(
            "<h1>Cleaning report</h1>", f"<h1>Cleaning report — project {escape(self.project)}</h1>{summary}", 1
        )
        shown = self._taken_out(limit)
        if not shown:
            return page
        rows = "".join(
            f"<tr><td><code>{escape(i.uid)}</code></td><td>{i.decision}</td><td>{escape(', '.join(i.rules))}</td>"
            f"<td>{escape(i.duplicate_of or '')}</td></tr>"
            for i in shown
        )
        table = ("<h2>Items removed or sent to review</h2><table><tr><th>item</th><th>decision</th><th>why</th>"
                 f"<th>duplicate of</th></tr>{rows}</table>")
        return page.replace("<h2>Timing</h2>", table + "<h2>Timing</h2>", 1)


def write_reports(outcome: PrepareOutcome, json_path: Path | None = None, markdown_path: Path | None = None,
                  html_path: Path | None = None) -> None:
    """Write the reports asked for, each atomically (a reader never sees half of one)."""
    if json_path is not None:
        atomic_write_bytes(Path(json_path), outcome.to_json())
    if markdown_path is not None:
        atomic_write_bytes(Path(markdown_path), outcome.to_markdown().encode("utf-8"))
    if html_path is not None:
        atomic_write_bytes(Path(html_path), outcome.to_html().encode("utf-8"))


# --- the shared core --------------------------------------------------------------------


def _span_names(questions: Sequence[Mapping[str, Any]]) -> set[str]:
    return {q["name"] for q in questions if q.get("type") == "spans"} | {"spans"}


def label_fields(questions: Sequence[Mapping[str, Any]], values: Mapping[str, Any] | None) -> dict[str, Any]:
    """The answer fields label-consistency rules read (labels, safety, ranking) of one submission."""
    if not values:
        return {}
    answers = values_to_answers(list(questions), dict(values))
    return {k: answers[k] for k in ("labels", "safety", "ranking") if k in answers}


def _as_item(c: Candidate, span_names: set[str]) -> dict[str, Any]:
    item: dict[str, Any] = {"id": c.uid, "kind": c.kind, **c.content, **c.labels, "provenance": c.provenance}
    # every submission's spans ride along, tagged with their owner, so the pipeline moves them with the text
    spans = [
        {**span, "_owner": (n, name)}
        for n, answer in enumerate(c.answers)
        for name in span_names
        if isinstance(answer.values.get(name), list)
        for span in answer.values[name]
        if isinstance(span, dict)
    ]
    if spans:
        item["spans"] = spans
    return item


def _moved_answers(c: Candidate, result: ItemResult, sent: dict[str, Any], span_names: set[str]) -> tuple[Answer, ...]:
    new_spans = result.item.get("spans") if isinstance(result.item, dict) else None
    if not result.changed or new_spans is sent.get("spans") or not isinstance(new_spans, list):
        return ()
    by_owner: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for span in new_spans:
        owner = span.get("_owner")
        by_owner.setdefault(tuple(owner), []).append({k: v for k, v in span.items() if k != "_owner"})
    moved = []
    for n, answer in enumerate(c.answers):
        values = dict(answer.values)
        for name in span_names:
            if isinstance(values.get(name), list):
                values[name] = by_owner.get((n, name), [])
        if values != answer.values:
            moved.append(Answer(answer.key, values))
    return tuple(moved)


def _plain(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "at"}


def _new_entries(provenance: Mapping[str, Any], entries: Iterable[Mapping[str, Any]], media: bool) -> list[dict[str, Any]]:
    recorded = provenance.get("cleaning")
    known = [_plain(e) for e in recorded if isinstance(e, dict)] if isinstance(recorded, list) else []
    fresh = []
    for entry in entries:
        if media and entry.get("rule") in TEXTLESS_RULES:
            continue
        if dict(entry) not in known:
            fresh.append(dict(entry))
    return fresh


def _decision(entries: Iterable[Mapping[str, Any]]) -> str:
    actions = {e.get("action") for e in entries}
    return "remove" if "remove" in actions else "review" if "review" in actions else "keep"


def _with_entries(provenance: Mapping[str, Any], entries: Sequence[Mapping[str, Any]], stamp: str,
                  original_digest: str | None) -> dict[str, Any]:
    out = dict(provenance)
    if entries:
        before = out.get("cleaning")
        out["cleaning"] = [*(before if isinstance(before, list) else []), *({**e, "at": stamp} for e in entries)]
    if original_digest and "original_hash" not in out:
        # lets a later import of the original file recognise the item (importer: conflicts)
        out["original_hash"] = original_digest
    return out


def _cleaned(c: Candidate, result: ItemResult, sent: dict[str, Any], stamp: str, span_names: set[str]) -> Cleaned:
    media = bool(c.content.get("media"))
    entries = _new_entries(c.provenance, result.entries, media)
    content = content_of(result.item) if result.changed and isinstance(result.item, dict) else c.content
    changed = content != c.content
    digest = content_hash(content) if changed else (c.digest or content_hash(content))
    provenance = _with_entries(c.provenance, entries, stamp, (c.digest or content_hash(c.content)) if changed else None)
    return Cleaned(c.uid, _decision(entries), tuple(entries), content, digest, provenance,
                   _moved_answers(c, result, sent, span_names), changed)


def _outcome_item(cleaned: Cleaned) -> ItemOutcome:
    dup = next((e.get("duplicate_of") for e in cleaned.entries if "duplicate_of" in e), None)
    rules = tuple(dict.fromkeys(e["rule"] for e in cleaned.entries))
    return ItemOutcome(cleaned.uid, cleaned.decision, rules, cleaned.changed, None if dup is None else str(dup))


@dataclass(frozen=True)
class _Run:
    pairs: list[tuple[Candidate, Cleaned]]
    report: CleanReport
    notes: tuple[str, ...]


def _clean(candidates: Iterable[Candidate], questions: Sequence[Mapping[str, Any]], config: CleanConfig,
           references: Sequence[Reference], progress: StageProgress | None, cancel: Cancel) -> _Run:
    span_names = _span_names(questions)
    seen: list[tuple[Candidate, dict[str, Any]]] = []

    def items() -> Iterator[dict[str, Any]]:
        for c in candidates:
            item = _as_item(c, span_names)
            seen.append((c, item))
            yield item

    result = run_pipeline(items(), config, [(r.id, r.text) for r in references], progress, cancel)
    stamp = result.report.started_at
    pairs = []
    exempt = 0
    for r in result:
        c, sent = seen[r.index]
        pairs.append((c, _cleaned(c, r, sent, stamp, span_names)))
        exempt += bool(c.content.get("media")) and any(e["rule"] in TEXTLESS_RULES for e in r.entries)
    notes = (f"{exempt} media item(s) without enough text were kept: {', '.join(TEXTLESS_RULES)} judge text alone.",)
    return _Run(pairs, result.report, notes if exempt else ())


def is_cancelled(cancel: Cancel) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


# --- reference texts -----------------------------------------------------------------------


def load_references(ws: Workspace, project: ProjectInfo, config: CleanConfig, include_own: bool = False) -> list[Reference]:
    """Texts of other projects' items (and, for an import, the project's own stored items).

    Removed items are not data any more: comparing with them would make two projects that
    share an item each remove it. Texts are built with `dedup_text` as the items' are.
    """
    key = config["duplicates"]["key"]
    query = (
        select(Item.id, Project.name, Item.uid, Item.content)
        .join(Project, Project.id == Item.project_id)
        .where(Item.status != REMOVED)
    )
    if not include_own:
        query = query.where(Item.project_id != project.id)
    found: list[Reference] = []
    last = 0
    while True:
        with ws.engine.connect() as conn:
            rows = conn.execute(query.where(Item.id > last).order_by(Item.id).limit(BATCH)).all()
        if not rows:
            return found
        last = rows[-1][0]
        found.extend(Reference(name, uid, dedup_text(content, key)) for _, name, uid, content in rows)


# --- a project in the database ---------------------------------------------------------------


def _project_candidates(ws: Workspace, project: ProjectInfo, skipped: Counter) -> Iterator[Candidate]:
    """The project's items in id order, in batches; items already held out are counted, not cleaned."""
    questions = list(project.questions)
    last = 0
    while True:
        with ws.engine.connect() as conn:
            rows = conn.execute(
                select(Item.id, Item.uid, Item.kind, Item.content, Item.content_hash, Item.provenance, Item.status)
                .where(Item.project_id == project.id, Item.id > last).order_by(Item.id).limit(BATCH)
            ).all()
            if not rows:
                return
            answers: dict[int, list[tuple[int, dict[str, Any], str]]] = {}
            for aid, item_id, values, status in conn.execute(
                select(Annotation.id, Annotation.item_id, Annotation.values, Annotation.status)
                .where(Annotation.item_id.between(rows[0][0], rows[-1][0])).order_by(Annotation.item_id, Annotation.id)
            ):
                answers.setdefault(item_id, []).append((aid, values or {}, status))
        last = rows[-1][0]
        for item_id, uid, kind, content, digest, provenance, status in rows:
            if status in HELD_OUT:
                skipped[status] += 1
                continue
            mine = answers.get(item_id, [])
            first = next((values for _, values, st in mine if st == "submitted"), None)
            yield Candidate(uid, kind, content or {}, provenance or {}, label_fields(questions, first),
                            tuple(Answer(aid, values) for aid, values, _ in mine), item_id, digest)


def clean_project(
    ws: Workspace, lead: Actor, project_name: str, config: CleanConfig | None = None, dry_run: bool = False,
    progress: StageProgress | None = None, cancel: Cancel = None,
) -> PrepareOutcome:
    """Clean a project's items; unless `dry_run`, write the result in one transaction.

    A dry run is a lead's too: its report quotes every item it found something about.
    Raises CleanCancelled when `cancel` fires before the write (nothing is written then).
    """
    require_first(ws, lead, "clean data")
    config = config or CleanConfig.default()
    project = get_project(ws, project_name)
    if progress:
        progress("loading", 0, None)
    references = load_references(ws, project, config)
    skipped: Counter = Counter()
    run = _clean(_project_candidates(ws, project, skipped), project.questions, config, references, progress, cancel)
    touched = [(c, done) for c, done in run.pairs if done.touched]
    conflicts: tuple[str, ...] = ()
    if not dry_run:
        if is_cancelled(cancel):
            raise CleanCancelled()
        if progress:
            progress("write", 0, len(touched))
        conflicts = _write(ws, lead, touched, run.report.started_at)
        if progress:
            progress("write", len(touched), len(touched))
    return PrepareOutcome(
        project.name, run.report, tuple(_outcome_item(done) for _, done in touched), applied=not dry_run,
        skipped=dict(skipped), conflicts=conflicts, notes=run.notes,
    )


def _write(ws: Workspace, lead: Actor, touched: Sequence[tuple[Candidate, Cleaned]], stamp: str) -> tuple[str, ...]:
    """Store one run's results; items someone changed meanwhile are left alone and named.

    "Changed meanwhile": the content, the status (held out by another run) or one of the
    submissions whose spans move. Rows are locked on PostgreSQL so the check holds until
    commit; SQLite's write transaction already excludes other writers.
    """
    conflicts: list[str] = []
    with ws.transaction() as session:
        require(session, lead, "clean data")  # again: the role may have changed during a long run
        items = _locked(session, Item, (Item.content_hash, Item.provenance, Item.status), [c.key for c, _ in touched])
        answers = _locked(session, Annotation, (Annotation.values,), [a.key for _, done in touched for a in done.answers])
        rows: list[dict[str, Any]] = []
        held: list[int] = []
        moved: list[Answer] = []
        for c, done in touched:
            now = items.get(c.key)
            read = {a.key: a.values for a in c.answers}
            if (now is None or now[0] != c.digest or now[2] in HELD_OUT
                    or any(answers.get(a.key, (None,))[0] != read[a.key] for a in done.answers)):
                conflicts.append(c.uid)
                continue
            # append to the provenance as it is now, not as it was read
            entries = _new_entries(now[1] or {}, done.entries, False)
            original = done.provenance.get("original_hash") if done.changed else None
            row: dict[str, Any] = {
                "id": c.key, "content": done.content, "content_hash": done.digest,
                "provenance": _with_entries(now[1] or {}, entries, stamp, original),
            }
            status = STATUS_OF.get(done.decision)
            if status:
                row["status"] = status
                held.append(c.key)
            rows.append(row)
            moved.extend(done.answers)
        for same_shape in _by_columns(rows):
            session.execute(update(Item), same_shape)
        if moved:
            session.execute(update(Annotation), [{"id": a.key, "values": a.values} for a in moved])
        _withdraw_leases(session, held)
    return tuple(conflicts)


def _locked(session: Session, model: type, columns: tuple, ids: list[int]) -> dict[int, tuple]:
    """id -> columns of these rows, locked for the transaction where the database can."""
    found: dict[int, tuple] = {}
    for start in range(0, len(ids), 900):
        query = select(model.id, *columns).where(model.id.in_(ids[start : start + 900])).with_for_update()
        found.update((row[0], tuple(row[1:])) for row in session.execute(query))
    return found


def _by_columns(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Bulk UPDATE by primary key wants rows of one shape: items that change status, and the rest."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    return list(groups.values())


def _withdraw_leases(session: Session, item_ids: list[int]) -> None:
    """Work in progress on items taken out ends: it is no longer resumed nor submitted.

    Active leases give their slot back. Expired and rework ones are withdrawn too: a
    submit on either would take a slot again and, with it, put the item back to `open`.
    """
    for start in range(0, len(item_ids), 900):
        chunk = item_ids[start : start + 900]
        held = session.execute(
            select(Assignment.item_id, Assignment.status)
            .where(Assignment.item_id.in_(chunk), Assignment.status.in_(UNFINISHED))
        ).all()
        if not held:
            continue
        session.execute(
            update(Assignment).where(Assignment.item_id.in_(chunk), Assignment.status.in_(UNFINISHED))
            .values(status=WITHDRAWN, reason="the item was taken out by data cleaning", expires_at=None)
        )
        for item_id, n in Counter(item_id for item_id, status in held if status == "active").items():
            session.execute(update(Item).where(Item.id == item_id).values(assigned_count=Item.assigned_count - n))


# --- records on their way in -----------------------------------------------------------------


def clean_on_import(
    project: ProjectInfo, pending: Sequence[PendingLike], config: CleanConfig, references: Sequence[Reference] = (),
    progress: StageProgress | None = None, cancel: Cancel = None,
) -> tuple[list[Cleaned], PrepareOutcome]:
    """Clean records before they are inserted: one `Cleaned` per pending row, same order.

    `references` may hold the project's own stored items (they are compared like other
    projects'); those the import brings again are left out, or each would duplicate itself.
    """
    questions = list(project.questions)
    incoming = {p.uid for p in pending}
    refs = [r for r in references if not (r.project == project.name and r.uid in incoming)]
    candidates = [
        Candidate(p.uid, p.kind, p.content, p.provenance,
                  label_fields(questions, p.annotations[0]["values"] if p.annotations else None),
                  tuple(Answer(n, a["values"]) for n, a in enumerate(p.annotations)), digest=p.digest)
        for p in pending
    ]
    run = _clean(candidates, questions, config, refs, progress, cancel)
    cleaned = [_storable(done) for _, done in run.pairs]
    outcome = PrepareOutcome(project.name, run.report, tuple(_outcome_item(c) for c in cleaned if c.touched),
                             applied=False, notes=run.notes)
    return cleaned, outcome


def _storable(done: Cleaned) -> Cleaned:
    """PostgreSQL cannot store U+0000 in JSON: a removed item (binary garbage) keeps U+FFFD instead."""
    if done.decision != "remove" or not has_nul(done.content):
        return done
    content = _without_nul(done.content)
    original = done.provenance.get("original_hash") or done.digest
    return replace(done, content=content, digest=content_hash(content), changed=True,
                   provenance={**done.provenance, "original_hash": original})


def has_nul(value: Any) -> bool:
    """Whether a JSON value holds U+0000 anywhere (PostgreSQL's JSON refuses it)."""
    # fast path for every imported row: orjson writes U+0000 as \u0000, so most rows are
    # cleared by one C-level search; a hit may be the literal text "\u0000", hence the walk
    return b"\\u0000" in orjson.dumps(value, default=str) and _holds_nul(value)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(v) for v in value)
    return False


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


# --- a lead's decision on items held for review --------------------------------------------------


def items_in_review(ws: Workspace, lead: Actor, project_name: str) -> list[ItemOutcome]:
    """Items cleaning holds for a lead, with the rules that sent them there."""
    require_first(ws, lead, "clean data")
    project = get_project(ws, project_name)
    with ws.engine.connect() as conn:
        rows = conn.execute(
            select(Item.uid, Item.provenance).where(Item.project_id == project.id, Item.status == REVIEW).order_by(Item.id)
        ).all()
    held = []
    for uid, provenance in rows:
        entries = [e for e in (provenance or {}).get("cleaning", ()) if isinstance(e, dict) and e.get("action") == "review"]
        held.append(ItemOutcome(uid, "review", tuple(dict.fromkeys(str(e.get("rule")) for e in entries)), False))
    return held


def release_from_review(ws: Workspace, lead: Actor, project_name: str, uids: Sequence[str], keep: bool) -> int:
    """Keep (back to labeling) or remove items cleaning sent to review; returns how many changed.

    The decision is recorded in provenance; a later cleaning run does not send the same
    item back for what it already found.
    """
    project = get_project(ws, project_name)
    entry = {"rule": "review.kept" if keep else "review.removed", "action": "keep" if keep else "remove"}
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    changed = 0
    with ws.transaction() as session:
        require(session, lead, "clean data")
        rows = session.execute(
            select(Item.id, Item.provenance, Item.assigned_count)
            .where(Item.project_id == project.id, Item.uid.in_(list(uids)), Item.status == REVIEW)
        ).all()
        for item_id, provenance, assigned in rows:
            status = REMOVED if not keep else ("full" if assigned >= project.overlap else "open")
            session.execute(
                update(Item).where(Item.id == item_id)
                .values(status=status, provenance=_with_entries(provenance or {}, [entry], stamp, None))
            )
            changed += 1
    return changed
