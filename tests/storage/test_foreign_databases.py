"""Databases that are not LabelDesk workspaces are refused and left exactly as they were.

Real SQLite files and a real PostgreSQL server: a foreign file or database is compared byte
for byte (SQLite) or table for table (PostgreSQL) before and after LabelDesk looked at it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from labeldesk.storage.catalog import read_personal_catalog
from labeldesk.storage.db import Workspace, WorkspaceError


def _notes_file(path: Path, journal_mode: str = "delete", alembic_revision: str | None = None) -> Path:
    """Another program's SQLite file: its own tables and rows (and perhaps its own Alembic history)."""
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode={journal_mode}")
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("CREATE TABLE projects (id INTEGER PRIMARY KEY, title TEXT)")  # a name we use too
    conn.execute("INSERT INTO notes (body) VALUES ('buy milk')")
    if alembic_revision:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES (?)", (alembic_revision,))
    conn.commit()
    conn.close()
    return path


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with the sha256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("create", [False, True], ids=["open", "init"])
@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_a_foreign_sqlite_file_is_refused_and_left_as_it_was(tmp_path: Path, create: bool, journal_mode: str) -> None:
    notes = _notes_file(tmp_path / "notes.db", journal_mode)
    before = _snapshot(tmp_path)
    with pytest.raises(WorkspaceError, match="notes.db is not a LabelDesk workspace: it holds tables of its own"):
        Workspace.open(notes, create=create)
    assert _snapshot(tmp_path) == before  # same bytes, no media/ or cache/, no -wal or -shm left beside it
    assert read_personal_catalog(notes) is None


def test_a_foreign_file_with_its_own_alembic_history_at_our_revision_is_still_foreign(tmp_path: Path) -> None:
    """The revision row alone does not make a workspace: our tables must be there too."""
    notes = _notes_file(tmp_path / "notes.db", alembic_revision="0002")
    before = _snapshot(tmp_path)
    assert read_personal_catalog(notes) is None
    with pytest.raises(WorkspaceError, match="not a LabelDesk workspace"):
        Workspace.open(notes)
    assert _snapshot(tmp_path) == before


def test_a_file_that_is_no_database_at_all_is_refused_untouched(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("shopping list\n- milk\n" * 100)
    before = _snapshot(tmp_path)
    for create in (False, True):
        with pytest.raises(WorkspaceError, match="cannot open .*notes.db as a workspace: file is not a database"):
            Workspace.open(notes, create=create)
    assert _snapshot(tmp_path) == before
    assert read_personal_catalog(notes) is None


def test_project_list_on_a_foreign_file_fails_in_one_line_and_creates_nothing(tmp_path: Path) -> None:
    notes = _notes_file(tmp_path / "notes.db")
    before = _snapshot(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "labeldesk", "project", "list", "-w", str(notes)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and "not a LabelDesk workspace" in proc.stderr and "Traceback" not in proc.stderr
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ["nowhere", "nowhere.db"])
def test_opening_where_no_workspace_is_creates_no_file_or_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(WorkspaceError, match="labeldesk init"):
        Workspace.open(tmp_path / name)
    (tmp_path / "folder").mkdir()
    with pytest.raises(WorkspaceError, match="labeldesk init"):
        Workspace.open(tmp_path / "folder")
    assert _snapshot(tmp_path) == {"folder": "dir"}


def test_an_empty_file_becomes_a_workspace_only_with_create(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(WorkspaceError, match="no workspace in .*empty.db: create it with `labeldesk init`"):
        Workspace.open(empty)
    assert _snapshot(tmp_path) == {"empty.db": hashlib.sha256(b"").hexdigest()}
    Workspace.open(empty, create=True).close()
    Workspace.open(empty).close()  # now it is one
    assert {"media", "cache"} <= set(_snapshot(tmp_path))


def _pg_tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {f"{s}.{t}" for s, t in conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")}


def _with_password(url: str) -> str:
    """The same URL with a password in it (the test server trusts everyone, so any password works)."""
    return url.replace("postgres@", "postgres:pg-s3cret@", 1)


@pytest.mark.parametrize("create", [False, True], ids=["open", "init"])
@pytest.mark.parametrize("schema", ["public", "notes_app"])
def test_a_foreign_postgres_database_is_refused_and_left_as_it_was(pg_url: str, create: bool, schema: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"CREATE TABLE {schema}.notes (id serial PRIMARY KEY, body text)")
        conn.execute(f"INSERT INTO {schema}.notes (body) VALUES ('buy milk')")
    before = _pg_tables(pg_url)
    with pytest.raises(WorkspaceError, match="is not a LabelDesk workspace: it holds tables of its own") as caught:
        Workspace.open(_with_password(pg_url), create=create)
    assert "pg-s3cret" not in str(caught.value) and "***" in str(caught.value)
    assert _pg_tables(pg_url) == before
    with psycopg.connect(pg_url) as conn:
        assert conn.execute(f"SELECT body FROM {schema}.notes").fetchall() == [("buy milk",)]


def test_an_empty_postgres_database_becomes_a_workspace_only_with_create(pg_url: str) -> None:
    with pytest.raises(WorkspaceError, match="no workspace in .*: create it with `labeldesk init`"):
        Workspace.open(pg_url)
    assert _pg_tables(pg_url) == set()
    Workspace.open(pg_url, create=True).close()
    Workspace.open(pg_url).close()
    assert "public.alembic_version" in _pg_tables(pg_url)


def _spec(ws: Workspace) -> str:
    return ws.location.url if not ws.location.is_sqlite else str(ws.location.folder)


@pytest.mark.parametrize("loss", ["row", "table"])
def test_a_workspace_without_its_revision_row_gets_one_clear_line(workspace: Workspace, loss: str) -> None:
    """Not `table media_assets already exists` (SQLite) or DuplicateTable (PostgreSQL): what is wrong, what to do."""
    spec = _spec(workspace)
    with workspace.engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version" if loss == "row" else "DROP TABLE alembic_version"))
    workspace.close()
    for create in (False, True):
        with pytest.raises(WorkspaceError) as caught:
            Workspace.open(spec, create=create)
        message = str(caught.value)
        assert "\n" not in message
        assert "has LabelDesk's tables but no schema revision" in message and "restore it from a backup" in message
        assert (workspace.location.name_for_display in message)
    if workspace.location.is_sqlite:
        assert read_personal_catalog(spec) is None
        proc = subprocess.run([sys.executable, "-m", "labeldesk", "project", "list", "-w", spec],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode != 0 and proc.stderr.count("\n") == 1 and "no schema revision" in proc.stderr
