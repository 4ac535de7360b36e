"""Review: queues by level, accept / reject with a reason / correct, and answers side by side.

A project has `review_levels` (template key, default 1); with several, the last level is the
lead's and the others are the reviewers' (permissions.review_roles). A submission enters the
level-1 queue when it is submitted and the level-N queue when level N-1 accepted or corrected
it. Every review judges one *revision* of a submission: if the annotator resubmits, earlier
decisions stop applying and the new revision starts again at level 1.

- accept: the submission (or the correction a lower level made) stands.
- reject: needs a reason; the annotation returns to draft and comes back to its annotator
  first (a `rework` assignment) with the reason shown in the task.
- correct: the reviewer's values replace the answers they give; the full corrected values and
  their difference from the annotator's original (`{question: {"from", "to"}}`) are stored, and
  count as a correction received by the annotator.

Concurrency: `review` row-locks the submission (PostgreSQL; SQLite serialises writers) and
checks it is still the revision the reviewer saw, so an annotator's edit and a review never
overwrite each other; a unique (annotation, level, revision) index keeps two reviewers
from both deciding. `next_review` claims its entry for `review_claim_minutes` (default 30) so
that reviewers pulling at once get different submissions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from labeldesk.app.workflow.consensus import consensus
from labeldesk.app.workflow.permissions import LEAD, Actor, PermissionDenied, require, require_review_level, review_levels
from labeldesk.app.workflow.projects import ProjectInfo, get_project
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Annotation, Assignment, Item, Project, Review, ReviewClaim, User

DECISIONS = ("accept", "reject", "correct")
PASSING = ("accept", "correct")  # decisions that send a submission on to the next level
DEFAULT_CLAIM_MINUTES = 30.0


class ReviewError(ValueError):
    """A review that cannot be made; the message says why."""


@dataclass(frozen=True)
class ReviewInfo:
    id: int
    annotation_id: int
    level: int
    revision: int
    decision: str
    reason: str
    reviewer: str
    correction: dict[str, Any] | None
    changes: dict[str, Any] | None
    created_at: datetime | None


@dataclass(frozen=True)
class QueueEntry:
    """One submission waiting for a decision at `level`, with what the reviewer needs to judge it."""

    annotation_id: int
    item_id: int
    uid: str
    annotator: str
    revision: int
    level: int
    values: dict[str, Any]  # what to judge: the annotator's answers, or a lower level's correction
    original: dict[str, Any]  # the annotator's answers as submitted
    content: dict[str, Any]
    submitted_at: datetime | None
    seconds: float
    claimed_by: str | None = None


@dataclass(frozen=True)
class FeedbackEntry:
    """A decision on one of my submissions, as its annotator sees it."""

    item_id: int
    uid: str
    review: ReviewInfo
    current: bool  # judges the revision the annotation is at now


@dataclass(frozen=True)
class AnswerView:
    annotation_id: int
    annotator: str
    status: str
    revision: int
    values: dict[str, Any]
    submitted_at: datetime | None
    verdict: ReviewInfo | None  # the highest-level decision on the current revision


@dataclass(frozen=True)
class QuestionDiff:
    question: str
    type: str
    status: str  # equal | different | single | missing
    answers: dict[str, Any]  # annotator -> answer (None: not answered)
    differs: tuple[str, ...]  # annotators whose answer is not the most common one
    consensus: Any
    agreement: float | None


@dataclass(frozen=True)
class SideBySide:
    item_id: int
    uid: str
    kind: str
    content: dict[str, Any]
    answers: tuple[AnswerView, ...]
    questions: tuple[QuestionDiff, ...]

    @property
    def different(self) -> tuple[str, ...]:
        return tuple(q.question for q in self.questions if q.status == "different")


# --- helpers -------------------------------------------------------------------------


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _info(review: Review, reviewer: str) -> ReviewInfo:
    return ReviewInfo(review.id, review.annotation_id, review.level, review.revision, review.decision, review.reason,
                      reviewer, review.correction, review.changes, review.created_at)


def _reviews_of(session: Session, annotation_id: int, revision: int | None = None) -> list[ReviewInfo]:
    query = (
        select(Review, User.name).join(User, User.id == Review.reviewer_id)
        .where(Review.annotation_id == annotation_id).order_by(Review.revision, Review.level, Review.id)
    )
    if revision is not None:
        query = query.where(Review.revision == revision)
    return [_info(review, name) for review, name in session.execute(query)]


def _under_review(values: dict[str, Any], chain: list[ReviewInfo]) -> dict[str, Any]:
    """What the next level judges: the newest correction on this revision, else the original."""
    for review in reversed(chain):
        if review.decision == "correct" and review.correction is not None:
            return review.correction
    return values


def canonical(qtype: str, value: Any) -> Any:
    """A comparable form of an answer: order and spacing that carry no meaning are removed."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if qtype == "text":
        return " ".join(str(value).split())
    if qtype == "multi_choice":
        return tuple(sorted(map(str, value if isinstance(value, (list, tuple, set)) else [value])))
    if qtype == "ranking":
        return tuple(sorted((str(e.get("response")), e.get("rank")) for e in value if isinstance(e, Mapping)))
    if qtype in ("spans", "segments"):
        return tuple(sorted(orjson.dumps(e, option=orjson.OPT_SORT_KEYS).decode() for e in value))
    if qtype == "safety" and isinstance(value, Mapping):
        return orjson.dumps({**value, "categories": sorted(value.get("categories") or ())}, option=orjson.OPT_SORT_KEYS).decode()
    if isinstance(value, (dict, list)):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return value


