"""The backup an SQLite upgrade takes first is either complete under its name or not there at all.

A real process upgrading a large workspace is killed in the middle of its backup.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from alembic import command

from labeldesk.storage.db import Workspace, make_engine, resolve_location
from labeldesk.storage.migrate import alembic_config

ITEMS = 1500  # of ~100 kB each: a backup that takes a while
UPGRADE = "import sys; from labeldesk.storage.db import Workspace; Workspace.open(sys.argv[1])"


def _large_workspace_at_0001(folder: Path) -> None:
    folder.mkdir()
    location = resolve_location(folder)
    engine = make_engine(location)
    cfg = alembic_config(location.url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql("INSERT INTO projects (id, name, kind, config, overlap, created_at) "
                             "VALUES (1, 'p', 'instruction', '{\"questions\": []}', 1, '2026-01-01 00:00:00')")
        conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO items (project_id, uid, kind, content, content_hash, provenance, meta, status, priority, "
            "assigned_count, created_at) SELECT 1, 'i' || i, 'instruction', json_object('text', hex(randomblob(50000))), "
            "'h' || i, '{}', '{}', 'open', 0, 0, '2026-01-01 00:00:00' FROM n", (ITEMS,))
    engine.dispose()


def _kill_once_the_backup_has_begun(proc: subprocess.Popen, partial: Path) -> None:
    deadline = time.monotonic() + 120
    while not (partial.exists() and partial.stat().st_size > 0):
        assert proc.poll() is None, "the upgrade ended before its backup was seen"
        assert time.monotonic() < deadline
        time.sleep(0.0005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_a_process_killed_mid_backup_leaves_no_backup_under_the_final_name(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    _large_workspace_at_0001(folder)
    backup = folder / "workspace.before-0001.db"
    partial = folder / "workspace.before-0001.db.partial"

    proc = subprocess.Popen([sys.executable, "-c", UPGRADE, str(folder)], stderr=subprocess.PIPE)
    _kill_once_the_backup_has_begun(proc, partial)
    assert proc.returncode == -signal.SIGKILL
    assert partial.exists()  # killed mid-backup indeed...
    assert not backup.exists()  # ...and the name a user restores from holds nothing half-written

    ws = Workspace.open(folder)  # the next open upgrades: the killed process held the lock, and left it with its life
    with ws.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0002"
        assert conn.exec_driver_sql("SELECT count(*) FROM items").scalar() == ITEMS
    ws.close()
    assert not partial.exists()
    conn = sqlite3.connect(f"{backup.as_uri()}?mode=ro", uri=True)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    assert conn.execute("SELECT count(*) FROM items").fetchone() == (ITEMS,)
    conn.close()
