"""Building `labeldesk/record@1` records from items, their submissions and their reviews.

Streams: items are read in id order in batches with a keyset cursor, and the
submissions of a batch in one query, so memory stays flat whatever the project size.

How a record's answers are decided (its `quality.method`, first rule that applies):

1. `adjudicated` — a lead decided the item (an adjudication); their values override all.
2. `gold` — a gold item: its known answers.
3. `single` / `reviewed` — one counted submission: its answers (or the reviewers' correction).
4. `consensus` — several: consensus_values over what each submission counts as (its
   correction when corrected). With an agreement threshold (template key
   `agreement_threshold`, or the `threshold` argument), an item whose agreement is below it,
   or whose consensus is a tie, is `escalated`: a lead adjudicates it or it is dropped
   (template key `below_threshold: adjudicate | drop`); one at or above it is `accepted`.

Only reviews of a submission's current revision count; within it the highest level has the
last word, and a correction made at one level stands unless a later level rejects it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from labeldesk.app.workflow.consensus import consensus_values
from labeldesk.app.workflow.prepare import in_dataset
from labeldesk.app.workflow.projects import ProjectInfo
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Adjudication, Annotation, Item, Review, User
from labeldesk.storage.record import SCHEMA_ID, values_to_answers

BATCH = 5000
INCLUDE = ("all", "annotated", "accepted")
BELOW_THRESHOLD = ("adjudicate", "drop")
UNSCORED = ("text",)  # free text is never merged nor scored, so it does not weigh on an item's agreement


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
    """Where the reviews of one submission's current revision ended.

    `decision` and `level` are those of the highest level; `correction` is the newest
    correction along the way (a later accept keeps it); `reviewers` are everyone who decided.
    """

    decision: str
    reviewer: str
    level: int
    correction: dict[str, Any] | None
    reviewers: tuple[str, ...] = ()
    corrected: bool = False


@dataclass(frozen=True)
class Ruling:
    """A lead's adjudication of an item."""

    values: dict[str, Any]
    lead: str


def threshold_of(project: ProjectInfo, override: float | None = None) -> float | None:
    value = override if override is not None else project.config.get("agreement_threshold")
    return None if value is None else float(value)


def below_threshold_policy(project: ProjectInfo) -> str:
    policy = project.config.get("below_threshold", "adjudicate")
    return policy if policy in BELOW_THRESHOLD else "adjudicate"


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
        .join(Annotation, Annotation.id == Review.annotation_id)
        .where(Review.annotation_id.between(annotation_ids[0], annotation_ids[-1]), Review.revision == Annotation.revision)
        .order_by(Review.annotation_id, Review.level, Review.created_at, Review.id)
    )
    found: dict[int, Verdict] = {}
    with ws.engine.connect() as conn:
        for aid, decision, name, level, correction in conn.execute(query):
            before = found.get(aid)
            carried = before.correction if before else None
            if decision == "correct" and correction is not None:
                carried = correction
            found[aid] = Verdict(  # later rows win: highest level, newest
                decision, name, level, carried,
                tuple(dict.fromkeys([*(before.reviewers if before else ()), name])),
                (before.corrected if before else False) or decision == "correct",
            )
    return found


def _rulings(ws: Workspace, item_ids: list[int]) -> dict[int, Ruling]:
    query = (
        select(Adjudication.item_id, Adjudication.values, User.name)
        .join(User, User.id == Adjudication.user_id)
        .where(Adjudication.item_id.between(item_ids[0], item_ids[-1]))
    )
    with ws.engine.connect() as conn:
        return {item_id: Ruling(values, name) for item_id, values, name in conn.execute(query)}


def _effective_values(subs: list[Submission], verdicts: dict[int, Verdict]) -> list[dict[str, Any]]:
    """What each submission counts as: its correction when corrected; rejected ones do not count."""
    values = []
    for sub in subs:
        verdict = verdicts.get(sub.annotation_id)
        if verdict is None:
            values.append(sub.values)
        elif verdict.decision == "reject":
            continue
        else:
            values.append(verdict.correction if verdict.correction is not None else sub.values)
    return values


def _review_status(subs: list[Submission], verdicts: dict[int, Verdict]) -> str:
    mine = [verdicts[s.annotation_id] for s in subs if s.annotation_id in verdicts]
    if not mine:
        return "submitted"
    if all(v.decision == "reject" for v in mine):
        return "rejected"
    return "accepted"


def _quality(subs: list[Submission], verdicts: dict[int, Verdict], agreement: float | None, method: str,
             status: str | None = None, deciders: tuple[str, ...] = ()) -> dict[str, Any]:
    mine = [verdicts[s.annotation_id] for s in subs if s.annotation_id in verdicts]
    quality: dict[str, Any] = {
        "status": status or _review_status(subs, verdicts),
        "annotators": len(subs),
        "reviewed_by": sorted({name for v in mine for name in (v.reviewers or (v.reviewer,))} | set(deciders)),
        "corrections": sum(1 for v in mine if v.corrected),
        "method": method,
    }
    if agreement is not None:
        quality["agreement"] = round(float(agreement), 6)
    return quality


def item_agreement(questions: list[dict[str, Any]], effective: list[dict[str, Any]]) -> tuple[dict[str, Any], float | None, bool]:
    """Consensus values, mean agreement over the scored questions, and whether any question tied."""
    values, per_question = consensus_values(questions, effective)
    scored = {q["name"] for q in questions if q["type"] not in UNSCORED}
    scores = [c.agreement for name, c in per_question.items() if name in scored and c.agreement is not None]
    tied = any(c.contradictory for name, c in per_question.items() if name in scored)
    return values, (sum(scores) / len(scores) if scores else None), tied


