"""Start-up benchmark of the command line (run as a script, not collected by pytest).

    python tests/benchmarks/bench_startup.py [--runs 15]

Each command is a fresh process, timed wall clock, median of --runs runs, interleaved
with the floor so that the shared machine's noise hits both alike. The floor is the
bare interpreter, `python -c pass`. Goals (issue 9): `labeldesk --help` and
`labeldesk project list` (a workspace with the seven demo projects) within 0.3 s of
the floor. Prints each median, its difference to the floor and its ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 0.3


def _labeldesk() -> list[str]:
    """The console script a user runs, next to this interpreter (else `python -m labeldesk`)."""
    script = Path(sys.executable).with_name("labeldesk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "labeldesk"]


def _once(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - start


def measure(commands: dict[str, list[str]], runs: int, env: dict[str, str]) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(_once(cmd, env))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    tool = _labeldesk()
    workspace = Path(tempfile.mkdtemp(prefix="labeldesk-bench-startup-"))
    try:
        env = {**os.environ, "LABELDESK_WORKSPACE": str(workspace / "ws")}
        subprocess.run([*tool, "init", str(workspace / "ws"), "--demo"], env=env, check=True, stdout=subprocess.DEVNULL)
        commands = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            "python -c 'import labeldesk'": [sys.executable, "-c", "import labeldesk"],
            "labeldesk --help": [*tool, "--help"],
            "labeldesk --version": [*tool, "--version"],
            "labeldesk project list": [*tool, "project", "list"],
            "labeldesk project list --json": [*tool, "project", "list", "--json"],
        }
        medians = measure(commands, args.runs, env)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    floor = medians["python -c pass (floor)"]
    print(f"start-up, median of {args.runs} runs each ({' '.join(tool)})")
    print(f"{'command':<34} {'median s':>9} {'- floor s':>10} {'x floor':>8}  goal")
    for name, median in medians.items():
        goal = ""
        if name in ("labeldesk --help", "labeldesk project list"):
            goal = f"within {GOAL_SECONDS} s: {'met' if median - floor <= GOAL_SECONDS else 'NOT met'}"
        print(f"{name:<34} {median:>9.3f} {median - floor:>10.3f} {median / floor:>8.2f}  {goal}")


if __name__ == "__main__":
    main()
