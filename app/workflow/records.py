"""Building `labeldesk/record@1` records from items, their submissions and their reviews.

Streams: items are read in id order in batches with a keyset cursor, and the
submissions of a batch in one query, so memory stays flat whatever the project size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.workflow.consensus import consensus_values
from app.workflow.projects import ProjectInfo
from storage.db import Workspace
from storage.models import Annotation, Item, Review, User
from storage.record import SCHEMA_ID, values_to_answers

BATCH = 5000
INCLUDE = ("all", "annotated", "accepted")


@dataclass(frozen=True)
class Submission:
    annotation_id: int
    annotator: str
    values: dict[str, Any]
    submitted_at: str | None
    seconds: float
    guideline_version: int | None


@dataclass(frozen=True)
class Verdict:
    """The last word of the highest review level on one submission."""

    decision: str
    reviewer: str
    level: int
    correction: dict[str, Any] | None


def _submissions(ws: Workspace, item_ids: list[int]) -> dict[int, list[Submission]]:
    query = (
        select(
            Annotation.id, Annotation.item_id, User.name, Annotation.values, Annotation.submitted_at,
            Annotation.active_seconds, Annotation.guideline_version,
        )
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.item_id.between(item_ids[0], item_ids[-1]), Annotation.status == "submitted")
        .order_by(Annotation.item_id, Annotation.submitted_at, Annotation.id)
    )
    found: dict[int, list[Submission]] = {}
    with ws.engine.connect() as conn:
        for aid, item_id, name, values, at, seconds, version in conn.execute(query):
            found.setdefault(item_id, []).append(
                Submission(aid, name, values, at.isoformat() if at else None, seconds or 0.0, version)
            )
    return found


def _verdicts(ws: Workspace, annotation_ids: list[int]) -> dict[int, Verdict]:
    if not annotation_ids:
        return {}
    query = (
        select(Review.annotation_id, Review.decision, User.name, Review.level, Review.correction)
        .join(User, User.id == Review.reviewer_id)
        .where(Review.annotation_id.between(annotation_ids[0], annotation_ids[-1]))
        .order_by(Review.annotation_id, Review.level, Review.created_at, Review.id)
    )
    found: dict[int, Verdict] = {}
    with ws.engine.connect() as conn:
        for aid, decision, name, level, correction in conn.execute(query):
            found[aid] = Verdict(decision, name, level, correction)  # later rows win: highest level, newest
    return found


def _effective_values(subs: list[Submission], verdicts: dict[int, Verdict]) -> list[dict[str, Any]]:
    """What each submission counts as: its correction when corrected; rejected ones do not count."""
    values = []
    for sub in subs:
        verdict = verdicts.get(sub.annotation_id)
        if verdict is None or verdict.decision == "accept":
            values.append(sub.values)
        elif verdict.decision == "correct" and verdict.correction is not None:
            values.append(verdict.correction)
    return values


def _quality(subs: list[Submission], verdicts: dict[int, Verdict], agreement: float | None, method: str) -> dict[str, Any]:
    mine = [verdicts[s.annotation_id] for s in subs if s.annotation_id in verdicts]
    if not mine:
        status = "submitted"
    elif all(v.decision == "reject" for v in mine):
        status = "rejected"
    else:
        status = "accepted"
    quality: dict[str, Any] = {
        "status": status,
        "annotators": len(subs),
        "reviewed_by": sorted({v.reviewer for v in mine}),
        "corrections": sum(1 for v in mine if v.decision == "correct"),
        "method": method,
    }
    if agreement is not None:
        quality["agreement"] = round(float(agreement), 6)
    return quality


def build_record(
    project: ProjectInfo, uid: str, kind: str, content: dict[str, Any], provenance: dict[str, Any],
    meta: dict[str, Any], subs: list[Submission], verdicts: dict[int, Verdict],
) -> dict[str, Any]:
    record: dict[str, Any] = {"schema": SCHEMA_ID, "id": uid, "kind": kind, **content}
    if subs:
        questions = list(project.questions)
        effective = _effective_values(subs, verdicts)
        agreement, method = None, "single"
        if len(effective) == 1:
            values = effective[0]
            method = "reviewed" if verdicts.get(subs[0].annotation_id) else "single"
        elif effective:
            values, per_question = consensus_values(questions, effective)
            scores = [c.agreement for c in per_question.values() if c.agreement is not None]
            agreement = sum(scores) / len(scores) if scores else None
            method = "consensus"
        else:
            values = {}
        record.update(values_to_answers(questions, values))
        record["quality"] = _quality(subs, verdicts, agreement, method)
        record["annotations"] = [_entry(s) for s in subs]
        versions = [s.guideline_version for s in subs if s.guideline_version is not None]
        if versions:
            provenance = {**provenance, "guideline_version": max(versions)}
    if provenance:
        record["provenance"] = provenance
    if meta:
        record["meta"] = meta
    return record


def _entry(sub: Submission) -> dict[str, Any]:
    entry: dict[str, Any] = {"annotator": sub.annotator, "values": sub.values, "seconds": round(sub.seconds, 3)}
    if sub.submitted_at:
        entry["submitted_at"] = sub.submitted_at
    if sub.guideline_version is not None:
        entry["guideline_version"] = sub.guideline_version
    return entry


def iter_records(ws: Workspace, project: ProjectInfo, include: str = "all") -> Iterator[dict[str, Any]]:
    """Every record of a project in id order; `include` narrows to annotated or accepted items."""
    if include not in INCLUDE:
        raise ValueError(f"unknown --include {include!r}; one of {', '.join(INCLUDE)}")
    last_id = 0
    columns = (Item.id, Item.uid, Item.kind, Item.content, Item.provenance, Item.meta)
    while True:
        query = select(*columns).where(Item.project_id == project.id, Item.id > last_id).order_by(Item.id).limit(BATCH)
        with ws.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return
        last_id = rows[-1][0]
        subs = _submissions(ws, [rows[0][0], last_id])
        verdicts = _verdicts(ws, sorted(s.annotation_id for group in subs.values() for s in group))
        for item_id, uid, kind, content, provenance, meta in rows:
            mine = subs.get(item_id, [])
            if include != "all" and not mine:
                continue
            record = build_record(project, uid, kind, content, provenance or {}, meta or {}, mine, verdicts)
            if include == "accepted" and record.get("quality", {}).get("status") != "accepted":
                continue
            yield record
