"""Routing by skills, gold mixed in at a rate, lead assignment, and holding a slot to submit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from labeldesk.app.workflow import quality, tasks
from labeldesk.app.workflow.tasks import TaskError, next_task, submit
from labeldesk.storage.models import Assignment, Item


def drain(ws, who, project: str = "p", limit: int = 100, values: dict | None = None) -> list[str]:
    """Pull and submit until nothing is left; the uids in the order they came."""
    got = []
    for _ in range(limit):
        task = next_task(ws, who, project)
        if task is None:
            break
        submit(ws, who, task.item_id, values or {"label": "a"}, 5.0, task.guideline_version)
        got.append(task.uid)
    return got


def test_routing_by_domain_and_locale(team) -> None:
    team.project("p", n=6, overlap=6)
    ws, lead = team.ws, team.lead
    tasks.route_items(ws, lead, "p", ["i0"], domain="Medical")
    tasks.route_items(ws, lead, "p", ["i1"], domain="legal")
    tasks.route_items(ws, lead, "p", ["i2"], locale="de_at")
    tasks.route_items(ws, lead, "p", ["i3"], locale="en")
    tasks.route_items(ws, lead, "p", ["i5"], domain="code", locale="en-GB")
    people = {
        "doc": team.annotator("doc", domains=["medical"], locales=["en"]),
        "lawyer": team.annotator("lawyer", domains=["legal"], locales=["de"]),
        "plain": team.annotator("plain"),
        "coder": team.annotator("coder", "p", "reviewer", domains=["code"], locales=["en-GB"]),
    }
    got = {name: sorted(drain(ws, who)) for name, who in people.items()}
    assert got == {
        "doc": ["i0", "i3", "i4"],
        "lawyer": ["i1", "i2", "i4"],  # plain `de` covers de-AT
        "plain": ["i4"],
        "coder": ["i3", "i4", "i5"],  # en-GB can do an item asking for plain `en`
    }
    tasks.acknowledge(ws, lead, "p", 1)
    assert sorted(drain(ws, lead)) == [f"i{i}" for i in range(6)], "leads are not routed"


def test_routing_from_item_meta(sqlite_team) -> None:
    team = sqlite_team
    rows = [{"id": "m0", "messages": [{"role": "user", "content": "q"}], "meta": {"domain": "Legal", "locale": "fr_FR"}},
            {"id": "m1", "messages": [{"role": "user", "content": "r"}]}]
    team.project("p", rows=rows)
    assert tasks.route_items(team.ws, team.lead, "p", from_meta=True) == 1
    with team.ws.sessions() as s:
        assert s.execute(select(Item.domain, Item.locale).where(Item.uid == "m0")).one() == ("legal", "fr-FR")


def test_gold_is_mixed_in_at_the_rate_and_scored(team) -> None:
    team.project("p", n=40, overlap=1, gold_rate=0.25)
    ws = team.ws
    truth = {f"i{i}": {"label": "b"} for i in range(30, 40)}
    assert quality.set_gold(ws, team.lead, "p", truth) == 10
    ann, other = team.annotator("ann"), team.annotator("other")
    got = []
    for _ in range(20):
        task = next_task(ws, ann, "p")
        got.append(task.uid)
        # right on gold items i30..i34, wrong on the others
        submit(ws, ann, task.item_id, {"label": "b" if task.uid < "i35" else "c"}, 3.0, task.guideline_version)
    gold_seen = [uid for uid in got if uid in truth]
    assert 4 <= len(gold_seen) <= 6, f"about a quarter gold: {got}"
    assert gold_seen != got[: len(gold_seen)], "gold is spread out, not served first"
    other_got = drain(ws, other, limit=8)
    assert set(other_got) & set(truth), "gold items are open to every annotator, whatever the overlap"
    with ws.sessions() as s:
        regular = s.execute(select(Item.uid, Item.assigned_count).where(Item.gold.is_(None))).all()
    assert max(n for _, n in regular) <= 1, "regular items keep their overlap"
    report = quality.agreement_report(ws, team.lead, "p")
    mine = next(a for a in report.annotators if a.annotator == "ann")
    right = sum(1 for uid in gold_seen if uid < "i35")
    assert mine.gold_items == len(gold_seen)
    assert mine.gold_accuracy == pytest.approx(right / len(gold_seen))


def test_gold_rate_extremes(sqlite_team) -> None:
    team = sqlite_team
    team.project("p", n=6, overlap=1, gold_rate=1.0)
    quality.set_gold(team.ws, team.lead, "p", {"i4": {"label": "a"}, "i5": {"label": "b"}})
    ann = team.annotator("ann")
    assert drain(team.ws, ann)[:2] == ["i4", "i5"], "rate 1: gold while there is gold"
    quality.set_gold_rate(team.ws, team.lead, "p", 0.0)
    quality.set_gold(team.ws, team.lead, "p", {"i5": None})
    with team.ws.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Item).where(Item.gold.is_not(None))) == 1
    with pytest.raises(quality.QualityError, match="unknown question"):
        quality.set_gold(team.ws, team.lead, "p", {"i1": {"nope": 1}})


def test_lead_assigns_work_that_comes_back_first(team) -> None:
    team.project("p", n=6, overlap=1)
    ws = team.ws
    tasks.route_items(ws, team.lead, "p", ["i0"], domain="medical")
    ann = team.annotator("ann")
    given = tasks.assign(ws, team.lead, "p", "ann", 3)
    with ws.sessions() as s:
        uids = [s.scalar(select(Item.uid).where(Item.id == i)) for i in given]
        lease = s.scalar(select(func.min(Assignment.expires_at)))
    assert uids == ["i1", "i2", "i3"], "routing applies: i0 needs a medical annotator"
    lease = lease if lease.tzinfo else lease.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC
    assert lease > datetime.now(timezone.utc) + timedelta(days=6)
    assert drain(ws, ann, limit=3) == ["i1", "i2", "i3"]
    assert len(tasks.assign(ws, team.lead, "p", "ann", 10)) == 2, "only i4 and i5 are left for ann"
    with pytest.raises(TaskError, match="no active user"):
        tasks.assign(ws, team.lead, "p", "ghost", 1)


def test_submitting_needs_a_slot(team) -> None:
    team.project("p", n=1, overlap=1)
    ws = team.ws
    a, b = team.annotator("a"), team.annotator("b")
    with ws.sessions() as s:
        item = s.scalar(select(Item.id))
    with pytest.raises(TaskError, match="not assigned to you"):
        submit(ws, a, item, {"label": "a"}, 1.0, 1)
    task = next_task(ws, a, "p")
    with ws.transaction() as s:  # a's lease runs out, b takes the slot
        s.execute(update(Assignment).values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    assert next_task(ws, b, "p").uid == "i0"
    with pytest.raises(TaskError, match="lease on this item expired"):
        submit(ws, a, task.item_id, {"label": "a"}, 1.0, 1)
    tasks.skip(ws, b, item, "not mine")  # the slot is free again: a's late submission is kept
    submit(ws, a, task.item_id, {"label": "a"}, 1.0, 1)
    with ws.sessions() as s:
        assert s.scalar(select(Item.assigned_count)) == 1