def changes_between(questions: tuple[dict[str, Any], ...], before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{question: {"from": before, "to": after}} for every answer that differs in meaning."""
    types = {q["name"]: q["type"] for q in questions}
    names = list(dict.fromkeys([*before, *after]))
    return {
        name: {"from": before.get(name), "to": after.get(name)}
        for name in names
        if canonical(types.get(name, ""), before.get(name)) != canonical(types.get(name, ""), after.get(name))
    }


def _project_of_annotation(session: Session, annotation_id: int) -> tuple[Annotation, Project]:
    query = select(Annotation).where(Annotation.id == annotation_id)
    if _is_pg(session):
        query = query.with_for_update()  # the annotator's submit locks the same row: one waits for the other
    annotation = session.scalar(query)
    if annotation is None:
        raise ReviewError(f"no submission with id {annotation_id}")
    project = session.scalar(select(Project).join(Item, Item.project_id == Project.id).where(Item.id == annotation.item_id))
    return annotation, project


# --- queues --------------------------------------------------------------------------


def _queue_query(project: ProjectInfo, level: int, reviewer_id: int, now: datetime):
    """Submissions waiting at `level`, oldest first, not the reviewer's own, not claimed by others."""
    done_here = exists().where(
        Review.annotation_id == Annotation.id, Review.level == level, Review.revision == Annotation.revision
    )
    claimed = exists().where(
        ReviewClaim.annotation_id == Annotation.id, ReviewClaim.level == level,
        ReviewClaim.expires_at > now, ReviewClaim.user_id != reviewer_id,
    )
    query = (
        select(Annotation, Item.uid, Item.content, User.name)
        .join(Item, Item.id == Annotation.item_id)
        .join(User, User.id == Annotation.user_id)
        .where(Item.project_id == project.id, Item.gold.is_(None), Annotation.status == "submitted",
               Annotation.user_id != reviewer_id, ~done_here, ~claimed)
        .order_by(Annotation.submitted_at, Annotation.id)
    )
    if level > 1:
        lower = aliased(Review)
        query = query.where(exists().where(
            lower.annotation_id == Annotation.id, lower.level == level - 1,
            lower.revision == Annotation.revision, lower.decision.in_(PASSING),
        ))
    return query


def _entry(session: Session, annotation: Annotation, uid: str, content: dict, annotator: str, level: int,
           claimed_by: str | None = None) -> QueueEntry:
    chain = _reviews_of(session, annotation.id, annotation.revision)
    return QueueEntry(
        annotation.id, annotation.item_id, uid, annotator, annotation.revision, level,
        _under_review(annotation.values, chain), annotation.values, content, annotation.submitted_at,
        annotation.active_seconds or 0.0, claimed_by,
    )


def _check_level(config: dict[str, Any], level: int) -> None:
    if not 1 <= level <= review_levels(config):
        raise ReviewError(f"this project has review level(s) 1..{review_levels(config)}, not {level}")


def review_queue(ws: Workspace, reviewer: Actor, project_name: str, level: int = 1, limit: int = 100) -> list[QueueEntry]:
    """The submissions waiting at `level` that this reviewer may take (read only, claims nothing)."""
    project = get_project(ws, project_name)
    _check_level(project.config, level)
    now = datetime.now(timezone.utc)
    with ws.sessions() as session:
        require_review_level(session, reviewer, project.config, level)
        rows = session.execute(_queue_query(project, level, reviewer.id, now).limit(limit)).all()
        return [_entry(session, a, uid, content, name, level) for a, uid, content, name in rows]


def queue_size(ws: Workspace, reviewer: Actor, project_name: str, level: int = 1) -> int:
    project = get_project(ws, project_name)
    _check_level(project.config, level)
    with ws.sessions() as session:
        require_review_level(session, reviewer, project.config, level)
        query = _queue_query(project, level, reviewer.id, datetime.now(timezone.utc)).with_only_columns(Annotation.id)
        return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def next_review(ws: Workspace, reviewer: Actor, project_name: str, level: int = 1) -> QueueEntry | None:
    """Claim the next submission at `level` (my unexpired claim first); None when the queue is empty."""
    project = get_project(ws, project_name)
    _check_level(project.config, level)
    now = datetime.now(timezone.utc)
    until = now + timedelta(minutes=float(project.config.get("review_claim_minutes", DEFAULT_CLAIM_MINUTES)))
    with ws.transaction() as session:
        require_review_level(session, reviewer, project.config, level)
        session.execute(delete(ReviewClaim).where(ReviewClaim.expires_at <= now))
        base = _queue_query(project, level, reviewer.id, now)
        mine = session.execute(
            base.where(exists().where(ReviewClaim.annotation_id == Annotation.id, ReviewClaim.level == level,
                                      ReviewClaim.user_id == reviewer.id)).limit(1)
        ).first()
        if mine is not None:
            return _entry(session, *mine, level, reviewer.name)
        query = base.limit(1)
        if _is_pg(session):
            query = query.with_for_update(skip_locked=True, of=Annotation)
        for _attempt in range(20):
            row = session.execute(query).first()
            if row is None:
                return None
            try:
                with session.begin_nested():  # a claim inserted meanwhile by another reviewer: try the next one
                    session.add(ReviewClaim(annotation_id=row[0].id, level=level, user_id=reviewer.id, expires_at=until))
            except IntegrityError:
                continue
            return _entry(session, *row, level, reviewer.name)
        return None


def release_claim(ws: Workspace, reviewer: Actor, annotation_id: int, level: int = 1) -> None:
    """Give a claimed submission back to the queue without deciding."""
    with ws.transaction() as session:
        _, project = _project_of_annotation(session, annotation_id)
        require_review_level(session, reviewer, project.config, level)  # the claim is theirs only if they are who they say
        session.execute(delete(ReviewClaim).where(
            ReviewClaim.annotation_id == annotation_id, ReviewClaim.level == level, ReviewClaim.user_id == reviewer.id))


# --- decisions -----------------------------------------------------------------------


def _send_back(session: Session, annotation: Annotation, reason: str) -> None:
    """Rework: the annotation is a draft again and its item comes back to the annotator first."""
    annotation.status = "draft"
    held = session.execute(
        Assignment.__table__.update()
        .where(Assignment.item_id == annotation.item_id, Assignment.user_id == annotation.user_id)
        .values(status="rework", reason=reason, expires_at=None)
    ).rowcount
    if not held:  # imported or authored work has no assignment yet: it keeps its slot all the same
        session.add(Assignment(item_id=annotation.item_id, user_id=annotation.user_id, status="rework", reason=reason))


def review(
    ws: Workspace, reviewer: Actor, annotation_id: int, decision: str, *, level: int = 1, reason: str = "",
    values: dict[str, Any] | None = None, revision: int | None = None,
) -> ReviewInfo:
    """Decide on one submission at `level`; pass the `revision` you looked at to refuse stale decisions."""
    if decision not in DECISIONS:
        raise ReviewError(f"unknown decision {decision!r}; one of {', '.join(DECISIONS)}")
    if decision == "reject" and not reason.strip():
        raise ReviewError("a rejection needs a reason: the annotator reads it to fix their work")
    if decision == "correct" and not values:
        raise ReviewError("a correction needs the corrected values")
    now = datetime.now(timezone.utc)
    with ws.transaction() as session:
        annotation, project = _project_of_annotation(session, annotation_id)
        _check_level(project.config, level)
        role = require_review_level(session, reviewer, project.config, level)
        if annotation.user_id == reviewer.id:
            raise PermissionDenied(role, "review their own submission", reviewer.name)
        if annotation.status != "submitted":
            raise ReviewError(f"submission {annotation_id} is not waiting for review (it is a {annotation.status})")
        if revision is not None and revision != annotation.revision:
            raise ReviewError(f"submission {annotation_id} changed since you opened it (revision {annotation.revision} now, "
                              f"you saw {revision}): open it again")
        chain = _reviews_of(session, annotation.id, annotation.revision)
        done = next((r for r in chain if r.level == level), None)
        if done is not None:
            raise ReviewError(f"submission {annotation_id} was already reviewed at level {level} by {done.reviewer} ({done.decision})")
        below = next((r for r in chain if r.level == level - 1), None)
        if level > 1 and (below is None or below.decision not in PASSING):
            raise ReviewError(f"submission {annotation_id} has not passed level {level - 1} yet")
        claim = session.scalar(select(ReviewClaim).where(
            ReviewClaim.annotation_id == annotation.id, ReviewClaim.level == level, ReviewClaim.expires_at > now))
        if claim is not None and claim.user_id != reviewer.id and role != LEAD:
            raise ReviewError(f"submission {annotation_id} is being reviewed by someone else")
        entry = Review(annotation_id=annotation.id, reviewer_id=reviewer.id, level=level, revision=annotation.revision,
                       decision=decision, reason=reason.strip(), created_at=now)
        if decision == "correct":
            questions = tuple(project.config.get("questions", ()))
            unknown = set(values or ()) - {q["name"] for q in questions}
            if unknown:
                raise ReviewError(f"the correction answers unknown question(s): {', '.join(sorted(unknown))}")
            corrected = {**_under_review(annotation.values, chain), **values}
            entry.correction = corrected
            entry.changes = changes_between(questions, annotation.values, corrected)
            if not entry.changes:
                raise ReviewError("the correction changes nothing: accept the submission instead")
        elif decision == "reject":
            _send_back(session, annotation, reason.strip())
        session.add(entry)
        session.execute(delete(ReviewClaim).where(ReviewClaim.annotation_id == annotation.id, ReviewClaim.level == level))
        session.flush()  # the unique (annotation, level, revision) index has the last word on races
        return _info(entry, reviewer.name)


def accept(ws: Workspace, reviewer: Actor, annotation_id: int, *, level: int = 1, revision: int | None = None) -> ReviewInfo:
    return review(ws, reviewer, annotation_id, "accept", level=level, revision=revision)


def reject(ws: Workspace, reviewer: Actor, annotation_id: int, reason: str, *, level: int = 1,
           revision: int | None = None) -> ReviewInfo:
    return review(ws, reviewer, annotation_id, "reject", level=level, reason=reason, revision=revision)


def correct(ws: Workspace, reviewer: Actor, annotation_id: int, values: dict[str, Any], *, level: int = 1,
            reason: str = "", revision: int | None = None) -> ReviewInfo:
    return review(ws, reviewer, annotation_id, "correct", level=level, values=values, reason=reason, revision=revision)


# --- what people may look at -------------------------------------------------------------


def feedback(ws: Workspace, who: Actor, project_name: str) -> list[FeedbackEntry]:
    """Decisions on my own submissions, newest first: reasons of rejections, corrections and their changes."""
    project = get_project(ws, project_name)
    query = (
        select(Review, User.name, Item.id, Item.uid, Annotation.revision)
        .join(Annotation, Annotation.id == Review.annotation_id)
        .join(Item, Item.id == Annotation.item_id)
        .join(User, User.id == Review.reviewer_id)
        .where(Annotation.user_id == who.id, Item.project_id == project.id)
        .order_by(Review.created_at.desc(), Review.id.desc())
    )
    with ws.sessions() as session:
        require(session, who, "view own work")
        return [FeedbackEntry(item_id, uid, _info(r, name), r.revision == rev)
                for r, name, item_id, uid, rev in session.execute(query)]


def review_history(ws: Workspace, who: Actor, annotation_id: int) -> list[ReviewInfo]:
    """Every decision on a submission: its annotator sees their own; reviewers and leads any."""
    with ws.sessions() as session:
        owner = session.scalar(select(Annotation.user_id).where(Annotation.id == annotation_id))
        if owner is None:
            raise ReviewError(f"no submission with id {annotation_id}")
        require(session, who, "view own work" if owner == who.id else "view submissions")
        return _reviews_of(session, annotation_id)


def _verdict(chain: list[ReviewInfo]) -> ReviewInfo | None:
    return max(chain, key=lambda r: (r.level, r.id)) if chain else None


def _key(form: Any) -> str:
    """One string per meaning, so that 4 and 4.0 or two equal tuples count as the same answer."""
    if isinstance(form, float) and form.is_integer():
        form = int(form)
    return orjson.dumps(form, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def _question_diff(question: dict[str, Any], answers: dict[str, Any]) -> QuestionDiff:
    qtype = question["type"]
    forms = {name: canonical(qtype, value) for name, value in answers.items()}
    present = {name: _key(form) for name, form in forms.items() if form is not None}
    counts = Counter(present.values())
    if not present:
        status = "missing"
    elif len(present) == 1:
        status = "single"
    else:
        status = "equal" if len(counts) == 1 else "different"
    differs: tuple[str, ...] = ()
    if status == "different":
        top = counts.most_common(1)[0][0]
        differs = tuple(sorted(name for name, key in present.items() if key != top))
    agreed = consensus(question, [answers[name] for name in present]) if present else None
    return QuestionDiff(question["name"], qtype, status, dict(answers), differs,
                        agreed.value if agreed else None, agreed.agreement if agreed else None)


def side_by_side(ws: Workspace, who: Actor, project_name: str, item_id: int, include_drafts: bool = False) -> SideBySide:
    """All annotators' answers to one item, each question marked equal or different.

    Reviewers and leads see submissions; drafts (answers not yet submitted) only a lead, on
    request. Annotators never see another annotator's answers.
    """
    project = get_project(ws, project_name)
    with ws.sessions() as session:
        require(session, who, "view drafts" if include_drafts else "view submissions")
        item = session.get(Item, item_id)
        if item is None or item.project_id != project.id:
            raise ReviewError(f"no item {item_id} in project {project.name!r}")
        statuses = ("submitted", "draft") if include_drafts else ("submitted",)
        rows = session.execute(
            select(Annotation, User.name).join(User, User.id == Annotation.user_id)
            .where(Annotation.item_id == item_id, Annotation.status.in_(statuses))
            .order_by(User.name)
        ).all()
        answers = tuple(
            AnswerView(a.id, name, a.status, a.revision, a.values, a.submitted_at,
                       _verdict(_reviews_of(session, a.id, a.revision)))
            for a, name in rows
        )
        questions = tuple(
            _question_diff(q, {view.annotator: view.values.get(q["name"]) for view in answers}) for q in project.questions
        )
        return SideBySide(item.id, item.uid, item.kind, item.content, answers, questions)


__all__ = [
    "DECISIONS", "ReviewError", "ReviewInfo", "QueueEntry", "FeedbackEntry", "AnswerView", "QuestionDiff", "SideBySide",
    "review_queue", "queue_size", "next_review", "release_claim", "review", "accept", "reject", "correct",
    "feedback", "review_history", "side_by_side", "canonical", "changes_between",
]