def _decide(
    questions: list[dict[str, Any]], subs: list[Submission], verdicts: dict[int, Verdict],
    gold: dict[str, Any] | None, ruling: Ruling | None, threshold: float | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(answers, quality block) of one item with submissions, by the rules of the module docstring."""
    effective = _effective_values(subs, verdicts)
    agreement, tied, values = None, False, {}
    if len(effective) >= 2:
        values, agreement, tied = item_agreement(questions, effective)
    elif effective:
        values = effective[0]
    if ruling is not None:
        return ruling.values, _quality(subs, verdicts, agreement, "adjudicated", "adjudicated", (ruling.lead,))
    if gold is not None:
        return gold, _quality(subs, verdicts, agreement, "gold", "accepted")
    if len(effective) < 2:
        reviewed = bool(subs) and verdicts.get(subs[0].annotation_id) is not None
        return values, _quality(subs, verdicts, None, "reviewed" if reviewed else "single")
    if threshold is None:
        return values, _quality(subs, verdicts, agreement, "consensus")
    below = tied or (agreement is not None and agreement < threshold)
    return values, _quality(subs, verdicts, agreement, "consensus", "escalated" if below else "accepted")


def assemble(
    project: ProjectInfo, uid: str, kind: str, content: dict[str, Any], provenance: dict[str, Any],
    meta: dict[str, Any], subs: list[Submission], verdicts: dict[int, Verdict], *,
    gold: dict[str, Any] | None = None, ruling: Ruling | None = None, threshold: float | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(answers by question name, record) of one item from its parts."""
    record: dict[str, Any] = {"schema": SCHEMA_ID, "id": uid, "kind": kind, **content}
    values: dict[str, Any] = {}
    if subs or ruling is not None:
        questions = list(project.questions)
        values, record["quality"] = _decide(questions, subs, verdicts, gold, ruling, threshold)
        record.update(values_to_answers(questions, values))
        if subs:
            record["annotations"] = [_entry(s) for s in subs]
        versions = [s.guideline_version for s in subs if s.guideline_version is not None]
        if versions:
            provenance = {**provenance, "guideline_version": max(versions)}
    if provenance:
        record["provenance"] = provenance
    if meta:
        record["meta"] = meta
    return values, record


def build_record(
    project: ProjectInfo, uid: str, kind: str, content: dict[str, Any], provenance: dict[str, Any],
    meta: dict[str, Any], subs: list[Submission], verdicts: dict[int, Verdict], *,
    gold: dict[str, Any] | None = None, ruling: Ruling | None = None, threshold: float | None = None,
) -> dict[str, Any]:
    return assemble(project, uid, kind, content, provenance, meta, subs, verdicts,
                    gold=gold, ruling=ruling, threshold=threshold)[1]


def _entry(sub: Submission) -> dict[str, Any]:
    entry: dict[str, Any] = {"annotator": sub.annotator, "values": sub.values, "seconds": round(sub.seconds, 3)}
    if sub.submitted_at:
        entry["submitted_at"] = sub.submitted_at
    if sub.guideline_version is not None:
        entry["guideline_version"] = sub.guideline_version
    return entry


def current_agreement(ws: Workspace, project: ProjectInfo, item_id: int) -> float | None:
    """The agreement of one item's counted submissions now (None with fewer than two)."""
    subs = _submissions(ws, [item_id, item_id]).get(item_id, [])
    effective = _effective_values(subs, _verdicts(ws, sorted(s.annotation_id for s in subs)))
    return item_agreement(list(project.questions), effective)[1] if len(effective) >= 2 else None


@dataclass(frozen=True)
class Built:
    """One item's record with the ids and question-name answers behind it."""

    item_id: int
    values: dict[str, Any]
    record: dict[str, Any]


def iter_built(ws: Workspace, project: ProjectInfo, threshold: float | None = None, annotated_only: bool = False) -> Iterator[Built]:
    """Every item's record in id order, with its id and its answers by question name."""
    limit = threshold_of(project, threshold)
    last_id = 0
    columns = (Item.id, Item.uid, Item.kind, Item.content, Item.provenance, Item.meta, Item.gold)
    while True:
        query = select(*columns).where(Item.project_id == project.id, Item.id > last_id, in_dataset()).order_by(Item.id).limit(BATCH)
        with ws.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return
        last_id = rows[-1][0]
        subs = _submissions(ws, [rows[0][0], last_id])
        verdicts = _verdicts(ws, sorted(s.annotation_id for group in subs.values() for s in group))
        rulings = _rulings(ws, [rows[0][0], last_id])
        for item_id, uid, kind, content, provenance, meta, gold in rows:
            mine = subs.get(item_id, [])
            ruling = rulings.get(item_id)
            if annotated_only and not mine and ruling is None:
                continue
            values, record = assemble(project, uid, kind, content, provenance or {}, meta or {}, mine, verdicts,
                                      gold=gold, ruling=ruling, threshold=limit)
            yield Built(item_id, values, record)


def iter_records(
    ws: Workspace, project: ProjectInfo, include: str = "all", threshold: float | None = None,
) -> Iterator[dict[str, Any]]:
    """Every record of a project in id order; `include` narrows to annotated or accepted items.

    "accepted" keeps records whose `quality.status` is accepted or adjudicated; `threshold`
    overrides the project's `agreement_threshold`.
    """
    if include not in INCLUDE:
        raise ValueError(f"unknown --include {include!r}; one of {', '.join(INCLUDE)}")
    for built in iter_built(ws, project, threshold, annotated_only=include != "all"):
        if include == "accepted" and built.record.get("quality", {}).get("status") not in ("accepted", "adjudicated"):
            continue
        yield built.record
