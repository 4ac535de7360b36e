"""Opening workspaces: migrations from empty, refusing newer schemas, SQLite settings, no Alembic when current."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import inspect, text

from labeldesk.storage.db import SCHEMA_HEAD, Workspace, WorkspaceError
from labeldesk.storage.migrate import code_head, database_revision
from labeldesk.storage.models import Base


def test_upgrade_from_empty_creates_every_table(workspace: Workspace) -> None:
    tables = set(inspect(workspace.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert database_revision(workspace.engine) == code_head()


def test_the_fast_revision_check_knows_the_newest_migration() -> None:
    """Opening a workspace compares against SCHEMA_HEAD without Alembic: it must be the real head."""
    assert SCHEMA_HEAD == code_head()


def test_migrated_schema_matches_the_models(workspace: Workspace) -> None:
    """Alembic's autogenerate finds nothing to do: the migrations build exactly the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with workspace.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_refuses_a_schema_newer_than_the_code(workspace: Workspace) -> None:
    with workspace.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    spec = workspace.location.url if not workspace.location.is_sqlite else workspace.location.folder
    workspace.close()
    with pytest.raises(WorkspaceError, match="newer than this LabelDesk"):
        Workspace.open(spec)


def test_sqlite_uses_wal_foreign_keys_and_busy_timeout(tmp_path) -> None:
    ws = Workspace.open(tmp_path / "w", create=True)
    with ws.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000


def test_opening_a_missing_workspace_says_how_to_create_it(tmp_path) -> None:
    with pytest.raises(WorkspaceError, match="labeldesk init"):
        Workspace.open(tmp_path / "nowhere")


def test_a_server_workspace_without_its_driver_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "psycopg", None)  # as if labeldesk[postgres] were not installed
    with pytest.raises(WorkspaceError, match=r"labeldesk\[postgres\]") as caught:
        Workspace.open("postgresql://ana:s3cret@127.0.0.1:1/team")
    assert "s3cret" not in str(caught.value)


def test_opening_an_up_to_date_workspace_does_not_load_alembic(workspace: Workspace) -> None:
    spec = workspace.location.url if not workspace.location.is_sqlite else str(workspace.location.folder)
    code = "import sys; from labeldesk.storage.db import Workspace; Workspace.open(sys.argv[1]); print('alembic' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code, spec], capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stdout.strip()) == (0, "False"), proc.stderr
