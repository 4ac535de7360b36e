"""Schema migrations with Alembic: upgrade a workspace to the code's schema, safely.

Loaded only when a workspace is not at the code's revision (storage.db.upgrade), so
opening an up-to-date workspace never imports Alembic.

One process upgrades at a time: the upgrade holds a lock (SQLite's write lock, taken with
BEGIN IMMEDIATE; a PostgreSQL advisory lock) from before it reads the revision until it
commits, so a process that waited reads the revision again and finds the work done.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from labeldesk.storage.db import Location, WorkspaceError, read_contents, refuse_unless_ours

MIGRATIONS = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock key ("LDSCHEMA" in ASCII); advisory locks belong to one database,
# so each workspace on a server has its own.
UPGRADE_LOCK_KEY = 0x4C44_5343_4845_4D41
# How long an SQLite upgrade waits for another process's upgrade (or long write) to end.
UPGRADE_WAIT_SECONDS = 600


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
    """Online backup before a schema upgrade, so a failed upgrade loses nothing.

    Written under a temporary name and renamed once complete: a process killed mid-backup
    leaves at most the temporary file (replaced by the next attempt), never a broken backup
    under the name a user would restore from.
    """
    target = db_path.with_name(f"{db_path.stem}.before-{revision}.db")
    partial = target.with_name(f"{target.name}.partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(db_path)
    dst = sqlite3.connect(partial)
    try:
        dst.execute("PRAGMA journal_mode=OFF")  # the file is worthless until renamed: no journal to leave behind
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    os.replace(partial, target)
    return target


def upgrade(engine: Engine, location: Location, create: bool) -> None:
    """Bring the database to the code's schema; refuse one newer than the code, or not ours."""
    script = ScriptDirectory.from_config(alembic_config(location.url))
    head = script.get_current_head()
    with _upgrade_lock(engine, location) as conn:
        contents = read_contents(conn)  # again, under the lock: another process may have upgraded it meanwhile
        refuse_unless_ours(contents, location, create)
        current = contents.revision
        if current == head:
            return
        if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
            raise WorkspaceError(
                f"workspace {location.url_for_display} has schema revision {current}, newer than this "
                f"LabelDesk knows (up to {head}): upgrade LabelDesk before opening it"
            )
        if current is not None and location.is_sqlite:
            _backup_sqlite(location.database_file, current)
        cfg = alembic_config(location.url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        if location.is_sqlite:
            _check_foreign_keys(conn, location)


@contextmanager
def _upgrade_lock(engine: Engine, location: Location) -> Iterator[Connection]:
    """A connection in a transaction that holds the workspace's upgrade lock until it ends."""
    with engine.connect() as conn:
        if not location.is_sqlite:
            with conn.begin():
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK_KEY})")
                yield conn
            return
        with _sqlite_upgrade_settings(conn):
            try:
                transaction = conn.execution_options(immediate=True).begin()  # BEGIN IMMEDIATE: the write lock
            except OperationalError as exc:
                raise WorkspaceError(f"workspace {location.name_for_display} could not be locked for its upgrade within "
                                     f"{UPGRADE_WAIT_SECONDS} s (is another program writing to it?), so it was not upgraded: "
                                     f"close it and try again ({exc.orig})") from None
            with transaction:
                yield conn


@contextmanager
def _sqlite_upgrade_settings(conn: Connection) -> Iterator[None]:
    """Foreign keys off: SQLite batch migrations rebuild tables, and with them on, dropping
    the old table would cascade into (and delete) the rows that point at it. A long busy
    timeout: a process that finds another one upgrading waits for it rather than fail.
    These PRAGMAs only work outside a transaction, so they go to the driver connection."""
    driver = conn.connection.driver_connection
    (busy_ms,) = driver.execute("PRAGMA busy_timeout").fetchone()
    driver.execute(f"PRAGMA busy_timeout={UPGRADE_WAIT_SECONDS * 1000}")
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")
        driver.execute(f"PRAGMA busy_timeout={busy_ms}")


def _check_foreign_keys(conn: Connection, location: Location) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise WorkspaceError(f"schema upgrade of {location.url_for_display} would break {len(broken)} references (first: {broken[0]}); nothing was changed")
