"""The labeling workstation driven by keyboard, from "next task" to "submitted", on a real workspace."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog
from sqlalchemy import select

from labeldesk.app.ui.main import build_window
from labeldesk.app.ui.media_pane import uninstall_text_guard
from labeldesk.app.workflow.accounts import local_actor
from labeldesk.app.ui.settings import Settings
from labeldesk.app.workflow.importer import import_files
from labeldesk.app.workflow.projects import create_project, publish_guidelines
from labeldesk.app.workflow.tasks import acknowledge, next_task
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Annotation, Flag, Item

pytestmark = pytest.mark.gui


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace.open(tmp_path / "ws", create=True)
    yield workspace
    workspace.close()


def project(ws: Workspace, tmp_path: Path, name: str, kind: str, rows: list[dict], ack: bool = True) -> str:
    lead = local_actor(ws)
    create_project(ws, lead, name, kind)
    import_files(ws, lead, name, [write_jsonl(tmp_path / f"{uuid.uuid4().hex}.jsonl", rows)])
    if ack:
        acknowledge(ws, lead, name, 1)
    return name


@pytest.fixture
def window_for(qtbot, ws: Workspace):
    def make(project_name: str):
        settings = Settings("LabelDeskTests", uuid.uuid4().hex)
        settings.last_project = project_name
        win = build_window(ws, settings)
        qtbot.addWidget(win)
        win.resize(1400, 900)
        win.show()
        qtbot.waitExposed(win)
        wait_for_task(qtbot, win)
        return win

    yield make
    uninstall_text_guard()  # a media pane installs it app-wide; later tests expect a plain application


def wait_for_task(qtbot, win, uid: str | None = None) -> None:
    qtbot.waitUntil(lambda: win.task is not None and win.pages.currentWidget() is win.form and (uid is None or win.task.uid == uid), timeout=5000)


def keys(qtbot, win, sequence: str) -> None:
    """Type into whatever has the keyboard focus, as a user would."""
    for ch in sequence:
        target = QApplication.focusWidget() or win
        QTest.keyClick(target, ch)


def chord(win, key: Qt.Key, modifiers=Qt.KeyboardModifier.ControlModifier) -> None:
    QTest.keyClick(QApplication.focusWidget() or win, key, modifiers)


def stored(ws: Workspace, uid: str) -> Annotation | None:
    with ws.sessions() as s:
        return s.scalar(select(Annotation).join(Item).where(Item.uid == uid))


def submit(qtbot, win, next_uid: str | None = None) -> None:
    chord(win, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=5000)
    if next_uid:
        wait_for_task(qtbot, win, next_uid)


def test_preference_ranking_and_rating_by_keyboard(qtbot, ws, tmp_path, window_for) -> None:
    name = project(ws, tmp_path, "pref", "preference", [
        {"id": "p1", "prompt": "Why is the sky blue?", "responses": ["Rayleigh scattering.", "Because of the sea.", "Dust."]},
        {"id": "p2", "prompt": "2+2?", "responses": ["4", "5"]},
    ])
    win = window_for(name)
    assert win.task.uid == "p1"
    chord(win, Qt.Key.Key_1)  # ranking
    keys(qtbot, win, "132")
    chord(win, Qt.Key.Key_4)  # quality (question 4 in form order: ranking, errors, rationale, quality)
    keys(qtbot, win, "4")
    submit(qtbot, win, "p2")
    annotation = stored(ws, "p1")
    assert annotation.status == "submitted"
    assert annotation.values["ranking"] == [{"response": "a", "rank": 1}, {"response": "c", "rank": 2}, {"response": "b", "rank": 3}]
    assert annotation.values["quality"] == 4
    assert annotation.guideline_version == 1


def test_instruction_reference_choice_and_required_check(qtbot, ws, tmp_path, window_for) -> None:
    name = project(ws, tmp_path, "ins", "instruction", [{"id": "i1", "instruction": "Define entropy."}, {"id": "i2", "instruction": "Define heat."}])
    win = window_for(name)
    chord(win, Qt.Key.Key_Return)  # reference is required: nothing is submitted
    qtbot.wait(200)
    assert stored(ws, "i1") is None and "required" in win.statusBar().currentMessage()
    chord(win, Qt.Key.Key_1)
    QTest.keyClicks(QApplication.focusWidget(), "A measure of disorder.")
    chord(win, Qt.Key.Key_2)
    keys(qtbot, win, "2")
    submit(qtbot, win, "i2")
    values = stored(ws, "i1").values
    assert values["reference"] == "A measure of disorder." and values["category"] == "closed-qa"


def test_safety_verdict_categories_behaviour(qtbot, ws, tmp_path, window_for) -> None:
    name = project(ws, tmp_path, "safe", "safety", [
        {"id": "s1", "prompt": "How to make a weapon?", "responses": ["I can't help with that."]},
        {"id": "s2", "prompt": "Hello", "responses": ["Hi"]},
    ])
    win = window_for(name)
    chord(win, Qt.Key.Key_2)  # safety (spans question is on the item side, numbered first)
    keys(qtbot, win, "2")  # unsafe
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    keys(qtbot, win, "7")  # weapons
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    keys(qtbot, win, "2")  # refuse
    submit(qtbot, win, "s2")
    assert stored(ws, "s1").values["safety"] == {"verdict": "unsafe", "categories": ["weapons"], "expected_behavior": "refuse"}


def test_spans_marked_by_keyboard_keep_code_point_offsets(qtbot, ws, tmp_path, window_for) -> None:
    text = "Paris 👋🏽 is the capital of Spain."
    name = project(ws, tmp_path, "chat", "conversation", [
        {"id": "c1", "messages": [{"role": "user", "content": "Capital?"}, {"role": "assistant", "content": text}]},
        {"id": "c2", "messages": [{"role": "user", "content": "next"}]},
    ])
    win = window_for(name)
    editor = win.form.editors["errors"]
    chord(win, Qt.Key.Key_1)
    highlighter = editor._views["messages.1"]
    highlighter.setFocus()
    start = text.index("Spain")
    highlighter.select_text(start, start + len("Spain"))
    keys(qtbot, win, "2")  # factual-error
    chord(win, Qt.Key.Key_2)  # the dialogue: add an assistant turn after the last one
    editor = win.form.editors["dialogue"]
    editor.set_current(editor.turn_count() - 1)
    chord(win, Qt.Key.Key_Return, Qt.KeyboardModifier.AltModifier)
    QTest.keyClicks(QApplication.focusWidget(), "Madrid is.")
    submit(qtbot, win, "c2")
    dialogue = stored(ws, "c1").values["dialogue"]
    assert [m["content"] for m in dialogue] == ["Capital?", text, "Madrid is."]
    spans = stored(ws, "c1").values["errors"]
    assert spans == [{"target": "messages.1", "start": start, "end": start + 5, "label": "factual-error"}]
    assert text[spans[0]["start"]:spans[0]["end"]] == "Spain"


def test_undo_redo_through_one_stack_and_drafts_saved(qtbot, ws, tmp_path, window_for) -> None:
    name = project(ws, tmp_path, "ins", "instruction", [{"id": "i1", "instruction": "Define entropy."}])
    win = window_for(name)
    chord(win, Qt.Key.Key_3)
    keys(qtbot, win, "4")
    keys(qtbot, win, "5")
    assert win.form.values()["quality"] == 5
    chord(win, Qt.Key.Key_Z)
    assert win.form.values()["quality"] == 4
    chord(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert win.form.values()["quality"] == 5
    qtbot.waitUntil(lambda: win.save_label.text() == "Draft saved", timeout=3000)
    draft = stored(ws, "i1")
    assert draft.status == "draft" and draft.values == {"quality": 5}


def test_new_guidelines_must_be_acknowledged_then_flag_reaches_the_lead(qtbot, ws, tmp_path, window_for) -> None:
    name = project(ws, tmp_path, "ins", "instruction", [{"id": "i1", "instruction": "a"}, {"id": "i2", "instruction": "b"}])
    publish_guidelines(ws, local_actor(ws), name, "# Version 2\nAlways cite a source.")
    accepted = []

    def accept_dialog() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QDialog):
            accepted.append(dialog.windowTitle())
            dialog.accept()
        else:
            QTimer.singleShot(50, accept_dialog)

    QTimer.singleShot(50, accept_dialog)
    win = window_for(name)
    assert accepted == ["Guidelines, version 2"]
    assert win.task.guideline_version == 2

    def fill_flag() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(50, fill_flag)
            return
        dialog.body.setPlainText("Does a blog count as a source?")
        dialog.accept()

    win.activateWindow()  # the offscreen platform does not hand activation back after a modal dialog
    qtbot.waitUntil(win.isActiveWindow, timeout=2000)
    QTimer.singleShot(50, fill_flag)
    chord(win, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=3000)
    with ws.sessions() as s:
        flag = s.scalar(select(Flag))
    assert (flag.kind, flag.text) == ("guideline-unclear", "Does a blog count as a source?")


def test_skip_with_reason_and_history_reopen(qtbot, ws, tmp_path, window_for) -> None:
    name = project(ws, tmp_path, "ins", "instruction", [{"id": f"i{k}", "instruction": f"q{k}"} for k in range(3)])
    win = window_for(name)

    def choose_reason() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(50, choose_reason)
            return
        dialog.reason.setCurrentText("Outside my expertise")
        dialog.accept()

    QTimer.singleShot(50, choose_reason)
    chord(win, Qt.Key.Key_K)
    wait_for_task(qtbot, win, "i1")
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=2000)
    chord(win, Qt.Key.Key_1)
    QTest.keyClicks(QApplication.focusWidget(), "answer one")
    submit(qtbot, win, "i2")
    qtbot.waitUntil(lambda: win.history_list.count() == 1, timeout=3000)
    win.history_list.itemActivated.emit(win.history_list.item(0))
    wait_for_task(qtbot, win, "i1")
    assert win.task.status == "submitted" and win.form.values()["reference"] == "answer one"


def test_write_a_new_query(qtbot, ws, tmp_path, window_for) -> None:
    create_project(ws, local_actor(ws), "queries", "queries")
    acknowledge(ws, local_actor(ws), "queries", 1)
    settings = Settings("LabelDeskTests", uuid.uuid4().hex)
    settings.last_project = "queries"
    win = build_window(ws, settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.project is not None and not win.worker.busy, timeout=5000)
    chord(win, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert win.authoring
    chord(win, Qt.Key.Key_1)
    QTest.keyClicks(QApplication.focusWidget(), "How do tides work?")
    chord(win, Qt.Key.Key_2)
    keys(qtbot, win, "1")
    chord(win, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=5000)
    with ws.sessions() as s:
        item = s.scalar(select(Item))
        annotation = s.scalar(select(Annotation))
    assert item.content["messages"] == [{"role": "user", "content": "How do tides work?"}]
    assert annotation.status == "submitted" and annotation.values == {"topic": "science"}


def test_bad_items_render_safely(qtbot, ws, tmp_path, window_for) -> None:
    huge = "lorem ipsum " * 90_000  # ~1 MB response
    hostile = '<img src="http://example.invalid/x.png"><script>alert(1)</script> **bold**'
    rtl = "مرحبا بالعالم — שלום עולם — e\u0301 🇫🇷"
    name = project(ws, tmp_path, "pref", "preference", [
        {"id": "b1", "prompt": hostile, "responses": [huge, rtl, ""]},
        {"id": "b2", "prompt": "", "responses": ["x", "y"]},
    ])
    win = window_for(name)
    view = win.form.conversation.text_edit()
    shown = view.toPlainText()
    assert "<script>alert(1)</script>" in shown, "raw HTML is shown as text, never run"
    assert '<img src="http://example.invalid/x.png">' in shown
    assert all(not url.startswith("http") for url in view.blocked_urls), "nothing remote was even requested"
    chord(win, Qt.Key.Key_1)
    keys(qtbot, win, "21")
    submit(qtbot, win, "b2")
    assert stored(ws, "b1").values["ranking"][0] == {"response": "b", "rank": 1}


def test_synthetic_item_shows_its_generator_and_asks_for_a_check(qtbot, ws, tmp_path, window_for) -> None:
    name = project(ws, tmp_path, "ins", "instruction", [{
        "schema": "labeldesk/record@1", "id": "syn1", "kind": "instruction",
        "messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}],
        "provenance": {"synthetic": True, "generator": "model-x"}}])
    win = window_for(name)
    assert "model-x" in win.form.findChild(type(win.message), "syntheticBanner").text()
    assert "synthetic_check" in win.form.editors


def test_draft_survives_a_killed_process(ws, tmp_path) -> None:
    """Answer, let the autosave happen, SIGKILL the app: the draft is back in the next session."""
    name = project(ws, tmp_path, "ins", "instruction", [{"id": "i1", "instruction": "Define entropy."}])
    spec = str(ws.location.folder)
    script = textwrap.dedent(f"""
        import os, signal, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from PySide6.QtCore import QTimer, Qt
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QApplication
        from labeldesk.app.ui.main import build_window
        from labeldesk.app.ui.settings import Settings
        from labeldesk.storage.db import Workspace
        app = QApplication([])
        settings = Settings("LabelDeskTests", "kill-{uuid.uuid4().hex}")
        settings.last_project = {name!r}
        win = build_window(Workspace.open({spec!r}), settings)
        win.show()
        def act():
            if win.task is None:
                QTimer.singleShot(50, act); return
            win.form.focus_question(3)
            QTest.keyClick(QApplication.focusWidget(), "3")
            win.form.focus_question(1)
            QTest.keyClicks(QApplication.focusWidget(), "half-written")
            win.form.editors["reference"].flush()
            QTimer.singleShot(50, wait_saved)
        def wait_saved():
            if win.save_label.text() != "Draft saved":
                QTimer.singleShot(50, wait_saved); return
            os.kill(os.getpid(), signal.SIGKILL)
        QTimer.singleShot(50, act)
        app.exec()
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    task = next_task(ws, local_actor(ws), name)
    assert task.uid == "i1" and task.values == {"quality": 3, "reference": "half-written"}


