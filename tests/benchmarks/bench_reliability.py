"""Reliability under SIGKILL (run as a script, not collected by pytest).

    python tests/benchmarks/bench_reliability.py [--trials 8] [--items 20000] [--seed 1]

Starts real `labeldesk` processes and kills them (SIGKILL, no chance to clean up) at
random moments, then looks at what they left:

* import of --items rows: the project holds all of them or none (one transaction), the
  SQLite file passes `PRAGMA integrity_check`;
* export to a file and to a package: the target is absent or complete (every line a
  record, all of them), never half-written;
* labelling through the scripting API: every submission the process had reported done
  before it died is in the database (durability), and no item has more assignments
  than its overlap;
* debris: temporaries beside the targets (`.*labeldesk-*`, `.*.tmp*`) and in the private
  $TMPDIR (`labeldesk-*`), after the kill and again after the next run of the same
  command, which should sweep what a dead run of its own left behind.

Prints one line per trial and a summary; exits 1 when anything was lost or half-written.
Debris after the kill is expected (nothing runs on SIGKILL); debris after the next run is
a finding.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

LABELDESK = [sys.executable, "-m", "labeldesk"]
# what our temporaries beside a target are called, today and by earlier versions
DEBRIS_MARKS = ("labeldesk-", ".tmp", ".package-")


@dataclass
class Findings:
    lost: list[str] = field(default_factory=list)
    debris_after_next_run: list[str] = field(default_factory=list)
    debris_after_kill: int = 0
    trials: int = 0

    def line(self, kind: str, trial: int, at: float, note: str) -> None:
        self.trials += 1
        print(f"{kind:<8} trial {trial:>2}: killed at {at:5.2f} s: {note}")


def _env(home: Path) -> dict[str, str]:
    tmp = home / "tmp"
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp), "LABELDESK_WORKSPACE": str(home / "ws"), "QT_QPA_PLATFORM": "offscreen"}


def _debris(home: Path, targets: list[Path]) -> list[str]:
    found = [p.name for p in (home / "tmp").iterdir() if p.name.startswith("labeldesk")]
    for target in targets:
        found += [p.name for p in target.parent.iterdir()
                  if p != target and p.name.startswith(".") and any(mark in p.name for mark in DEBRIS_MARKS)]
    return sorted(found)


def _integrity(home: Path) -> str:
    with sqlite3.connect(home / "ws" / "workspace.db") as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def _count(home: Path, sql: str) -> int:
    with sqlite3.connect(home / "ws" / "workspace.db") as conn:
        return conn.execute(sql).fetchone()[0]


def _killed(cmd: list[str], env: dict[str, str], at: float, cwd: Path) -> bool:
    """Run `cmd`, SIGKILL it after `at` seconds; False when it had already finished."""
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=at)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def _rows(n: int) -> str:
    return "".join(json.dumps({"id": f"q{i}", "kind": "instruction",
                               "messages": [{"role": "user", "content": f"Question {i}: " + "lorem ipsum " * 20}]}) + "\n"
                   for i in range(n))


def _fresh(root: Path, name: str, items: int, imported: bool) -> tuple[Path, dict[str, str]]:
    home = root / name
    home.mkdir()
    env = _env(home)
    subprocess.run([*LABELDESK, "init", str(home / "ws")], env=env, check=True, capture_output=True)
    subprocess.run([*LABELDESK, "project", "create", "qa", "--kind", "instruction"], env=env, check=True, capture_output=True)
    (home / "items.jsonl").write_text(_rows(items))
    if imported:
        subprocess.run([*LABELDESK, "import", str(home / "items.jsonl"), "--project", "qa"], env=env, check=True,
                       capture_output=True)
    return home, env


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.monotonic()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, capture_output=True)
    return time.monotonic() - start


def _moment(rng: random.Random, duration: float) -> float:
    """A kill time inside the command's own run (start-up included), from one unkilled run of it."""
    return rng.uniform(0.15, 0.95) * duration


def calibrate(root: Path, items: int) -> dict[str, float]:
    home, env = _fresh(root, "calibration", items, imported=False)
    durations = {"import": _timed([*LABELDESK, "import", str(home / "items.jsonl"), "--project", "qa"], env, home)}
    durations["export"] = _timed([*LABELDESK, "export", "--project", "qa", "--package", str(home / "pkg")], env, home)
    print(f"calibration: import {durations['import']:.2f} s, export {durations['export']:.2f} s for {items} items")
    return durations


