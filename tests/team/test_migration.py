"""Migration 0002 on a workspace that already holds reviewed work, and back; data 0001 allowed
but 0002 forbids; several processes upgrading one workspace at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from labeldesk.storage.db import Location, Workspace, WorkspaceError, make_engine, resolve_location
from labeldesk.storage.migrate import alembic_config, database_revision

T0 = "2026-01-01 10:00:00"


def _spec(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> str:
    return str(tmp_path / "old") if backend == "sqlite" else request.getfixturevalue("pg_url")


def _at_0001(spec: str, annotations: int = 1) -> Location:
    """A workspace as the first release left it: two users, a project, each item submitted once, no reviews."""
    location = resolve_location(spec)
    if location.is_sqlite:
        Path(spec).mkdir()
    engine = make_engine(location)
    cfg = alembic_config(location.url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, name, role, domains, locales, active, created_at) VALUES "
                          f"(1, 'a', 'annotator', '[]', '[]', true, '{T0}'), (2, 'r', 'reviewer', '[]', '[]', true, '{T0}'), "
                          f"(3, 's', 'reviewer', '[]', '[]', true, '{T0}')"))
        conn.execute(text("INSERT INTO projects (id, name, kind, config, overlap, created_at) VALUES "
                          f"(1, 'p', 'instruction', '{{\"questions\": []}}', 1, '{T0}')"))
        for i in range(1, annotations + 1):
            conn.execute(text("INSERT INTO items (id, project_id, uid, kind, content, content_hash, provenance, meta, "
                              "status, priority, assigned_count, created_at) VALUES "
                              f"({i}, 1, 'i{i}', 'instruction', '{{\"n\": {i}}}', 'h{i}', '{{}}', '{{}}', 'full', 0, 1, '{T0}')"))
            conn.execute(text("INSERT INTO annotations (id, item_id, user_id, status, \"values\", active_seconds, source, "
                              f"created_at, updated_at) VALUES ({i}, {i}, 1, 'submitted', '{{\"label\": \"a{i}\"}}', 1.0, 'app', "
                              f"'{T0}', '{T0}')"))
    engine.dispose()
    return location


def _reviews(location: Location, *rows: tuple) -> None:
    """(id, annotation, reviewer, level, decision, created_at[, correction as SQL]) each; the reason is `because {id}`."""
    engine = make_engine(location)
    with engine.begin() as conn:
        for id_, annotation, reviewer, level, decision, at, *correction in rows:
            conn.execute(text("INSERT INTO reviews (id, annotation_id, reviewer_id, level, decision, reason, correction, created_at) "
                              f"VALUES ({id_}, {annotation}, {reviewer}, {level}, '{decision}', 'because {id_}', "
                              f"{correction[0] if correction else 'NULL'}, '{at}')"))
    engine.dispose()


def _downgrade_to_0001(location: Location) -> None:
    engine = make_engine(location)
    cfg = alembic_config(location.url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert database_revision(engine) == "0001"
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_upgrade_keeps_reviews_and_downgrade_removes_the_new_tables(request, tmp_path, backend) -> None:
    spec = _spec(request, tmp_path, backend)
    location = _at_0001(spec)
    _reviews(location, (1, 1, 2, 1, "accept", T0))

    ws = Workspace.open(spec)  # upgrades to head
    with ws.engine.connect() as conn:
        assert conn.execute(text("SELECT revision FROM annotations")).scalar() == 1
        assert conn.execute(text("SELECT revision, decision FROM reviews")).one() == (1, "accept")
    assert {"review_claims", "adjudications"} <= set(inspect(ws.engine).get_table_names())
    assert ws.setting("superseded_reviews_0002") is None  # nothing to set aside
    ws.close()

    _downgrade_to_0001(location)
    engine = make_engine(location)
    tables = set(inspect(engine).get_table_names())
    assert "adjudications" not in tables and "review_claims" not in tables
    assert "revision" not in {c["name"] for c in inspect(engine).get_columns("reviews")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT decision FROM reviews")).scalar() == "accept"
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_reviews_0001_allowed_at_one_level_keep_the_latest_and_set_the_others_aside(request, tmp_path, backend) -> None:
    """0001's index let one submission have several level-1 reviews; 0002's unique index allows one."""
    spec = _spec(request, tmp_path, backend)
    location = _at_0001(spec, annotations=3)
    _reviews(location,
             (1, 1, 2, 1, "reject", "2026-01-02 09:00:00"),
             (2, 1, 3, 1, "correct", "2026-01-02 08:00:00", "'{\"label\": \"b\"}'"),
             (3, 1, 2, 1, "accept", "2026-01-03 09:00:00"),  # the latest: it stands
             (4, 1, 3, 2, "accept", "2026-01-04 09:00:00"),  # alone at level 2
             (5, 2, 2, 1, "accept", "2026-01-05 09:00:00"),  # a tie in time: the higher id stands
             (6, 2, 3, 1, "reject", "2026-01-05 09:00:00"),
             (7, 3, 2, 1, "accept", "2026-01-06 09:00:00"))

    ws = Workspace.open(spec)
    with ws.engine.connect() as conn:
        kept = conn.execute(text("SELECT id, annotation_id, level, revision, decision FROM reviews ORDER BY id")).all()
    assert [tuple(r) for r in kept] == [(3, 1, 1, 1, "accept"), (4, 1, 2, 1, "accept"), (6, 2, 1, 1, "reject"), (7, 3, 1, 1, "accept")]
    archived = ws.setting("superseded_reviews_0002")
    assert [(r["id"], r["annotation_id"], r["reviewer_id"], r["level"], r["decision"], r["reason"]) for r in archived] == [
        (1, 1, 2, 1, "reject", "because 1"), (2, 1, 3, 1, "correct", "because 2"), (5, 2, 2, 1, "accept", "because 5")]
    assert archived[1]["correction"] == {"label": "b"}
    assert archived[0]["created_at"].startswith("2026-01-02") and archived[0]["created_at"][11:19] == "09:00:00"
    assert {"ix_reviews_decided_once"} <= {ix["name"] for ix in inspect(ws.engine).get_indexes("reviews") if ix["unique"]}
    ws.close()

    # down to 0001, a second opinion at one level again, and up: the setting grows, nothing is lost
    _downgrade_to_0001(location)
    _reviews(location, (8, 3, 3, 1, "reject", "2026-01-07 09:00:00"))
    ws = Workspace.open(spec)
    assert [r["id"] for r in ws.setting("superseded_reviews_0002")] == [1, 2, 5, 7]
    with ws.engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM reviews WHERE annotation_id = 3")).scalars().all() == [8]
    ws.close()


# Each child imports everything, says so, waits for the start, then opens the workspace.
OPENER = """
import sys, time
from pathlib import Path
from labeldesk.storage import migrate  # loaded before the start, so that all reach the lock together
from labeldesk.storage.db import Workspace
spec, go = sys.argv[1], Path(sys.argv[2])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
ws = Workspace.open(spec)
with ws.engine.connect() as conn:
    print(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar())
