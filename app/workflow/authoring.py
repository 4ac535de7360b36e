"""Work that creates items or reaches the lead: writing new queries, flags on guidelines and items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from labeldesk.app.workflow.permissions import require
from labeldesk.app.workflow.projects import get_project
from labeldesk.app.workflow.tasks import Actor, TaskError
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Annotation, Assignment, Flag, Item, User
from labeldesk.storage.record import SCHEMA_ID, content_hash, stable_id, validate

FLAG_KINDS = ("guideline-unclear", "item-broken", "other")


@dataclass(frozen=True)
class FlagInfo:
    id: int
    kind: str
    text: str
    author: str
    item_uid: str | None
    created_at: datetime
    resolved: bool


def create_item(
    ws: Workspace, who: Actor, project_name: str, messages: list[dict[str, Any]], values: dict[str, Any],
    active_seconds: float, guideline_version: int, meta: dict[str, Any] | None = None,
) -> int:
    """An annotator's new query becomes an item, with their answers as its first submission."""
    project = get_project(ws, project_name)
    content = {"messages": messages}
    record = {"schema": SCHEMA_ID, "id": stable_id(content), "kind": project.kind, **content}
    validate(record)
    if not any(m["content"].strip() for m in messages):
        raise TaskError("a new query needs some text")
    now = datetime.now(timezone.utc)
    with ws.transaction() as session:
        require(session, who, "label")
        if session.scalar(select(Item.id).where(Item.project_id == project.id, Item.uid == record["id"])):
            raise TaskError("this exact query exists already in the project")
        item = Item(
            project_id=project.id, uid=record["id"], kind=project.kind, content=content, content_hash=content_hash(content),
            provenance={"source": f"written by {who.name}", "synthetic": False}, meta=meta or {},
            status="full" if project.overlap <= 1 else "open", assigned_count=1, created_at=now,
        )
        session.add(item)
        session.flush()
        session.add(Assignment(item_id=item.id, user_id=who.id, status="submitted", created_at=now))
        session.add(Annotation(
            item_id=item.id, user_id=who.id, status="submitted", values=values, guideline_version=guideline_version,
            active_seconds=active_seconds, created_at=now, updated_at=now, submitted_at=now,
        ))
        return item.id


def flag(ws: Workspace, who: Actor, project_name: str, kind: str, text: str, item_id: int | None = None) -> int:
    """Feedback that reaches the lead, e.g. 'guideline unclear' with what was unclear."""
    if kind not in FLAG_KINDS:
        raise TaskError(f"unknown flag {kind!r}; one of {', '.join(FLAG_KINDS)}")
    if not text.strip():
        raise TaskError("say what is unclear or wrong, so the lead can act on it")
    project = get_project(ws, project_name)
    with ws.transaction() as session:
        require(session, who, "label")
        entry = Flag(project_id=project.id, item_id=item_id, user_id=who.id, kind=kind, text=text.strip())
        session.add(entry)
        session.flush()
        return entry.id


def flags(ws: Workspace, project_name: str, include_resolved: bool = False) -> list[FlagInfo]:
    project = get_project(ws, project_name)
    query = (
        select(Flag.id, Flag.kind, Flag.text, User.name, Item.uid, Flag.created_at, Flag.resolved)
        .join(User, User.id == Flag.user_id)
        .outerjoin(Item, Item.id == Flag.item_id)
        .where(Flag.project_id == project.id)
        .order_by(Flag.created_at.desc())
    )
    if not include_resolved:
        query = query.where(Flag.resolved.is_(False))
    with ws.sessions() as session:
        return [FlagInfo(*row) for row in session.execute(query)]
