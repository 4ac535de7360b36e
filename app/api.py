"""The scripting API, re-exported as `labeldesk.*`: the operations the window and the command line use.

    import labeldesk

    ws = labeldesk.open_workspace("~/work/ws", create=True)
    me = labeldesk.sign_in(ws)                      # the local lead of a personal workspace
    labeldesk.create_project(ws, me, "prefs", "preference")
    labeldesk.import_files(ws, me, "prefs", ["pairs.jsonl"])
    labeldesk.acknowledge(ws, me, "prefs", 1)       # next_task raises GuidelinesChanged until then
    task = labeldesk.next_task(ws, me, "prefs")
    labeldesk.submit(ws, me, task, {"ranking": [...]})
    for record in labeldesk.iter_records(ws, "prefs", include="annotated"):
        ...
    labeldesk.export(ws, "prefs", "dpo", "dpo.jsonl", actor=me)

Every function that writes takes the acting user and checks their role itself, as in the
window (creating projects and importing are a lead's); errors are
ValueError / PermissionError subclasses whose message says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labeldesk.app.workflow import accounts, records, tasks
from labeldesk.app.workflow.export import ExportSummary, export as _export
from labeldesk.app.workflow.importer import ImportReport, import_files
from labeldesk.app.workflow.permissions import Actor
from labeldesk.app.workflow.projects import ProjectInfo, create_project, get_project, list_projects
from labeldesk.app.workflow.tasks import GuidelinesChanged, Task, acknowledge, next_task
from labeldesk.storage.db import Workspace

__all__ = [
    "Actor", "ExportSummary", "GuidelinesChanged", "ImportReport", "ProjectInfo", "Task", "Workspace",
    "acknowledge", "create_project", "export", "get_project", "import_files", "iter_records", "list_projects", "next_task",
    "open_workspace", "sign_in", "submit",
]


def open_workspace(location: str | os.PathLike[str], create: bool = False) -> Workspace:
    """A workspace folder, a `.db` file or a `postgresql://` URL; `create` makes (and migrates) it."""
    return Workspace.open(location, create=create)


def sign_in(ws: Workspace, name: str | None = None, password: str | None = None) -> Actor:
    """The acting user: `name` with its password, or (no name) the local lead of a personal workspace."""
    return accounts.local_actor(ws) if name is None else accounts.sign_in(ws, name, password)


def iter_records(ws: Workspace, project: str, include: str = "all") -> Iterator[dict[str, Any]]:
    """Every `labeldesk/record@1` of a project in id order (`include`: all, annotated or accepted)."""
    return records.iter_records(ws, get_project(ws, project), include)


def submit(ws: Workspace, who: Actor, task: Task, values: dict[str, Any], seconds: float = 0.0) -> None:
    """Submit the answers to a task from `next_task`, under the guideline version it was shown with."""
    tasks.submit(ws, who, task.item_id, values, seconds, task.guideline_version)


def export(
    ws: Workspace, project: str, fmt: str = "records", out: str | os.PathLike[str] | None = None,
    include: str = "all", pairing: str = "all", *, actor: Actor,
) -> ExportSummary:
    """Write records or a training view (sft, dpo, safety, eval, labelstudio, transcripts) to `out`."""
    return _export(ws, project, fmt, Path(out) if out is not None else None, include, pairing, actor=actor)
