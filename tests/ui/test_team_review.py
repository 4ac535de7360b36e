"""The review panel driven by keyboard on a real SQLite workspace: next, accept, reject, correct."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog
from sqlalchemy import select

from labeldesk.app.ui.answer_text import answer_text, ranking_text, safety_text, spans_text
from labeldesk.app.ui.dbworker import Change, DbWorker
from labeldesk.app.ui.review_dialogs import CorrectDialog, RejectDialog
from labeldesk.app.ui.review_panel import DIFFERENT_ROW, MINORITY_CELL, ReviewPanel, open_review
from labeldesk.app.workflow import accounts, tasks
from labeldesk.app.workflow.importer import import_files
from labeldesk.app.workflow.permissions import Actor
from labeldesk.app.workflow.projects import create_project
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Annotation, Review, User

pytestmark = pytest.mark.gui

QUESTIONS = [
    {"name": "label", "type": "choice", "options": ["a", "b", "c"]},
    {"name": "quality", "type": "rating", "min": 1, "max": 5},
    {"name": "ranking", "type": "ranking", "ties": True},
    {"name": "errors", "type": "spans", "targets": "responses", "labels": ["unsupported-claim", "factual-error"]},
    {"name": "safety", "type": "safety", "categories": ["violence", "privacy", "misinformation"]},
    {"name": "note", "type": "text"},
]
RESPONSES = [
    {"id": "a", "content": "Paris is the capital of France."},
    {"id": "b", "content": "The capital of France is Paris, on the Seine."},
    {"id": "c", "content": "Lyon has been the capital since 1990."},
]
WRONG = {"target": "responses.c", "start": 0, "end": 4, "label": "factual-error"}  # "Lyon"


def rank(*groups: str) -> list[dict]:
    return [{"response": r, "rank": n} for n, group in enumerate(groups, 1) for r in group]


def values(**changes) -> dict:
    base = {"label": "a", "quality": 4, "ranking": rank("b", "ac"), "errors": [WRONG],
            "safety": {"verdict": "safe", "expected_behavior": "comply"}}
    return {**base, **changes}


# i0: z's quality and ranking differ from x's and y's; only x wrote a note. i1: all agree.
ROWS = [
    {"id": "i0", "annotations": [
        {"annotator": "x", "values": values(note="b adds a useful detail"), "seconds": 40, "submitted_at": "2026-05-04T09:00:00Z"},
        {"annotator": "y", "values": values(), "seconds": 50, "submitted_at": "2026-05-04T09:10:00Z"},
        {"annotator": "z", "values": values(quality=2, ranking=rank("a", "b", "c")), "seconds": 60,
         "submitted_at": "2026-05-04T09:20:00Z"},
    ]},
    {"id": "i1", "annotations": [
        {"annotator": who, "values": values(), "seconds": 30, "submitted_at": f"2026-05-05T09:{m}:00Z"}
        for who, m in (("x", "00"), ("y", "10"), ("z", "20"))
    ]},
]


def load(ws: Workspace, tmp_path: Path, project: str, rows: list[dict], **config) -> None:
    template = tmp_path / f"{project}.yaml"
    template.write_text(yaml.safe_dump({"kind": "preference", "overlap": 3, "questions": QUESTIONS, **config}))
    create_project(ws, accounts.local_actor(ws), project, "preference", template)
    src = tmp_path / f"{project}.jsonl"
    records = [{"schema": "labeldesk/record@1", "kind": "preference",
                "messages": [{"role": "user", "content": f"What is the capital of France? ({r['id']})"}],
                "responses": RESPONSES, **r} for r in rows]
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    import_files(ws, accounts.local_actor(ws), project, [src])


@pytest.fixture
def ws(tmp_path: Path):
    workspace = Workspace.open(tmp_path / "ws", create=True)
    load(workspace, tmp_path, "p", ROWS)
    yield workspace
    workspace.close()


@pytest.fixture
def reviewer(ws: Workspace) -> Actor:
    info = accounts.add_user(ws, accounts.local_actor(ws), "rev", "reviewer")
    return Actor(info.id, info.name, info.role)


@pytest.fixture
def worker(qtbot, ws: Workspace):
    w = DbWorker(ws)
    yield w
    qtbot.waitUntil(lambda: not w.busy, timeout=5000)
    w.stop()


def make_panel(qtbot, worker: DbWorker, who: Actor, project: str = "p") -> ReviewPanel:
    panel = open_review(None, worker, who, project)
    assert isinstance(panel, ReviewPanel)
    qtbot.addWidget(panel)
    panel.resize(1300, 850)
    panel.show()
    qtbot.waitExposed(panel)
    panel.activateWindow()
    panel.setFocus()
    qtbot.waitUntil(lambda: panel.queue is not None or panel.banner.property("kind") == "error", timeout=5000)
    return panel


def key(widget, k: Qt.Key, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """A key press where the keyboard is, as a user would make it."""
    QTest.keyClick(QApplication.focusWidget() or widget, k, modifiers)


def reviews(ws: Workspace) -> dict[tuple[str, str], Review]:
    """(item uid, annotator) -> the stored review."""
    from labeldesk.storage.models import Item

    with ws.sessions() as s:
        rows = s.execute(
            select(Review, Item.uid, User.name).join(Annotation, Annotation.id == Review.annotation_id)
            .join(Item, Item.id == Annotation.item_id).join(User, User.id == Annotation.user_id)
        ).all()
        for review, _uid, _name in rows:
            s.expunge(review)
        return {(uid, name): review for review, uid, name in rows}


def shown(panel: ReviewPanel) -> tuple[str, str] | None:
    return (panel.current.entry.uid, panel.current.entry.annotator) if panel.current else None


def test_review_by_keyboard_accept_reject_correct(qtbot, ws, reviewer, worker) -> None:
    panel = make_panel(qtbot, worker, reviewer)
    assert panel.queue.size == 6
    key(panel, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: shown(panel) == ("i0", "x"), timeout=5000)

    # the side-by-side marks exactly the questions whose answers differ
    assert panel.highlighted_questions() == ("quality", "ranking")
    table = panel.table
    rows = {table.verticalHeaderItem(r).text().split(maxsplit=1)[1]: r for r in range(table.rowCount())}
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers[0].startswith("▶ x") and headers[1:] == ["y", "z", "consensus"]
    marks = {name: table.verticalHeaderItem(r).text()[0] for name, r in rows.items()}
    assert marks == {"label": "=", "quality": "≠", "ranking": "≠", "errors": "=", "safety": "=", "note": "◦"}
    assert table.item(rows["ranking"], 0).text() == "b > a = c"
    assert table.item(rows["ranking"], 2).text() == "≠ a > b > c", "the odd one out says so in words"
    assert table.item(rows["quality"], 2).background().color() == MINORITY_CELL
    assert table.item(rows["quality"], 0).background().color() == DIFFERENT_ROW
    assert table.item(rows["label"], 1).background().color() not in (DIFFERENT_ROW, MINORITY_CELL)
    assert table.item(rows["errors"], 0).text() == "[factual-error] “Lyon” in response c"
    assert table.item(rows["safety"], 0).text() == "safe · expects comply"
    assert table.item(rows["note"], 1).text() == "—"

    # A accepts, and the next submission loads
    key(panel, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: shown(panel) == ("i0", "y"), timeout=5000)
    assert reviews(ws)[("i0", "x")].decision == "accept"
    assert "Accepted: i0" in panel.message()

    # R asks for a reason, which is required
    key(panel, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: isinstance(panel.dialog, RejectDialog) and QApplication.activeWindow() is panel.dialog, timeout=3000)
    dialog = panel.dialog
    dialog.reason.setFocus()
    key(dialog, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.isVisible() and not dialog.error.isHidden() and "reason is required" in dialog.error.text()
    QTest.keyClicks(dialog.reason, "quality is 3 at most: b misses the river")
    key(dialog, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: shown(panel) == ("i0", "z"), timeout=5000)
    stored = reviews(ws)[("i0", "y")]
    assert (stored.decision, stored.reason) == ("reject", "quality is 3 at most: b misses the river")
    with ws.sessions() as s:
        statuses = dict(s.execute(select(User.name, Annotation.status).join(User, User.id == Annotation.user_id)
                                  .where(Annotation.id == stored.annotation_id)).all())
    assert statuses == {"y": "draft"}, "a rejected submission goes back to its annotator"

    # C opens the answers in the labeling editors; nothing changed is refused in place
    key(panel, Qt.Key.Key_C)
    qtbot.waitUntil(lambda: isinstance(panel.dialog, CorrectDialog) and QApplication.activeWindow() is panel.dialog, timeout=3000)
    dialog = panel.dialog
    assert dialog.editors["quality"].value() == 2 and dialog.editors["label"].value() == "a"
    key(dialog, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.isVisible() and "Nothing changed" in dialog.error.text()
    key(dialog, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)  # jump to question 2, the rating
    assert QApplication.focusWidget() is dialog.editors["quality"]
    key(dialog, Qt.Key.Key_4)
    key(dialog, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: shown(panel) == ("i1", "x"), timeout=5000)
    corrected = reviews(ws)[("i0", "z")]
    assert corrected.decision == "correct"
    assert corrected.changes == {"quality": {"from": 2, "to": 4}}
    assert corrected.correction["quality"] == 4 and corrected.correction["ranking"] == rank("a", "b", "c")
    assert panel.highlighted_questions() == (), "i1: everybody agrees"
    qtbot.waitUntil(lambda: panel.queue.size == 3, timeout=5000)
    assert panel.queue_title.text() == "Queue: 3 waiting"


def test_an_empty_queue_says_so(qtbot, ws, reviewer, worker, tmp_path) -> None:
    load(ws, tmp_path, "quiet", [{"id": "q0"}])
    panel = make_panel(qtbot, worker, reviewer, "quiet")
    key(panel, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: panel.pages.currentWidget() is panel.empty and "Nothing is waiting" in panel.empty.text(),
                    timeout=5000)
    assert not panel.actions_by_name["accept"].isEnabled()
    key(panel, Qt.Key.Key_A)  # nothing to accept: nothing happens, nothing breaks
    assert reviews(ws) == {}


def test_permission_denied_is_a_message(qtbot, ws, reviewer, worker, tmp_path) -> None:
    annotator = accounts.sign_in(ws, "x", None)
    panel = make_panel(qtbot, worker, annotator)
    qtbot.waitUntil(lambda: "Not allowed" in panel.message(), timeout=5000)
    assert "annotator 'x' may not review at level 1" in panel.message()
    key(panel, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: not worker.busy, timeout=5000)
    assert panel.current is None and "Not allowed" in panel.message()

    load(ws, tmp_path, "two", [{"id": "t0", "annotations": [{"annotator": "x", "values": values()}]}], review_levels=2)
    two = make_panel(qtbot, worker, reviewer, "two")
    assert [two.level_box.itemText(i) for i in range(two.level_box.count())] == ["Level 1 (reviewers)", "Level 2 (lead)"]
    two.set_level(2)
    qtbot.waitUntil(lambda: "Not allowed" in two.message(), timeout=5000)
    assert "review at level 2" in two.message()


def test_a_resubmitted_entry_is_refused_and_reloaded(qtbot, ws, reviewer, worker) -> None:
    panel = make_panel(qtbot, worker, reviewer)
    key(panel, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: shown(panel) == ("i0", "x"), timeout=5000)
    x = accounts.sign_in(ws, "x", None)
    tasks.acknowledge(ws, x, "p", 1)
    tasks.submit(ws, x, panel.current.entry.item_id, values(quality=5), 10.0, 1)  # x edits it meanwhile
    key(panel, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: "changed since you opened it" in panel.message(), timeout=5000)
    qtbot.waitUntil(lambda: panel.current is not None and panel.current.entry.revision == 2, timeout=5000)
    assert shown(panel) == ("i0", "x") and panel.current.entry.values["quality"] == 5
    assert reviews(ws) == {}
    key(panel, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: ("i0", "x") in reviews(ws), timeout=5000)
    assert reviews(ws)[("i0", "x")].revision == 2


def test_the_queue_follows_change_broadcasts(qtbot, ws, reviewer, worker, tmp_path) -> None:
    panel = make_panel(qtbot, worker, reviewer)
    assert panel.queue.size == 6
    src = tmp_path / "more.jsonl"
    src.write_text(json.dumps({"schema": "labeldesk/record@1", "kind": "preference", "id": "i2",
                               "messages": [{"role": "user", "content": "more"}], "responses": RESPONSES,
                               "annotations": [{"annotator": "x", "values": values()}]}) + "\n")
    worker.submit(lambda w: import_files(w, accounts.local_actor(w), "p", [src]), change=Change("annotation"))
    qtbot.waitUntil(lambda: panel.queue.size == 7, timeout=5000)

    # any entry of the queue opens with Enter, without waiting for its turn
    panel.queue_list.setFocus()
    panel.queue_list.setCurrentRow(6)
    key(panel, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: shown(panel) == ("i2", "x"), timeout=5000)
    assert panel.queue_list.currentItem().text().startswith("▶ i2\nx · ")


def test_answers_read_as_text() -> None:
    content = {"responses": RESPONSES, "messages": [{"role": "user", "content": "Where is Paris?"}]}
    assert ranking_text(rank("b", "ac")) == "b > a = c"
    assert ranking_text(rank("a", "b", "c")) == "a > b > c"
    assert spans_text([WRONG, {"target": "messages.0", "start": 9, "end": 14, "label": "vague", "note": "which Paris?"}],
                      content) == "[vague] “Paris” in user 1 — which Paris?\n[factual-error] “Lyon” in response c"
    assert safety_text({"verdict": "unsafe", "categories": ["violence", "privacy"], "expected_behavior": "refuse"}) == \
        "unsafe · violence, privacy · expects refuse"
    assert answer_text({"type": "rating", "max": 5}, 4.0) == "4 / 5"
    assert answer_text({"type": "multi_choice"}, ["x", "y"]) == "x, y"
    assert answer_text({"type": "text"}, "") == "—"
    assert answer_text({"type": "segments"}, [{"start": 1.2, "end": 3.85, "label": "spk1"}]) == "spk1 1.20–3.85 s"


def test_answers_without_an_editor_are_corrected_as_json(qtbot) -> None:
    from datetime import datetime, timezone

    from labeldesk.app.workflow.review import QueueEntry

    questions = [{"name": "label", "type": "choice", "options": ["a", "b"]}, {"name": "turns", "type": "segments"}]
    before = {"label": "a", "turns": [{"start": 0.0, "end": 1.5, "label": "spk1"}]}
    entry = QueueEntry(1, 1, "m0", "x", 1, 1, before, before, {"messages": [{"role": "user", "content": "hi"}]},
                       datetime.now(timezone.utc), 12.0)
    dialog = CorrectDialog(questions, entry, "p", "conversation")
    qtbot.addWidget(dialog)
    editor = dialog.editors["turns"]
    editor.setPlainText('[{"start": 2, "end": 1}]')
    dialog.accept()
    assert dialog.errors["turns"].text() == "segment 1 ends before it starts" and not dialog.errors["turns"].isHidden()
    editor.setPlainText("[{")
    dialog.accept()
    assert dialog.errors["turns"].text().startswith("not valid JSON")
    editor.setPlainText('[{"start": 0.0, "end": 2.0, "label": "spk1"}]')
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.changed == {"turns": [{"start": 0.0, "end": 2.0, "label": "spk1"}]}, "only what changed is sent"


def test_keys_work_in_a_dock_and_only_there(qtbot, ws, reviewer, worker) -> None:
    from PySide6.QtWidgets import QDockWidget, QLineEdit, QMainWindow

    window = QMainWindow()
    qtbot.addWidget(window)
    elsewhere = QLineEdit()
    window.setCentralWidget(elsewhere)
    panel = open_review(window, worker, reviewer, "p")
    dock = QDockWidget("Review", window)
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.resize(1500, 900)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: panel.queue is not None, timeout=5000)
    elsewhere.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is elsewhere)
    key(window, Qt.Key.Key_N)
    assert elsewhere.text() == "n", "typing elsewhere in the window stays typing"
    panel.setFocus()
    key(window, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: shown(panel) == ("i0", "x"), timeout=5000)
