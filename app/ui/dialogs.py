"""Small dialogs: open a workspace, skip reason, guideline acknowledgement, flags, shortcut cheat sheet, settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView, QKeySequenceEdit, QLabel,
    QLineEdit, QMenu, QPlainTextEdit, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from labeldesk.app.ui.settings import ACTIONS, Settings
from labeldesk.widgets.safe_text import SafeTextBrowser, render_markdown

SKIP_REASONS = (
    "Outside my expertise", "Not in a language I work in", "Content is broken or empty",
    "Guidelines do not cover this case", "Disturbing content: I need a break",
)


def _buttons(dialog: QDialog, ok_text: str = "OK") -> QDialogButtonBox:
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    box.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box


class OpenWorkspaceDialog(QDialog):
    """A workspace folder, its .db file, or a PostgreSQL URL typed in."""

    def __init__(self, initial: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Open workspace")
        self.setMinimumWidth(560)
        self.location = QLineEdit(initial)
        self.location.setAccessibleName("Workspace location")
        self.location.setPlaceholderText("a folder, a workspace .db file, or postgresql://user@host/db")
        self.location.setClearButtonEnabled(True)
        browse = QPushButton("Browse…")
        menu = QMenu(browse)
        menu.addAction("Workspace folder…", self._browse_folder)
        menu.addAction("Database file (.db)…", self._browse_file)
        browse.setMenu(menu)
        row = QHBoxLayout()
        row.addWidget(self.location, 1)
        row.addWidget(browse)
        hint = QLabel("A folder made with <code>labeldesk init</code>, its <code>.db</code> file, "
                      "or the URL of a shared PostgreSQL workspace.")
        hint.setWordWrap(True)
        self.buttons = _buttons(self, "Open")
        self.location.textChanged.connect(self._update)
        label = QLabel("&Workspace")
        label.setBuddy(self.location)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addLayout(row)
        layout.addWidget(hint)
        layout.addWidget(self.buttons)
        self._update()
        self.location.setFocus()

    def _start_dir(self) -> str:
        text = self.spec()
        if not text or "://" in text:
            return str(Path.home())
        path = Path(text).expanduser()
        return str(path if path.is_dir() else path.parent)

    def _browse_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Workspace folder", self._start_dir())
        if chosen:
            self.location.setText(chosen)

    def _browse_file(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Workspace database", self._start_dir(),
                                                "LabelDesk database (*.db);;All files (*)")
        if chosen:
            self.location.setText(chosen)

    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.spec()))

    def spec(self) -> str:
        return self.location.text().strip()


class SkipDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Skip this task")
        self.reason = QComboBox()
        self.reason.setEditable(True)
        self.reason.addItems(SKIP_REASONS)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Why are you skipping it? The lead sees the reason."))
        layout.addWidget(self.reason)
        layout.addWidget(_buttons(self, "Skip"))

    def text(self) -> str:
        return self.reason.currentText().strip()


class FlagDialog(QDialog):
    def __init__(self, title: str, prompt: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.body = QPlainTextEdit()
        self.body.setPlaceholderText(prompt)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(prompt))
        layout.addWidget(self.body)
        layout.addWidget(_buttons(self, "Send to the lead"))

    def text(self) -> str:
        return self.body.toPlainText().strip()


class GuidelinesDialog(QDialog):
    """A new guideline version: read it and acknowledge it before the next task."""

    def __init__(self, version: int, text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Guidelines, version {version}")
        self.resize(720, 640)
        view = SafeTextBrowser()
        render_markdown(view, text)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>The guidelines changed (version {version}).</b> Read them before your next task."))
        layout.addWidget(view)
        layout.addWidget(_buttons(self, f"I have read version {version}"))


class CheatSheet(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 560)
        rows = [(a.title, settings.shortcut(a.name).toString()) for a in ACTIONS]
        rows += [
            ("Jump to question n", "Ctrl+1 … Ctrl+9"),
            ("Rating: set the value", "1 … 9 (0 clears)"),
            ("Choice: pick option n", "1 … 9"),
            ("Ranking: rank responses in order of preference", "response numbers; = ties; Backspace undoes"),
            ("Spans: label the selected text", "label number; N note; S severity; Delete removes"),
            ("Conversation: add a turn after this one", "Alt+Enter"),
            ("Conversation: move a turn", "Alt+Up / Alt+Down"),
        ]
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels(["action", "keys"])
        for i, (title, keys) in enumerate(rows):
            table.setItem(i, 0, QTableWidgetItem(title))
            table.setItem(i, 1, QTableWidgetItem(keys))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        layout.addWidget(close)


class SettingsDialog(QDialog):
    """Remap shortcuts, set the idle threshold and the responses layout."""

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Settings")
        form = QFormLayout()
        self.edits: dict[str, QKeySequenceEdit] = {}
        for action in ACTIONS:
            edit = QKeySequenceEdit(settings.shortcut(action.name))
            self.edits[action.name] = edit
            form.addRow(action.title, edit)
        self.idle = QSpinBox()
        self.idle.setRange(10, 3600)
        self.idle.setSuffix(" s")
        self.idle.setValue(settings.idle_seconds)
        form.addRow("Stop counting active time after", self.idle)
        self.layout_choice = QComboBox()
        self.layout_choice.addItems(["side", "stacked"])
        self.layout_choice.setCurrentText(settings.responses_layout)
        form.addRow("Responses", self.layout_choice)
        reset = QPushButton("Restore default shortcuts")
        reset.clicked.connect(self._reset)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(reset)
        layout.addWidget(_buttons(self, "Save"))

    def _reset(self) -> None:
        for action in ACTIONS:
            self.edits[action.name].setKeySequence(action.default)

    def accept(self) -> None:
        for name, edit in self.edits.items():
            self.settings.set_shortcut(name, edit.keySequence().toString())
        self.settings.idle_seconds = self.idle.value()
        self.settings.responses_layout = self.layout_choice.currentText()
        self.settings.sync()
        super().accept()
