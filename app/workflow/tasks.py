"""An annotator's work: the next task, drafts saved as they change, submit, skip, history.

Overlap is enforced in the database: an item's `assigned_count` only grows through a
conditional UPDATE (`assigned_count < overlap`), inside the transaction that creates
the assignment, so two annotators pulling at once can never push an item past its
overlap. On PostgreSQL candidates are row-locked with SKIP LOCKED; on SQLite the
transaction takes the write lock up front (BEGIN IMMEDIATE).

Routing: an item that requires a domain (medical, legal, code…) or a locale goes only to
annotators and reviewers who list it (a bare language such as `en` covers `en-GB` and the
reverse); leads take any item. Gold items (`items.gold` holds the known answers) are mixed
in at the project's `gold_rate`; every annotator may get each gold item once, so they sit
outside the overlap count's cap and never become "full".

A rejected submission comes back as a draft on a `rework` assignment, which never expires,
ahead of any new item, with the reviewer's reason in `Task.feedback`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, update
from sqlalchemy.orm import Session

from labeldesk.app.workflow.accounts import normalize_locale
from labeldesk.app.workflow.permissions import LEAD, Actor, PermissionDenied, require
from labeldesk.app.workflow.prepare import in_dataset
from labeldesk.app.workflow.projects import ProjectInfo, get_project
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Annotation, Assignment, Guideline, GuidelineAck, Item, Project, Review, User

__all__ = [
    "Actor", "Task", "HistoryEntry", "TaskError", "GuidelinesChanged", "PermissionDenied", "actor", "ensure_user",
    "acknowledge", "next_task", "open_task", "save_draft", "submit", "skip", "history", "assign", "gold_rate",
    "route_items",
]

DEFAULT_LEASE_MINUTES = 60
DEFAULT_ASSIGN_LEASE_HOURS = 168  # work a lead hands out waits a week before it returns to the pool
HELD = ("active", "rework")  # assignments that hold one of the item's overlap slots and are not done


class TaskError(ValueError):
    """A task operation refused; the message says why."""


class GuidelinesChanged(TaskError):
    """A newer guideline version must be acknowledged before the next task."""

    def __init__(self, version: int, text: str):
        super().__init__(f"guidelines version {version} must be acknowledged before the next task")
        self.version = version
        self.text = text


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
    feedback: str = ""  # the reviewer's reason when a submission came back for rework


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


def ensure_user(ws: Workspace, lead: Actor, name: str, role: str = "annotator") -> Actor:
    """Tests and single-user scripts: the user, created if missing (a lead's, like accounts.add_user)."""
    with ws.transaction() as session:
        require(session, lead, "manage users")
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
        require(session, who, "label")
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
    reclaimed = 0
    for assignment_id, item_id in stale:
        # Conditional on still being active: a concurrent reclaimer or a submit that got there
        # first makes this a no-op (PostgreSQL re-checks the condition after the row lock), so
        # a slot is never released twice.
        expired = session.execute(
            update(Assignment).where(Assignment.id == assignment_id, Assignment.status == "active").values(status="expired")
        ).rowcount
        if expired:
            _release_slot(session, item_id)
            reclaimed += 1
    return reclaimed


def _release_slot(session: Session, item_id: int) -> None:
    session.execute(
        update(Item).where(Item.id == item_id).values(assigned_count=Item.assigned_count - 1, status="open")
    )


def _resume(session: Session, who: Actor, project: ProjectInfo) -> int | None:
    """Work already held comes first: rework sent back by a reviewer, then unfinished leases."""
    return session.scalar(
        select(Assignment.item_id)
        .join(Item, Item.id == Assignment.item_id)
        .where(Assignment.user_id == who.id, Assignment.status.in_(HELD), Item.project_id == project.id)
        .order_by(case((Assignment.status == "rework", 0), else_=1), Assignment.id)
        .limit(1)
    )


def _skill_filters(session: Session, user_id: int) -> list[ColumnElement[bool]]:
    """WHERE clauses keeping the items this user may be routed; none for a lead."""
    row = session.execute(select(User.role, User.domains, User.locales).where(User.id == user_id)).one()
    if row.role == LEAD:
        return []
    domains = sorted(row.domains or ())
    locales = set(row.locales or ())
    languages = {loc.split("-")[0] for loc in locales}
    accepted = sorted(locales | languages)  # `en-GB` can do items asking for plain `en`
    bare = sorted(loc for loc in locales if "-" not in loc)  # plain `en` can do `en-GB`, `en-US`…
    locale_ok = [Item.locale.is_(None), Item.locale.in_(accepted), *(Item.locale.like(f"{lang}-%") for lang in bare)]
    return [or_(Item.domain.is_(None), Item.domain.in_(domains)), or_(*locale_ok)]


def _candidate_query(
    who: Actor, project: ProjectInfo, dialect: str, filters: Sequence[ColumnElement[bool]] = (), gold: bool = False,
):
    mine = exists().where(Assignment.item_id == Item.id, Assignment.user_id == who.id)
    query = select(Item.id).where(Item.project_id == project.id, ~mine, *filters)
    if gold:
        # gold items are shared by everybody: no overlap status, and no row lock to queue behind
        return query.where(Item.gold.is_not(None), in_dataset()).order_by(Item.priority, Item.id).limit(1)
    query = query.where(Item.status == "open", Item.gold.is_(None)).order_by(Item.priority, Item.id).limit(1)
    if dialect == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Item)
    return query


