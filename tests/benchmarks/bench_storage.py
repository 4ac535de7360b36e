"""Storage benchmark: import, export and "next task", each against its floor, in one run.

    python tests/benchmarks/bench_storage.py [--items 100000] [--queue 1000000]

- import N preference items (prompt + 4 responses) from JSONL into SQLite, vs inserting
  the same rows with plain sqlite3.executemany in one transaction;
- export N annotated records to records JSONL, vs orjson-dumping the same records
  already in memory;
- next task for an annotator on a project of M items: p50/p95 of the whole operation
  (lease + commit) and of the bare candidate query.
"""

from __future__ import annotations

import argparse
import gc
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from labeldesk.app.workflow.accounts import local_actor  # noqa: E402
from labeldesk.app.workflow.export import export  # noqa: E402
from labeldesk.app.workflow.importer import import_files  # noqa: E402
from labeldesk.app.workflow.projects import create_project, get_project  # noqa: E402
from labeldesk.app.workflow.records import iter_records  # noqa: E402
from labeldesk.app.workflow.tasks import _candidate_query, acknowledge, ensure_user, next_task  # noqa: E402
from labeldesk.storage.db import Workspace  # noqa: E402
from labeldesk.storage.models import Item  # noqa: E402
from labeldesk.storage.record import content_hash  # noqa: E402


def make_input(path: Path, n: int) -> None:
    with path.open("wb") as fh:
        for i in range(n):
            row = {
                "id": f"p{i}",
                "prompt": f"Question number {i}: explain the trade-offs of approach {i % 97} in two paragraphs.",
                "responses": [
                    {"content": f"Response {k} to question {i}. " + "Some explanatory text follows here. " * 4, "model": f"model-{k}"}
                    for k in range(4)
                ],
                "ranking": None,
            }
            row.pop("ranking")
            fh.write(orjson.dumps(row) + b"\n")


def floor_insert(src: Path, db: Path) -> float:
    """The same rows (parsed, hashed) inserted with raw sqlite3 in one transaction."""
    rows = []
    for line in src.open("rb"):
        raw = orjson.loads(line)
        content = {
            "messages": [{"role": "user", "content": raw["prompt"]}],
            "responses": [{"id": "abcd"[k], "content": r["content"], "source": r["model"]} for k, r in enumerate(raw["responses"])],
        }
        rows.append((1, raw["id"], "preference", orjson.dumps(content).decode(), content_hash(content), "{}", "{}", "open", 0, 0))
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, project_id INT, uid TEXT, kind TEXT, content TEXT, content_hash TEXT,"
        " provenance TEXT, meta TEXT, status TEXT, priority INT, assigned_count INT, UNIQUE(project_id, uid))"
    )
    conn.execute("CREATE INDEX ix_next ON items(project_id, status, priority, id)")
    start = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO items (project_id, uid, kind, content, content_hash, provenance, meta, status, priority, assigned_count) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def floor_parse_and_insert(src: Path, db: Path) -> float:
    start = time.perf_counter()
    insert_only = floor_insert(src, db)
    return time.perf_counter() - start, insert_only


def bench_import(tmp: Path, n: int) -> None:
    src = tmp / "pref.jsonl"
    make_input(src, n)
    size_mb = src.stat().st_size / 1e6
    ws = Workspace.open(tmp / "ws", create=True)
    lead = local_actor(ws)
    create_project(ws, lead, "bench", "preference")
    gc.collect()
    start = time.perf_counter()
    report = import_files(ws, lead, "bench", [src])
    ours = time.perf_counter() - start
    assert report.imported == n
    floor_total, floor_insert_only = floor_parse_and_insert(src, tmp / "floor.db")
    print(f"import {n:,} preference items ({size_mb:.1f} MB JSONL) into SQLite")
    print(f"  labeldesk import_files        {ours:7.2f} s  {n / ours:>10,.0f} items/s")
    print(f"  floor: sqlite3.executemany    {floor_insert_only:7.2f} s  (rows prepared in memory)  ratio {ours / floor_insert_only:5.2f}x")
    print(f"  floor: parse+hash+executemany {floor_total:7.2f} s  ratio {ours / floor_total:5.2f}x")
    print(f"  Label Studio 1.23.2 (PERFORMANCE.md, 100k): 19.1 s -> {19.1 * n / 100000 / ours:.0f}x faster")
    ws.close()


