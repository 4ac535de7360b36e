"""Quality control over the database: agreement, gold, and the lead's adjudication.

Agreement runs app.workflow.agreement.question_agreement on the submitted answers stored in
the workspace — those made in the app and those imported (both are rows of `annotations`) —
at their annotators' original values, not reviewers' corrections: it measures the people.
Gold items are controls, so they are left out of inter-annotator agreement and scored
against their known answers instead.

Each annotator's figures are on one [0, 1] scale for every question type: their score
against the consensus of the items they share with others (`consensus_accuracy`, the gold
scoring of agreement.gold_accuracy with the consensus as the key; the consensus includes
their own answer, as in question_agreement) and against gold (`gold_accuracy`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import null, select, update
from sqlalchemy.orm import Session

from labeldesk.app.workflow.agreement import QuestionAgreement, gold_accuracy, question_agreement
from labeldesk.app.workflow.consensus import consensus
from labeldesk.app.workflow.permissions import Actor, require
from labeldesk.app.workflow.projects import ProjectError, ProjectInfo, get_project
from labeldesk.app.workflow.records import below_threshold_policy, current_agreement, iter_built, threshold_of
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Adjudication, Annotation, Item, Project, User

Answer = tuple[int, str, Any]  # (item id, annotator, value): what question_agreement takes


class QualityError(ValueError):
    """A quality operation that cannot be done; the message says why."""


@dataclass(frozen=True)
class Answers:
    """The submitted answers of a project, loaded once and cut per question."""

    rows: tuple[tuple[int, str, date | None, dict[str, Any]], ...]  # (item id, annotator, day, values)
    gold: Mapping[int, dict[str, Any]]  # item id -> known answers

    def of(self, question: str, gold_items: bool = False) -> list[Answer]:
        """Answers to one question, of the gold items or of the others."""
        return [
            (item, who, values.get(question))
            for item, who, _day, values in self.rows
            if (item in self.gold) == gold_items and values.get(question) is not None
        ]


@dataclass(frozen=True)
class AnnotatorQuality:
    annotator: str
    submissions: int
    consensus_accuracy: float | None  # mean over questions of the score against consensus
    consensus_items: int  # items shared with another annotator
    gold_accuracy: float | None  # mean over questions of the score against gold
    gold_items: int
    per_question: dict[str, dict[str, float | None]] = field(default_factory=dict)  # {question: {consensus, gold}}


@dataclass(frozen=True)
class AgreementReport:
    project: str
    questions: tuple[QuestionAgreement, ...]
    overall: float | None  # mean headline figure of the scored questions (their metrics differ by type)
    items: int
    submissions: int
    annotators: tuple[AnnotatorQuality, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project, "overall": self.overall, "items": self.items, "submissions": self.submissions,
            "questions": [_question_dict(q) for q in self.questions],
            "annotators": [vars(a) for a in self.annotators],
        }


@dataclass(frozen=True)
class AgreementPoint:
    """An annotator's score against consensus on one question, over the items they submitted one day."""

    day: date
    annotator: str
    question: str
    consensus_accuracy: float
    items: int


@dataclass(frozen=True)
class Escalation:
    """An item waiting for a lead: its annotators disagree beyond the project's threshold."""

    item_id: int
    uid: str
    agreement: float | None
    annotators: tuple[str, ...]
    proposed: dict[str, Any]  # the consensus answers, tie-broken, by question name


def _question_dict(q: QuestionAgreement) -> dict[str, Any]:
    pairwise = {f"{a}|{b}": v for (a, b), v in (q.pairwise or {}).items()}
    return {"question": q.question, "type": q.type, "metric": q.metric_name, "value": q.value, "items": q.n_items,
            "annotators": q.n_annotators, "per_annotator": q.per_annotator, "pairwise": pairwise, "extra": q.extra}


def _questions(project: ProjectInfo, name: str | None) -> list[dict[str, Any]]:
    if name is None:
        return list(project.questions)
    chosen = [q for q in project.questions if q["name"] == name]
    if not chosen:
        raise QualityError(f"project {project.name!r} has no question {name!r}; "
                           f"its questions: {', '.join(q['name'] for q in project.questions)}")
    return chosen


def load_answers(session: Session, project: ProjectInfo, question: str | None = None) -> Answers:
    """Submitted answers in one pass; with `question`, only that answer is read out of the JSON."""
    names = dict(session.execute(select(User.id, User.name)).all())
    values_col = Annotation.values[question] if question is not None else Annotation.values
    query = (
        select(Annotation.item_id, Annotation.user_id, Annotation.submitted_at, values_col)
        .join(Item, Item.id == Annotation.item_id)
        .where(Item.project_id == project.id, Annotation.status == "submitted")
    )
    rows = tuple(
        (item, names[user], at.date() if at else None, {question: value} if question is not None else (value or {}))
        for item, user, at, value in session.execute(query)
    )
    gold = dict(session.execute(select(Item.id, Item.gold).where(Item.project_id == project.id, Item.gold.is_not(None))).all())
    return Answers(rows, gold)


