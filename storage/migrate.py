"""Schema migrations with Alembic: upgrade a workspace to the code's schema, safely.

Loaded only when a workspace is not at the code's revision (storage.db.upgrade), so
opening an up-to-date workspace never imports Alembic.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from labeldesk.storage.db import Location, WorkspaceError

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def code_head() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return heads[0]


def database_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _backup_sqlite(db_path: Path, revision: str) -> Path:
    """Online backup before a schema upgrade, so a failed upgrade loses nothing."""
    target = db_path.with_name(f"{db_path.stem}.before-{revision}.db")
    src = sqlite3.connect(db_path)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


def upgrade(engine: Engine, location: Location) -> None:
    """Bring the database to the code's schema; refuse one newer than the code."""
    script = ScriptDirectory.from_config(alembic_config(location.url))
    current = database_revision(engine)
    head = script.get_current_head()
    if current == head:
        return
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise WorkspaceError(
            f"workspace {location.url_for_display} has schema revision {current}, newer than this "
            f"LabelDesk knows (up to {head}): upgrade LabelDesk before opening it"
        )
    if current is not None and location.is_sqlite:
        _backup_sqlite(Path(make_url(location.url).database), current)
    cfg = alembic_config(location.url)
    with engine.connect() as conn:
        if location.is_sqlite:
            _set_foreign_keys(conn, False)
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                if location.is_sqlite:
                    _check_foreign_keys(conn, location)
        finally:
            if location.is_sqlite:
                _set_foreign_keys(conn, True)


def _set_foreign_keys(conn, on: bool) -> None:
    """SQLite batch migrations rebuild tables: with foreign keys on, dropping the old table
    would cascade into (and delete) the rows that point at it. The PRAGMA only works
    outside a transaction, so it goes to the driver connection directly."""
    conn.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_foreign_keys(conn, location: Location) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise WorkspaceError(f"schema upgrade of {location.url_for_display} would break {len(broken)} references (first: {broken[0]}); nothing was changed")
