"""Project figures: progress, per-annotator throughput and time, label distributions."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from app.workflow.projects import get_project
from storage.db import Workspace
from storage.models import Annotation, Item, User
from storage.record import countable_labels, values_to_answers


def project_stats(ws: Workspace, project_name: str) -> dict[str, Any]:
    project = get_project(ws, project_name, with_counts=True)
    per_user = (
        select(User.name, func.count(Annotation.id), func.coalesce(func.sum(Annotation.active_seconds), 0.0))
        .join(Annotation, Annotation.user_id == User.id)
        .join(Item, Item.id == Annotation.item_id)
        .where(Item.project_id == project.id, Annotation.status == "submitted")
        .group_by(User.name)
        .order_by(User.name)
    )
    drafts = (
        select(func.count(Annotation.id))
        .join(Item, Item.id == Annotation.item_id)
        .where(Item.project_id == project.id, Annotation.status == "draft")
    )
    values = (
        select(Annotation.values)
        .join(Item, Item.id == Annotation.item_id)
        .where(Item.project_id == project.id, Annotation.status == "submitted")
    )
    labels: dict[str, Counter] = {}
    questions = list(project.questions)
    with ws.engine.connect() as conn:
        annotators = [
            {"annotator": name, "submitted": n, "active_seconds": float(seconds), "seconds_per_task": float(seconds) / n if n else 0.0}
            for name, n, seconds in conn.execute(per_user)
        ]
        draft_count = conn.scalar(drafts)
        for (answer,) in conn.execute(values):
            for name, value in countable_labels(values_to_answers(questions, answer)):
                labels.setdefault(name, Counter())[value] += 1
    return {
        "project": project.name, "kind": project.kind, "items": project.items, "annotated": project.annotated,
        "submissions": project.submissions, "drafts": draft_count, "overlap": project.overlap,
        "progress": round(project.annotated / project.items, 4) if project.items else 0.0,
        "annotators": annotators, "labels": {k: dict(v.most_common()) for k, v in labels.items()},
    }
