"""The project catalogue: what a workspace's projects are and how far along, in plain SQL.

The same statements run through SQLAlchemy (projects.list_projects / get_project) and, for
`labeldesk project list` on a personal workspace, through the standard library's sqlite3
alone: importing SQLAlchemy takes longer on its own (~0.3 s here) than that command is
allowed to take in all. Nothing here imports SQLAlchemy, and the fast path only reads, and
only a workspace already at the code's schema; anything else goes through Workspace.open.

So do the statements that tell a LabelDesk workspace from any other database (`Contents`):
Workspace.open asks them before it changes anything, and the fast path before it reads.
"""

from __future__ import annotations

import os
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from labeldesk.storage.vocabulary import SCHEMA_HEAD

DB_FILE = "workspace.db"
ENV_WORKSPACE = "LABELDESK_WORKSPACE"

# one statement per figure, for one project `{p}`: the catalogue and a single project share them
_SUBMITTED = "FROM annotations a JOIN items i ON i.id = a.item_id WHERE i.project_id = {p} AND a.status = 'submitted'"
_FIGURES = (
    "COALESCE((SELECT MAX(g.version) FROM guidelines g WHERE g.project_id = {p}), 0)",
    "(SELECT COUNT(*) FROM items i WHERE i.project_id = {p})",
    f"(SELECT COUNT(DISTINCT a.item_id) {_SUBMITTED})",
    f"(SELECT COUNT(*) {_SUBMITTED})",
)
_PROJECT = "p.id, p.name, p.kind, p.overlap, p.config"
LIST_SQL = f"SELECT {_PROJECT}, {', '.join(f.format(p='p.id') for f in _FIGURES)} FROM projects p ORDER BY p.name"
ONE_SQL = f"SELECT {_PROJECT}, {', '.join(f.format(p='p.id') for f in _FIGURES[:1])} FROM projects p WHERE p.id = :id"
ONE_WITH_COUNTS_SQL = f"SELECT {_PROJECT}, {', '.join(f.format(p='p.id') for f in _FIGURES)} FROM projects p WHERE p.id = :id"

Execute = Callable[[str, dict[str, Any]], Iterable[Sequence[Any]]]

# Every workspace has had these tables since its first migration (0001). With a row in
# alembic_version they make a database ours; a marker row would miss the older workspaces.
WORKSPACE_TABLES = frozenset({
    "media_assets", "projects", "settings", "users", "guideline_acks", "guidelines", "items",
    "annotations", "assignments", "flags", "item_media", "reviews",
})
# The tables and views of a database: SQLite's own; on PostgreSQL those of every schema but the
# system's (another schema's as "schema.name"), since LabelDesk creates its tables in the current one.
TABLES_SQL = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND substr(name, 1, 7) <> 'sqlite_'",
    "postgresql": (
        "SELECT CASE WHEN n.nspname = current_schema() THEN c.relname ELSE n.nspname || '.' || c.relname END "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname <> 'information_schema' AND left(n.nspname, 3) <> 'pg_'"
    ),
}
REVISION_SQL = "SELECT version_num FROM alembic_version"


def slugify(name: str) -> str:
    """A plain-ASCII handle for a project name ("Demo · safety" -> "demo-safety"), easy to type in a shell."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    name: str
    kind: str
    title: str
    overlap: int
    questions: tuple[dict[str, Any], ...]
    config: dict[str, Any]
    guideline_version: int
    items: int = 0
    annotated: int = 0
    submissions: int = 0

    @property
    def slug(self) -> str:
        return slugify(self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "slug": self.slug, "kind": self.kind, "title": self.title, "overlap": self.overlap,
            "guideline_version": self.guideline_version, "items": self.items,
            "annotated": self.annotated, "submissions": self.submissions,
            "questions": [q["name"] + ":" + q["type"] for q in self.questions],
        }


def _info(row: Sequence[Any]) -> ProjectInfo:
    project_id, name, kind, overlap, config, version, *counts = row
    config = orjson.loads(config) if isinstance(config, (str, bytes)) else config  # JSON text on SQLite
    figures = dict(zip(("items", "annotated", "submissions"), (int(c) for c in counts)))
    return ProjectInfo(id=project_id, name=name, kind=kind, title=config.get("title", name), overlap=overlap,
                       questions=tuple(config["questions"]), config=config, guideline_version=int(version), **figures)


def project_infos(execute: Execute) -> list[ProjectInfo]:
    """Every project with its figures, by name."""
    return [_info(row) for row in execute(LIST_SQL, {})]


def project_info(execute: Execute, project_id: int, with_counts: bool) -> ProjectInfo:
    return _info(next(iter(execute(ONE_WITH_COUNTS_SQL if with_counts else ONE_SQL, {"id": project_id}))))


@dataclass(frozen=True)
class Contents:
    """What a database holds, as far as telling a LabelDesk workspace from anything else goes."""

    tables: frozenset[str]
    revision: str | None  # the alembic_version row, if there is one

    @property
    def is_empty(self) -> bool:
        return not self.tables

    @property
    def has_our_tables(self) -> bool:
        return WORKSPACE_TABLES <= self.tables

    @property
    def is_workspace(self) -> bool:
        return self.has_our_tables and self.revision is not None

    @property
    def is_current(self) -> bool:
        """A workspace at the code's schema: it opens without Alembic."""
        return self.is_workspace and self.revision == SCHEMA_HEAD


def database_contents(execute: Execute, dialect: str) -> Contents:
    tables = frozenset(row[0] for row in execute(TABLES_SQL[dialect], {}))
    rows = list(execute(REVISION_SQL, {})) if "alembic_version" in tables else []
    return Contents(tables, rows[0][0] if rows else None)


def connect_existing(db_path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection that never creates the file (mode=rw), and sets no PRAGMA:
    reading a foreign file through it leaves the file as it was."""
    return sqlite3.connect(f"{db_path.as_uri()}?mode=rw", uri=True, timeout=10)


def sqlite_contents(conn: sqlite3.Connection) -> Contents:
    return database_contents(lambda sql, params: conn.execute(sql, params).fetchall(), "sqlite")


def sqlite_paths(spec: str) -> tuple[Path, Path]:
    """The database file and the workspace folder a `--workspace` path names."""
    path = Path(spec).expanduser().resolve()
    if path.suffix == ".db" or path.is_file():
        return path, path.parent
    return path / DB_FILE, path


def read_personal_catalog(spec: str | os.PathLike[str] | None) -> list[ProjectInfo] | None:
    """The catalogue of an up-to-date SQLite workspace, read with sqlite3 alone; None means: open it properly.

    A server URL, a missing file, a database that is not a workspace, another schema
    revision or any SQLite error all answer None, and the caller's Workspace.open then
    upgrades, refuses or explains.
    """
    spec = str(spec) if spec else os.environ.get(ENV_WORKSPACE, "")
    if not spec or "://" in spec:
        return None
    db_path, _folder = sqlite_paths(spec)
    if not db_path.is_file():
        return None
    try:
        conn = connect_existing(db_path)
    except sqlite3.Error:
        return None
    try:
        if not sqlite_contents(conn).is_current:
            return None
        return project_infos(lambda sql, params: conn.execute(sql, params).fetchall())
    except sqlite3.Error:
        return None
    finally:
        conn.close()
