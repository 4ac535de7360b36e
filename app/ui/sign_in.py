"""Signing in before the window opens: who is at the keyboard.

On a personal SQLite workspace the person at the keyboard is its lead (the file itself is
the access control), so no dialog is shown. On a shared PostgreSQL workspace everybody signs
in with a name and a password. This runs before the database worker exists, so the dialog
calls `accounts.sign_in` directly; argon2 takes a few tens of milliseconds, and a busy cursor
covers the wait. A fresh shared workspace has nobody to sign in as: the dialog can make the
person at the keyboard its first lead (`accounts.create_first_lead`, refused once one exists).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication, QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget,
)

from labeldesk.app.workflow import accounts
from labeldesk.app.workflow.accounts import AccountError, SignInFailed
from labeldesk.app.workflow.permissions import Actor, PermissionDenied
from labeldesk.storage.db import Workspace

SignIn = Callable[[Workspace, str, str | None], Actor]
FirstLead = Callable[[Workspace, str, str], Actor]

ERROR_STYLE = "color: #a4000f; background: #fde7e9; border: 1px solid #e8a0a6; border-radius: 4px; padding: 6px;"


def workspace_label(ws: Workspace) -> str:
    """Where the workspace is, without the password a connection URL may carry."""
    if ws.location.folder is not None:
        return str(ws.location.folder)
    try:
        from sqlalchemy.engine import make_url

        return make_url(ws.location.url).render_as_string(hide_password=True)
    except Exception:  # an odd URL: show nothing rather than a secret
        return "shared workspace"


class SignInDialog(QDialog):
    """Name and password; a refusal is shown in the dialog, which stays open for another try."""

    def __init__(
        self, ws: Workspace, parent: QWidget | None = None, name: str = "",
        sign_in: SignIn = accounts.sign_in, first_lead: FirstLead = accounts.create_first_lead,
    ):
        super().__init__(parent)
        self.ws = ws
        self.actor: Actor | None = None
        self._sign_in = sign_in
        self._first_lead = first_lead
        self.setWindowTitle("Sign in to LabelDesk")
        self.setMinimumWidth(420)

        where = QLabel(f"Workspace: <b>{_escape(workspace_label(ws))}</b>")
        where.setTextFormat(Qt.TextFormat.RichText)
        where.setWordWrap(True)
        self.name = QLineEdit(name)
        self.name.setPlaceholderText("your user name")
        self.name.setAccessibleName("User name")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("password")
        self.password.setAccessibleName("Password")
        self.confirm = QLineEdit()
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm.setPlaceholderText("the same password again")
        self.confirm.setAccessibleName("Confirm password")
        self.first = QCheckBox("New shared workspace: make me its first lead")
        self.first.setToolTip("Only possible while the workspace has no lead; afterwards the lead creates accounts.")
        self.first.toggled.connect(self._mode_changed)

        form = QFormLayout()
        form.addRow("&Name", self.name)
        form.addRow("&Password", self.password)
        self._confirm_label = QLabel("&Confirm")
        self._confirm_label.setBuddy(self.confirm)
        form.addRow(self._confirm_label, self.confirm)

        # errors appear here, in the dialog, not in a second window the user must dismiss
        self.error = QLabel()
        self.error.setObjectName("signInError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setAccessibleName("Sign-in problem")
        self.error.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Sign in")
        self.ok_button.setDefault(True)  # Enter in either field submits
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(where)
        layout.addLayout(form)
        layout.addWidget(self.first)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._mode_changed(False)
        (self.password if name else self.name).setFocus()

    def _mode_changed(self, first_lead: bool) -> None:
        self.confirm.setVisible(first_lead)
        self._confirm_label.setVisible(first_lead)
        self.ok_button.setText("Create lead and sign in" if first_lead else "Sign in")
        self.error.hide()

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def submit(self) -> None:
        """Check the name and password; on success the dialog closes with `actor` set."""
        name = self.name.text().strip()
        password = self.password.text()
        if not name:
            self.show_error("Enter your user name.")
            self.name.setFocus()
            return
        if self.first.isChecked() and password != self.confirm.text():
            self.show_error("The two passwords differ.")
            self.confirm.clear()
            self.confirm.setFocus()
            return
        self.ok_button.setEnabled(False)
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        QApplication.processEvents()  # paint the disabled button before the short wait
        try:
            if self.first.isChecked():
                self.actor = self._first_lead(self.ws, name, password)
            else:
                self.actor = self._sign_in(self.ws, name, password or None)
        except (SignInFailed, PermissionDenied, AccountError) as exc:
            self._refused(_sentence(str(exc)))
            return
        except Exception as exc:  # the server went away, a broken database: say so, keep the dialog
            self._refused(f"Cannot reach the workspace: {exc}")
            return
        finally:
            QGuiApplication.restoreOverrideCursor()
            self.ok_button.setEnabled(True)
        self.accept()

    def _refused(self, text: str) -> None:
        self.actor = None
        self.show_error(text)
        self.password.clear()
        self.confirm.clear()
        self.password.setFocus()


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]) if text else "Sign-in refused."


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sign_in_actor(ws: Workspace, parent: QWidget | None = None, name: str = "") -> Actor | None:
    """The acting user: the local lead on SQLite, else whoever signs in; None if they cancel."""
    if ws.location.is_sqlite:
        return accounts.local_actor(ws)
    dialog = SignInDialog(ws, parent, name)
    if not dialog.exec():
        return None
    return dialog.actor
