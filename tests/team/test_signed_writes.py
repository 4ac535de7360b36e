"""Nothing unsigned writes: every public operation on a workspace takes the acting user and checks them.

The operations are found by introspection, not listed by hand: every public function of
every module under labeldesk.app.workflow whose signature takes a `Workspace` (or a
`Session`). Each one must be

* an operation taking an `Actor`, with a call in ACTED below: the test proves it refuses
  an account that does not exist and, where the role table (permissions.RULES) says so,
  an annotator, and that a refusal changes nothing;
* or listed in READS (takes no actor, writes nothing: each is run and changes nothing),
  SIGNING_IN (writes without an actor because it is how one gets an actor),
  IN_A_TRANSACTION (takes the caller's session: the operation that opened it checked)
  or CHECKS (the permission checks themselves).

A new public function that takes a workspace and is in none of these fails the test.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import labeldesk.app.workflow as workflow
from labeldesk.app.workflow import (
    accounts, authoring, demo, export, importer, prepare, projects, quality, records, review, stats, tasks,
)
from labeldesk.app.workflow.clean import CleanConfig
from labeldesk.app.workflow.permissions import RULES, STAFF, Actor, PermissionDenied
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Annotation, Item, User

from .conftest import fingerprint

Call = Callable[[Workspace, Actor, dict[str, Any]], object]
Read = Callable[[Workspace, dict[str, Any]], object]

# "module.function" -> (the operation its refusal names, a call as `actor`)
ACTED: dict[str, tuple[str, Call]] = {
    "accounts.add_user": ("manage users", lambda ws, a, w: accounts.add_user(ws, a, "newbie", "annotator", "long-password")),
    "accounts.update_user": ("manage users", lambda ws, a, w: accounts.update_user(ws, a, "ann2", role="lead")),
    "accounts.list_users": ("list users", lambda ws, a, w: accounts.list_users(ws, a)),
    "accounts.change_password": ("change own password",
                                 lambda ws, a, w: accounts.change_password(ws, a, "pw-ann-secret", "a new password")),
    "authoring.create_item": ("label", lambda ws, a, w: authoring.create_item(
        ws, a, "p", [{"role": "user", "content": "a new query"}], {"label": "a"}, 1.0, 1)),
    "authoring.flag": ("label", lambda ws, a, w: authoring.flag(ws, a, "p", "guideline-unclear", "which one?")),
    "demo.populate": ("create projects", lambda ws, a, w: demo.populate(ws, a)),
    "export.export": ("export", lambda ws, a, w: export.export(ws, "p", "records", w["tmp"] / "x.jsonl", actor=a)),
    "export.write_package": ("export", lambda ws, a, w: export.write_package(ws, "p", w["tmp"] / "pkg", actor=a)),
    "export.aggregate": ("aggregate", lambda ws, a, w: export.aggregate(ws, a, "p", w["tmp"] / "agg.jsonl")),
    "importer.import_files": ("import data", lambda ws, a, w: importer.import_files(ws, a, "p", [w["src"]])),
    "importer.import_context": ("import data", lambda ws, a, w: importer.import_context(ws, a, "p", None)),
    "importer.commit_import": ("import data", lambda ws, a, w: importer.commit_import(ws, a, w["prepared"])),
    "prepare.clean_project": ("clean data", lambda ws, a, w: prepare.clean_project(ws, a, "p")),
    "prepare.items_in_review": ("clean data", lambda ws, a, w: prepare.items_in_review(ws, a, "p")),
    "prepare.release_from_review": ("clean data",
                                    lambda ws, a, w: prepare.release_from_review(ws, a, "p", ["held"], keep=False)),
    "projects.create_project": ("create projects", lambda ws, a, w: projects.create_project(ws, a, "new", "instruction")),
    "projects.publish_guidelines": ("publish guidelines", lambda ws, a, w: projects.publish_guidelines(ws, a, "p", "# v2")),
    "quality.agreement_report": ("measure agreement", lambda ws, a, w: quality.agreement_report(ws, a, "p")),
    "quality.agreement_over_time": ("measure agreement", lambda ws, a, w: quality.agreement_over_time(ws, a, "p")),
    "quality.set_gold": ("manage gold", lambda ws, a, w: quality.set_gold(ws, a, "p", {"i1": {"label": "a"}})),
    "quality.set_gold_rate": ("manage gold", lambda ws, a, w: quality.set_gold_rate(ws, a, "p", 0.5)),
    "quality.set_threshold": ("aggregate", lambda ws, a, w: quality.set_threshold(ws, a, "p", 0.1)),
    "quality.adjudication_queue": ("adjudicate", lambda ws, a, w: quality.adjudication_queue(ws, a, "p")),
    "quality.adjudicate": ("adjudicate", lambda ws, a, w: quality.adjudicate(ws, a, "p", w["item"], {"label": "c"})),
    "quality.undo_adjudication": ("adjudicate", lambda ws, a, w: quality.undo_adjudication(ws, a, w["item"])),
    "review.review_queue": ("review at level 1", lambda ws, a, w: review.review_queue(ws, a, "p")),
    "review.queue_size": ("review at level 1", lambda ws, a, w: review.queue_size(ws, a, "p")),
    "review.next_review": ("review at level 1", lambda ws, a, w: review.next_review(ws, a, "p")),
    "review.release_claim": ("review at level 1", lambda ws, a, w: review.release_claim(ws, a, w["theirs"])),
    "review.review": ("review at level 1", lambda ws, a, w: review.review(ws, a, w["theirs"], "accept")),
    "review.accept": ("review at level 1", lambda ws, a, w: review.accept(ws, a, w["theirs"])),
    "review.reject": ("review at level 1", lambda ws, a, w: review.reject(ws, a, w["theirs"], "wrong")),
    "review.correct": ("review at level 1", lambda ws, a, w: review.correct(ws, a, w["theirs"], {"label": "c"})),
    "review.feedback": ("view own work", lambda ws, a, w: review.feedback(ws, a, "p")),
    "review.review_history": ("view submissions", lambda ws, a, w: review.review_history(ws, a, w["theirs"])),
    "review.side_by_side": ("view submissions", lambda ws, a, w: review.side_by_side(ws, a, "p", w["item"])),
    "stats.team_figures": ("view own work", lambda ws, a, w: stats.team_figures(ws, a, "p")),
    "stats.project_stats": ("view own work", lambda ws, a, w: stats.project_stats(ws, "p", actor=a)),
    "tasks.ensure_user": ("manage users", lambda ws, a, w: tasks.ensure_user(ws, a, "someone")),
    "tasks.acknowledge": ("label", lambda ws, a, w: tasks.acknowledge(ws, a, "p", 1)),
    "tasks.next_task": ("label", lambda ws, a, w: tasks.next_task(ws, a, "p")),
    "tasks.assign": ("assign work", lambda ws, a, w: tasks.assign(ws, a, "p", "ann2", 1)),
    "tasks.route_items": ("route items", lambda ws, a, w: tasks.route_items(ws, a, "p", domain="medical")),
    "tasks.open_task": ("view own work", lambda ws, a, w: tasks.open_task(ws, a, "p", w["item"])),
    "tasks.save_draft": ("label", lambda ws, a, w: tasks.save_draft(ws, a, w["item"], {"label": "b"}, 1.0)),
    "tasks.submit": ("label", lambda ws, a, w: tasks.submit(ws, a, w["item"], {"label": "b"}, 1.0, 1)),
    "tasks.skip": ("label", lambda ws, a, w: tasks.skip(ws, a, w["item"], "not mine")),
    "tasks.history": ("view own work", lambda ws, a, w: tasks.history(ws, a, "p")),
}
# operations named after a review level: the project has one level, which reviewers and the lead share
ALLOWED_BEYOND_RULES = {"review at level 1": STAFF}

READS: dict[str, Read] = {
    "authoring.flags": lambda ws, w: authoring.flags(ws, "p"),
    "prepare.load_references": lambda ws, w: prepare.load_references(
        ws, projects.get_project(ws, "p"), CleanConfig.default()),
    "projects.get_project": lambda ws, w: projects.get_project(ws, "p", with_counts=True),
    "projects.list_projects": lambda ws, w: projects.list_projects(ws),
    "projects.guidelines": lambda ws, w: projects.guidelines(ws, "p"),
    "quality.item_id_of": lambda ws, w: quality.item_id_of(ws, "p", "i0"),
    "records.current_agreement": lambda ws, w: records.current_agreement(ws, projects.get_project(ws, "p"), w["item"]),
    "records.iter_built": lambda ws, w: list(records.iter_built(ws, projects.get_project(ws, "p"))),
    "records.iter_records": lambda ws, w: list(records.iter_records(ws, projects.get_project(ws, "p"))),
    "tasks.actor": lambda ws, w: tasks.actor(ws, "ann"),
}
SIGNING_IN = {
    "accounts.create_first_lead",  # only while the workspace has no active lead
    "accounts.sign_in",  # checks a password (and may upgrade its hash)
    "accounts.local_actor",  # the lead of a personal workspace; refused on a shared one
}
IN_A_TRANSACTION = {
    "media_items.store_media",  # commit_import's
    "quality.load_answers",  # a read, in the session of the report that checked
}
CHECKS = {"permissions.current_role", "permissions.require", "permissions.require_first", "permissions.require_review_level"}


def _takes(hint: Any, cls: type) -> bool:
    return hint is cls or any(_takes(arg, cls) for arg in typing.get_args(hint))


def workspace_functions() -> Iterator[tuple[str, dict[str, Any]]]:
    """("module.function", its parameters' types) of every public function taking a Workspace or a Session."""
    for info in pkgutil.walk_packages(workflow.__path__, workflow.__name__ + "."):
        module = importlib.import_module(info.name)
        for name, function in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(function) or function.__module__ != module.__name__:
                continue
            hints = typing.get_type_hints(function)
            hints.pop("return", None)
            if any(_takes(h, Workspace) or _takes(h, Session) for h in hints.values()):
                yield f"{info.name.removeprefix(workflow.__name__ + '.')}.{name}", hints


def test_every_operation_on_a_workspace_is_signed_or_listed() -> None:
    found = dict(workspace_functions())
    acted = {name for name, hints in found.items() if any(_takes(h, Actor) for h in hints.values())} - CHECKS
    listed = [set(ACTED), set(READS), SIGNING_IN, IN_A_TRANSACTION, CHECKS]
    assert sum(len(names) for names in listed) == len(set().union(*listed)), "a function is listed twice"
    assert set(found) - set().union(*listed) == set(), "new operations: give them an Actor (or list them here, with why)"
    assert set().union(*listed) - set(found) == set(), "listed but gone (or renamed)"
    assert acted - set(ACTED) == set(), "operations taking an Actor need a call in ACTED"
    assert set(ACTED) - acted == set(), "ACTED lists an operation that takes no Actor"
    assert not acted & (set(READS) | SIGNING_IN), "reads and sign-ins take no actor"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, team_class) -> Iterator[dict[str, Any]]:
    """One SQLite workspace: a lead, a reviewer, two annotators, a project with submissions and an item held
    by cleaning, a file to import and an import prepared. Nothing here ever succeeds, so it is shared."""
    tmp = tmp_path_factory.mktemp("signed")
    ws = Workspace.open(tmp / "ws", create=True)
    (tmp / "team").mkdir()
    (tmp / "out").mkdir()  # where the calls write their files
    team = team_class(ws, tmp / "team")
    people = {"lead": team.lead, "reviewer": team.user("rev", "reviewer"), "annotator": team.user("ann")}
    team.user("ann2")
    rows = [{"id": f"i{i}", "messages": [{"role": "user", "content": f"q{i}"}],
             "annotations": [{"annotator": "ann", "values": {"label": "a"}}, {"annotator": "ann2", "values": {"label": "b"}}]}
            for i in range(3)]
    team.project("p", overlap=2, rows=rows + [{"id": "held", "messages": [{"role": "user", "content": "held"}]}])
    with ws.transaction() as s:
        s.execute(Item.__table__.update().where(Item.uid == "held").values(status=prepare.REVIEW))
    with ws.sessions() as s:
        theirs = s.scalar(select(Annotation.id).join(User, User.id == Annotation.user_id).where(User.name == "ann2").limit(1))
        item = s.scalar(select(Item.id).where(Item.uid == "i0"))
    src = tmp / "team" / "more.jsonl"
    src.write_text('{"id": "new", "messages": [{"role": "user", "content": "new"}]}\n')
    prepared = importer.prepare_import(projects.get_project(ws, "p"), [src])
    yield {"ws": ws, "people": people, "theirs": theirs, "item": item, "src": src, "prepared": prepared, "tmp": tmp / "out"}
    ws.close()


