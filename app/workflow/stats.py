"""Team figures: progress, throughput, time per task, agreement over time, corrections, gold.

`team_figures` is what the dashboard and `labeldesk stats` show. Leads and reviewers see the
whole team; an annotator sees the project's progress and their own row only (blind labeling:
no other annotator's figures and no distribution of everybody's answers).

Throughput is items per *active* hour (the time the task form was in use, which the form
records per annotation), so pauses and nights do not count against anyone.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labeldesk.app.workflow.permissions import ANNOTATOR, Actor, require
from labeldesk.app.workflow.projects import ProjectInfo, get_project
from labeldesk.app.workflow.quality import AgreementPoint, Answers, annotator_quality, series
from labeldesk.storage.db import Workspace
from labeldesk.storage.files import atomic_write_bytes
from labeldesk.storage.models import Adjudication, Annotation, Item, Review, User
from labeldesk.storage.record import countable_labels, values_to_answers

CSV_COLUMNS = ("section", "annotator", "question", "day", "metric", "value")


@dataclass(frozen=True)
class ProjectProgress:
    items: int  # regular items (gold items are counted apart)
    gold_items: int
    annotated: int  # regular items with at least one submission
    complete: int  # regular items with as many submissions as the overlap asks
    submissions: int
    drafts: int
    overlap: int
    adjudicated: int
    progress: float  # complete / items


@dataclass(frozen=True)
class AnnotatorFigures:
    annotator: str
    submitted: int
    drafts: int
    active_seconds: float
    seconds_per_task: float | None  # mean active time per submitted task
    median_seconds: float | None
    items_per_hour: float | None  # submitted per active hour
    reviewed: int  # submissions with at least one review decision
    accepted: int
    rejections: int
    corrections: int  # corrections received
    consensus_accuracy: float | None
    consensus_items: int
    gold_accuracy: float | None
    gold_items: int


@dataclass(frozen=True)
class DayFigures:
    day: date
    submissions: int
    annotators: int
    active_seconds: float
    items_per_hour: float | None


@dataclass(frozen=True)
class TeamFigures:
    project: str
    kind: str
    generated_at: datetime
    scope: str  # "team", or the annotator's name when they see only themselves
    progress: ProjectProgress
    annotators: tuple[AnnotatorFigures, ...]
    days: tuple[DayFigures, ...]
    agreement: tuple[AgreementPoint, ...]  # per annotator, question and day
    labels: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project, "kind": self.kind, "generated_at": self.generated_at.isoformat(), "scope": self.scope,
            **asdict(self.progress),  # the keys `labeldesk stats --json` always had stay at the top
            "annotators": [asdict(a) for a in self.annotators],
            "days": [{**asdict(d), "day": d.day.isoformat()} for d in self.days],
            "agreement": [{**asdict(p), "day": p.day.isoformat()} for p in self.agreement],
            "labels": self.labels,
        }

    def csv_rows(self) -> Iterator[tuple[str, str, str, str, str, Any]]:
        """Long format, one figure per row: spreadsheets pivot it, pandas reads it as it is."""
        for key, value in asdict(self.progress).items():
            yield ("project", "", "", "", key, value)
        for a in self.annotators:
            for key, value in asdict(a).items():
                if key != "annotator":
                    yield ("annotator", a.annotator, "", "", key, _blank(value))
        for d in self.days:
            for key in ("submissions", "annotators", "active_seconds", "items_per_hour"):
                yield ("day", "", "", d.day.isoformat(), key, _blank(getattr(d, key)))
        for p in self.agreement:
            yield ("agreement", p.annotator, p.question, p.day.isoformat(), "consensus_accuracy", round(p.consensus_accuracy, 6))
            yield ("agreement", p.annotator, p.question, p.day.isoformat(), "items", p.items)


def _blank(value: Any) -> Any:
    return "" if value is None else value


@dataclass(frozen=True)
class _Submitted:
    user: str
    item: int
    seconds: float
    at: datetime | None
    values: dict[str, Any]


def _progress(session: Session, project: ProjectInfo, subs: list[_Submitted], gold: set[int]) -> ProjectProgress:
    items = session.scalar(select(func.count()).select_from(Item).where(Item.project_id == project.id)) or 0
    drafts = session.scalar(
        select(func.count()).select_from(Annotation).join(Item, Item.id == Annotation.item_id)
        .where(Item.project_id == project.id, Annotation.status == "draft")
    ) or 0
    adjudicated = session.scalar(
        select(func.count()).select_from(Adjudication).join(Item, Item.id == Adjudication.item_id)
        .where(Item.project_id == project.id)
    ) or 0
    per_item = Counter(s.item for s in subs if s.item not in gold)
    regular = items - len(gold)
    complete = sum(1 for n in per_item.values() if n >= project.overlap)
    return ProjectProgress(regular, len(gold), len(per_item), complete, len(subs), drafts, project.overlap, adjudicated,
                           round(complete / regular, 4) if regular else 0.0)


def _review_counts(session: Session, project: ProjectInfo) -> dict[str, Counter]:
    """Per annotator: decisions received over all revisions, and submissions reviewed at all."""
    rows = session.execute(
        select(User.name, Review.decision, func.count())
        .select_from(Review)
        .join(Annotation, Annotation.id == Review.annotation_id)
        .join(Item, Item.id == Annotation.item_id)
        .join(User, User.id == Annotation.user_id)
        .where(Item.project_id == project.id)
        .group_by(User.name, Review.decision)
    ).all()
    reviewed = dict(session.execute(
        select(User.name, func.count(func.distinct(Review.annotation_id)))
        .select_from(Review)
        .join(Annotation, Annotation.id == Review.annotation_id)
        .join(Item, Item.id == Annotation.item_id)
        .join(User, User.id == Annotation.user_id)
        .where(Item.project_id == project.id)
        .group_by(User.name)
    ).all())
    counts: dict[str, Counter] = defaultdict(Counter)
    for name, decision, n in rows:
        counts[name][decision] = n
    for name, n in reviewed.items():
        counts[name]["reviewed"] = n
    return counts


def _per_hour(count: int, seconds: float) -> float | None:
    return round(count / (seconds / 3600.0), 3) if seconds > 0 else None


def _annotator_rows(subs: list[_Submitted], drafts: dict[str, int], reviews: dict[str, Counter],
                    quality: dict[str, Any]) -> list[AnnotatorFigures]:
    seconds: dict[str, list[float]] = defaultdict(list)
    for s in subs:
        seconds[s.user].append(s.seconds)
    rows = []
    for name in sorted(set(seconds) | set(drafts)):
        mine = seconds.get(name, [])
        total = float(sum(mine))
        got = reviews.get(name, Counter())
        q = quality.get(name)
        rows.append(AnnotatorFigures(
            name, len(mine), drafts.get(name, 0), round(total, 3),
            round(total / len(mine), 3) if mine else None,
            round(statistics.median(mine), 3) if mine else None,
            _per_hour(len(mine), total),
            got["reviewed"], got["accept"], got["reject"], got["correct"],
            q.consensus_accuracy if q else None, q.consensus_items if q else 0,
            q.gold_accuracy if q else None, q.gold_items if q else 0,
        ))
    return rows


def _days(subs: list[_Submitted]) -> list[DayFigures]:
    by_day: dict[date, list[_Submitted]] = defaultdict(list)
    for s in subs:
        if s.at is not None:
            by_day[s.at.date()].append(s)
    days = []
    for day in sorted(by_day):
        group = by_day[day]
        total = float(sum(s.seconds for s in group))
        days.append(DayFigures(day, len(group), len({s.user for s in group}), round(total, 3), _per_hour(len(group), total)))
    return days


def _labels(project: ProjectInfo, subs: list[_Submitted]) -> dict[str, dict[str, int]]:
    questions = list(project.questions)
    labels: dict[str, Counter] = {}
    for s in subs:
        for name, value in countable_labels(values_to_answers(questions, s.values)):
            labels.setdefault(name, Counter())[value] += 1
    return {k: dict(v.most_common()) for k, v in labels.items()}


def team_figures(ws: Workspace, actor: Actor, project_name: str) -> TeamFigures:
    """Everything the dashboard shows for one project, as plain frozen data."""
    project = get_project(ws, project_name)
    with ws.sessions() as session:
        role = require(session, actor, "view own work")
        only = actor.name if role == ANNOTATOR else None  # an annotator sees themselves only
        names = dict(session.execute(select(User.id, User.name)).all())
        rows = session.execute(
            select(Annotation.user_id, Annotation.item_id, Annotation.active_seconds, Annotation.submitted_at, Annotation.values)
            .join(Item, Item.id == Annotation.item_id)
            .where(Item.project_id == project.id, Annotation.status == "submitted")
        ).all()
        subs = [_Submitted(names[u], item, float(sec or 0.0), at, values or {}) for u, item, sec, at, values in rows]
        gold = dict(session.execute(select(Item.id, Item.gold).where(Item.project_id == project.id, Item.gold.is_not(None))).all())
        progress = _progress(session, project, subs, set(gold))
        drafts = dict(session.execute(
            select(User.name, func.count()).select_from(Annotation)
            .join(Item, Item.id == Annotation.item_id).join(User, User.id == Annotation.user_id)
            .where(Item.project_id == project.id, Annotation.status == "draft").group_by(User.name)
        ).all())
        reviews = _review_counts(session, project)
    questions = list(project.questions)
    answers = Answers(tuple((s.item, s.user, s.at.date() if s.at else None, s.values) for s in subs), gold)
    quality = {q.annotator: q for q in annotator_quality(questions, answers)}
    annotators = _annotator_rows(subs, drafts, reviews, quality)
    points = series(questions, answers)
    mine = subs if only is None else [s for s in subs if s.user == only]
    return TeamFigures(
        project.name, project.kind, datetime.now(timezone.utc), only or "team", progress,
        tuple(a for a in annotators if only is None or a.annotator == only),
        tuple(_days(mine)),
        tuple(p for p in points if only is None or p.annotator == only),
        _labels(project, subs) if only is None else {},
    )


def write_csv(figures: TeamFigures, path: Path) -> int:
    """The figures as one long-format CSV (section, annotator, question, day, metric, value); returns rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = list(figures.csv_rows())
    writer.writerows(rows)
    atomic_write_bytes(Path(path), buffer.getvalue().encode("utf-8"))
    return len(rows)


def project_stats(ws: Workspace, project_name: str, *, actor: Actor) -> dict[str, Any]:
    """The figures as a JSON-ready dict (what `labeldesk stats --json` prints)."""
    return team_figures(ws, actor, project_name).to_dict()
