"""The command line on a shared PostgreSQL workspace: nothing runs unsigned, a lead's commands refuse annotators.

The commands are read from the parser: every one that acts for someone has `--user/--as`
and an entry in SIGNED; the few without are listed in UNSIGNED with why.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from labeldesk import __version__
from labeldesk.app import cli
from labeldesk.app.commands.parser import ENV_PASSWORD, build_parser
from labeldesk.app.workflow.prepare import REVIEW
from labeldesk.app.workflow.review import review_queue
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Item

from .conftest import LEAD_PASSWORD, fingerprint, password_of

UNSIGNED = {
    "demo": "makes a personal workspace and acts as its local lead",
    "gui": "the window signs in itself",
    "project list": "reads", "project show": "reads",
    "media probe": "reads a file, no workspace", "media frame": "writes a PNG from a file, no workspace",
}

Argv = Callable[[dict[str, Any]], list[str]]

# every signed command, with arguments that would change data (or show a lead's data) if it ran
SIGNED: dict[str, Argv] = {
    "init": lambda w: ["init", w["url"], "--demo"],
    "project create": lambda w: ["project", "create", "new", "--kind", "instruction"],
    "guidelines": lambda w: ["guidelines", "--project", "p", "--publish", str(w["rules"]), "--note", "v2"],
    "import": lambda w: ["import", str(w["src"]), "--project", "p"],
    "export": lambda w: ["export", "--project", "p", "--out", str(w["out"] / "x.jsonl")],
    "users add": lambda w: ["users", "add", "newbie", "--role", "annotator"],
    "users set": lambda w: ["users", "set", "ann", "--role", "lead"],
    "users list": lambda w: ["users", "list"],
    "assign": lambda w: ["assign", "--project", "p", "--user", "ann", "--count", "1"],
    "route": lambda w: ["route", "--project", "p", "--domain", "medical"],
    "gold": lambda w: ["gold", "--project", "p", "--rate", "0.5"],
    "review": lambda w: ["review", "--project", "p", "--accept", str(w["submission"])],
    "adjudicate": lambda w: ["adjudicate", "--project", "p", "--item", "i0", "--values", '{"label": "c"}'],
    "agreement": lambda w: ["agreement", "--project", "p"],
    "aggregate": lambda w: ["aggregate", "--project", "p", "--out", str(w["out"] / "agg.jsonl")],
    "stats": lambda w: ["stats", "--project", "p", "--csv", str(w["out"] / "team.csv")],
    "clean": lambda w: ["clean", "--project", "p"],
    "clean --dry-run --report": lambda w: ["clean", "--project", "p", "--dry-run", "--report", str(w["out"] / "r.json")],
    "clean-review": lambda w: ["clean-review", "--project", "p"],
    "clean-review --remove": lambda w: ["clean-review", "--project", "p", "--remove", "held"],
}
# the lead's commands an annotator is refused, and the operation the refusal names
LEADS_ONLY = {
    "init": "create projects", "project create": "create projects", "guidelines": "publish guidelines",
    "import": "import data", "clean": "clean data", "clean --dry-run --report": "clean data",
    "clean-review": "clean data", "clean-review --remove": "clean data",
}


def _leaves(parser: argparse.ArgumentParser, prefix: str = "") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
    for action in subs:
        for name, sub in action.choices.items():
            yield from _leaves(sub, f"{prefix} {name}".strip())


def test_every_command_that_acts_for_someone_takes_the_user() -> None:
    commands = dict(_leaves(build_parser(__version__)))
    signed = {name for name, p in commands.items() if any(a.dest == "acting" for a in p._actions)}
    assert set(commands) - signed == set(UNSIGNED), "a new command: give it acting=ACTING (or list it in UNSIGNED)"
    assert {argv.split(" --")[0] for argv in SIGNED} == signed


@pytest.fixture
def shared(pg_url: str, tmp_path: Path, team_class, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A team server: a lead, an annotator, a project with submissions and an item cleaning holds."""
    ws = Workspace.open(pg_url, create=True)
    team = team_class(ws, tmp_path)
    team.user("ann")
    rows = [{"id": f"i{i}", "messages": [{"role": "user", "content": f"q{i}"}],
             "annotations": [{"annotator": "ann", "values": {"label": "a"}}]} for i in range(3)]
    team.project("p", rows=rows + [{"id": "held", "messages": [{"role": "user", "content": "held back"}]}])
    with ws.transaction() as s:
        s.execute(update(Item).where(Item.uid == "held").values(status=REVIEW))
    (tmp_path / "out").mkdir()
    (tmp_path / "rules.md").write_text("# v2\nCite a source.\n")
    (tmp_path / "more.jsonl").write_text('{"id": "new", "messages": [{"role": "user", "content": "new"}]}\n')
    monkeypatch.setenv("LABELDESK_WORKSPACE", pg_url)
    monkeypatch.delenv(ENV_PASSWORD, raising=False)
    submission = review_queue(ws, team.lead, "p")[0].annotation_id
    yield {"ws": ws, "url": pg_url, "out": tmp_path / "out", "rules": tmp_path / "rules.md", "src": tmp_path / "more.jsonl",
           "submission": submission}
    ws.close()


def _refusals(shared: dict[str, Any], capsys: pytest.CaptureFixture[str], argvs: dict[str, list[str]]) -> dict[str, str]:
    """Run each command in-process; each must exit 1 and change nothing. Returns their error lines."""
    errors = {}
    for name, argv in argvs.items():
        before = fingerprint(shared["ws"], shared["out"])
        code = cli.main(argv)
        errors[name] = capsys.readouterr().err
        assert code == 1, f"{name}: exit {code}: {errors[name]}"
        assert fingerprint(shared["ws"], shared["out"]) == before, f"{name}: a refused command changed something"
    return errors


@pytest.mark.postgres
def test_nothing_runs_unsigned_on_a_shared_workspace(shared, capsys) -> None:
    errors = _refusals(shared, capsys, {name: argv(shared) for name, argv in SIGNED.items()})
    wrong = {name: err for name, err in errors.items() if "needs a signed-in user: pass --user NAME" not in err}
    assert wrong == {}


@pytest.mark.postgres
def test_a_leads_commands_refuse_an_annotator(shared, capsys, monkeypatch) -> None:
    monkeypatch.setenv(ENV_PASSWORD, password_of("ann"))
    errors = _refusals(shared, capsys, {name: [*SIGNED[name](shared), "--user", "ann"] for name in LEADS_ONLY})
    wrong = {name: err for name, err in errors.items()
             if f"permission denied: annotator 'ann' may not {LEADS_ONLY[name]}" not in err}
    assert wrong == {}


@pytest.mark.postgres
def test_the_lead_signs_in_and_runs_them(shared, capsys, monkeypatch) -> None:
    monkeypatch.setenv(ENV_PASSWORD, LEAD_PASSWORD)
    for name in ("project create", "guidelines", "import", "clean --dry-run --report", "clean", "clean-review --remove"):
        assert cli.main([*SIGNED[name](shared), "--user", "lead"]) == 0, capsys.readouterr().err
    assert (shared["out"] / "r.json").exists()


@pytest.mark.postgres
def test_a_real_process_refuses_unsigned(shared) -> None:
    done = subprocess.run([sys.executable, "-m", "labeldesk", "clean", "--project", "p"], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert done.stderr == "labeldesk: error: a shared workspace needs a signed-in user: pass --user NAME\n"
