"""An annotator's work: the next task, drafts saved as they change, submit, skip, history.

Overlap is enforced in the database: an item's `assigned_count` only grows through a
conditional UPDATE (`assigned_count < overlap`), inside the transaction that creates
the assignment, so two annotators pulling at once can never push an item past its
overlap. On PostgreSQL candidates are row-locked with SKIP LOCKED; on SQLite the
transaction takes the write lock up front (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, case, exists, select, update
from sqlalchemy.orm import Session

from app.workflow.projects import ProjectInfo, get_project
from storage.db import Workspace
from storage.models import Annotation, Assignment, Guideline, GuidelineAck, Item, Review, User

DEFAULT_LEASE_MINUTES = 60


class TaskError(ValueError):
    """A task operation refused; the message says why."""


class GuidelinesChanged(TaskError):
    """A newer guideline version must be acknowledged before the next task."""

    def __init__(self, version: int, text: str):
        super().__init__(f"guidelines version {version} must be acknowledged before the next task")
        self.version = version
        self.text = text


@dataclass(frozen=True)
class Actor:
    id: int
    name: str
    role: str


@dataclass(frozen=True)
class Task:
    """Everything a task form needs, as plain data (never a live ORM row)."""

    item_id: int
    uid: str
    kind: str
    project: str
    content: dict[str, Any]
    provenance: dict[str, Any]
    meta: dict[str, Any]
    values: dict[str, Any]
    status: str  # draft | submitted
    active_seconds: float
    guideline_version: int
    reviewed: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    item_id: int
    uid: str
    submitted_at: datetime | None
    active_seconds: float
    reviewed: bool
    preview: str


def actor(ws: Workspace, name: str) -> Actor:
    with ws.sessions() as session:
        user = session.scalar(select(User).where(User.name == name, User.active.is_(True)))
        if user is None:
            raise TaskError(f"no active user named {name!r}")
        return Actor(user.id, user.name, user.role)


def ensure_user(ws: Workspace, name: str, role: str = "annotator") -> Actor:
    with ws.transaction() as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            user = User(name=name, role=role, domains=[], locales=[])
            session.add(user)
            session.flush()
        return Actor(user.id, user.name, user.role)


def _latest_guideline(session: Session, project_id: int) -> tuple[int, str]:
    row = session.execute(
        select(Guideline.version, Guideline.text).where(Guideline.project_id == project_id).order_by(Guideline.version.desc()).limit(1)
    ).first()
    return (row.version, row.text) if row else (0, "")


def acknowledge(ws: Workspace, who: Actor, project_name: str, version: int) -> None:
    project = get_project(ws, project_name)
    with ws.transaction() as session:
        session.merge(GuidelineAck(user_id=who.id, project_id=project.id, version=version))


def _check_acknowledged(session: Session, who: Actor, project: ProjectInfo) -> int:
    version, text = _latest_guideline(session, project.id)
    acked = session.scalar(select(GuidelineAck.version).where(GuidelineAck.user_id == who.id, GuidelineAck.project_id == project.id))
    if version and (acked or 0) < version:
        raise GuidelinesChanged(version, text)
    return version


def _reclaim_expired(session: Session, project: ProjectInfo, now: datetime) -> int:
    """Return the slots of abandoned leases (no submission before expiry) to the pool."""
    stale = session.execute(
        select(Assignment.id, Assignment.item_id)
        .join(Item, Item.id == Assignment.item_id)
        .where(Assignment.status == "active", Assignment.expires_at < now, Item.project_id == project.id)
    ).all()
    for assignment_id, item_id in stale:
        session.execute(update(Assignment).where(Assignment.id == assignment_id).values(status="expired"))
        _release_slot(session, item_id)
    return len(stale)


def _release_slot(session: Session, item_id: int) -> None:
    session.execute(
        update(Item).where(Item.id == item_id).values(assigned_count=Item.assigned_count - 1, status="open")
    )


def _resume(session: Session, who: Actor, project: ProjectInfo) -> int | None:
    """An item already leased to this annotator and not yet submitted comes first."""
    return session.scalar(
        select(Assignment.item_id)
        .join(Item, Item.id == Assignment.item_id)
        .where(Assignment.user_id == who.id, Assignment.status == "active", Item.project_id == project.id)
        .order_by(Assignment.id)
        .limit(1)
    )


def _candidate_query(who: Actor, project: ProjectInfo, dialect: str):
    mine = exists().where(Assignment.item_id == Item.id, Assignment.user_id == who.id)
    query = (
        select(Item.id)
        .where(Item.project_id == project.id, Item.status == "open", ~mine)
        .order_by(Item.priority, Item.id)
        .limit(1)
    )
    if dialect == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Item)
    return query


def _claim(session: Session, who: Actor, project: ProjectInfo, now: datetime) -> int | None:
    dialect = session.get_bind().dialect.name
    lease = timedelta(minutes=int(project.config.get("lease_minutes", DEFAULT_LEASE_MINUTES)))
    for _attempt in range(20):
        item_id = session.scalar(_candidate_query(who, project, dialect))
        if item_id is None:
            return None
        claimed = session.execute(
            update(Item)
            .where(Item.id == item_id, Item.assigned_count < project.overlap)
            .values(
                assigned_count=Item.assigned_count + 1,
                status=case((Item.assigned_count + 1 >= project.overlap, "full"), else_="open"),
            )
        ).rowcount
        if claimed:
            session.add(Assignment(item_id=item_id, user_id=who.id, status="active", created_at=now, expires_at=now + lease))
            return item_id
    return None


def next_task(ws: Workspace, who: Actor, project_name: str) -> Task | None:
    """Lease the next item to `who` (or give back the one they hold); None when none is left."""
    project = get_project(ws, project_name)
    now = datetime.now(timezone.utc)
    with ws.transaction() as session:
        version = _check_acknowledged(session, who, project)
        _reclaim_expired(session, project, now)
        item_id = _resume(session, who, project) or _claim(session, who, project, now)
        if item_id is None:
            return None
        return _load_task(session, project, who, item_id, version)


def _load_task(session: Session, project: ProjectInfo, who: Actor, item_id: int, version: int) -> Task:
    item = session.get(Item, item_id)
    annotation = session.scalar(select(Annotation).where(Annotation.item_id == item_id, Annotation.user_id == who.id))
    reviewed = annotation is not None and session.scalar(select(exists().where(Review.annotation_id == annotation.id)))
    return Task(
        item_id=item.id, uid=item.uid, kind=item.kind, project=project.name, content=item.content,
        provenance=item.provenance or {}, meta=item.meta or {},
        values=dict(annotation.values) if annotation else {},
        status=annotation.status if annotation else "draft",
        active_seconds=annotation.active_seconds if annotation else 0.0,
        guideline_version=version, reviewed=bool(reviewed),
    )


def open_task(ws: Workspace, who: Actor, project_name: str, item_id: int) -> Task:
    """Reopen an item from my history (or the lead opening any item)."""
    project = get_project(ws, project_name)
    with ws.sessions() as session:
        mine = session.scalar(select(Annotation.id).where(Annotation.item_id == item_id, Annotation.user_id == who.id))
        if mine is None and who.role != "lead":
            raise TaskError("you have no work on this item")
        version, _ = _latest_guideline(session, project.id)
        return _load_task(session, project, who, item_id, version)


def _editable(session: Session, who: Actor, item_id: int) -> Annotation | None:
    annotation = session.scalar(select(Annotation).where(Annotation.item_id == item_id, Annotation.user_id == who.id))
    if annotation is not None and annotation.status == "submitted":
        if session.scalar(select(exists().where(Review.annotation_id == annotation.id))):
            raise TaskError("this submission has been reviewed and can no longer be changed")
    return annotation


def save_draft(ws: Workspace, who: Actor, item_id: int, values: dict[str, Any], active_seconds: float) -> None:
    """Autosave: called as the form changes; each call is one short committed transaction."""
    now = datetime.now(timezone.utc)
    with ws.transaction() as session:
        annotation = _editable(session, who, item_id)
        if annotation is None:
            session.add(Annotation(item_id=item_id, user_id=who.id, status="draft", values=values,
                                   active_seconds=active_seconds, created_at=now, updated_at=now))
        elif annotation.status == "draft":
            annotation.values = values
            annotation.active_seconds = active_seconds
            annotation.updated_at = now


def submit(ws: Workspace, who: Actor, item_id: int, values: dict[str, Any], active_seconds: float, guideline_version: int) -> None:
    now = datetime.now(timezone.utc)
    with ws.transaction() as session:
        annotation = _editable(session, who, item_id)
        if annotation is None:
            annotation = Annotation(item_id=item_id, user_id=who.id, created_at=now)
            session.add(annotation)
        annotation.values = values
        annotation.status = "submitted"
        annotation.active_seconds = active_seconds
        annotation.guideline_version = guideline_version
        annotation.updated_at = now
        annotation.submitted_at = now
        session.execute(
            update(Assignment)
            .where(Assignment.item_id == item_id, Assignment.user_id == who.id)
            .values(status="submitted", expires_at=None)
        )


def skip(ws: Workspace, who: Actor, item_id: int, reason: str) -> None:
    """Give the item back with a reason; this annotator will not be offered it again."""
    if not reason.strip():
        raise TaskError("a skip needs a reason")
    with ws.transaction() as session:
        released = session.execute(
            update(Assignment)
            .where(Assignment.item_id == item_id, Assignment.user_id == who.id, Assignment.status == "active")
            .values(status="skipped", reason=reason, expires_at=None)
        ).rowcount
        if released:
            _release_slot(session, item_id)
        session.execute(
            Annotation.__table__.delete().where(
                and_(Annotation.item_id == item_id, Annotation.user_id == who.id, Annotation.status == "draft")
            )
        )


def history(ws: Workspace, who: Actor, project_name: str, limit: int = 200) -> list[HistoryEntry]:
    project = get_project(ws, project_name)
    reviewed = exists().where(Review.annotation_id == Annotation.id)
    query = (
        select(Item.id, Item.uid, Item.content, Annotation.submitted_at, Annotation.active_seconds, reviewed)
        .join(Annotation, Annotation.item_id == Item.id)
        .where(Annotation.user_id == who.id, Annotation.status == "submitted", Item.project_id == project.id)
        .order_by(Annotation.submitted_at.desc())
        .limit(limit)
    )
    with ws.sessions() as session:
        return [
            HistoryEntry(item_id, uid, at, seconds, bool(was_reviewed), _preview(content))
            for item_id, uid, content, at, seconds, was_reviewed in session.execute(query)
        ]


def _preview(content: dict[str, Any]) -> str:
    for message in content.get("messages", ()):
        if message["role"] == "user":
            return message["content"][:120]
    return ""