def gold_rate(config: dict[str, Any]) -> float:
    """The share of an annotator's tasks that are gold items (template key `gold_rate`, 0..1)."""
    try:
        rate = float(config.get("gold_rate", 0.0) or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return min(max(rate, 0.0), 1.0)


def _unit_noise(*parts: int) -> float:
    """A repeatable number in [0, 1): gold lands at unpredictable places, the same on every run."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _wants_gold(session: Session, who: Actor, project: ProjectInfo, rate: float) -> bool:
    """Keep each annotator's share of gold within one task of `rate`, at varying positions."""
    if rate <= 0.0:
        return False
    total, gold = session.execute(
        select(func.count(), func.count(Item.gold))
        .select_from(Assignment)
        .join(Item, Item.id == Assignment.item_id)
        .where(Assignment.user_id == who.id, Item.project_id == project.id, Assignment.status.not_in(("skipped", "expired")))
    ).one()
    return gold + _unit_noise(who.id, project.id, total) < rate * (total + 1)


def _lease(project: ProjectInfo) -> timedelta:
    return timedelta(minutes=float(project.config.get("lease_minutes", DEFAULT_LEASE_MINUTES)))


def _claim_gold(session: Session, who: Actor, project: ProjectInfo, filters: list, now: datetime, lease: timedelta) -> int | None:
    item_id = session.scalar(_candidate_query(who, project, "", filters, gold=True))
    if item_id is None:
        return None
    # the count is kept for the figures; gold items have no cap
    session.execute(update(Item).where(Item.id == item_id).values(assigned_count=Item.assigned_count + 1))
    session.add(Assignment(item_id=item_id, user_id=who.id, status="active", created_at=now, expires_at=now + lease))
    return item_id


def _take_slot(session: Session, item_id: int, overlap: int) -> bool:
    """The only way an item's count grows: conditionally, so it can never pass the overlap."""
    return bool(session.execute(
        update(Item)
        .where(Item.id == item_id, Item.assigned_count < overlap)
        .values(
            assigned_count=Item.assigned_count + 1,
            status=case((Item.assigned_count + 1 >= overlap, "full"), else_="open"),
        )
    ).rowcount)


def _claim_open(session: Session, who: Actor, project: ProjectInfo, filters: list, now: datetime, lease: timedelta) -> int | None:
    dialect = session.get_bind().dialect.name
    for _attempt in range(20):
        item_id = session.scalar(_candidate_query(who, project, dialect, filters))
        if item_id is None:
            return None
        if _take_slot(session, item_id, project.overlap):
            session.add(Assignment(item_id=item_id, user_id=who.id, status="active", created_at=now, expires_at=now + lease))
            return item_id
    return None


def _claim(session: Session, who: Actor, project: ProjectInfo, now: datetime, lease: timedelta | None = None,
           allow_gold: bool = True) -> int | None:
    filters = _skill_filters(session, who.id)
    lease = lease or _lease(project)
    if allow_gold and _wants_gold(session, who, project, gold_rate(project.config)):
        item_id = _claim_gold(session, who, project, filters, now, lease)
        if item_id is not None:
            return item_id
    return _claim_open(session, who, project, filters, now, lease)


def next_task(ws: Workspace, who: Actor, project_name: str) -> Task | None:
    """Lease the next item to `who` (or give back the one they hold); None when none is left."""
    project = get_project(ws, project_name)
    now = datetime.now(timezone.utc)
    with ws.transaction() as session:
        require(session, who, "label")
        version = _check_acknowledged(session, who, project)
        _reclaim_expired(session, project, now)
        item_id = _resume(session, who, project) or _claim(session, who, project, now)
        if item_id is None:
            return None
        return _load_task(session, project, who, item_id, version)


def assign(ws: Workspace, lead: Actor, project_name: str, user_name: str, count: int = 1) -> tuple[int, ...]:
    """A lead hands `count` items to a user (overlap and routing as for next_task, no gold).

    The leases last `assign_lease_hours` (template key, default a week) and come back to
    the user first, in the order given, before anything they would pull themselves.
    """
    if count < 1:
        raise TaskError("assign at least one item")
    project = get_project(ws, project_name)
    now = datetime.now(timezone.utc)
    lease = timedelta(hours=float(project.config.get("assign_lease_hours", DEFAULT_ASSIGN_LEASE_HOURS)))
    with ws.transaction() as session:
        require(session, lead, "assign work")
        user = session.scalar(select(User).where(User.name == user_name, User.active.is_(True)))
        if user is None:
            raise TaskError(f"no active user named {user_name!r}")
        target = Actor(user.id, user.name, user.role)
        _reclaim_expired(session, project, now)
        given: list[int] = []
        for _ in range(count):
            item_id = _claim(session, target, project, now, lease=lease, allow_gold=False)
            if item_id is None:
                break
            given.append(item_id)
        return tuple(given)


def route_items(
    ws: Workspace, lead: Actor, project_name: str, uids: Sequence[str] | None = None, *,
    domain: str | None = None, locale: str | None = None, from_meta: bool = False,
) -> int:
    """Set the domain and/or locale items require (None keeps, "" clears); returns items changed.

    `uids` None means every item of the project. With `from_meta`, each item takes the
    `domain` / `locale` of its own `meta` (as imported) where it has one.
    """
    project = get_project(ws, project_name)
    with ws.transaction() as session:
        require(session, lead, "route items")
        scope = [Item.project_id == project.id] + ([Item.uid.in_(list(uids))] if uids is not None else [])
        if from_meta:
            changed = 0
            for item in session.scalars(select(Item).where(*scope)):
                meta = item.meta or {}
                if meta.get("domain"):
                    item.domain = str(meta["domain"]).strip().lower()
                if meta.get("locale"):
                    item.locale = normalize_locale(str(meta["locale"]))
                changed += bool(meta.get("domain") or meta.get("locale"))
            return changed
        changes: dict[str, Any] = {}
        if domain is not None:
            changes["domain"] = domain.strip().lower() or None
        if locale is not None:
            changes["locale"] = normalize_locale(locale) if locale.strip() else None
        if not changes:
            raise TaskError("say which domain or locale the items require")
        return session.execute(update(Item).where(*scope).values(**changes)).rowcount


def _feedback(session: Session, annotation: Annotation | None) -> str:
    """The reason of the rejection that sent this draft back, if it was sent back."""
    if annotation is None or annotation.status != "draft":
        return ""
    reason = session.scalar(
        select(Review.reason)
        .where(Review.annotation_id == annotation.id, Review.revision == annotation.revision, Review.decision == "reject")
        .order_by(Review.id.desc())
        .limit(1)
    )
    return reason or ""


def _load_task(session: Session, project: ProjectInfo, who: Actor, item_id: int, version: int) -> Task:
    item = session.get(Item, item_id)
    if item is None or item.project_id != project.id:
        raise TaskError(f"no item {item_id} in project {project.name!r}")
    annotation = session.scalar(select(Annotation).where(Annotation.item_id == item_id, Annotation.user_id == who.id))
    reviewed = annotation is not None and session.scalar(select(exists().where(Review.annotation_id == annotation.id)))
    return Task(
        item_id=item.id, uid=item.uid, kind=item.kind, project=project.name, content=item.content,
        provenance=item.provenance or {}, meta=item.meta or {},
        values=dict(annotation.values) if annotation else {},
        status=annotation.status if annotation else "draft",
        active_seconds=annotation.active_seconds if annotation else 0.0,
        guideline_version=version, reviewed=bool(reviewed), feedback=_feedback(session, annotation),
    )


def open_task(ws: Workspace, who: Actor, project_name: str, item_id: int) -> Task:
    """Reopen an item from my history (or the lead opening any item)."""
    project = get_project(ws, project_name)
    with ws.sessions() as session:
        role = require(session, who, "view own work")
        mine = session.scalar(select(Annotation.id).where(Annotation.item_id == item_id, Annotation.user_id == who.id))
        if mine is None and role != LEAD:
            raise TaskError("you have no work on this item")
        version, _ = _latest_guideline(session, project.id)
        return _load_task(session, project, who, item_id, version)


def _editable(session: Session, who: Actor, item_id: int) -> Annotation | None:
    """My annotation of the item, row-locked, unless a review has judged its current revision."""
    query = select(Annotation).where(Annotation.item_id == item_id, Annotation.user_id == who.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # a reviewer deciding on it right now waits, or we wait for them
    annotation = session.scalar(query)
    if annotation is not None and annotation.status == "submitted":
        judged = exists().where(Review.annotation_id == annotation.id, Review.revision == annotation.revision)
        if session.scalar(select(judged)):
            raise TaskError("this submission has been reviewed and can no longer be changed")
    return annotation


def _hold(session: Session, who: Actor, item_id: int) -> None:
    """Refuse work on an item the user holds no slot of, so nobody submits past the overlap.

    A lease that expired but was not yet given away still counts; one that was reclaimed
    is taken again if the item still has a free slot.
    """
    query = select(Assignment.status).where(Assignment.item_id == item_id, Assignment.user_id == who.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # a reclaimer must not expire the lease between this check and the submit
    status = session.scalar(query)
    if status in (*HELD, "submitted"):
        return
    if status != "expired":
        raise TaskError("this item is not assigned to you; take it with next task")
    row = session.execute(
        select(Item.gold.is_not(None), Project.overlap).join(Project, Project.id == Item.project_id).where(Item.id == item_id)
    ).one()
    if row[0]:
        session.execute(update(Item).where(Item.id == item_id).values(assigned_count=Item.assigned_count + 1))
    elif not _take_slot(session, item_id, row[1]):
        raise TaskError("your lease on this item expired and its slots went to others; take the next task")
    session.execute(update(Assignment).where(Assignment.item_id == item_id, Assignment.user_id == who.id).values(status="active"))


def save_draft(ws: Workspace, who: Actor, item_id: int, values: dict[str, Any], active_seconds: float) -> None:
    """Autosave: called as the form changes; each call is one short committed transaction."""
    now = datetime.now(timezone.utc)
    with ws.transaction() as session:
        require(session, who, "label")
        annotation = _editable(session, who, item_id)
        if annotation is None:
            status = session.scalar(select(Assignment.status).where(Assignment.item_id == item_id, Assignment.user_id == who.id))
            if status is None or status == "skipped":
                raise TaskError("this item is not assigned to you; take it with next task")
            session.add(Annotation(item_id=item_id, user_id=who.id, status="draft", values=values,
                                   active_seconds=active_seconds, created_at=now, updated_at=now))
        elif annotation.status == "draft":
            annotation.values = values
            annotation.active_seconds = active_seconds
            annotation.updated_at = now


def submit(ws: Workspace, who: Actor, item_id: int, values: dict[str, Any], active_seconds: float, guideline_version: int) -> None:
    """Submit (or resubmit before review, or after a rejection): each submission is a new revision."""
    now = datetime.now(timezone.utc)
    with ws.transaction() as session:
        require(session, who, "label")
        annotation = _editable(session, who, item_id)
        if annotation is None or annotation.status == "draft":
            _hold(session, who, item_id)
        if annotation is None:
            annotation = Annotation(item_id=item_id, user_id=who.id, created_at=now, revision=1)
            session.add(annotation)
        elif annotation.submitted_at is not None:
            annotation.revision += 1  # a reviewer looking at the old answers must not judge the new ones
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
        require(session, who, "label")
        released = session.execute(
            update(Assignment)
            .where(Assignment.item_id == item_id, Assignment.user_id == who.id, Assignment.status.in_(HELD))
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
        require(session, who, "view own work")
        return [
            HistoryEntry(item_id, uid, at, seconds, bool(was_reviewed), _preview(content))
            for item_id, uid, content, at, seconds, was_reviewed in session.execute(query)
        ]


def _preview(content: dict[str, Any]) -> str:
    for message in content.get("messages", ()):
        if message["role"] == "user":
            return message["content"][:120]
    return ""