def _allowed(operation: str) -> frozenset[str]:
    return RULES[operation] if operation in RULES else ALLOWED_BEYOND_RULES[operation]


def _refused(world: dict[str, Any], call: Call, who: Actor) -> PermissionDenied:
    ws = world["ws"]
    before = fingerprint(ws, world["tmp"])
    with pytest.raises(PermissionDenied) as info:
        call(ws, who, world)
    assert fingerprint(ws, world["tmp"]) == before, "a refused operation changes nothing"
    return info.value


@pytest.mark.parametrize("name", sorted(name for name, (operation, _) in ACTED.items() if "annotator" not in _allowed(operation)))
def test_annotators_are_refused_what_the_role_table_refuses_them(world: dict[str, Any], name: str) -> None:
    operation, call = ACTED[name]
    refusal = _refused(world, call, world["people"]["annotator"])
    assert (refusal.role, refusal.operation) == ("annotator", operation)
    assert f"annotator 'ann' may not {operation}" in str(refusal)


@pytest.mark.parametrize("name", sorted(ACTED))
def test_nobody_without_an_account_does_anything(world: dict[str, Any], name: str) -> None:
    _, call = ACTED[name]
    ghost = Actor(10**6, "ghost", "lead")  # made up: the role an Actor claims counts for nothing
    refusal = _refused(world, call, ghost)
    assert refusal.operation == "act" and "no active account" in str(refusal)


@pytest.mark.parametrize("name", sorted(READS))
def test_reads_write_nothing(world: dict[str, Any], name: str) -> None:
    ws = world["ws"]
    before = fingerprint(ws, world["tmp"])
    READS[name](ws, world)
    assert fingerprint(ws, world["tmp"]) == before


def test_the_readme_documents_the_role_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("| operation | annotator | reviewer | lead |", 1)[1].split("\n\n", 1)[0]
    documented = {}
    for line in table.strip().splitlines()[1:]:
        operation, *marks = (cell.strip() for cell in line.strip("|").split("|"))
        documented[operation] = {role for role, mark in zip(("annotator", "reviewer", "lead"), marks) if mark == "✓"}
    assert documented == {operation: set(roles) for operation, roles in RULES.items()}
