"""`import labeldesk`: the scripting API does a lead's and an annotator's work end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import labeldesk
import labeldesk.app.api as api


def test_the_package_exports_exactly_the_api() -> None:
    assert labeldesk.__all__ == api.__all__
    assert all(getattr(labeldesk, name) is getattr(api, name) for name in api.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        labeldesk.nope  # noqa: B018


def test_importing_labeldesk_loads_nothing_heavy() -> None:
    code = "import sys, labeldesk; print([m for m in ('sqlalchemy', 'PySide6', 'numpy', 'av') if m in sys.modules])"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def write_items(path: Path) -> Path:
    rows = [{"id": f"q{i}", "kind": "instruction", "messages": [{"role": "user", "content": f"Question {i}?"}]} for i in range(3)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_a_script_imports_labels_and_exports(tmp_path: Path) -> None:
    ws = labeldesk.open_workspace(tmp_path / "ws", create=True)
    me = labeldesk.sign_in(ws)
    labeldesk.create_project(ws, me, "qa", "instruction")
    src = write_items(tmp_path / "items.jsonl")
    assert labeldesk.import_files(ws, me, "qa", [src]).imported == 3
    assert [p.name for p in labeldesk.list_projects(ws)] == ["qa"]

    with pytest.raises(labeldesk.GuidelinesChanged):
        labeldesk.next_task(ws, me, "qa")
    labeldesk.acknowledge(ws, me, "qa", 1)
    task = labeldesk.next_task(ws, me, "qa")
    assert task is not None
    labeldesk.submit(ws, me, task, {"reference": "An answer.", "category": "open-qa", "quality": 4}, seconds=12.5)

    annotated = list(labeldesk.iter_records(ws, "qa", include="annotated"))
    assert [r["id"] for r in annotated] == [task.uid]
    assert annotated[0]["annotations"][0]["seconds"] == 12.5
    summary = labeldesk.export(ws, "qa", "sft", tmp_path / "sft.jsonl", include="annotated", actor=me)
    rows = [json.loads(line) for line in (tmp_path / "sft.jsonl").read_text().splitlines()]
    assert summary.rows == 1 and rows[0]["messages"][-1] == {"role": "assistant", "content": "An answer."}


def test_the_readme_example_runs_as_written(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Scripting", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    write_items(tmp_path / "items.jsonl")
    env = {**os.environ, "HOME": str(tmp_path)}  # its workspace is ~/work/ws
    done = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "sft.jsonl").exists()
