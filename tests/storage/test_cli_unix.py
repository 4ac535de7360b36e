"""The command line behaves like a Unix tool: fast help, pipes, stdin/stdout, one-line errors, no echoed secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sqlalchemy", "alembic", "av", "numpy", "PySide6", "cv2", "pyarrow", "argon2")


def run(*args: str, workspace: Path | None = None, stdin: bytes | None = None, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    if workspace is not None:
        full_env["LABELDESK_WORKSPACE"] = str(workspace)
    proc = subprocess.run([sys.executable, "-m", "labeldesk", *args], input=stdin, capture_output=True, env=full_env,
                          timeout=180)
    if check and proc.returncode != 0:
        raise AssertionError(f"labeldesk {' '.join(args)} exited {proc.returncode}:\n{proc.stderr.decode()}")
    return proc


def lines(count: int, prefix: str = "q") -> bytes:
    rows = [{"id": f"{prefix}{i}", "kind": "instruction", "messages": [{"role": "user", "content": f"Question {i}: " + "x" * 80}]}
            for i in range(count)]
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    run("init", str(path))
    run("project", "create", "Q&A · Übersicht", "--kind", "instruction", workspace=path)
    return path


def _modules_after(argv: list[str]) -> list[str]:
    code = ("import sys\nfrom labeldesk.app.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return json.loads(proc.stderr.strip().splitlines()[-1].replace("'", '"'))


def test_help_and_version_load_no_database_decoder_or_qt() -> None:
    assert _modules_after(["--help"]) == []
    assert _modules_after(["export", "--help"]) == []
    assert _modules_after(["--version"]) == []


def test_project_list_of_a_personal_workspace_loads_not_even_sqlalchemy(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELDESK_WORKSPACE", str(ws))
    assert _modules_after(["project", "list"]) == []
    assert _modules_after(["project", "list", "--json"]) == []


def test_the_fast_catalogue_equals_the_full_one(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labeldesk.app.workflow.projects import list_projects
    from labeldesk.storage.catalog import read_personal_catalog
    from labeldesk.storage.db import Workspace

    run("import", "-", "--project", "q-a-ubersicht", workspace=ws, stdin=lines(4))
    run("project", "create", "second", "--kind", "preference", workspace=ws)
    opened = Workspace.open(ws)
    assert read_personal_catalog(ws) == list_projects(opened)
    monkeypatch.setenv("LABELDESK_WORKSPACE", str(ws))
    assert read_personal_catalog(None) == list_projects(opened)


def test_project_list_of_an_older_workspace_takes_the_full_path_and_upgrades_it(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import text

    from labeldesk.storage.db import SCHEMA_HEAD, Workspace, make_engine, resolve_location
    from labeldesk.storage.migrate import alembic_config

    path = tmp_path / "old"
    path.mkdir()
    location = resolve_location(path)
    cfg = alembic_config(location.url)
    with make_engine(location).begin() as conn:  # a workspace as the first release left it
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    listing = json.loads(run("project", "list", "--json", workspace=path).stdout)
    assert listing == []
    with Workspace.open(path).engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_HEAD


def test_version_is_the_package_version() -> None:
    import labeldesk

    assert run("--version").stdout.decode().strip() == f"labeldesk {labeldesk.__version__}"


def test_an_unknown_option_is_named_but_its_value_is_never_echoed(ws: Path) -> None:
    for args in (("project", "list", "--password", "SECRET-1"), ("project", "list", "--password=SECRET-1"),
                 ("export", "--project", "x", "--tokn", "SECRET-1")):
        proc = run(*args, workspace=ws, check=False)
        err = proc.stderr.decode()
        assert proc.returncode == 2 and "SECRET-1" not in err + proc.stdout.decode()
        assert "--password" in err or "--tokn" in err


def test_abbreviated_options_are_not_guessed(ws: Path) -> None:
    proc = run("users", "add", "ana", "--role", "annotator", "--password", workspace=ws, check=False)
    assert proc.returncode == 2 and b"--password" in proc.stderr


def test_piped_tables_are_whole_and_projects_answer_to_ascii_slugs(ws: Path) -> None:
    long_name = "A project whose name is much longer than any terminal is wide " * 3
    run("project", "create", long_name.strip(), "--kind", "instruction", workspace=ws)
    listing = run("project", "list", workspace=ws).stdout.decode()
    assert long_name.strip() in listing and "q-a-ubersicht" in listing
    shown = json.loads(run("project", "show", "q-a-ubersicht", "--json", workspace=ws).stdout)
    assert shown["name"] == "Q&A · Übersicht" and shown["slug"] == "q-a-ubersicht"


def test_a_slug_shared_by_two_projects_asks_for_the_full_name(ws: Path) -> None:
    run("project", "create", "Q&A Übersicht", "--kind", "instruction", workspace=ws)
    proc = run("project", "show", "q-a-ubersicht", workspace=ws, check=False)
    assert proc.returncode == 1 and b"several projects" in proc.stderr


def test_import_reads_stdin_and_export_writes_stdout(ws: Path) -> None:
    report = json.loads(run("import", "-", "--project", "q-a-ubersicht", "--json", workspace=ws, stdin=lines(5)).stdout)
    assert report["imported"] == 5
    csv = "prompt\nfrom csv one\nfrom csv two\n".encode()
    report = json.loads(run("import", "-", "--project", "q-a-ubersicht", "--format", "csv", "--json",
                            workspace=ws, stdin=csv).stdout)
    assert report["imported"] == 2
    exported = run("export", "--project", "q-a-ubersicht", "--out", "-", workspace=ws)
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(records) == 7 and all(r["schema"] == "labeldesk/record@1" for r in records)
    assert b"stdout" in exported.stderr  # the summary goes to stderr, never into the data


def test_errors_in_stdin_name_the_line_on_one_line_of_stderr(ws: Path) -> None:
    bad = lines(2) + b'{"id": "broken", "kind": "instruction", "messages": [\n'
    proc = run("import", "-", "--project", "q-a-ubersicht", workspace=ws, stdin=bad, check=False)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "stdin.jsonl:3" in err
    assert err.count("\n") == 1 and len(err) > 80  # one line, not wrapped at the 80 columns rich would guess


def test_a_closed_pipe_ends_quietly(ws: Path) -> None:
    run("import", "-", "--project", "q-a-ubersicht", workspace=ws, stdin=lines(3000))
    env = {**os.environ, "LABELDESK_WORKSPACE": str(ws)}
    proc = subprocess.Popen([sys.executable, "-m", "labeldesk", "export", "--project", "q-a-ubersicht", "--out", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert json.loads(first)["id"] == "q0"
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_json_on_init_demo_guidelines_and_route(tmp_path: Path, ws: Path) -> None:
    made = json.loads(run("init", str(tmp_path / "other"), "--json").stdout)
    assert made == {"workspace": str(tmp_path / "other"), "projects": []}
    assert (tmp_path / "other" / "cache").is_dir() and (tmp_path / "other" / "media").is_dir()

    demo = json.loads(run("demo", "--no-gui", "--json", env={"XDG_DATA_HOME": str(tmp_path / "xdg")}).stdout)
    assert demo["workspace"] == str(tmp_path / "xdg" / "labeldesk" / "demo") and len(demo["created"]) == 7

    rules = tmp_path / "rules.md"
    rules.write_text("# Be kind\n")
    published = json.loads(run("guidelines", "--project", "q-a-ubersicht", "--publish", str(rules), "--json", workspace=ws).stdout)
    assert published["version"] == 2
    shown = json.loads(run("guidelines", "--project", "q-a-ubersicht", "--json", workspace=ws).stdout)
    assert shown == {"project": "q-a-ubersicht", "version": 2, "text": "# Be kind\n"}
    from_stdin = json.loads(run("guidelines", "--project", "q-a-ubersicht", "--publish", "-", "--json", workspace=ws,
                                stdin=b"# v3\n").stdout)
    assert from_stdin["version"] == 3

    run("import", "-", "--project", "q-a-ubersicht", workspace=ws, stdin=lines(2))
    routed = json.loads(run("route", "--project", "q-a-ubersicht", "--domain", "medical", "--json", workspace=ws).stdout)
    assert routed == {"project": "q-a-ubersicht", "routed": 2}


def test_a_bug_is_one_line_for_the_user_and_a_traceback_in_a_crash_file(tmp_path: Path) -> None:
    code = ("import sys\nimport labeldesk.app.commands.catalog as c\nfrom labeldesk.app.cli import main\n"
            "def broken(args):\n    raise RuntimeError('x' * 500)\n"
            "c.cmd_project_list = broken\nsys.exit(main(['project', 'list']))")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 70 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "internal error (RuntimeError: " + "x" * 80 + ")" in proc.stderr
    [crash] = (tmp_path / "state").rglob("crash-*.txt")
    assert "Traceback" in crash.read_text() and "broken" in crash.read_text() and str(crash) in proc.stderr