def trial_import(root: Path, trial: int, items: int, rng: random.Random, found: Findings, duration: float) -> None:
    home, env = _fresh(root, f"import-{trial}", items, imported=False)
    at = _moment(rng, duration)
    cmd = [*LABELDESK, "import", str(home / "items.jsonl"), "--project", "qa"]
    if not _killed(cmd, env, at, home):
        found.line("import", trial, at, "finished before the kill")
        return
    stored = _count(home, "SELECT COUNT(*) FROM items")
    integrity = _integrity(home)
    if stored not in (0, items) or integrity != "ok":
        found.lost.append(f"import {trial}: {stored} of {items} items stored, integrity {integrity}")
    after_kill = _debris(home, [])
    found.debris_after_kill += len(after_kill)
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    left = _debris(home, [])
    found.debris_after_next_run += [f"import {trial}: {name}" for name in left]
    found.line("import", trial, at, f"{stored} of {items} stored, integrity {integrity}, "
                                    f"debris {len(after_kill)} after the kill, {len(left)} after the next run")


def _complete_export(path: Path, items: int) -> str:
    if not path.exists():
        return "absent"
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        ok = len(lines) == items and all(json.loads(line)["schema"] == "labeldesk/record@1" for line in lines)
    except (ValueError, KeyError):
        ok = False
    return "complete" if ok else f"HALF-WRITTEN ({len(lines)} lines)"


def trial_export(root: Path, trial: int, items: int, rng: random.Random, found: Findings, duration: float) -> None:
    home, env = _fresh(root, f"export-{trial}", items, imported=True)
    package = rng.random() < 0.5
    target = home / "out" / ("pkg" if package else "records.jsonl")
    target.parent.mkdir()
    cmd = [*LABELDESK, "export", "--project", "qa", *(("--package", str(target)) if package else ("--out", str(target)))]
    at = _moment(rng, duration)
    if not _killed(cmd, env, at, home):
        found.line("export", trial, at, "finished before the kill")
        return
    state = _complete_export(target / "data" / "records.jsonl" if package else target, items)
    if package and target.exists() and not (target / "manifest.json").exists():
        state = "HALF-WRITTEN (no manifest)"
    if state.startswith("HALF"):
        found.lost.append(f"export {trial}: {state}")
    after_kill = _debris(home, [target])
    found.debris_after_kill += len(after_kill)
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    left = _debris(home, [target])
    found.debris_after_next_run += [f"export {trial}: {name}" for name in left]
    kind = "package" if package else "file"
    found.line("export", trial, at, f"{kind} {state}, debris {len(after_kill)} after the kill, {len(left)} after the next run")


LABELLER = textwrap.dedent("""
    import sys, labeldesk
    ws = labeldesk.open_workspace(sys.argv[1])
    me = labeldesk.sign_in(ws)
    labeldesk.acknowledge(ws, me, "qa", 1)
    while (task := labeldesk.next_task(ws, me, "qa")) is not None:
        values = {"reference": "answer to " + task.uid, "quality": 3}
        labeldesk.submit(ws, me, task, values, seconds=1.0)
        print(task.uid, flush=True)  # only after submit returned: the submission must survive a kill now
""")


def trial_labelling(root: Path, trial: int, items: int, rng: random.Random, found: Findings) -> None:
    home, env = _fresh(root, f"label-{trial}", min(items, 2000), imported=True)
    at = rng.uniform(1.5, 6.0)
    proc = subprocess.Popen([sys.executable, "-c", LABELLER, str(home / "ws")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    reported: list[str] = []
    reader = threading.Thread(target=lambda: reported.extend(line.strip() for line in proc.stdout), daemon=True)
    reader.start()
    time.sleep(at)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join(timeout=5)
    with sqlite3.connect(home / "ws" / "workspace.db") as conn:
        stored = {uid for (uid,) in conn.execute(
            "SELECT i.uid FROM annotations a JOIN items i ON i.id = a.item_id WHERE a.status = 'submitted'")}
        over = conn.execute("SELECT COUNT(*) FROM items i JOIN projects p ON p.id = i.project_id "
                            "WHERE (SELECT COUNT(*) FROM assignments s WHERE s.item_id = i.id) > p.overlap").fetchone()[0]
    missing = [uid for uid in reported if uid not in stored]
    if missing or over:
        found.lost.append(f"labelling {trial}: {len(missing)} reported submissions missing, {over} items over overlap")
    found.line("label", trial, at, f"{len(reported)} submissions reported, {len(stored)} stored, "
                                   f"{len(missing)} missing, {over} over overlap, integrity {_integrity(home)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8, help="trials of each kind")
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    found = Findings()
    with tempfile.TemporaryDirectory(prefix="labeldesk-reliability-") as tmp:
        root = Path(tmp)
        durations = calibrate(root, args.items)
        for trial in range(args.trials):
            trial_import(root, trial, args.items, rng, found, durations["import"])
            trial_export(root, trial, args.items, rng, found, durations["export"])
            trial_labelling(root, trial, args.items, rng, found)
    print(f"\n{found.trials} trials: {len(found.lost)} lost or half-written, "
          f"{found.debris_after_kill} temporaries left by the kills, "
          f"{len(found.debris_after_next_run)} still there after the next run")
    for line in found.lost + found.debris_after_next_run:
        print(f"  finding: {line}")
    return 1 if found.lost or found.debris_after_next_run else 0


if __name__ == "__main__":
    sys.exit(main())