def test_team_menu_opens_review_and_dashboard_docks(qtbot, ws, tmp_path, window_for) -> None:
    name = project(ws, tmp_path, "ins", "instruction", [{"id": "i1", "instruction": "a"}])
    win = window_for(name)
    chord(win, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    chord(win, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert set(win._team_docks) == {"review", "dashboard"}
    assert all(dock.isVisible() and dock.widget() is not None for dock in win._team_docks.values())
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=5000)


def test_file_import_opens_the_wizard(qtbot, ws, tmp_path, window_for) -> None:
    from labeldesk.app.ui.import_wizard import ImportWizard

    name = project(ws, tmp_path, "ins", "instruction", [{"id": "i1", "instruction": "a"}])
    win = window_for(name)
    chord(win, Qt.Key.Key_I)
    qtbot.waitUntil(lambda: win.findChild(ImportWizard) is not None, timeout=3000)
    wizard = win.findChild(ImportWizard)
    assert wizard.isVisible()
    wizard.reject()


def test_media_item_with_a_transcript_is_offered_with_its_segments_prefilled(qtbot, ws, tmp_path, window_for) -> None:
    from labeldesk.app.workflow.demo import DEMO_TURNS, write_demo_media

    folder = tmp_path / "media"
    folder.mkdir()
    create_project(ws, local_actor(ws), "calls", "multimodal")
    import_files(ws, local_actor(ws), "calls", [write_demo_media(folder)])
    acknowledge(ws, local_actor(ws), "calls", 1)
    win = window_for("calls")
    segments = win.form.editors["segments"].value()
    assert sorted((s["start"], s["end"]) for s in segments) == sorted((start, end) for start, end, _spk, _text in DEMO_TURNS)
    uid = win.task.uid
    submit(qtbot, win)
    assert len(stored(ws, uid).values["segments"]) == len(DEMO_TURNS)
