"""A team on a workspace: a lead, accounts by role, projects built from a small template."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from labeldesk.app.workflow import accounts
from labeldesk.app.workflow.importer import import_files
from labeldesk.app.workflow.permissions import Actor
from labeldesk.app.workflow.projects import create_project
from labeldesk.app.workflow.tasks import acknowledge
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Base

QUESTIONS = [
    {"name": "label", "type": "choice", "options": ["a", "b", "c"]},
    {"name": "quality", "type": "rating", "min": 1, "max": 5},
    {"name": "note", "type": "text"},
]
LEAD_PASSWORD = "lead-password"


def password_of(name: str) -> str:
    return f"pw-{name}-secret"


class Team:
    def __init__(self, ws: Workspace, tmp_path: Path):
        self.ws = ws
        self.tmp = tmp_path
        self.lead = accounts.create_first_lead(ws, "lead", LEAD_PASSWORD)

    def user(self, name: str, role: str = "annotator", domains: Iterable[str] = (), locales: Iterable[str] = ()) -> Actor:
        info = accounts.add_user(self.ws, self.lead, name, role, password_of(name), domains, locales)
        return Actor(info.id, info.name, info.role)

    def project(
        self, name: str = "p", n: int = 10, overlap: int = 1, questions: list[dict[str, Any]] | None = None,
        rows: list[dict[str, Any]] | None = None, **config: Any,
    ) -> str:
        template = self.tmp / f"{name}.yaml"
        body = {"kind": "instruction", "title": name, "overlap": overlap, "questions": questions or QUESTIONS, **config}
        template.write_text(yaml.safe_dump(body))
        create_project(self.ws, self.lead, name, "instruction", template)
        if rows is None:
            rows = [{"id": f"i{i}", "messages": [{"role": "user", "content": f"question {i}"}]} for i in range(n)]
        self.load(name, rows)
        return name

    def load(self, project: str, rows: list[dict[str, Any]]) -> None:
        """Import rows as `labeldesk/record@1` records, with the submissions they carry."""
        src = self.tmp / f"{project}-{len(rows)}-{id(rows)}.jsonl"
        records = [{"schema": "labeldesk/record@1", "kind": "instruction", **r} for r in rows]
        src.write_text("".join(json.dumps(r) + "\n" for r in records))
        import_files(self.ws, self.lead, project, [src])

    def annotator(self, name: str, project: str = "p", role: str = "annotator", **skills: Iterable[str]) -> Actor:
        who = self.user(name, role, **skills)
        acknowledge(self.ws, who, project, 1)
        return who


def fingerprint(ws: Workspace, folder: Path) -> str:
    """Every row of every table, and the names of the files under `folder`: what a refusal leaves as it was."""
    digest = hashlib.sha256()
    with ws.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = sorted(repr(tuple(row)) for row in conn.execute(table.select()))
            digest.update(f"{table.name}:{rows}".encode())
    digest.update(repr(sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))).encode())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def team_class() -> type[Team]:
    """The helper class itself, for module-scoped fixtures that build their own team."""
    return Team


@pytest.fixture
def team(workspace: Workspace, tmp_path: Path) -> Team:
    return Team(workspace, tmp_path)


@pytest.fixture
def sqlite_team(tmp_path: Path):
    """The same team on SQLite only, for tests about rules rather than databases."""
    ws = Workspace.open(tmp_path / "ws", create=True)
    yield Team(ws, tmp_path)
    ws.close()
