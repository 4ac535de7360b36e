"""`labeldesk clean`, `labeldesk clean-review` and `labeldesk import --clean` as real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labeldesk.app.workflow.accounts import local_actor
from labeldesk.app.workflow.importer import import_files
from labeldesk.app.workflow.projects import create_project
from labeldesk.storage.db import Workspace

from .conftest import EVAL_TEXT, PLANTED, chat, labeldesk, stored, words, write_jsonl


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace with an evaluation set and an empty training project (set up in-process: faster)."""
    path = tmp_path / "ws"
    workspace = Workspace.open(path, create=True)
    lead = local_actor(workspace)  # the same local lead the commands act as
    create_project(workspace, lead, "evalset", "conversation")
    create_project(workspace, lead, "train", "conversation")
    import_files(workspace, lead, "evalset", [write_jsonl(tmp_path / "eval.jsonl", [chat("e1", EVAL_TEXT)])])
    workspace.close()
    return path


def items_of(path: Path, project: str) -> dict:
    workspace = Workspace.open(path)
    try:
        return stored(workspace, project)
    finally:
        workspace.close()


def test_clean_dry_run_reports_then_cleans(ws: Path, tmp_path: Path) -> None:
    labeldesk("import", str(write_jsonl(tmp_path / "train.jsonl", PLANTED)), "--project", "train", workspace=ws)
    before = items_of(ws, "train")
    r = tmp_path / "reports"
    dry = labeldesk("clean", "--project", "train", "--dry-run", "--report", str(r / "c.json"), "--markdown", str(r / "c.md"),
                    "--html", str(r / "c.html"), workspace=ws)
    assert "dry run of train: 8 item(s) looked at, 2 changed, 3 removed, 1 sent to review; nothing was written" in " ".join(dry.stderr.split())
    assert "duplicate.reference" in dry.stdout  # the table of rules
    assert items_of(ws, "train") == before
    report = json.loads((r / "c.json").read_text())
    assert report["applied"] is False and report["report"]["items"]["removed"] == 3
    assert "| `leak` | remove | duplicate.reference | evalset/e1 |" in (r / "c.md").read_text()
    assert (r / "c.html").read_text().startswith("<!DOCTYPE html>")

    done = json.loads(labeldesk("clean", "--project", "train", "--json", workspace=ws).stdout)
    assert done["applied"] and done["decisions"] == {"removed": 3, "review": 1, "changed": 2}
    held = json.loads(labeldesk("clean-review", "--project", "train", "--json", workspace=ws).stdout)
    assert held == [{"id": "inject", "decision": "review", "rules": ["filter.injection"], "changed": False}]
    labeldesk("clean-review", "--project", "train", "--keep", "inject", workspace=ws)
    again = json.loads(labeldesk("clean", "--project", "train", "--json", workspace=ws).stdout)
    assert again["items"] == [] and again["skipped"] == {"removed": 3}
    assert items_of(ws, "train")["inject"]["status"] == "open"


def test_import_with_clean_and_config(ws: Path, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "train.jsonl", PLANTED)
    config = tmp_path / "clean.yaml"
    config.write_text("actions:\n  pii.email: flag\n  duplicate.near: off\n")
    out = json.loads(labeldesk("import", str(src), "--project", "train", "--clean-config", str(config), "--json",
                               workspace=ws).stdout)
    assert out["imported"] == 8 and out["clean"]["decisions"] == {"removed": 2, "review": 1, "changed": 2}
    items = items_of(ws, "train")
    assert "jane.roe@example.com" in items["pii"]["content"]["messages"][0]["content"]  # flagged, not redacted
    assert items["near"]["status"] == "open"
    again = labeldesk("import", str(src), "--project", "train", "--clean-config", str(config), workspace=ws)
    assert "(left alone: 8 already stored)" in " ".join(again.stderr.split())
    other = labeldesk("import", str(src), "--project", "train", "--clean", workspace=ws, check=False)
    assert other.returncode == 1 and "'pii' is stored already with different content" in other.stderr  # other cleaning


def test_errors_are_one_line(ws: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("colour: red\n")
    for args, message in (
        (("clean", "--project", "nope"), "no project named 'nope'"),
        (("clean", "--project", "train", "--config", "/no/such.yaml"), "No such file"),
        (("import", "x.jsonl", "--project", "train", "--clean-config", str(bad)), "unknown configuration key: colour"),
    ):
        result = labeldesk(*args, workspace=ws, check=False)
        assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr, result.stderr


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to see the worker processes start")
def test_ctrl_c_cancels_cleanly(ws: Path, tmp_path: Path) -> None:
    rows = [chat(f"r{i}", f"Mail r{i}@example.com " + words(120, i)) for i in range(6000)]
    labeldesk("import", str(write_jsonl(tmp_path / "many.jsonl", rows)), "--project", "train", workspace=ws)
    before = items_of(ws, "train")
    config = tmp_path / "parallel.yaml"
    config.write_text("run:\n  workers: 2\n  parallel_min_items: 0\n  chunk_size: 50\n")
    env = dict(os.environ, LABELDESK_WORKSPACE=str(ws))
    # a terminal's Ctrl+C signals the whole foreground process group: the command and its workers
    proc = subprocess.Popen([sys.executable, "-m", "labeldesk", "clean", "--project", "train", "--config", str(config),
                             "--report", str(tmp_path / "r.json")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not _children(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # the workers are cleaning
    workers = _children(proc.pid)
    assert proc.poll() is None and workers, "finished before it could be interrupted: make the project bigger"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "nothing half-written was kept" in err and "Traceback" not in err, err
    assert items_of(ws, "train") == before and not (tmp_path / "r.json").exists()
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in workers), "worker processes outlived the command"


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False
