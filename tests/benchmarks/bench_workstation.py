"""Time from "submit" to the next task fully shown (form built and painted), 100,000 items.

    python tests/benchmarks/bench_workstation.py [--items 100000] [--tasks 60]

Floors measured in the same run: the database work alone (submit + next_task on the
workspace, no window) and building + painting the form alone (no database).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QEventLoop  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from labeldesk.app.ui.main import build_window  # noqa: E402
from labeldesk.app.workflow.accounts import local_actor  # noqa: E402
from labeldesk.app.ui.settings import Settings  # noqa: E402
from labeldesk.app.workflow.projects import create_project, get_project  # noqa: E402
from labeldesk.app.workflow.tasks import acknowledge, next_task, submit  # noqa: E402
from labeldesk.storage.db import Workspace  # noqa: E402
from labeldesk.storage.models import Item  # noqa: E402


def fill(ws: Workspace, n: int) -> None:
    create_project(ws, local_actor(ws), "bench", "preference")
    project = get_project(ws, "bench")
    now = datetime.now(timezone.utc)
    with ws.engine.begin() as conn:
        for k in range(0, n, 20000):
            conn.execute(insert(Item), [{
                "project_id": project.id, "uid": f"p{i}", "kind": "preference", "content_hash": "x", "provenance": {},
                "meta": {}, "status": "open", "priority": 0, "assigned_count": 0, "created_at": now,
                "content": {
                    "messages": [{"role": "user", "content": f"Question {i}: compare the two approaches in detail."}],
                    "responses": [{"id": c, "content": f"Answer {c} to {i}. " + "Some text follows. " * 30} for c in "abc"],
                },
            } for i in range(k, min(n, k + 20000))])


def pct(values: list[float], q: float) -> float:
    return sorted(values)[int(q * (len(values) - 1))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=60)
    args = parser.parse_args()
    app = QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Path(tmp) / "ws", create=True)
        fill(ws, args.items)
        who = local_actor(ws)
        acknowledge(ws, who, "bench", 1)

        db_only = []
        for _ in range(args.tasks):
            task = next_task(ws, who, "bench")
            t0 = time.perf_counter()
            submit(ws, who, task.item_id, {"quality": 3}, 1.0, 1)
            next_task(ws, who, "bench")
            db_only.append(time.perf_counter() - t0)

        settings = Settings("LabelDeskBench", uuid.uuid4().hex)
        settings.last_project = "bench"
        win = build_window(ws, settings)
        win.resize(1500, 950)
        win.show()
        while win.task is None:
            app.processEvents()
        form_only, round_trip = [], []
        for _ in range(args.tasks):
            t0 = time.perf_counter()
            win.form.show_task(list(win.project.questions), win.task)
            win.repaint()
            form_only.append(time.perf_counter() - t0)
        for _ in range(args.tasks):
            before = win.task.uid
            win.form.editors["quality"].set_value(4)
            t0 = time.perf_counter()
            win.submit()
            while win.task is None or win.task.uid == before:
                # sleep until the worker's answer arrives, as the real event loop does (no GIL-hogging spin)
                app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
            win.repaint()
            round_trip.append(time.perf_counter() - t0)
        win.close()
        print(f"submit -> next task fully shown, {args.items:,} items, {args.tasks} tasks (preference: 3 responses, 4 questions)")
        print(f"  window (worker thread + form + paint)  median {statistics.median(round_trip) * 1000:6.1f} ms  p95 {pct(round_trip, .95):6.1f} ms  (goal median < 50 ms)")
        print(f"  floor: database only (submit + next)    median {statistics.median(db_only) * 1000:6.1f} ms  p95 {pct(db_only, .95):6.1f} ms")
        print(f"  floor: form build + paint only          median {statistics.median(form_only) * 1000:6.1f} ms  p95 {pct(form_only, .95):6.1f} ms")
        print(f"  ratio window / (db + form)               {statistics.median(round_trip) / (statistics.median(db_only) + statistics.median(form_only)):.2f}x")


if __name__ == "__main__":
    main()
