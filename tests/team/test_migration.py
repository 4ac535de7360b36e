"""Migration 0002 on a workspace that already holds reviewed work, and back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text

from labeldesk.storage.db import Workspace, make_engine, resolve_location
from labeldesk.storage.migrate import alembic_config, database_revision


def test_upgrade_keeps_reviews_and_downgrade_removes_the_new_tables(tmp_path, pg_url) -> None:
    for spec in (str(tmp_path / "old"), pg_url):
        location = resolve_location(spec)
        if location.is_sqlite:
            (tmp_path / "old").mkdir()
        engine = make_engine(location)
        cfg = alembic_config(location.url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
        with engine.begin() as conn:  # a workspace as 0001 left it: one reviewed submission
            conn.execute(text("INSERT INTO users (id, name, role, domains, locales, active, created_at) VALUES "
                              "(1, 'a', 'annotator', '[]', '[]', true, '2026-01-01'), "
                              "(2, 'r', 'reviewer', '[]', '[]', true, '2026-01-01')"))
            conn.execute(text("INSERT INTO projects (id, name, kind, config, overlap, created_at) VALUES "
                              "(1, 'p', 'instruction', '{\"questions\": []}', 1, '2026-01-01')"))
            conn.execute(text("INSERT INTO items (id, project_id, uid, kind, content, content_hash, provenance, meta, "
                              "status, priority, assigned_count, created_at) VALUES "
                              "(1, 1, 'i0', 'instruction', '{}', 'h', '{}', '{}', 'full', 0, 1, '2026-01-01')"))
            conn.execute(text("INSERT INTO annotations (id, item_id, user_id, status, \"values\", active_seconds, source, "
                              "created_at, updated_at) VALUES (1, 1, 1, 'submitted', '{}', 1.0, 'app', '2026-01-01', '2026-01-01')"))
            conn.execute(text("INSERT INTO reviews (id, annotation_id, reviewer_id, level, decision, reason, created_at) "
                              "VALUES (1, 1, 2, 1, 'accept', '', '2026-01-01')"))
        engine.dispose()

        ws = Workspace.open(spec)  # upgrades to head
        with ws.engine.connect() as conn:
            assert conn.execute(text("SELECT revision FROM annotations")).scalar() == 1
            assert conn.execute(text("SELECT revision, decision FROM reviews")).one() == (1, "accept")
        assert {"review_claims", "adjudications"} <= set(inspect(ws.engine).get_table_names())
        ws.close()

        engine = make_engine(location)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        assert database_revision(engine) == "0001"
        tables = set(inspect(engine).get_table_names())
        assert "adjudications" not in tables and "review_claims" not in tables
        assert "revision" not in {c["name"] for c in inspect(engine).get_columns("reviews")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT decision FROM reviews")).scalar() == "accept"
        engine.dispose()
    assert create_engine  # the engines above are the workspace's own, with its SQLite pragmas
