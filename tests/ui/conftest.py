"""Helpers for the window tests: a project with items, on a real workspace."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from labeldesk.app.workflow.accounts import local_actor
from labeldesk.app.workflow.importer import import_files
from labeldesk.app.workflow.projects import create_project
from labeldesk.app.workflow.tasks import acknowledge
from labeldesk.storage.db import Workspace

AddProject = Callable[..., str]


def add_project(ws: Workspace, name: str, kind: str, rows: list[dict], ack: bool = True) -> str:
    """Create `name`, import `rows` (JSON Lines), and acknowledge guideline v1 unless `ack` is False."""
    lead = local_actor(ws)
    create_project(ws, lead, name, kind)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        import_files(ws, lead, name, [path])
    if ack:
        acknowledge(ws, lead, name, 1)
    return name


@pytest.fixture(scope="session")
def make_project() -> AddProject:
    return add_project
