"""Who may do what: roles, the acting user and the checks every operation makes.

Roles are annotator < reviewer < lead. Each operation names itself and asks
`require(session, actor, operation)` before it reads or writes anything. The role is read
from the database on every check, not trusted from the `Actor` the caller holds: a lead who
demotes or deactivates someone takes effect at that person's next operation, and an `Actor`
built by hand with a made-up role gains nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labeldesk.storage.db import Workspace
from labeldesk.storage.models import User
from labeldesk.storage.vocabulary import ROLES

ANNOTATOR, REVIEWER, LEAD = ROLES
EVERYONE = frozenset(ROLES)
STAFF = frozenset({REVIEWER, LEAD})
LEAD_ONLY = frozenset({LEAD})

# operation -> the roles allowed to do it. Review levels are checked by `review_roles`.
RULES: Mapping[str, frozenset[str]] = {
    "label": EVERYONE,               # next task, drafts, submit, skip, own history, new queries, flags
    "change own password": EVERYONE,
    "view own work": EVERYONE,       # own tasks, own figures, feedback on own submissions
    "view submissions": STAFF,       # other annotators' submitted answers (side by side)
    "view drafts": LEAD_ONLY,        # answers not yet submitted
    "view team figures": STAFF,
    "measure agreement": STAFF,
    "export": STAFF,
    "aggregate": LEAD_ONLY,
    "adjudicate": LEAD_ONLY,
    "assign work": LEAD_ONLY,
    "manage users": LEAD_ONLY,
    "list users": LEAD_ONLY,
    "manage gold": LEAD_ONLY,
    "route items": LEAD_ONLY,
    "create projects": LEAD_ONLY,
    "publish guidelines": LEAD_ONLY,
    "import data": LEAD_ONLY,
    "clean data": LEAD_ONLY,          # clean runs (dry runs too), the items cleaning holds, keep / remove
}


class PermissionDenied(PermissionError):
    """An operation refused to the acting user's role; says which role and which operation."""

    def __init__(self, role: str, operation: str, name: str = "", detail: str = ""):
        who = f"{role} {name!r}" if name else role
        message = f"permission denied: {who} may not {operation}"
        super().__init__(message + (f" ({detail})" if detail else ""))
        self.role = role
        self.operation = operation


@dataclass(frozen=True)
class Actor:
    """The signed-in user an operation runs for (see accounts.sign_in)."""

    id: int
    name: str
    role: str


def current_role(session: Session, actor: Actor) -> str:
    """The actor's role as stored now; an unknown or deactivated user has none."""
    row = session.execute(select(User.role, User.active, User.name).where(User.id == actor.id)).first()
    if row is None or not row.active or row.name != actor.name:
        raise PermissionDenied(actor.role, "act", actor.name, "no active account with this id and name")
    return row.role


def require(session: Session, actor: Actor, operation: str) -> str:
    """Raise PermissionDenied unless the actor's current role may do `operation`; return the role."""
    role = current_role(session, actor)
    if role not in RULES[operation]:
        raise PermissionDenied(role, operation, actor.name)
    return role


def require_first(ws: Workspace, actor: Actor, operation: str) -> str:
    """`require` in a session of its own, before long work starts, so that a refusal costs nothing.

    Not a substitute for the check inside the write transaction: the role may change meanwhile.
    """
    with ws.sessions() as session:
        return require(session, actor, operation)


def review_levels(config: Mapping[str, Any]) -> int:
    """How many review levels a project has (template key `review_levels`, default 1)."""
    levels = config.get("review_levels", 1)
    return levels if isinstance(levels, int) and levels >= 1 else 1


def review_roles(config: Mapping[str, Any], level: int) -> frozenset[str]:
    """Who reviews at `level`: with several levels the last is the lead's, the others reviewers'."""
    levels = review_levels(config)
    if not 1 <= level <= levels:
        return frozenset()
    if levels > 1 and level == levels:
        return LEAD_ONLY
    return STAFF


def require_review_level(session: Session, actor: Actor, config: Mapping[str, Any], level: int) -> str:
    role = current_role(session, actor)
    if role not in review_roles(config, level):
        raise PermissionDenied(role, f"review at level {level}", actor.name,
                               f"the project has {review_levels(config)} review level(s)")
    return role