def annotate_all(ws: Workspace, project: str, n: int) -> None:
    """Give every item one submitted ranking + rating, written straight to the table."""
    from labeldesk.storage.models import Annotation

    who = ensure_user(ws, local_actor(ws), "bench-annotator")
    info = get_project(ws, project)
    now = datetime.now(timezone.utc)
    with ws.transaction() as session:
        ids = [row[0] for row in session.execute(Item.__table__.select().with_only_columns(Item.id).where(Item.project_id == info.id))]
        rows = [{
            "item_id": i, "user_id": who.id, "status": "submitted", "guideline_version": 1, "active_seconds": 30.0,
            "values": {"ranking": [{"response": "a", "rank": 1}, {"response": "b", "rank": 2}, {"response": "c", "rank": 3}, {"response": "d", "rank": 3}],
                       "quality": 4, "rationale": "a is accurate and complete"},
            "source": "bench", "created_at": now, "updated_at": now, "submitted_at": now,
        } for i in ids]
        for k in range(0, len(rows), 20000):
            session.execute(insert(Annotation), rows[k : k + 20000])


def bench_export(tmp: Path, n: int) -> None:
    ws = Workspace.open(tmp / "ws")
    annotate_all(ws, "bench", n)
    out = tmp / "records.jsonl"
    gc.collect()
    start = time.perf_counter()
    summary = export(ws, "bench", "records", out, actor=local_actor(ws))
    ours = time.perf_counter() - start
    records = list(iter_records(ws, get_project(ws, "bench")))
    gc.collect()
    start = time.perf_counter()
    blob = b"\n".join(orjson.dumps(r) for r in records)
    floor = time.perf_counter() - start
    start = time.perf_counter()
    build_only = sum(1 for _ in iter_records(ws, get_project(ws, "bench")))
    build = time.perf_counter() - start
    print(f"export {summary.records:,} annotated records to records JSONL ({out.stat().st_size / 1e6:.1f} MB)")
    print(f"  labeldesk export (read, build, validate, write) {ours:6.2f} s  {summary.records / ours:>9,.0f} records/s")
    print(f"    of which reading + building records          {build:6.2f} s ({build_only:,})")
    print(f"  floor: orjson.dumps of the records in memory  {floor:6.2f} s  ratio {ours / floor:5.1f}x  ({len(blob) / 1e6:.0f} MB)")
    print(f"  Label Studio 1.23.2 (PERFORMANCE.md, 100k JSON export): 119 s -> {119 * n / 100000 / ours:.0f}x faster")
    ws.close()


def bench_next_task(tmp: Path, m: int) -> None:
    ws = Workspace.open(tmp / "queue", create=True)
    lead = local_actor(ws)
    create_project(ws, lead, "queue", "preference")
    project = get_project(ws, "queue")
    now = datetime.now(timezone.utc)
    content = {"messages": [{"role": "user", "content": "q"}]}
    start = time.perf_counter()
    with ws.engine.begin() as conn:
        for k in range(0, m, 50000):
            conn.execute(insert(Item), [{
                "project_id": project.id, "uid": f"q{i}", "kind": "preference", "content": content, "content_hash": "x",
                "provenance": {}, "meta": {}, "status": "open", "priority": 0, "assigned_count": 0, "created_at": now,
            } for i in range(k, min(m, k + 50000))])
    print(f"next task on a project of {m:,} items (filled in {time.perf_counter() - start:.1f} s), overlap {project.overlap}")
    who = ensure_user(ws, lead, "bench-annotator")
    acknowledge(ws, who, "queue", 1)
    from labeldesk.app.workflow.tasks import submit

    times, query_times = [], []
    with ws.engine.connect() as conn:
        query = _candidate_query(who, project, "sqlite")
        for _ in range(200):
            t0 = time.perf_counter()
            conn.execute(query).scalar()
            query_times.append(time.perf_counter() - t0)
    for _ in range(300):
        t0 = time.perf_counter()
        task = next_task(ws, who, "queue")
        times.append(time.perf_counter() - t0)
        submit(ws, who, task.item_id, {"quality": 3}, 1.0, task.guideline_version)

    def pct(values: list[float], q: float) -> float:
        return sorted(values)[int(q * (len(values) - 1))] * 1000

    print(f"  next_task (lease + commit)   p50 {pct(times, .5):6.2f} ms  p95 {pct(times, .95):6.2f} ms  (goal p95 < 5 ms)")
    print(f"  candidate query alone        p50 {pct(query_times, .5):6.3f} ms  p95 {pct(query_times, .95):6.3f} ms")
    with ws.engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(query.compile(compile_kwargs={"literal_binds": True}))).all()
    print("  plan: " + " | ".join(row[-1] for row in plan))
    ws.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--queue", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_import(Path(tmp), args.items)
        bench_export(Path(tmp), args.items)
        bench_next_task(Path(tmp), args.queue)


if __name__ == "__main__":
    main()
