"""The demo workspace: one project of every kind, filled from resources/demo."""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path

from app.workflow.importer import import_files
from app.workflow.projects import ProjectError, create_project, local_lead
from storage.db import Workspace

DEMO_PROJECTS = (
    ("Demo · instructions", "instruction", "instruction.jsonl"),
    ("Demo · conversations", "conversation", "conversation.jsonl"),
    ("Demo · preferences", "preference", "preference.jsonl"),
    ("Demo · safety", "safety", "safety.jsonl"),
    ("Demo · evaluation", "evaluation", "evaluation.jsonl"),
    ("Demo · new queries", "queries", None),
)


def ensure_local_lead(ws: Workspace) -> None:
    if ws.location.is_sqlite:
        with ws.transaction() as session:
            local_lead(session)


def populate(ws: Workspace) -> list[str]:
    """Create the demo projects (skipping ones that exist) and import their items."""
    made = []
    for name, kind, data in DEMO_PROJECTS:
        try:
            create_project(ws, name, kind)
        except ProjectError:
            continue
        made.append(name)
        if data is None:
            continue
        text = resources.files("resources").joinpath("demo", data).read_text(encoding="utf-8")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / data
            path.write_text(text, encoding="utf-8")
            import_files(ws, name, [path])
    return made
