"""Team figures and the command line: users, assign, review, agreement, aggregate, stats --csv."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson

from labeldesk.app.cli import main
from labeldesk.app.workflow import stats
from labeldesk.storage.db import Workspace


def test_team_figures(sqlite_team, tmp_path: Path) -> None:
    team = sqlite_team
    rows = []
    for i in range(4):
        day = "2026-11-02" if i < 2 else "2026-11-03"
        rows.append({"id": f"i{i}", "messages": [{"role": "user", "content": f"q{i}"}], "annotations": [
            {"annotator": "fast", "values": {"label": "a"}, "seconds": 30.0, "submitted_at": f"{day}T09:00:00Z"},
            {"annotator": "slow", "values": {"label": "a" if i % 2 else "b"}, "seconds": 90.0 + i, "submitted_at": f"{day}T10:00:00Z"},
        ]})
    rows.append({"id": "open", "messages": [{"role": "user", "content": "nobody yet"}]})
    team.project("p", rows=rows, overlap=2)
    figures = stats.team_figures(team.ws, team.lead, "p")
    p = figures.progress
    assert (p.items, p.annotated, p.complete, p.submissions, p.progress) == (5, 4, 4, 8, 0.8)
    by = {a.annotator: a for a in figures.annotators}
    assert by["fast"].items_per_hour == 120.0 and by["fast"].seconds_per_task == 30.0
    assert by["slow"].median_seconds == 91.5 and by["slow"].active_seconds == 366.0
    assert by["fast"].consensus_accuracy == 1.0  # ties go to the first option, `a`
    assert by["slow"].consensus_accuracy == 0.5
    assert [(d.day.isoformat(), d.submissions, d.annotators) for d in figures.days] == [("2026-11-02", 4, 2), ("2026-11-03", 4, 2)]
    assert {(pt.day.isoformat(), pt.annotator, pt.consensus_accuracy) for pt in figures.agreement} == {
        ("2026-11-02", "fast", 1.0), ("2026-11-02", "slow", 0.5), ("2026-11-03", "fast", 1.0), ("2026-11-03", "slow", 0.5)}
    assert figures.labels == {"label": {"a": 6, "b": 2}}

    n = stats.write_csv(figures, tmp_path / "team.csv")
    table = list(csv.DictReader((tmp_path / "team.csv").open()))
    assert len(table) == n and list(table[0]) == ["section", "annotator", "question", "day", "metric", "value"]
    assert {"section": "annotator", "annotator": "fast", "question": "", "day": "", "metric": "items_per_hour",
            "value": "120.0"} in table
    assert any(r["section"] == "agreement" and r["day"] == "2026-11-03" and r["annotator"] == "slow" for r in table)
    assert orjson.loads(orjson.dumps(figures.to_dict()))["submissions"] == 8


def run(capsys, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_on_a_personal_workspace(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "me")
    ws_dir = str(tmp_path / "ws")
    rows = [{"schema": "labeldesk/record@1", "kind": "instruction", "id": f"i{i}",
             "messages": [{"role": "user", "content": f"q{i}"}],
             "annotations": [{"annotator": "x", "values": {"category": "coding"}},
                             {"annotator": "y", "values": {"category": "coding" if i else "math"}}]} for i in range(3)]
    rows += [{"schema": "labeldesk/record@1", "kind": "instruction", "id": f"n{i}",
              "messages": [{"role": "user", "content": f"new {i}"}]} for i in range(3)]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    w = ("--workspace", ws_dir)
    assert run(capsys, "init", ws_dir)[0] == 0
    assert run(capsys, "project", "create", "p", "--kind", "instruction", *w)[0] == 0
    assert run(capsys, "import", str(src), "--project", "p", *w)[0] == 0
    code, _, err = run(capsys, "users", "add", "rev", "--role", "reviewer", "--domains", "code", *w)
    assert code == 0 and "created reviewer rev (domains code)" in err
    code, out, _ = run(capsys, "users", "list", "--json", *w)
    assert {u["name"]: u["role"] for u in orjson.loads(out)} == {"me": "lead", "rev": "reviewer", "x": "annotator", "y": "annotator"}
    code, _, err = run(capsys, "users", "list", "--user", "x", *w)
    assert code == 1 and "permission denied: annotator 'x' may not list users" in err

    # i0 is a tie (coding / math): escalated
    code, out, _ = run(capsys, "aggregate", "--project", "p", "--threshold", "0.9", "--out", str(tmp_path / "agg.jsonl"), "--json", *w)
    summary = orjson.loads(out)
    assert summary["threshold"] == 0.9 and summary["to_adjudicate"] == 1 and summary["written"] == 2
    code, out, _ = run(capsys, "adjudicate", "--project", "p", "--threshold", "0.9", "--json", *w)
    assert [e["item"] for e in orjson.loads(out)] == ["i0"]

    code, out, _ = run(capsys, "review", "--project", "p", "--json", "--user", "rev", *w)
    queue = orjson.loads(out)
    assert len(queue) == 6
    first = queue[0]["annotation"]
    assert run(capsys, "review", "--project", "p", "--accept", str(first), "--user", "rev", *w)[0] == 0
    code, _, err = run(capsys, "review", "--project", "p", "--reject", str(queue[1]["annotation"]), *w)
    assert code == 1 and "needs a reason" in err
    was = queue[1]["values"]["category"]
    now = "coding" if was == "math" else "math"
    code, out, _ = run(capsys, "review", "--project", "p", "--correct", str(queue[1]["annotation"]), "--values",
                       orjson.dumps({"category": now}).decode(), "--json", *w)
    assert orjson.loads(out)["changes"]["category"] == {"from": was, "to": now}

    code, out, _ = run(capsys, "agreement", "--project", "p", "--question", "category", "--json", "--user", "rev", *w)
    report = orjson.loads(out)
    assert report["questions"][0]["question"] == "category" and report["questions"][0]["items"] == 3
    code, _, err = run(capsys, "agreement", "--project", "p", "--user", "x", *w)
    assert code == 1 and "may not measure agreement" in err
    code, _, err = run(capsys, "export", "--project", "p", "--out", str(tmp_path / "x.jsonl"), "--user", "y", *w)
    assert code == 1 and "annotator 'y' may not export" in err and not (tmp_path / "x.jsonl").exists()


    code, _, err = run(capsys, "assign", "--project", "p", "--user", "rev", "--count", "2", *w)
    assert code == 0 and "assigned 2 item(s) of p to rev" in err
    code, _, err = run(capsys, "stats", "--project", "p", "--csv", str(tmp_path / "s.csv"), *w)
    assert code == 0 and (tmp_path / "s.csv").read_text().startswith("section,annotator,question,day,metric,value")
    code, out, _ = run(capsys, "stats", "--project", "p", *w)
    assert "3 complete (50%)" in out and "category: coding 5, math 1" in out
    code, _, err = run(capsys, "gold", "--project", "p", "--set", "i2", "--values", '{"category": "coding"}', "--rate", "0.2", *w)
    assert code == 0 and "1 gold item(s) changed" in err and "20%" in err
    code, out, _ = run(capsys, "gold", "--project", "p", "--clear", "i2", "--json", *w)
    assert code == 0 and orjson.loads(out) == {"project": "p", "changed": 1, "rate": None}


def test_cli_on_a_shared_workspace_signs_in(pg_url: str, tmp_path: Path, capsys, monkeypatch) -> None:
    Workspace.open(pg_url, create=True).close()
    w = ("--workspace", pg_url)
    monkeypatch.delenv("LABELDESK_PASSWORD", raising=False)
    code, _, err = run(capsys, "users", "list", *w)
    assert code == 1 and "needs a signed-in user" in err
    code, _, err = run(capsys, "users", "add", "boss", "--role", "lead", "--password-stdin", *w,
                       stdin="boss password\n", monkeypatch=monkeypatch)
    assert code == 0 and "first lead" in err
    code, _, err = run(capsys, "users", "add", "ann", "--role", "annotator", "--password-stdin", "--as", "boss", *w,
                       stdin="ann password\n", monkeypatch=monkeypatch)
    assert code == 1 and "needs a password" in err, "no terminal and no $LABELDESK_PASSWORD"
    monkeypatch.setenv("LABELDESK_PASSWORD", "boss password")
    assert run(capsys, "users", "add", "ann", "--role", "annotator", "--password-stdin", "--locales", "en", "--as", "boss",
               *w, stdin="ann password\n", monkeypatch=monkeypatch)[0] == 0
    monkeypatch.setenv("LABELDESK_PASSWORD", "not it")
    code, _, err = run(capsys, "users", "list", "--user", "ann", *w)
    assert code == 1 and "wrong name or password" in err
    monkeypatch.setenv("LABELDESK_PASSWORD", "ann password")
    code, _, err = run(capsys, "users", "list", "--user", "ann", *w)
    assert code == 1 and "annotator 'ann' may not list users" in err