def _consensus_key(question: Mapping[str, Any], answers: Iterable[Answer]) -> dict[int, Any]:
    """The consensus answer of every item answered at least twice: the key annotators are scored with."""
    by_item: dict[int, list[Any]] = defaultdict(list)
    for item, _who, value in answers:
        by_item[item].append(value)
    key = {}
    for item, values in by_item.items():
        if len(values) >= 2:
            agreed = consensus(question, values).value
            if agreed is not None:
                key[item] = agreed
    return key


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def annotator_quality(questions: list[dict[str, Any]], answers: Answers) -> tuple[AnnotatorQuality, ...]:
    per: dict[str, dict[str, dict[str, float | None]]] = defaultdict(dict)
    shared: dict[str, set[int]] = defaultdict(set)
    gold_seen: dict[str, set[int]] = defaultdict(set)
    for q in questions:
        if q["type"] == "text":
            continue  # free text has no right answer to score against
        name = q["name"]
        regular = answers.of(name)
        key = _consensus_key(q, regular)
        for item, who, _value in regular:
            if item in key:
                shared[who].add(item)
        for who, score in gold_accuracy([a for a in regular if a[0] in key], key, q).items():
            per[who].setdefault(name, {})["consensus"] = score
        gold_key = {item: known[name] for item, known in answers.gold.items() if known.get(name) is not None}
        on_gold = answers.of(name, gold_items=True)
        for item, who, _value in on_gold:
            if item in gold_key:
                gold_seen[who].add(item)
        for who, score in gold_accuracy(on_gold, gold_key, q).items():
            per[who].setdefault(name, {})["gold"] = score
    counts: dict[str, int] = defaultdict(int)
    for _item, who, _day, _values in answers.rows:
        counts[who] += 1
    return tuple(
        AnnotatorQuality(
            who, counts[who],
            _mean(v.get("consensus") for v in per[who].values()), len(shared[who]),
            _mean(v.get("gold") for v in per[who].values()), len(gold_seen[who]),
            {q: dict(v) for q, v in per[who].items()},
        )
        for who in sorted(counts)
    )


def agreement_report(ws: Workspace, actor: Actor, project_name: str, question: str | None = None) -> AgreementReport:
    """Agreement per question and for the project, and each annotator's consensus and gold scores."""
    project = get_project(ws, project_name)
    questions = _questions(project, question)
    with ws.sessions() as session:
        require(session, actor, "measure agreement")
        answers = load_answers(session, project, question)
    return compute_report(project, questions, answers)


def compute_report(project: ProjectInfo, questions: list[dict[str, Any]], answers: Answers) -> AgreementReport:
    """The agreement figures of already loaded answers (the database-free half of agreement_report)."""
    results = tuple(question_agreement(answers.of(q["name"]), q) for q in questions)
    scored = [r.value for r in results if r.value is not None]
    regular_items = {item for item, *_ in answers.rows if item not in answers.gold}
    return AgreementReport(
        project.name, results, sum(scored) / len(scored) if scored else None, len(regular_items), len(answers.rows),
        annotator_quality(questions, answers),
    )


def agreement_over_time(ws: Workspace, actor: Actor, project_name: str, question: str | None = None) -> list[AgreementPoint]:
    """Each annotator's score against consensus per question and per day they submitted."""
    project = get_project(ws, project_name)
    questions = _questions(project, question)
    with ws.sessions() as session:
        require(session, actor, "measure agreement")
        answers = load_answers(session, project, question)
    return series(questions, answers)


def series(questions: list[dict[str, Any]], answers: Answers) -> list[AgreementPoint]:
    days = {(item, who): day for item, who, day, _values in answers.rows}
    points: list[AgreementPoint] = []
    for q in questions:
        if q["type"] == "text":
            continue
        regular = answers.of(q["name"])
        key = _consensus_key(q, regular)
        by_day: dict[date, list[Answer]] = defaultdict(list)
        for answer in regular:
            day = days.get((answer[0], answer[1]))
            if answer[0] in key and day is not None:
                by_day[day].append(answer)
        for day in sorted(by_day):
            subs = by_day[day]
            items = defaultdict(int)
            for _item, who, _value in subs:
                items[who] += 1
            for who, score in sorted(gold_accuracy(subs, key, q).items()):
                points.append(AgreementPoint(day, who, q["name"], score, items[who]))
    return points


def item_id_of(ws: Workspace, project_name: str, uid: str) -> int:
    project = get_project(ws, project_name)
    with ws.sessions() as session:
        item_id = session.scalar(select(Item.id).where(Item.project_id == project.id, Item.uid == uid))
    if item_id is None:
        raise QualityError(f"no item {uid!r} in project {project.name!r}")
    return item_id


