"""The File menu and the standard shortcuts of the main window, on real workspaces.

Open (Ctrl+O) takes a folder, a .db file or a URL typed in; Close (Ctrl+W) saves the
draft and leaves an empty window that offers Open; Import and Export open their dialogs;
Quit (Ctrl+Q) closes the window and stops the database thread. Export runs the real
export on the database thread and its file is read back here.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox, QPushButton
from sqlalchemy import select

from labeldesk.app.ui.dialogs import OpenWorkspaceDialog, SettingsDialog
from labeldesk.app.ui.export_dialog import ExportDialog
from labeldesk.app.ui.import_wizard import ImportWizard
from labeldesk.app.ui.main import build_window
from labeldesk.app.ui.main_window import MainWindow
from labeldesk.app.ui.sign_in import SignInDialog
from labeldesk.app.ui.settings import Settings
from labeldesk.app.workflow import tasks
from labeldesk.app.workflow.accounts import local_actor
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Annotation, Item

pytestmark = pytest.mark.gui

CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
ROWS = [{"id": f"i{k}", "instruction": f"Define term {k}."} for k in range(3)]


@pytest.fixture
def ws(tmp_path: Path, make_project) -> Workspace:
    workspace = Workspace.open(tmp_path / "ws", create=True)
    make_project(workspace, "ins", "instruction", ROWS)
    yield workspace
    workspace.close()


def settings_for(project: str = "ins") -> Settings:
    settings = Settings("LabelDeskTests", uuid.uuid4().hex)
    settings.last_project = project
    return settings


def shown(qtbot, win: MainWindow) -> MainWindow:
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    activate(qtbot, win)
    return win


def activate(qtbot, win) -> None:
    win.activateWindow()  # the offscreen platform does not hand activation back after a dialog
    qtbot.waitUntil(win.isActiveWindow, timeout=2000)


@pytest.fixture
def window(qtbot, ws: Workspace) -> MainWindow:
    win = shown(qtbot, build_window(ws, settings_for()))
    wait_for_task(qtbot, win)
    return win


def wait_for_task(qtbot, win: MainWindow, uid: str | None = None) -> None:
    qtbot.waitUntil(lambda: win.task is not None and win.pages.currentWidget() is win.form
                    and (uid is None or win.task.uid == uid), timeout=5000)


def chord(win, key: Qt.Key, modifiers=CTRL) -> None:
    """Keys as the user presses them, to whatever has the focus."""
    QTest.keyClick(QApplication.focusWidget() or win, key, modifiers)


def child_dialog(qtbot, win, kind):
    qtbot.waitUntil(lambda: any(d.isVisible() for d in win.findChildren(kind)), timeout=3000)
    return next(d for d in win.findChildren(kind) if d.isVisible())


def menu_entries(win: MainWindow) -> list[tuple[str, str]]:
    return [(a.text().replace("&", ""), a.shortcut().toString()) for a in win.file_menu.actions() if not a.isSeparator()]


# --- the menu and its keys ------------------------------------------------------------------


def test_file_menu_holds_the_standard_entries_with_their_keys(window) -> None:
    assert window.menuBar().actions()[0].text() == "&File"
    assert menu_entries(window) == [
        ("Open workspace…", "Ctrl+O"), ("Close workspace", "Ctrl+W"), ("Import…", "Ctrl+I"),
        ("Export…", "Ctrl+Shift+E"), ("Settings…", "Ctrl+,"), ("Quit", "Ctrl+Q"),
    ]
    # the platform's own bindings are kept next to ours
    for action, standard in ((window.open_action, QKeySequence.StandardKey.Open),
                             (window.close_action, QKeySequence.StandardKey.Close),
                             (window.quit_action, QKeySequence.StandardKey.Quit)):
        assert set(QKeySequence.keyBindings(standard)) <= set(action.shortcuts())
    assert window.actions_by_name["settings"] in window.file_menu.actions()  # the one Settings action, Ctrl+, too


def test_ctrl_w_saves_the_draft_and_leaves_an_empty_window_that_offers_open(qtbot, window, ws) -> None:
    assert window.task.uid == "i0"
    chord(window, Qt.Key.Key_3)  # question 3: quality
    QTest.keyClick(QApplication.focusWidget(), "4")
    chord(window, Qt.Key.Key_W)  # before the autosave timer: closing saves the draft itself

    assert window.worker is None and window.project is None and window.task is None
    assert window.pages.currentWidget() is window.empty_page and window.empty_page.isVisible()
    assert window.windowTitle() == "LabelDesk" and window.project_box.count() == 0
    assert not any(a.isEnabled() for a in (window.close_action, window.import_action, window.export_action))
    assert not any(window.actions_by_name[n].isEnabled() for n in ("next_task", "submit", "skip", "new_query", "undo"))
    assert window.open_action.isEnabled() and window.quit_action.isEnabled()
    with ws.sessions() as s:
        draft = s.scalar(select(Annotation).join(Item).where(Item.uid == "i0"))
    assert draft.status == "draft" and draft.values == {"quality": 4}

    chord(window, Qt.Key.Key_W)  # nothing left to close: nothing happens
    button = window.empty_page.findChild(QPushButton, "openWorkspaceButton")
    assert button.isVisible() and "Open" in button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = child_dialog(qtbot, window, OpenWorkspaceDialog)
    assert dialog.windowModality() == Qt.WindowModality.WindowModal
    dialog.reject()


def test_ctrl_o_opens_a_workspace_folder_typed_in(qtbot, ws) -> None:
    settings = settings_for()
    win = shown(qtbot, MainWindow(None, None, settings))
    assert win.pages.currentWidget() is win.empty_page and not win.export_action.isEnabled()

    chord(win, Qt.Key.Key_O)
    dialog = child_dialog(qtbot, win, OpenWorkspaceDialog)
    open_button = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.location.clear()
    assert not open_button.isEnabled()  # nothing typed, nothing to open
    QTest.keyClicks(dialog.location, str(ws.location.folder))
    QTest.keyClick(dialog.location, Qt.Key.Key_Return)

    wait_for_task(qtbot, win, "i0")
    assert str(ws.location.folder) in win.windowTitle()
    assert settings.last_workspace == str(ws.location.folder)
    assert win.export_action.isEnabled() and win.close_action.isEnabled()
    assert win.project.name == "ins" and win.project_box.currentText() == "ins"


def test_open_a_database_file_replaces_the_open_workspace(qtbot, window, ws, tmp_path, make_project) -> None:
    other = Workspace.open(tmp_path / "other", create=True)
    make_project(other, "second", "instruction", [{"id": "s1", "instruction": "Another one."}])
    other.close()
    db_file = next((tmp_path / "other").glob("*.db"))
    old_worker = window.worker
    activate(qtbot, window)

    chord(window, Qt.Key.Key_O)
    dialog = child_dialog(qtbot, window, OpenWorkspaceDialog)
    dialog.location.setText(str(db_file))
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)

    wait_for_task(qtbot, window, "s1")
    assert window.project.name == "second" and str(tmp_path / "other") in window.windowTitle()
    assert old_worker.stopped and not old_worker._thread.isRunning()
    assert window.worker is not old_worker


@pytest.mark.postgres
def test_open_a_postgresql_url_typed_in_asks_who_signs_in(qtbot, pg_url: str) -> None:
    Workspace.open(pg_url, create=True).close()  # a fresh shared workspace: nobody to sign in as yet
    win = shown(qtbot, MainWindow(None, None, settings_for()))
    dialog = win.open_workspace_dialog()
    dialog.location.setText(pg_url)
    signed_in = []

    def first_lead() -> None:  # the sign-in dialog is application-modal (exec): answer it from the loop
        modal = QApplication.activeModalWidget()
        if not isinstance(modal, SignInDialog):
            QTimer.singleShot(20, first_lead)
            return
        modal.name.setText("boss")
        modal.first.setChecked(True)
        modal.password.setText("boss-password")
        modal.confirm.setText("boss-password")
        modal.submit()
        signed_in.append(modal.actor)

    QTimer.singleShot(0, first_lead)
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.worker is not None, timeout=10000)
    assert signed_in[0].name == "boss" and win.who == signed_in[0]
    assert win.windowTitle().endswith("— boss") and pg_url.rsplit("/", 1)[1] in win.windowTitle()
    qtbot.waitUntil(lambda: "no projects yet" in win.message.text(), timeout=5000)
    win.close()  # stops the worker: the fixture may drop the database


def test_a_workspace_that_cannot_open_is_said_and_the_current_one_stays(qtbot, window, tmp_path) -> None:
    worker, task = window.worker, window.task
    window.open_workspace(str(tmp_path / "no-such-workspace"))
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "openWorkspaceError") is not None, timeout=5000)
    box = window.findChild(QMessageBox, "openWorkspaceError")
    assert "no workspace at" in box.text() and box.isVisible()
    box.accept()
    assert window.worker is worker and window.task is task and not worker.stopped
    assert window._opening is None


def test_ctrl_q_quits(qtbot, window) -> None:
    worker = window.worker
    chord(window, Qt.Key.Key_Q)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=3000)
    assert worker.stopped and not worker._thread.isRunning()


# --- Import, Settings ---------------------------------------------------------------------


def test_import_entry_opens_the_import_wizard(qtbot, window) -> None:
    window.import_action.trigger()
    wizard = child_dialog(qtbot, window, ImportWizard)
    assert wizard.windowModality() == Qt.WindowModality.WindowModal
    wizard.reject()


def test_settings_entry_opens_the_settings(qtbot, window) -> None:
    seen = []

    def dismiss() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(50, dismiss)
            return
        seen.append(type(dialog))
        dialog.reject()

    QTimer.singleShot(50, dismiss)
    next(a for a in window.file_menu.actions() if a.text() == "&Settings…").trigger()
    assert seen == [SettingsDialog]


# --- Export -------------------------------------------------------------------------------


def submit_answer(ws: Workspace, uid: str, values: dict) -> None:
    who = local_actor(ws)
    task = tasks.next_task(ws, who, "ins")
    assert task.uid == uid
    tasks.submit(ws, who, task.item_id, values, 12.0, task.guideline_version)


def open_export(qtbot, win) -> ExportDialog:
    activate(qtbot, win)
    chord(win, Qt.Key.Key_E, CTRL_SHIFT)
    return child_dialog(qtbot, win, ExportDialog)


def run_export(qtbot, dialog: ExportDialog, fmt: str, include: str, out: Path) -> str:
    dialog.format.setCurrentText(fmt)
    dialog.include.setCurrentText(include)
    dialog.out.setText(str(out))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running and dialog.export_button.isEnabled(), timeout=10000)
    return dialog.status.text()


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_export_writes_the_current_projects_records(qtbot, ws, tmp_path) -> None:
    submit_answer(ws, "i0", {"reference": "A measure of disorder.", "category": "closed-qa", "quality": 4})
    win = shown(qtbot, build_window(ws, settings_for()))
    wait_for_task(qtbot, win, "i1")
    dialog = open_export(qtbot, win)
    assert dialog.project.currentText() == "ins"
    assert [dialog.format.itemText(i) for i in range(dialog.format.count())][:2] == ["records", "sft"]
    assert dialog.out.text().endswith("records.jsonl")  # a default beside the workspace

    text = run_export(qtbot, dialog, "records", "annotated", tmp_path / "out" / "annotated.jsonl")
    assert "Exported 1 record(s) of ins" in text and str(tmp_path / "out" / "annotated.jsonl") in text
    (record,) = read_jsonl(tmp_path / "out" / "annotated.jsonl")
    assert record["schema"] == "labeldesk/record@1" and record["id"] == "i0" and record["kind"] == "instruction"
    assert record["messages"] == [{"role": "user", "content": "Define term 0."}]
    assert record["labels"] == {"reference": "A measure of disorder.", "category": "closed-qa", "quality": 4}
    assert [a["annotator"] for a in record["annotations"]] == [local_actor(ws).name]

    text = run_export(qtbot, dialog, "records", "all", tmp_path / "all.jsonl")
    assert "Exported 3 record(s)" in text
    assert [r["id"] for r in read_jsonl(tmp_path / "all.jsonl")] == ["i0", "i1", "i2"]
    assert "Exported 3 record(s) of ins" in win.statusBar().currentMessage()

    text = run_export(qtbot, dialog, "records", "accepted", tmp_path / "accepted.jsonl")
    assert "Exported 0 record(s)" in text and read_jsonl(tmp_path / "accepted.jsonl") == []  # nothing reviewed yet


def test_export_errors_are_shown_in_the_dialog(qtbot, window, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    dialog = open_export(qtbot, window)
    text = run_export(qtbot, dialog, "records", "all", blocker / "records.jsonl")
    assert text.startswith("Export failed:") and "a-file" in text
    assert dialog.isVisible() and dialog.format.isEnabled()  # the user can fix the path and try again
    assert not (blocker.parent / "records.jsonl").exists()


@pytest.fixture
def big_ws(tmp_path: Path, make_project) -> Workspace:
    """Enough items that export() reports progress (every 5000 records) and can be cancelled."""
    workspace = Workspace.open(tmp_path / "big", create=True)
    make_project(workspace, "ins", "instruction", [{"id": f"b{k}", "instruction": f"q{k}"} for k in range(12000)])
    yield workspace
    workspace.close()


def test_export_cancel_and_closing_the_window_mid_export(qtbot, big_ws, tmp_path) -> None:
    win = shown(qtbot, build_window(big_ws, settings_for()))
    wait_for_task(qtbot, win)
    dialog = open_export(qtbot, win)
    dialog.out.setText(str(tmp_path / "cancelled.jsonl"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.running and dialog.close_button.text() == "Cancel"
    last_words: list[str] = []
    dialog.finished.connect(lambda _result: last_words.append(dialog.status.text()))
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)  # stops at the first progress report
    assert dialog.status.text() == "Cancelling…"
    qtbot.waitUntil(lambda: bool(last_words), timeout=10000)  # then the dialog closes (and deletes itself)
    assert last_words == ["Export cancelled."]
    assert not (tmp_path / "cancelled.jsonl").exists()
    assert not list(tmp_path.glob(".cancelled.*"))  # no temporary file left behind

    dialog = open_export(qtbot, win)
    dialog.out.setText(str(tmp_path / "closed.jsonl"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    worker = win.worker
    started = time.monotonic()
    win.close()  # the worker's stop cancels the export at its next progress report
    assert time.monotonic() - started < 5
    assert worker.stopped and not worker._thread.isRunning() and not win.isVisible()
    assert not (tmp_path / "closed.jsonl").exists()
