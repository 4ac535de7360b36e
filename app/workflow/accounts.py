"""Accounts: the lead creates users, people sign in, passwords are argon2 hashes.

On a shared PostgreSQL workspace everybody signs in with a password. On a personal SQLite
workspace the person at the keyboard is the lead (local_actor); other accounts there
sign in by name, with a password only if one was set (the file itself is the access control).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from labeldesk.app.workflow.permissions import LEAD, PermissionDenied, Actor, require, require_first
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import User
from labeldesk.storage.vocabulary import ROLES

MIN_PASSWORD = 8
_hasher = PasswordHasher()


class AccountError(ValueError):
    """An account operation that cannot be done; the message says why."""


class SignInFailed(PermissionError):
    """Wrong name or password (deliberately not saying which)."""


@dataclass(frozen=True)
class UserInfo:
    id: int
    name: str
    role: str
    domains: tuple[str, ...]
    locales: tuple[str, ...]
    active: bool
    has_password: bool
    created_at: datetime | None

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name, "role": self.role, "domains": list(self.domains), "locales": list(self.locales),
            "active": self.active, "has_password": self.has_password,
        }


def normalize_domains(domains: Iterable[str]) -> list[str]:
    return sorted({d.strip().lower() for d in domains if d and d.strip()})


def normalize_locale(locale: str) -> str:
    """`en_us`, `EN-us` -> `en-US`: one spelling, so that routing compares strings."""
    parts = locale.strip().replace("_", "-").split("-")
    return "-".join([parts[0].lower(), *(p.upper() if len(p) == 2 else p for p in parts[1:])])


def normalize_locales(locales: Iterable[str]) -> list[str]:
    return sorted({normalize_locale(loc) for loc in locales if loc and loc.strip()})


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.name, user.role, tuple(user.domains or ()), tuple(user.locales or ()),
                    bool(user.active), user.password_hash is not None, user.created_at)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}")


def _needs_password(ws: Workspace) -> bool:
    return not ws.location.is_sqlite


def add_user(
    ws: Workspace, by: Actor, name: str, role: str, password: str | None = None,
    domains: Iterable[str] = (), locales: Iterable[str] = (),
) -> UserInfo:
    """The lead creates an account; on a shared server it needs a password."""
    _check_role(role)
    name = name.strip()
    if not name:
        raise AccountError("a user needs a name")
    if password is None and _needs_password(ws):
        raise AccountError("accounts on a shared workspace need a password (--password-stdin)")
    password_hash = hash_password(password) if password is not None else None
    with ws.transaction() as session:
        require(session, by, "manage users")
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise AccountError(f"a user named {name!r} exists already")
        user = User(name=name, role=role, password_hash=password_hash, domains=normalize_domains(domains),
                    locales=normalize_locales(locales), active=True)
        session.add(user)
        session.flush()
        return _info(user)


def create_first_lead(ws: Workspace, name: str, password: str) -> Actor:
    """Bootstrap a shared workspace: allowed only while it has no active lead."""
    password_hash = hash_password(password)
    with ws.transaction() as session:
        if session.scalar(select(func.count()).select_from(User).where(User.role == LEAD, User.active.is_(True))):
            raise PermissionDenied("anonymous", "create a lead", detail="this workspace has a lead: sign in as a lead")
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            user = User(name=name, role=LEAD, domains=[], locales=[], active=True)
            session.add(user)
        user.role, user.password_hash, user.active = LEAD, password_hash, True
        session.flush()
        return Actor(user.id, user.name, user.role)


def _other_active_leads(session: Session, user_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(User).where(User.role == LEAD, User.active.is_(True), User.id != user_id)
    ) or 0


def update_user(
    ws: Workspace, by: Actor, name: str, *, role: str | None = None, domains: Iterable[str] | None = None,
    locales: Iterable[str] | None = None, active: bool | None = None, password: str | None = None,
) -> UserInfo:
    """Change a user's role, skills, password or activity; the last lead cannot be removed."""
    if role is not None:
        _check_role(role)
    password_hash = hash_password(password) if password is not None else None
    with ws.transaction() as session:
        require(session, by, "manage users")
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise AccountError(f"no user named {name!r}")
        loses_lead = user.role == LEAD and ((role is not None and role != LEAD) or active is False)
        if loses_lead and not _other_active_leads(session, user.id):
            raise AccountError(f"{name!r} is the only lead: make someone else lead first")
        if role is not None:
            user.role = role
        if domains is not None:
            user.domains = normalize_domains(domains)
        if locales is not None:
            user.locales = normalize_locales(locales)
        if active is not None:
            user.active = active
        if password_hash is not None:
            user.password_hash = password_hash
        session.flush()
        return _info(user)


def list_users(ws: Workspace, by: Actor) -> list[UserInfo]:
    with ws.sessions() as session:
        require(session, by, "list users")
        return [_info(u) for u in session.scalars(select(User).order_by(User.name))]


def sign_in(ws: Workspace, name: str, password: str | None) -> Actor:
    """The Actor for `name` after checking the password (always on a shared workspace)."""
    with ws.transaction() as session:
        user = session.scalar(select(User).where(User.name == name, User.active.is_(True)))
        if user is None:
            raise SignInFailed("wrong name or password")
        if user.password_hash is None:
            if _needs_password(ws):
                raise SignInFailed(f"{name!r} has no password yet: a lead must set one (labeldesk users set)")
            return Actor(user.id, user.name, user.role)
        if password is None:
            raise SignInFailed("wrong name or password")
        try:
            _hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise SignInFailed("wrong name or password") from None
        if _hasher.check_needs_rehash(user.password_hash):
            # argon2 parameters were raised since this hash was made: upgrade it now we know the password
            user.password_hash = _hasher.hash(password)
        return Actor(user.id, user.name, user.role)


def change_password(ws: Workspace, who: Actor, old: str | None, new: str) -> None:
    """A user changes their own password (knowing the old one, if there was one)."""
    require_first(ws, who, "change own password")  # `who` is an active account: its id and name agree
    sign_in(ws, who.name, old)
    password_hash = hash_password(new)
    with ws.transaction() as session:
        require(session, who, "change own password")  # and still is, so the id written to is whose password was checked
        session.execute(update(User).where(User.id == who.id).values(password_hash=password_hash))


def local_actor(ws: Workspace) -> Actor:
    """The person at the keyboard of a personal workspace: its lead (the account is made on first use)."""
    if not ws.location.is_sqlite:
        raise SignInFailed("a shared workspace needs a signed-in user: pass --user NAME")
    name = getpass.getuser()
    with ws.transaction() as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            user = User(name=name, role=LEAD, domains=[], locales=[])
            session.add(user)
            session.flush()
        return Actor(user.id, user.name, user.role)
