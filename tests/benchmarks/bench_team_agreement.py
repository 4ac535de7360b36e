"""Benchmark: agreement through the database vs the ``krippendorff`` package.

    python tests/benchmarks/bench_team_agreement.py [--items 100000] [--annotators 5]
        [--backends sqlite postgres] [--pg postgresql://postgres@127.0.0.1:55432/postgres]

One choice question (4 options), 100,000 items x 5 annotators, ~10% of answers missing,
stored as submitted annotations in a fresh workspace. Timed, once each:

* load      — reading the submitted answers of the question out of the database
              (quality.load_answers: one query, the answer extracted from the JSON in SQL);
* compute   — app.workflow.agreement.question_agreement on the loaded answers (alpha,
              Fleiss' kappa, pairwise Cohen's kappa, per-annotator match with consensus);
* report    — quality.agreement_report end to end as the CLI and dashboard call it
              (load + compute + each annotator's score against the per-item consensus);
* alpha     — our krippendorff_alpha on the reliability matrix, and
* package   — krippendorff.alpha on the same matrix.

Ratios are package time / ours (> 1: ours is faster). The alphas must agree to 1e-9.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import insert, select  # noqa: E402

from labeldesk.app.workflow import quality  # noqa: E402
from labeldesk.app.workflow.accounts import create_first_lead  # noqa: E402
from labeldesk.app.workflow.agreement import krippendorff_alpha, question_agreement  # noqa: E402
from labeldesk.app.workflow.permissions import Actor  # noqa: E402
from labeldesk.app.workflow.projects import create_project, get_project  # noqa: E402
from labeldesk.storage.db import Workspace  # noqa: E402
from labeldesk.storage.models import Annotation, Item, User  # noqa: E402

OPTIONS = ["keep", "fix", "reject", "other"]
TEMPLATE = "kind: instruction\ntitle: bench\noverlap: 5\nquestions:\n  - {name: verdict, type: choice, options: [keep, fix, reject, other]}\n"


def reliability_matrix(rng: np.random.Generator, annotators: int, items: int) -> np.ndarray:
    truth = rng.integers(0, 4, items)
    data = np.where(rng.random((annotators, items)) < 0.7, truth, rng.integers(0, 4, (annotators, items))).astype(float)
    data[rng.random((annotators, items)) < 0.10] = np.nan
    return data


def fill(ws: Workspace, lead: Actor, data: np.ndarray, folder: Path) -> None:
    template = folder / "bench.yaml"
    template.write_text(TEMPLATE)
    create_project(ws, lead, "bench", "instruction", template)
    project = get_project(ws, "bench")
    now = datetime.now(timezone.utc)
    annotators, items = data.shape
    with ws.transaction() as session:
        session.execute(insert(User), [{"name": f"ann{a}", "role": "annotator", "domains": [], "locales": [], "active": True,
                                        "created_at": now} for a in range(annotators)])
        users = [session.scalar(select(User.id).where(User.name == f"ann{a}")) for a in range(annotators)]
        rows = [{"project_id": project.id, "uid": f"b{i}", "kind": "instruction", "content": {"messages": [
            {"role": "user", "content": f"q{i}"}]}, "content_hash": f"{i:064d}", "provenance": {}, "meta": {},
            "status": "full", "priority": 0, "assigned_count": annotators, "created_at": now} for i in range(items)]
        for start in range(0, items, 20000):
            session.execute(insert(Item), rows[start:start + 20000])
        first = session.scalar(select(Item.id).where(Item.project_id == project.id, Item.uid == "b0"))
        answers = []
        for a in range(annotators):
            for i in np.flatnonzero(~np.isnan(data[a])):
                answers.append({"item_id": first + int(i), "user_id": users[a], "status": "submitted",
                                "values": {"verdict": OPTIONS[int(data[a, i])]}, "active_seconds": 10.0, "source": "bench",
                                "created_at": now, "updated_at": now, "submitted_at": now, "revision": 1})
        for start in range(0, len(answers), 20000):
            session.execute(insert(Annotation), answers[start:start + 20000])


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def run_backend(name: str, spec: str, folder: Path, data: np.ndarray) -> None:
    import krippendorff

    ws = Workspace.open(spec, create=True)
    try:
        lead = create_first_lead(ws, "bench-lead", "bench-password")
        t_fill, _ = timed(lambda: fill(ws, lead, data, folder))
        project = get_project(ws, "bench")
        question = dict(project.questions[0])

        def load():
            with ws.sessions() as session:
                return quality.load_answers(session, project, "verdict")

        t_load, answers = timed(load)
        subs = answers.of("verdict")
        t_compute, result = timed(lambda: question_agreement(subs, question))
        t_report, report = timed(lambda: quality.agreement_report(ws, lead, "bench", question="verdict"))
        t_ours, alpha_ours = timed(lambda: krippendorff_alpha(data, "nominal"))
        t_pkg, alpha_pkg = timed(lambda: krippendorff.alpha(data, level_of_measurement="nominal"))
        assert abs(result.value - alpha_pkg) < 1e-9 and abs(report.questions[0].value - alpha_pkg) < 1e-9
        print(f"\n[{name}] {len(subs):,} submissions stored in {t_fill:.1f} s; alpha = {alpha_pkg:.6f} "
              f"(|ours - package| = {abs(alpha_ours - alpha_pkg):.1e})")
        print(f"  {'step':<44} {'seconds':>8} {'package / ours':>15}")
        rows = [
            ("load (answers out of the database)", t_load),
            ("compute (question_agreement, all figures)", t_compute),
            ("load + compute", t_load + t_compute),
            ("agreement_report (+ consensus per annotator)", t_report),
            ("krippendorff_alpha on the matrix (ours)", t_ours),
            ("krippendorff.alpha on the matrix (package)", t_pkg),
        ]
        for label, seconds in rows:
            print(f"  {label:<44} {seconds:8.3f} {t_pkg / seconds:14.2f}x")
    finally:
        ws.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--annotators", type=int, default=5)
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:55432/postgres", help="server for a throwaway database")
    args = ap.parse_args()
    data = reliability_matrix(np.random.default_rng(2024), args.annotators, args.items)
    print(f"{args.items:,} items x {args.annotators} annotators, one choice question, {np.isnan(data).mean():.1%} missing")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for backend in args.backends:
            if backend == "sqlite":
                run_backend("sqlite", str(folder / "ws"), folder, data)
                continue
            import psycopg

            db = f"ld_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db}"')
            try:
                run_backend("postgres", f"{args.pg.rpartition('/')[0]}/{db}", folder, data)
            finally:
                with psycopg.connect(args.pg, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