# --- gold -------------------------------------------------------------------------------


def set_gold(ws: Workspace, lead: Actor, project_name: str, answers: Mapping[str, dict[str, Any] | None]) -> int:
    """Mark items (by uid) as gold with their known answers; None makes an item regular again."""
    project = get_project(ws, project_name)
    known = {q["name"] for q in project.questions}
    for uid, values in answers.items():
        unknown = set(values or ()) - known
        if unknown:
            raise QualityError(f"gold for {uid!r} answers unknown question(s): {', '.join(sorted(unknown))}")
    with ws.transaction() as session:
        require(session, lead, "manage gold")
        ids = dict(session.execute(select(Item.uid, Item.id).where(Item.project_id == project.id, Item.uid.in_(list(answers)))).all())
        missing = sorted(set(answers) - set(ids))
        if missing:
            raise QualityError(f"no item(s) {', '.join(map(repr, missing[:5]))} in project {project.name!r}")
        for uid, values in answers.items():
            # SQL NULL, not JSON null: "is gold" is `gold IS NOT NULL` everywhere
            gold: Any = values if values else None
            session.execute(update(Item).where(Item.id == ids[uid]).values(gold=gold if gold is not None else null()))
        return len(ids)


def _update_config(session: Session, project: ProjectInfo, **changes: Any) -> None:
    row = session.get(Project, project.id)
    if row is None:
        raise ProjectError(f"no project named {project.name!r}")
    row.config = {**row.config, **changes}  # a new dict: JSON columns only notice assignment


def set_gold_rate(ws: Workspace, lead: Actor, project_name: str, rate: float) -> None:
    """The share of each annotator's tasks that are gold items (0 turns gold off)."""
    if not 0.0 <= rate <= 1.0:
        raise QualityError("the gold rate is a share between 0 and 1")
    project = get_project(ws, project_name)
    with ws.transaction() as session:
        require(session, lead, "manage gold")
        _update_config(session, project, gold_rate=rate)


def set_threshold(ws: Workspace, lead: Actor, project_name: str, threshold: float | None, policy: str | None = None) -> None:
    """The agreement below which items are escalated, and whether they go to adjudication or are dropped."""
    if policy is not None and policy not in ("adjudicate", "drop"):
        raise QualityError("below the threshold items are either adjudicated or dropped")
    project = get_project(ws, project_name)
    with ws.transaction() as session:
        require(session, lead, "aggregate")
        changes: dict[str, Any] = {"agreement_threshold": threshold}
        if policy is not None:
            changes["below_threshold"] = policy
        _update_config(session, project, **changes)


# --- adjudication -------------------------------------------------------------------------


def adjudication_queue(ws: Workspace, lead: Actor, project_name: str, threshold: float | None = None) -> list[Escalation]:
    """Items escalated by the agreement threshold and not yet decided, in id order.

    Empty when the project drops such items (`below_threshold: drop`) or has no threshold.
    Computed from the current submissions and reviews each time, so it is never stale.
    """
    project = get_project(ws, project_name)
    with ws.sessions() as session:
        require(session, lead, "adjudicate")
    if threshold_of(project, threshold) is None or below_threshold_policy(project) == "drop":
        return []
    return [
        Escalation(
            built.item_id, built.record["id"], built.record["quality"].get("agreement"),
            tuple(a["annotator"] for a in built.record.get("annotations", ())), built.values,
        )
        for built in iter_built(ws, project, threshold, annotated_only=True)
        if built.record["quality"]["status"] == "escalated"
    ]


def adjudicate(ws: Workspace, lead: Actor, project_name: str, item_id: int, values: dict[str, Any], reason: str = "") -> None:
    """The lead's answers for a contradictory item; they override its annotators' consensus."""
    project = get_project(ws, project_name)
    unknown = set(values) - {q["name"] for q in project.questions}
    if unknown:
        raise QualityError(f"unknown question(s): {', '.join(sorted(unknown))}")
    agreement = current_agreement(ws, project, item_id)  # the disagreement overruled, kept for the audit trail
    with ws.transaction() as session:
        require(session, lead, "adjudicate")
        if session.scalar(select(Item.project_id).where(Item.id == item_id)) != project.id:
            raise QualityError(f"no item {item_id} in project {project.name!r}")
        ruling = session.scalar(select(Adjudication).where(Adjudication.item_id == item_id))
        if ruling is None:
            session.add(Adjudication(item_id=item_id, user_id=lead.id, values=values, reason=reason, agreement=agreement))
        else:
            ruling.user_id, ruling.values, ruling.reason, ruling.agreement = lead.id, values, reason, agreement


def undo_adjudication(ws: Workspace, lead: Actor, item_id: int) -> None:
    with ws.transaction() as session:
        require(session, lead, "adjudicate")
        session.execute(Adjudication.__table__.delete().where(Adjudication.item_id == item_id))