ws.close()
"""
PROCESSES = 4
ITEMS = 40


@pytest.mark.parametrize("trial", range(3))
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_processes_upgrading_one_workspace_at_once_take_turns(request, tmp_path, backend, trial) -> None:
    spec = _spec(request, tmp_path, backend)
    location = _at_0001(spec, annotations=ITEMS)
    _reviews(location, *((i, i, 2, 1, "accept", T0) for i in range(1, ITEMS + 1)))
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", OPENER, spec, str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(PROCESSES)]
    assert [p.stdout.readline() for p in procs] == ["ready\n"] * PROCESSES
    go.touch()
    outcomes = [(*p.communicate(timeout=180), p.returncode) for p in procs]
    assert [(out.strip(), code) for out, _err, code in outcomes] == [("0002", 0)] * PROCESSES, [err for _, err, _ in outcomes]

    ws = Workspace.open(spec)
    with ws.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), sum(revision) FROM annotations")).one() == (ITEMS, ITEMS)
        assert conn.execute(text("SELECT count(*) FROM reviews WHERE decision = 'accept' AND revision = 1")).scalar() == ITEMS
        assert conn.execute(text("SELECT count(*) FROM items")).scalar() == ITEMS
    ws.close()
    if location.is_sqlite:  # one process upgraded, so one backup, complete, of the workspace as it was
        assert sorted(p.name for p in Path(spec).glob("*.before-*")) == ["workspace.before-0001.db"]
        backup = sqlite3.connect(Path(spec) / "workspace.before-0001.db")
        assert backup.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
        assert backup.execute("SELECT count(*) FROM reviews").fetchone() == (ITEMS,)
        backup.close()


def test_an_upgrade_that_cannot_get_the_lock_says_so_and_changes_nothing(tmp_path, monkeypatch) -> None:
    from labeldesk.storage import migrate

    spec = str(tmp_path / "old")
    location = _at_0001(spec)
    holder = sqlite3.connect(location.database_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program in the middle of a write
    monkeypatch.setattr(migrate, "UPGRADE_WAIT_SECONDS", 1)
    with pytest.raises(WorkspaceError, match="could not be locked for its upgrade within 1 s"):
        Workspace.open(spec)
    holder.execute("ROLLBACK")
    holder.close()
    assert database_revision(make_engine(location)) == "0001"
    assert not list(Path(spec).glob("*.before-*"))  # the backup is taken under the lock, so not yet
