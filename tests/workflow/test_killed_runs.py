"""Imports and exports killed with SIGKILL mid-way leave temporaries; the next run sweeps them, and only them.

Real `labeldesk` processes on inputs large enough to be caught at work: the test waits for
the temporary to appear (and, for exports, to grow), kills the process, checks the debris
is there, runs the same command again and checks nothing is left but its result.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from labeldesk.app.workflow.accounts import local_actor
from labeldesk.app.workflow.importer import import_files
from labeldesk.app.workflow.projects import create_project
from labeldesk.storage.db import Workspace
from labeldesk.storage.files import MARK

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and advisory locks are POSIX")

ITEMS = 40_000
HOST = "".join(c for c in socket.gethostname() if c.isalnum())[:24] or "host"


def _rows(n: int, prefix: str = "i") -> str:
    text = "Explain the trade-offs of approach {} in two careful paragraphs, with an example. "
    return "".join(json.dumps({"id": f"{prefix}{i}", "messages": [{"role": "user", "content": text.format(i) * 4}]}) + "\n"
                   for i in range(n))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose project `p` holds ITEMS items: seconds of export work."""
    folder = tmp_path_factory.mktemp("big")
    ws = Workspace.open(folder / "ws", create=True)
    lead = local_actor(ws)
    create_project(ws, lead, "p", "instruction")
    src = folder / "items.jsonl"
    src.write_text(_rows(ITEMS))
    import_files(ws, lead, "p", [src])
    ws.close()
    return folder / "ws"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of the runs: their own temporary folder, to look into afterwards."""
    (tmp_path / "tmpdir").mkdir()
    return {**os.environ, "TMPDIR": str(tmp_path / "tmpdir")}


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "labeldesk", *args]


def _killed_when(args: list[str], env: dict[str, str], ready: Callable[[], bool], **popen) -> None:
    """Start `args`, SIGKILL it as soon as `ready()` holds; fail if it finished first."""
    proc = subprocess.Popen(_command(*args), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen)
    deadline = time.monotonic() + 120
    while not ready():
        assert proc.poll() is None, f"finished before it could be killed: {proc.stderr.read().decode()}"
        assert time.monotonic() < deadline, "never got there"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()  # reaped: its PID is not alive any more
    proc.stderr.close()


def _ours(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if MARK in p.name)


def _run(args: list[str], env: dict[str, str], **kwargs) -> None:
    done = subprocess.run(_command(*args), env=env, capture_output=True, timeout=300, **kwargs)
    assert done.returncode == 0, done.stderr.decode()


def _grown(folder: Path, pattern: str) -> Callable[[], bool]:
    return lambda: any(p.stat().st_size > 0 for p in folder.glob(pattern))


def test_a_killed_export_leaves_its_temporary_and_the_next_export_sweeps_it(big: Path, env, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    args = ["export", "-w", str(big), "--project", "p", "--out", str(out / "records.jsonl")]
    _killed_when(args, env, _grown(out, f".records.{MARK}-*.tmp.jsonl"))
    assert len(list(out.glob(f".records.{MARK}-{HOST}-*.tmp.jsonl"))) == 1 and not (out / "records.jsonl").exists()
    _run(args, env)
    assert sorted(p.name for p in out.iterdir()) == ["records.jsonl"]
    assert len((out / "records.jsonl").read_bytes().splitlines()) == ITEMS
    assert _ours(tmp_path / "tmpdir") == []


def test_a_killed_package_export_leaves_its_folder_and_the_next_one_sweeps_it(big: Path, env, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    args = ["export", "-w", str(big), "--project", "p", "--package", str(out / "pkg"), "--views", "sft"]
    _killed_when(args, env, lambda: any(out.glob(f".{MARK}-package-*")))
    assert [name.split("-")[:2] for name in _ours(out)] == [[f".{MARK}", "package"]]
    _run(args, env)
    assert sorted(p.name for p in out.iterdir()) == ["pkg"]
    assert (out / "pkg" / "manifest.json").exists()


def test_a_killed_zip_import_leaves_its_unpacked_files_and_the_next_import_sweeps_them(big: Path, env, tmp_path: Path) -> None:
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("data/records.jsonl", _rows(ITEMS, "z"))
    tmpdir = Path(env["TMPDIR"])
    args = ["import", str(archive), "-w", str(big), "--project", "p"]
    _killed_when(args, env, _grown(tmpdir, f"{MARK}-import-*/**/*.jsonl"))
    assert [name.split("-")[:2] for name in _ours(tmpdir)] == [[MARK, "import"]]
    _run(args, env)
    assert _ours(tmpdir) == []


def test_a_killed_stdin_import_leaves_its_spool_and_the_next_one_sweeps_it(big: Path, env, tmp_path: Path) -> None:
    tmpdir = Path(env["TMPDIR"])
    args = ["import", "-", "-w", str(big), "--project", "p"]
    # standard input is held open and empty: the process waits in its spool folder
    reader, writer = os.pipe()
    try:
        _killed_when(args, env, lambda: any(tmpdir.glob(f"{MARK}-stdin-*")), stdin=reader)
    finally:
        os.close(reader)
        os.close(writer)
    assert len(_ours(tmpdir)) == 1
    src = tmp_path / "one.jsonl"
    src.write_text(_rows(1, "s"))
    with src.open("rb") as stdin:
        _run(args, env, stdin=stdin)
    assert _ours(tmpdir) == []


def _hold(kind: str, env: dict[str, str]) -> subprocess.Popen:
    """A live process holding a scratch folder of `kind` in $TMPDIR until killed."""
    code = ("import sys, time\nfrom labeldesk.storage.files import scratch_dir\n"
            f"with scratch_dir({kind!r}) as d:\n    print(d, flush=True)\n    time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()
    return proc


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_provably_dead_temporaries_are_swept(big: Path, env, tmp_path: Path) -> None:
    tmpdir = Path(env["TMPDIR"])
    holder = _hold("import", env)
    try:
        dead, day = _dead_pid(), 24 * 3600
        planted = {
            f"{MARK}-import-{HOST}-{dead}-deadbeef": True,  # this host, process gone: swept
            f"{MARK}-import-elsewhere-{dead}-fresh123": False,  # another host's, recent: may be alive there
            f"{MARK}-import-elsewhere-{dead}-old45678": True,  # another host's, over a day, unlocked: swept
            f"{MARK}-import-{HOST}-{os.getpid()}-mine1234": False,  # this test process: alive
            f"{MARK}-import-notours": False,  # not our name
            f"{MARK}-export-{HOST}-{dead}-otherkind": False,  # another command's: its own run sweeps it
        }
        for name in planted:
            (tmpdir / name).mkdir()
        old = time.time() - 2 * day
        os.utime(tmpdir / f"{MARK}-import-elsewhere-{dead}-old45678", (old, old))
        src = tmp_path / "one.jsonl"
        src.write_text(_rows(1, "x"))
        live = set(_ours(tmpdir)) - set(planted)
        for name in live:  # over a day old as well: its lock is what protects it then
            os.utime(tmpdir / name, (old, old))
        _run(["import", str(src), "-w", str(big), "--project", "p"], env)
        left = set(_ours(tmpdir))
        assert live <= left, "a live process's folder is never taken"
        assert left - live == {name for name, swept in planted.items() if not swept}
    finally:
        holder.kill()
        holder.wait()
    _run(["import", str(src), "-w", str(big), "--project", "p"], env)
    assert not live & set(_ours(tmpdir)), "once its process is gone it is swept too"
