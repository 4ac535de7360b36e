"""Shared fixtures: workspaces on a real SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from labeldesk.app.workflow import accounts
from labeldesk.app.workflow.permissions import Actor
from labeldesk.storage.db import Workspace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PG_URL = os.environ.get("LABELDESK_TEST_PG", "postgresql://postgres@127.0.0.1:55432/postgres")


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_URL, connect_timeout=2):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@pytest.fixture(scope="session")
def pg_server() -> str:
    problem = _pg_reachable()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_URL} is required in CI and not reachable: {problem}")
        pytest.skip(f"no PostgreSQL server at {PG_URL} ({problem}); start one with .ci/postgres.sh")
    return PG_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    name = f"ld_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = pg_server.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def workspace(request: pytest.FixtureRequest, tmp_path) -> Iterator[Workspace]:
    """The same test on an SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        ws = Workspace.open(tmp_path / "ws", create=True)
    else:
        ws = Workspace.open(request.getfixturevalue("pg_url"), create=True)
        ws.set_setting("media_root", str(tmp_path / "media"))
    yield ws
    ws.close()


@pytest.fixture
def lead(workspace: Workspace) -> Actor:
    """A lead of `workspace`: its local lead on SQLite, a first lead signed up on PostgreSQL."""
    if workspace.location.is_sqlite:
        return accounts.local_actor(workspace)
    return accounts.create_first_lead(workspace, "lead", "lead-password")
