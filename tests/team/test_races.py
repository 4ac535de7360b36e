"""Several processes at once on SQLite and PostgreSQL: routing, gold, leases, reviews and rework.

Invariants checked after the dust settles: no regular item past its overlap, every slot
count equal to the assignments holding it (no lost update), nobody given an item outside
their skills, nothing submitted or reviewed twice, nothing lost, abandoned leases reclaimed.
"""

from __future__ import annotations

import multiprocessing
import queue as queues
import time
from collections import Counter
from typing import Any

from sqlalchemy import func, select

from labeldesk.app.workflow import accounts, quality, review, tasks
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Annotation, Assignment, Item, Review, ReviewClaim, User

IDLE_SECONDS = 3.0  # longer than a lease, so that abandoned work is reclaimed before workers stop


def _spec(ws: Workspace) -> str:
    return ws.location.url if not ws.location.is_sqlite else str(ws.location.folder)


def _run(jobs: list[tuple[Any, tuple]], timeout: float = 180) -> dict[str, Any]:
    """Start every (function, args) in its own process at once; {name: what it reported}."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, queue)) for target, args in jobs]
    for p in procs:
        p.start()
    results: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    while len(results) < len(procs):
        try:
            name, got = queue.get(timeout=1)
            results[name] = got
        except queues.Empty:  # check nobody died instead of waiting out the timeout
            crashed = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            assert not crashed and time.monotonic() < deadline, f"a worker failed (exit codes {crashed})"
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return results


def _annotate(spec: str, name: str, queue) -> None:
    ws = Workspace.open(spec)
    who = accounts.sign_in(ws, name, f"pw-{name}-secret")
    done: list[str] = []
    idle_since = None
    while True:
        task = tasks.next_task(ws, who, "p")
        if task is None:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > IDLE_SECONDS:
                break
            time.sleep(0.2)
            continue
        idle_since = None
        tasks.submit(ws, who, task.item_id, {"label": "a", "quality": 3}, 2.0, task.guideline_version)
        done.append(task.uid)
    ws.close()
    queue.put((name, done))


def test_routing_gold_and_leases_under_load(team) -> None:
    ws = team.ws
    team.project("p", n=30, overlap=2, gold_rate=0.25, lease_minutes=0.01)  # 0.6 s leases
    tasks.route_items(ws, team.lead, "p", [f"i{i}" for i in range(6)], domain="medical")
    tasks.route_items(ws, team.lead, "p", [f"i{i}" for i in range(6, 12)], locale="de")
    quality.set_gold(ws, team.lead, "p", {f"i{i}": {"label": "a"} for i in range(24, 30)})
    skills = {"w0": (["medical"], ["en"]), "w1": (["medical"], ["de"]), "w2": ([], ["de"]), "w3": ([], ["en"])}
    for name, (domains, locales) in skills.items():
        team.annotator(name, domains=domains, locales=locales)
    # someone takes a medical German item and walks away: the workers race to reclaim the lease
    abandoned = tasks.next_task(ws, team.annotator("gone", domains=["medical"], locales=["de"]), "p").uid
    results = _run([(_annotate, (_spec(ws), name)) for name in skills])

    gold = {f"i{i}" for i in range(24, 30)}
    allowed = {
        "w0": {f"i{i}" for i in range(6)} | {f"i{i}" for i in range(12, 30)},
        "w1": {f"i{i}" for i in range(30)},
        "w2": {f"i{i}" for i in range(6, 30)},
        "w3": {f"i{i}" for i in range(12, 30)},
    }
    for name, done in results.items():
        assert len(done) == len(set(done)), f"{name} got an item twice"
        assert set(done) <= allowed[name], f"{name} got items outside their skills: {set(done) - allowed[name]}"
    with ws.sessions() as s:
        submitted = Counter(dict(s.execute(
            select(Item.uid, func.count()).join(Annotation, Annotation.item_id == Item.id)
            .where(Annotation.status == "submitted").group_by(Item.uid)).all()))
        counts = dict(s.execute(select(Item.uid, Item.assigned_count)).all())
        holding = Counter(dict(s.execute(
            select(Item.uid, func.count()).join(Assignment, Assignment.item_id == Item.id)
            .where(Assignment.status.in_(("active", "rework", "submitted"))).group_by(Item.uid)).all()))
        gone = s.execute(select(Assignment.status, Item.uid).join(Item, Item.id == Assignment.item_id)
                         .join(User, User.id == Assignment.user_id).where(User.name == "gone")).all()
    reported = sum(len(done) for done in results.values())
    assert sum(submitted.values()) == reported, "every submission reported is stored, none twice"
    for uid in (f"i{i}" for i in range(24)):
        assert submitted[uid] == 2, f"{uid}: every slot filled exactly once ({submitted[uid]})"
        assert counts[uid] == 2 and holding[uid] == 2, f"{uid}: count {counts[uid]} vs holders {holding[uid]}"
    for uid in gold:
        assert counts[uid] == holding[uid] == submitted[uid], "gold counts stay in step too"
    assert gone == [("expired", abandoned)], "the abandoned lease was reclaimed"
    served_gold = sum(1 for done in results.values() for uid in done if uid in gold)
    assert served_gold >= 4, "gold was mixed in under load"


def _review(spec: str, name: str, queue) -> None:
    ws = Workspace.open(spec)
    who = accounts.sign_in(ws, name, f"pw-{name}-secret")
    decided: list[tuple[int, int, str]] = []
    idle_since = None
    while True:
        entry = review.next_review(ws, who, "p")
        if entry is None:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > IDLE_SECONDS:
                break
            time.sleep(0.1)
            continue
        idle_since = None
        pick = ("accept", "reject", "correct")[entry.annotation_id % 3] if entry.revision == 1 else "accept"
        try:
            if pick == "reject":
                review.reject(ws, who, entry.annotation_id, "see guideline 3", revision=entry.revision)
            elif pick == "correct":
                review.correct(ws, who, entry.annotation_id, {"label": "c"}, revision=entry.revision)
            else:
                review.accept(ws, who, entry.annotation_id, revision=entry.revision)
        except review.ReviewError as exc:  # must not happen: claims keep reviewers apart
            queue.put((name, f"error: {exc}"))
            ws.close()
            return
        decided.append((entry.annotation_id, entry.revision, pick))
    ws.close()
    queue.put((name, decided))


def _rework(spec: str, name: str, queue) -> None:
    ws = Workspace.open(spec)
    who = accounts.sign_in(ws, name, f"pw-{name}-secret")
    fixed: list[str] = []
    idle_since = None
    while True:
        task = tasks.next_task(ws, who, "p")
        if task is None or not task.feedback:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > IDLE_SECONDS + 1:
                break
            time.sleep(0.1)
            continue
        idle_since = None
        tasks.submit(ws, who, task.item_id, {**task.values, "label": "b"}, 3.0, task.guideline_version)
        fixed.append(task.uid)
    ws.close()
    queue.put((name, fixed))


def test_reviewers_and_rework_at_once(team) -> None:
    ws = team.ws
    rows = [{"id": f"i{i}", "messages": [{"role": "user", "content": f"q{i}"}],
             "annotations": [{"annotator": "ann", "values": {"label": "a"}}]} for i in range(30)]
    ann = team.user("ann")
    team.project("p", rows=rows, overlap=1)
    tasks.acknowledge(ws, ann, "p", 1)
    for name in ("r0", "r1", "r2"):
        team.user(name, "reviewer")
    results = _run([(_review, (_spec(ws), name)) for name in ("r0", "r1", "r2")] + [(_rework, (_spec(ws), "ann"))])
    decisions = [d for name, got in results.items() if name != "ann" for d in got]
    assert all(not isinstance(got, str) for got in results.values()), results
    with ws.sessions() as s:
        rows_ = s.execute(select(Review.annotation_id, Review.revision, Review.decision, Review.changes)).all()
        final = s.execute(select(Annotation.id, Annotation.status, Annotation.revision, Annotation.values)).all()
        claims = s.scalar(select(func.count()).select_from(ReviewClaim))
    stored = Counter((a, r) for a, r, _d, _c in rows_)
    assert max(stored.values()) == 1, "one decision per submission revision"
    assert sorted((a, r, d) for a, r, d, _c in rows_) == sorted(decisions), "every decision made is stored, none lost"
    rejected = {a for a, r, d, _c in rows_ if d == "reject"}
    assert rejected == {a for a, *_ in final if a % 3 == 1}
    assert len(results["ann"]) == len(rejected) == 10, "every rejected submission was reworked once"
    for aid, status, revision, values in final:
        assert status == "submitted", f"annotation {aid} left as {status}"
        assert revision == (2 if aid in rejected else 1)
        assert (aid, revision) in stored, f"annotation {aid} revision {revision} never reviewed"
        if aid in rejected:
            assert values["label"] == "b", "the rework is what was reviewed the second time"
    assert all(c == {"label": {"from": "a", "to": "c"}} for _a, _r, d, c in rows_ if d == "correct")
    assert claims == 0

