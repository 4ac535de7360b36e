"""The `labeldesk` command as a user runs it: real processes, real files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def labeldesk(*args: str, workspace: Path | str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if workspace is not None:
        env["LABELDESK_WORKSPACE"] = str(workspace)
    result = subprocess.run([sys.executable, "-m", "labeldesk", *args], capture_output=True, text=True, env=env, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"labeldesk {' '.join(args)} failed:\n{result.stderr}")
    return result


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    labeldesk("init", str(path))
    return path


def test_lead_workflow_from_the_command_line(ws: Path, tmp_path: Path) -> None:
    labeldesk("project", "create", "prefs", "--kind", "preference", workspace=ws)
    src = tmp_path / "pairs.jsonl"
    src.write_text("".join(json.dumps({"prompt": f"q{i}", "chosen": "yes", "rejected": "no"}) + "\n" for i in range(5)))
    report = json.loads(labeldesk("import", str(src), "--project", "prefs", "--json", workspace=ws).stdout)
    assert (report["imported"], report["annotations"]) == (5, 5)
    again = json.loads(labeldesk("import", str(src), "--project", "prefs", "--json", workspace=ws).stdout)
    assert (again["imported"], again["unchanged"]) == (0, 5)

    listing = json.loads(labeldesk("project", "list", "--json", workspace=ws).stdout)
    assert listing[0]["name"] == "prefs" and listing[0]["items"] == 5 and listing[0]["annotated"] == 5
    shown = json.loads(labeldesk("project", "show", "prefs", "--json", workspace=ws).stdout)
    assert shown["config"]["kind"] == "preference"

    out = tmp_path / "dpo.jsonl"
    summary = json.loads(labeldesk("export", "--project", "prefs", "--format", "dpo", "--out", str(out), "--json", workspace=ws).stdout)
    assert summary["rows"] == 5
    assert json.loads(out.read_text().splitlines()[0])["chosen"] == [{"role": "assistant", "content": "yes"}]

    pkg = tmp_path / "pkg.zip"
    labeldesk("export", "--project", "prefs", "--package", str(pkg), "--views", "sft", "dpo", workspace=ws)
    assert pkg.stat().st_size > 0

    stats = json.loads(labeldesk("stats", "--project", "prefs", "--json", workspace=ws).stdout)
    assert stats["items"] == 5 and stats["annotators"][0]["annotator"] == "imported"


@pytest.mark.parametrize("args, message", [
    (("project", "show", "nope"), "no project named 'nope'"),
    (("project", "create", "x", "--kind", "preference", "--template", "/no/such.yaml"), "cannot read template"),
    (("export", "--project", "nope"), "no project named 'nope'"),
])
def test_errors_are_one_line_and_exit_non_zero(ws: Path, args: tuple[str, ...], message: str) -> None:
    result = labeldesk(*args, workspace=ws, check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_import_names_file_line_and_field(ws: Path, tmp_path: Path) -> None:
    labeldesk("project", "create", "chat", "--kind", "conversation", workspace=ws)
    bad = tmp_path / "chats.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "ok"}]}\n{"messages": [{"role": "user"}]}\n')
    result = labeldesk("import", str(bad), "--project", "chat", workspace=ws, check=False)
    assert result.returncode == 1
    assert "chats.jsonl:2: messages[0].content: missing" in result.stderr
    report = tmp_path / "skipped.json"
    ok = labeldesk("import", str(bad), "--project", "chat", "--skip-invalid", "--report", str(report), workspace=ws)
    assert "imported 1 item" in ok.stderr
    assert json.loads(report.read_text())["skipped"][0]["location"] == "chats.jsonl:2"


def test_missing_workspace_is_explained(tmp_path: Path) -> None:
    result = labeldesk("project", "list", workspace=tmp_path / "none", check=False)
    assert result.returncode == 1 and "labeldesk init" in result.stderr


def test_demo_workspace_has_every_kind(tmp_path: Path) -> None:
    labeldesk("demo", "--no-gui", "--workspace", str(tmp_path / "demo"))
    kinds = {p["kind"] for p in json.loads(labeldesk("project", "list", "--json", workspace=tmp_path / "demo").stdout)}
    assert kinds == {"instruction", "conversation", "preference", "safety", "evaluation"}
