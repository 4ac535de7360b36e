"""Next task, drafts, submit, skip, leases and overlap — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from labeldesk.app.workflow.importer import import_files
from labeldesk.app.workflow.permissions import Actor
from labeldesk.app.workflow.projects import create_project, publish_guidelines
from labeldesk.app.workflow.tasks import (
    GuidelinesChanged, TaskError, acknowledge, ensure_user, history, next_task, open_task, save_draft, skip, submit,
)
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Annotation, Assignment, Item


def make_project(ws: Workspace, lead: Actor, tmp_path: Path, n: int = 5, overlap: int = 1) -> str:
    template = tmp_path / "t.yaml"
    template.write_text(
        "kind: instruction\ntitle: t\n"
        f"overlap: {overlap}\nlease_minutes: 30\n"
        "questions:\n  - {name: reference, type: text}\n  - {name: quality, type: rating, min: 1, max: 5}\n"
    )
    create_project(ws, lead, "p", "instruction", template)
    src = tmp_path / "items.jsonl"
    src.write_text("".join(json.dumps({"id": f"i{i}", "messages": [{"role": "user", "content": f"q{i}"}]}) + "\n" for i in range(n)))
    import_files(ws, lead, "p", [src])
    return "p"


def annotator(ws: Workspace, lead: Actor, name: str) -> Actor:
    who = ensure_user(ws, lead, name)
    acknowledge(ws, who, "p", 1)
    return who


def test_next_task_draft_submit_history(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    make_project(workspace, lead, tmp_path)
    ann = annotator(workspace, lead, "ann")
    task = next_task(workspace, ann, "p")
    assert task.uid == "i0" and task.values == {}
    assert next_task(workspace, ann, "p").uid == "i0", "an unfinished lease comes back first"
    save_draft(workspace, ann, task.item_id, {"quality": 4}, 3.5)
    again = next_task(workspace, ann, "p")
    assert again.values == {"quality": 4} and again.active_seconds == 3.5
    submit(workspace, ann, task.item_id, {"quality": 5, "reference": "A"}, 7.0, task.guideline_version)
    assert next_task(workspace, ann, "p").uid == "i1"
    [entry] = history(workspace, ann, "p")
    assert (entry.uid, entry.reviewed, entry.preview) == ("i0", False, "q0")
    reopened = open_task(workspace, ann, "p", task.item_id)
    assert reopened.values == {"quality": 5, "reference": "A"} and reopened.status == "submitted"


def test_guidelines_must_be_acknowledged(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    make_project(workspace, lead, tmp_path)
    ann = ensure_user(workspace, lead, "ann")
    with pytest.raises(GuidelinesChanged) as info:
        next_task(workspace, ann, "p")
    assert info.value.version == 1
    acknowledge(workspace, ann, "p", 1)
    task = next_task(workspace, ann, "p")
    submit(workspace, ann, task.item_id, {"quality": 3}, 1.0, task.guideline_version)
    publish_guidelines(workspace, lead, "p", "# v2\nnew rule")
    with pytest.raises(GuidelinesChanged, match="version 2"):
        next_task(workspace, ann, "p")
    acknowledge(workspace, ann, "p", 2)
    assert next_task(workspace, ann, "p").guideline_version == 2


def test_overlap_is_never_exceeded(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    make_project(workspace, lead, tmp_path, n=2, overlap=2)
    users = [annotator(workspace, lead, f"a{i}") for i in range(3)]
    got = {u.name: next_task(workspace, u, "p").uid for u in users}
    assert got == {"a0": "i0", "a1": "i0", "a2": "i1"}
    with workspace.sessions() as s:
        assert s.scalar(select(Item.assigned_count).where(Item.uid == "i0")) == 2


def test_skip_needs_a_reason_and_frees_the_slot(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    make_project(workspace, lead, tmp_path, n=1, overlap=1)
    a, b = annotator(workspace, lead, "a"), annotator(workspace, lead, "b")
    task = next_task(workspace, a, "p")
    assert next_task(workspace, b, "p") is None
    with pytest.raises(TaskError, match="reason"):
        skip(workspace, a, task.item_id, " ")
    skip(workspace, a, task.item_id, "not my language")
    assert next_task(workspace, b, "p").uid == "i0"
    assert next_task(workspace, a, "p") is None, "a skipped item is not offered again"


def test_expired_leases_are_reclaimed(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    make_project(workspace, lead, tmp_path, n=1, overlap=1)
    a, b = annotator(workspace, lead, "a"), annotator(workspace, lead, "b")
    next_task(workspace, a, "p")
    with workspace.transaction() as s:
        s.execute(update(Assignment).values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    assert next_task(workspace, b, "p").uid == "i0"
    with workspace.sessions() as s:
        assert s.scalar(select(Assignment.status).where(Assignment.user_id == a.id)) == "expired"


def _pull_and_submit(spec: str, lead: Actor, name: str, rounds: int, queue) -> None:
    ws = Workspace.open(spec)
    who = ensure_user(ws, lead, name)
    acknowledge(ws, who, "p", 1)
    done = []
    for _ in range(rounds):
        task = next_task(ws, who, "p")
        if task is None:
            break
        submit(ws, who, task.item_id, {"quality": 3}, 1.0, task.guideline_version)
        done.append(task.uid)
    queue.put((name, done))


def test_concurrent_annotators_in_processes(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    """Four processes pull and submit at once: no item past its overlap, nothing lost or doubled."""
    make_project(workspace, lead, tmp_path, n=30, overlap=2)
    spec = workspace.location.url if not workspace.location.is_sqlite else str(workspace.location.folder)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_pull_and_submit, args=(spec, lead, f"w{i}", 40, queue)) for i in range(4)]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    total = sum(len(v) for v in results.values())
    assert total == 60, "every slot of every item filled exactly once"
    for done in results.values():
        assert len(done) == len(set(done)), "nobody gets the same item twice"
    with workspace.sessions() as s:
        per_item = s.execute(select(Annotation.item_id, func.count()).where(Annotation.status == "submitted").group_by(Annotation.item_id)).all()
        assert all(n == 2 for _, n in per_item) and len(per_item) == 30
        assert s.scalar(select(func.max(Item.assigned_count))) == 2
