"""Every team operation refused to each role that must not have it, in the operation layer itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from labeldesk.app.workflow import accounts, export, quality, review, stats, tasks
from labeldesk.app.workflow.permissions import Actor, PermissionDenied
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Adjudication, Annotation, Item, Review, User

ROLES = ("annotator", "reviewer", "lead")
LEAD, STAFF = {"lead"}, {"reviewer", "lead"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, team_class) -> dict[str, Any]:
    """One SQLite workspace for the whole matrix: refused operations change nothing."""
    tmp = tmp_path_factory.mktemp("perm")
    ws = Workspace.open(tmp / "ws", create=True)
    team = team_class(ws, tmp)
    people = {"lead": team.lead, "reviewer": team.user("rev", "reviewer"), "annotator": team.user("ann")}
    team.user("ann2")
    rows = [
        {"id": f"i{i}", "messages": [{"role": "user", "content": f"q{i}"}],
         "annotations": [{"annotator": "ann", "values": {"label": "a"}},
                         {"annotator": "ann2", "values": {"label": "a" if i else "b"}}]}
        for i in range(3)
    ]
    team.project("p", overlap=2, rows=rows, review_levels=2, agreement_threshold=0.9)
    with ws.sessions() as s:
        theirs = s.scalar(select(Annotation.id).join(User, User.id == Annotation.user_id).where(User.name == "ann2").limit(1))
        item = s.scalar(select(Item.id).where(Item.uid == "i0"))
    yield {"ws": ws, "people": people, "theirs": theirs, "item": item, "tmp": tmp}
    ws.close()


Op = Callable[[Workspace, Actor, dict[str, Any]], object]

# (operation as named in the error, allowed roles, call); READS marks the ones safe to run as allowed roles
OPERATIONS: list[tuple[str, set[str], Op]] = [
    ("manage users", LEAD, lambda ws, a, w: accounts.add_user(ws, a, "newbie", "annotator", "long-password")),
    ("manage users", LEAD, lambda ws, a, w: accounts.update_user(ws, a, "ann2", role="lead")),
    ("list users", LEAD, lambda ws, a, w: accounts.list_users(ws, a)),
    ("assign work", LEAD, lambda ws, a, w: tasks.assign(ws, a, "p", "ann2", 1)),
    ("route items", LEAD, lambda ws, a, w: tasks.route_items(ws, a, "p", domain="medical")),
    ("manage gold", LEAD, lambda ws, a, w: quality.set_gold(ws, a, "p", {"i1": {"label": "a"}})),
    ("manage gold", LEAD, lambda ws, a, w: quality.set_gold_rate(ws, a, "p", 0.5)),
    ("aggregate", LEAD, lambda ws, a, w: quality.set_threshold(ws, a, "p", 0.1)),
    ("aggregate", LEAD, lambda ws, a, w: export.aggregate(ws, a, "p", w["tmp"] / "agg.jsonl")),
    ("adjudicate", LEAD, lambda ws, a, w: quality.adjudication_queue(ws, a, "p")),
    ("adjudicate", LEAD, lambda ws, a, w: quality.adjudicate(ws, a, "p", w["item"], {"label": "c"})),
    ("measure agreement", STAFF, lambda ws, a, w: quality.agreement_report(ws, a, "p")),
    ("measure agreement", STAFF, lambda ws, a, w: quality.agreement_over_time(ws, a, "p")),
    ("export", STAFF, lambda ws, a, w: export.export(ws, "p", "records", w["tmp"] / f"{a.name}.jsonl", actor=a)),
    ("export", STAFF, lambda ws, a, w: export.write_package(ws, "p", w["tmp"] / f"{a.name}-pkg", actor=a)),
    ("view submissions", STAFF, lambda ws, a, w: review.side_by_side(ws, a, "p", w["item"])),
    ("view drafts", LEAD, lambda ws, a, w: review.side_by_side(ws, a, "p", w["item"], include_drafts=True)),
    ("view submissions", STAFF, lambda ws, a, w: review.review_history(ws, a, w["theirs"])),
    ("review at level 1", STAFF, lambda ws, a, w: review.review_queue(ws, a, "p", 1)),
    ("review at level 1", STAFF, lambda ws, a, w: review.next_review(ws, a, "p", 1)),
    ("review at level 1", STAFF, lambda ws, a, w: review.accept(ws, a, w["theirs"], level=1)),
    ("review at level 1", STAFF, lambda ws, a, w: review.reject(ws, a, w["theirs"], "wrong", level=1)),
    ("review at level 1", STAFF, lambda ws, a, w: review.correct(ws, a, w["theirs"], {"label": "c"}, level=1)),
    ("review at level 2", LEAD, lambda ws, a, w: review.review_queue(ws, a, "p", 2)),
    ("review at level 2", LEAD, lambda ws, a, w: review.accept(ws, a, w["theirs"], level=2)),
]

REFUSALS = [
    pytest.param(operation, call, role, id=f"{operation}-{i}-{role}")
    for i, (operation, allowed, call) in enumerate(OPERATIONS)
    for role in ROLES
    if role not in allowed
]


def _state(ws: Workspace) -> tuple[int, ...]:
    with ws.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (User, Review, Adjudication)) + (
            s.scalar(select(func.count()).select_from(Annotation).where(Annotation.status == "draft")),
        )


@pytest.mark.parametrize(("operation", "call", "role"), REFUSALS)
def test_refused_with_role_and_operation_named(world: dict[str, Any], operation: str, call: Op, role: str) -> None:
    ws, who = world["ws"], world["people"][role]
    before = _state(ws)
    with pytest.raises(PermissionDenied) as info:
        call(ws, who, world)
    assert info.value.role == role and info.value.operation == operation
    assert role in str(info.value) and operation in str(info.value)
    assert _state(ws) == before, "a refused operation changes nothing"


READS = {2, 9, 11, 12, 13, 14, 15, 16, 17, 18, 23}  # indexes in OPERATIONS of calls that change nothing
READ_ONLY = [
    pytest.param(OPERATIONS[i][2], role, id=f"{OPERATIONS[i][0]}-{i}-{role}")
    for i in sorted(READS)
    for role in sorted(OPERATIONS[i][1])
]


@pytest.mark.parametrize(("call", "role"), READ_ONLY)
def test_allowed_roles_pass(world: dict[str, Any], call: Op, role: str) -> None:
    before = _state(world["ws"])
    call(world["ws"], world["people"][role], world)
    assert _state(world["ws"]) == before


def test_the_role_comes_from_the_database_not_the_caller(world: dict[str, Any]) -> None:
    ann = world["people"]["annotator"]
    forged = Actor(ann.id, ann.name, "lead")
    with pytest.raises(PermissionDenied, match="annotator 'ann' may not export"):
        export.export(world["ws"], "p", "records", world["tmp"] / "x.jsonl", actor=forged)
    impostor = Actor(ann.id, "lead", "lead")  # someone else's name on the annotator's id
    with pytest.raises(PermissionDenied, match="no active account"):
        quality.agreement_report(world["ws"], impostor, "p")


def test_nobody_reviews_their_own_submission(sqlite_team) -> None:
    team = sqlite_team
    team.project("p", rows=[{"id": "i0", "messages": [{"role": "user", "content": "q"}],
                             "annotations": [{"annotator": "lead", "values": {"label": "a"}}]}])
    with team.ws.sessions() as s:
        mine = s.scalar(select(Annotation.id))
    with pytest.raises(PermissionDenied, match="lead 'lead' may not review their own submission"):
        review.accept(team.ws, team.lead, mine)


def test_a_deactivated_account_can_do_nothing(sqlite_team) -> None:
    team = sqlite_team
    team.project("p", n=2)
    ann = team.annotator("ann")
    assert tasks.next_task(team.ws, ann, "p") is not None
    accounts.update_user(team.ws, team.lead, "ann", active=False)
    with pytest.raises(PermissionDenied, match="no active account"):
        tasks.next_task(team.ws, ann, "p")
    with pytest.raises(PermissionDenied):
        stats.team_figures(team.ws, ann, "p")


def test_a_demoted_lead_loses_lead_operations_at_once(sqlite_team) -> None:
    team = sqlite_team
    team.project("p", n=1)
    second = team.user("second", "lead")
    accounts.list_users(team.ws, second)
    accounts.update_user(team.ws, team.lead, "second", role="annotator")
    with pytest.raises(PermissionDenied, match="annotator 'second' may not list users"):
        accounts.list_users(team.ws, second)


def test_annotators_see_only_their_own_figures(sqlite_team, tmp_path: Path) -> None:
    team = sqlite_team
    rows = [{"id": f"i{i}", "messages": [{"role": "user", "content": f"q{i}"}],
             "annotations": [{"annotator": "ann", "values": {"label": "a"}, "seconds": 10},
                             {"annotator": "other", "values": {"label": "b"}, "seconds": 20}]} for i in range(3)]
    team.project("p", overlap=2, rows=rows)
    ann = accounts.sign_in(team.ws, "ann", None)  # imported annotators have no password on a personal workspace
    mine = stats.team_figures(team.ws, ann, "p")
    assert mine.scope == "ann"
    assert [a.annotator for a in mine.annotators] == ["ann"]
    assert {p.annotator for p in mine.agreement} <= {"ann"}
    assert mine.labels == {}, "no distribution of everybody's answers"
    everyone = stats.team_figures(team.ws, team.lead, "p")
    assert [a.annotator for a in everyone.annotators] == ["ann", "other"] and everyone.scope == "team"
