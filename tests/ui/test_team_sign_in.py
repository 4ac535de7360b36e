"""Signing in: the local lead on SQLite, a name and password on a shared PostgreSQL workspace."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog

from labeldesk.app.ui.sign_in import SignInDialog, sign_in_actor, workspace_label
from labeldesk.app.workflow import accounts
from labeldesk.storage.db import Workspace

pytestmark = pytest.mark.gui


@pytest.fixture
def ws(tmp_path: Path):
    workspace = Workspace.open(tmp_path / "ws", create=True)
    yield workspace
    workspace.close()


def type_into(widget, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    QTest.keyClicks(widget, text)


def enter(dialog: QDialog) -> None:
    QTest.keyClick(QApplication.focusWidget() or dialog, Qt.Key.Key_Return)


def test_sqlite_needs_no_dialog(ws, monkeypatch) -> None:
    monkeypatch.setattr(SignInDialog, "exec", lambda self: pytest.fail("no dialog on a personal workspace"))
    who = sign_in_actor(ws, None)
    assert who == accounts.local_actor(ws) and who.role == "lead"


def test_wrong_password_is_refused_in_the_dialog_and_the_right_one_accepted(qtbot, ws) -> None:
    lead = accounts.local_actor(ws)
    accounts.add_user(ws, lead, "rita", "reviewer", "rita-secret-pw")
    dialog = SignInDialog(ws, None, "rita")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    assert QApplication.focusWidget() is dialog.password, "the name is known: the password is next"

    type_into(dialog.password, "not-her-password")
    enter(dialog)
    assert dialog.isVisible() and dialog.actor is None
    assert not dialog.error.isHidden() and dialog.error.text() == "Wrong name or password"
    assert dialog.password.text() == "" and QApplication.focusWidget() is dialog.password

    type_into(dialog.password, "rita-secret-pw")
    with qtbot.waitSignal(dialog.accepted, timeout=3000):
        enter(dialog)
    assert (dialog.actor.name, dialog.actor.role) == ("rita", "reviewer")


def test_a_name_is_needed(qtbot, ws) -> None:
    dialog = SignInDialog(ws)
    qtbot.addWidget(dialog)
    dialog.submit()
    assert dialog.error.text() == "Enter your user name." and dialog.actor is None


def test_the_workspace_label_hides_passwords(ws) -> None:
    assert workspace_label(ws) == str(ws.location.folder)

    class Remote:
        class location:  # noqa: N801 (stands in for the Location attribute)
            folder = None
            url = "postgresql://ann:hunter2@db.example/labels"

    assert workspace_label(Remote()) == "postgresql://ann:***@db.example/labels"


def drive(qtbot, steps):
    """Run `steps(dialog)` once the modal sign-in dialog is up (exec blocks the test)."""
    done = []

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, SignInDialog) and dialog.isVisible():
            steps(dialog)
            done.append(True)
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)
    return done


@pytest.mark.postgres
def test_shared_workspace_signs_in_with_a_password(qtbot, pg_url: str) -> None:
    ws = Workspace.open(pg_url, create=True)
    try:
        def first_lead(dialog: SignInDialog) -> None:
            type_into(dialog.name, "boss")
            dialog.first.setChecked(True)
            type_into(dialog.password, "boss-password")
            type_into(dialog.confirm, "boss-passw0rd")
            enter(dialog)
            assert dialog.error.text() == "The two passwords differ."
            type_into(dialog.confirm, "boss-password")
            enter(dialog)

        drive(qtbot, first_lead)
        boss = sign_in_actor(ws, None)
        assert (boss.name, boss.role) == ("boss", "lead")
        accounts.add_user(ws, boss, "ann", "annotator", "ann-password")

        seen: list[str] = []

        def wrong_then_right(dialog: SignInDialog) -> None:
            type_into(dialog.password, "guess-guess")
            enter(dialog)
            seen.append(dialog.error.text())
            dialog.first.setChecked(True)  # a second first lead is refused
            type_into(dialog.password, "ann-password")
            type_into(dialog.confirm, "ann-password")
            enter(dialog)
            seen.append(dialog.error.text())
            dialog.first.setChecked(False)
            type_into(dialog.password, "ann-password")
            enter(dialog)

        drive(qtbot, wrong_then_right)
        ann = sign_in_actor(ws, None, name="ann")
        assert (ann.name, ann.role) == ("ann", "annotator")
        assert seen[0] == "Wrong name or password"
        assert "this workspace has a lead" in seen[1]

        drive(qtbot, lambda dialog: dialog.reject())
        assert sign_in_actor(ws, None) is None, "cancelled"
    finally:
        ws.close()
