"""Opening a workspace: one SQLite file (the default) or a PostgreSQL server, same models.

A workspace given as a folder keeps `workspace.db`, content-addressed `media/` and a
`cache/` for derived data (peak pyramids). A PostgreSQL workspace is a URL; its media
folder is a setting shared by the team (a shared path, files named by sha256).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import platformdirs
from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from labeldesk.storage.catalog import ENV_WORKSPACE, sqlite_paths
from labeldesk.storage.models import Setting
from labeldesk.storage.vocabulary import SCHEMA_HEAD



class WorkspaceError(Exception):
    """A workspace that cannot be opened; the message says which and why."""


def _json_dumps(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _set_sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _begin), instead of pysqlite's implicit transactions.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    # NORMAL under WAL survives a process crash; only power loss can drop the last commits.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _begin(conn) -> None:
    """Writers that read before they write take the lock first, so they never fail to upgrade it."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate") else "BEGIN")


@dataclass(frozen=True)
class Location:
    url: str
    folder: Path | None  # the workspace folder of an SQLite workspace

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def url_for_display(self) -> str:
        """The URL with its password masked, for messages and logs."""
        return make_url(self.url).render_as_string(hide_password=True)


def resolve_location(spec: str | os.PathLike | None) -> Location:
    """Turn `--workspace PATH|URL` (or LABELDESK_WORKSPACE) into a database URL."""
    spec = str(spec) if spec else os.environ.get(ENV_WORKSPACE, "")
    if not spec:
        raise WorkspaceError("no workspace given: pass --workspace PATH|URL or set LABELDESK_WORKSPACE")
    if "://" in spec:
        url = make_url(spec)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return Location(url.render_as_string(hide_password=False), None)
    db_path, folder = sqlite_paths(spec)
    return Location(f"sqlite:///{db_path}", folder)


def make_engine(location: Location) -> Engine:
    if location.is_sqlite:
        engine = create_engine(
            location.url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            connect_args={"timeout": 10, "check_same_thread": False},
        )
        event.listen(engine, "connect", _set_sqlite_pragmas)
        event.listen(engine, "begin", _begin)
        return engine
    try:
        return create_engine(
            location.url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            pool_pre_ping=True,
        )
    except ModuleNotFoundError as exc:  # psycopg is the `postgres` extra
        raise WorkspaceError(f"{location.url_for_display}: a PostgreSQL workspace needs its driver: "
                             f"pip install 'labeldesk[postgres]' ({exc})") from None


def stored_revision(engine: Engine) -> str | None:
    """The schema revision the database records, read without loading Alembic."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def upgrade(engine: Engine, location: Location) -> None:
    """Bring the database to the code's schema; a current one (the common case) costs one query."""
    if stored_revision(engine) == SCHEMA_HEAD:
        return
    from labeldesk.storage import migrate  # Alembic loads only when there is something to migrate

    migrate.upgrade(engine, location)


class Workspace:
    """An open workspace: the engine, a session factory and the media/cache folders."""

    def __init__(self, location: Location, engine: Engine):
        self.location = location
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, spec: str | os.PathLike | None, create: bool = False) -> Workspace:
        location = resolve_location(spec)
        if location.is_sqlite:
            db_path = Path(make_url(location.url).database)
            if not db_path.exists() and not create:
                raise WorkspaceError(f"no workspace at {location.folder}: create it with `labeldesk init`")
            db_path.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(location)
        upgrade(engine, location)
        ws = cls(location, engine)
        if location.folder is not None:
            ws.media_root.mkdir(parents=True, exist_ok=True)
            ws.cache_root.mkdir(parents=True, exist_ok=True)
        return ws

    @property
    def media_root(self) -> Path:
        configured = self.setting("media_root")
        if configured:
            return Path(configured)
        if self.location.folder is None:
            raise WorkspaceError("this server workspace has no media_root setting: set it with `labeldesk config media_root PATH`")
        return self.location.folder / "media"

    @property
    def cache_root(self) -> Path:
        """Derived data (peak pyramids): the workspace's own cache/, or the user's cache folder for a server workspace."""
        if self.location.folder is not None:
            return self.location.folder / "cache"
        return platformdirs.user_cache_path("labeldesk")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work, committed as a whole or not at all.

        On SQLite it takes the write lock when it begins: a transaction that reads and
        then writes could otherwise fail to upgrade its lock under concurrent writers.
        """
        with self.engine.connect().execution_options(immediate=True) as conn, Session(bind=conn, expire_on_commit=False) as session:
            with conn.begin():
                yield session
                session.flush()

    def setting(self, key: str) -> object:
        with self.sessions() as session:
            return session.scalar(select(Setting.value).where(Setting.key == key))

    def set_setting(self, key: str, value: object) -> None:
        with self.transaction() as session:
            session.merge(Setting(key=key, value=value))

    def close(self) -> None:
        self.engine.dispose()
