"""The reviewer's two dialogs: a rejection's reason, and the corrected answers.

Both validate in place (a message under the field, the dialog stays open) because a
reviewer working by keyboard should fix the input and press Ctrl+Enter again, not dismiss
an error box. Neither touches the database: the panel sends what they collect to the worker.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import orjson
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFrame, QGroupBox, QLabel, QLineEdit, QPlainTextEdit, QScrollArea, QVBoxLayout, QWidget,
)

from labeldesk.app.ui.questions import make_editor
from labeldesk.app.workflow.review import QueueEntry, changes_between
from labeldesk.app.workflow.tasks import Task

ERROR_STYLE = "color: #a4000f; background: #fde7e9; border: 1px solid #e8a0a6; border-radius: 4px; padding: 4px 6px;"
# question types with a real editor in app.ui.questions; the rest are corrected as JSON
WIDGET_TYPES = ("text", "choice", "multi_choice", "rating", "ranking", "spans", "safety", "dialogue")


def error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.hide()
    return label


def _buttons(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    ok = box.button(QDialogButtonBox.StandardButton.Ok)
    ok.setText(ok_text)
    ok.setToolTip("Ctrl+Enter")
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    for keys in ("Ctrl+Return", "Ctrl+Enter"):
        QShortcut(QKeySequence(keys), dialog, dialog.accept)
    return box


class RejectDialog(QDialog):
    """Why the submission goes back: the annotator reads this to fix their work."""

    def __init__(self, uid: str, annotator: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Reject {uid}")
        self.resize(520, 280)
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText("e.g. Response b invents a citation; rank it below a.")
        self.reason.setAccessibleName("Reason for the rejection")
        self.reason.setTabChangesFocus(True)
        self.error = error_label()
        prompt = QLabel(f"Send {uid} back to {annotator} for rework. Why? (required; they will read it)")
        prompt.setWordWrap(True)
        prompt.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.addWidget(prompt)
        layout.addWidget(self.reason)
        layout.addWidget(self.error)
        layout.addWidget(_buttons(self, "Reject and send back"))
        self.reason.setFocus()

    def text(self) -> str:
        return self.reason.toPlainText().strip()

    def accept(self) -> None:
        if not self.text():
            self.error.setText("A reason is required: the annotator reads it to fix their work.")
            self.error.show()
            self.reason.setFocus()
            return
        super().accept()


class JsonAnswer(QPlainTextEdit):
    """The fallback editor: an answer as JSON, for types without a widget here (time segments)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setMinimumHeight(90)
        font = self.font()
        font.setFamily("monospace")
        self.setFont(font)

    def value(self) -> Any:
        """The parsed answer; ValueError with the position when it is not JSON."""
        text = self.toPlainText().strip()
        if not text:
            return None
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None

    def set_value(self, value: Any) -> None:
        self.setPlainText("" if value is None else orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def check_answer(question: dict[str, Any], value: Any) -> str | None:
    """What is wrong with a JSON-edited answer, or None. Widget editors cannot produce wrong ones."""
    if value is None:
        return None
    if question["type"] == "segments":
        if not isinstance(value, list):
            return "time segments are a list of {start, end, label} objects"
        for i, seg in enumerate(value):
            if not isinstance(seg, dict):
                return f"segment {i + 1} is not an object"
            start, end = seg.get("start"), seg.get("end")
            if not isinstance(start, (int, float)) or not isinstance(end, (int, float)) or isinstance(start, bool):
                return f"segment {i + 1} needs numeric start and end (seconds)"
            if end <= start:
                return f"segment {i + 1} ends before it starts"
    return None


def entry_task(entry: QueueEntry, project: str, kind: str) -> Task:
    """A Task shaped like the one the annotator saw, so the task form's editors can be reused."""
    return Task(item_id=entry.item_id, uid=entry.uid, kind=kind, project=project, content=entry.content,
                provenance={}, meta={}, values=dict(entry.values), status="submitted", active_seconds=0.0,
                guideline_version=0)


class CorrectDialog(QDialog):
    """The answers under review in the labeling editors; OK sends only the answers that changed."""

    def __init__(self, questions: list[dict[str, Any]], entry: QueueEntry, project: str, kind: str,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.questions = [q for q in questions]
        self.entry = entry
        self.changed: dict[str, Any] = {}
        self.setWindowTitle(f"Correct {entry.uid} (by {entry.annotator})")
        self.resize(820, 760)
        task = entry_task(entry, project, kind)
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self._start: dict[str, Any] = {}  # each editor's value before any edit
        panel = QWidget()
        body = QVBoxLayout(panel)
        for number, question in enumerate(self.questions, start=1):
            body.addWidget(self._group(number, question, task))
        body.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(panel)
        self.scroll = scroll
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why (optional): the annotator sees it with the changes")
        self.error = error_label()
        hint = QLabel("Ctrl+1 … Ctrl+9 jump to a question · Ctrl+Enter saves the correction · Esc cancels")
        hint.setStyleSheet("color: #4a5160;")
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.reason)
        layout.addWidget(self.error)
        layout.addWidget(hint)
        layout.addWidget(_buttons(self, "Save correction"))
        for n in range(1, min(len(self.questions), 9) + 1):
            QShortcut(QKeySequence(f"Ctrl+{n}"), self, partial(self.focus_question, n))
        self.focus_question(1)

    def _group(self, number: int, question: dict[str, Any], task: Task) -> QGroupBox:
        box = QGroupBox(f"{number}. {question.get('title', question['name'])}")
        layout = QVBoxLayout(box)
        if question["type"] in WIDGET_TYPES:
            editor = make_editor(question, task, "side")  # side by side: three responses fit on one screen
        else:
            layout.addWidget(QLabel(f"{question['type']} answer as JSON:"))
            editor = JsonAnswer()
        start = entry_value(question, self.entry)
        editor.set_value(start)
        self._start[question["name"]] = editor.value()
        layout.addWidget(editor)
        error = error_label()
        layout.addWidget(error)
        self.editors[question["name"]] = editor
        self.errors[question["name"]] = error
        return box

    def focus_question(self, number: int) -> None:
        if 1 <= number <= len(self.questions):
            editor = self.editors[self.questions[number - 1]["name"]]
            self.scroll.ensureWidgetVisible(editor)
            editor.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def values(self) -> dict[str, Any]:
        """Every question's edited answer (None for none); ValueError names the first bad one."""
        found: dict[str, Any] = {}
        problems: list[str] = []
        for question in self.questions:
            name = question["name"]
            self.errors[name].hide()
            try:
                value = self.editors[name].value()
                problem = check_answer(question, value)
            except ValueError as exc:
                value, problem = None, str(exc)
            if problem:
                self.errors[name].setText(problem)
                self.errors[name].show()
                problems.append(name)
            if self.entry.values.get(name) is None and value == self._start[name]:
                value = None  # a pre-filled editor left alone (a dialogue shows the item's turns) is no answer
            found[name] = None if value in ("", [], {}) else value
        if problems:
            raise ValueError(f"fix the answer to {', '.join(problems)}")
        return found

    def accept(self) -> None:
        self.error.hide()
        try:
            edited = self.values()
        except ValueError as exc:
            self._say(str(exc))
            return
        changes = changes_between(tuple(self.questions), self.entry.values, edited)
        if not changes:
            self._say("Nothing changed yet: change an answer, or accept the submission (A) instead.")
            return
        self.changed = {name: edited.get(name) for name in changes}
        super().accept()

    def _say(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


def entry_value(question: dict[str, Any], entry: QueueEntry) -> Any:
    """The answer the editor starts from: what this level judges (a lower level's correction, if any)."""
    value = entry.values.get(question["name"])
    if value is None and question["type"] == "dialogue":
        return [dict(m) for m in entry.content.get("messages", ())]
    return value
