"""The task form: the item on the left, the project's questions on the right.

Answers live in the editors; every user edit becomes a SetAnswer on the shared undo
stack, and `answersChanged` tells the window to schedule an autosave.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QFrame, QGroupBox, QLabel, QScrollArea, QSplitter, QVBoxLayout, QWidget

from labeldesk.app.ui.questions import ITEM_SIDE_TYPES, SYNTHETIC_CHECK, make_editor, span_targets
from labeldesk.app.ui.undo import SetAnswer
from labeldesk.app.workflow.tasks import Task
from labeldesk.widgets.conversation import ConversationView
from labeldesk.widgets.safe_text import FindBar, PositionIndicator


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


class TaskForm(QWidget):
    answersChanged = Signal()

    def __init__(self, undo_stack: QUndoStack, parent: QWidget | None = None):
        super().__init__(parent)
        self.undo_stack = undo_stack
        self.task: Task | None = None
        self.questions: list[dict[str, Any]] = []
        self.editors: dict[str, QWidget] = {}
        self.groups: list[QGroupBox] = []
        self._responses_layout = "side"
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        layout.addWidget(self.splitter)
        self._item_side = QWidget()
        self._question_side = QScrollArea()
        self._question_side.setWidgetResizable(True)
        self._question_side.setFrameShape(QFrame.Shape.NoFrame)
        self.splitter.addWidget(self._item_side)
        self.splitter.addWidget(self._question_side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.conversation: ConversationView | None = None
        self.find_bar: FindBar | None = None
        self._current_shape: tuple | None = None
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # a safe place for the focus while editors are rebuilt

    # --- building -----------------------------------------------------------------

    def show_task(self, questions: list[dict[str, Any]], task: Task, responses_layout: str = "side") -> None:
        """Show a task; when it has the same shape as the last one, only the data changes."""
        self.task = task
        shape = self._shape(questions, task, responses_layout)
        if shape == self._current_shape:
            self._refresh_content(task)
        else:
            self._current_shape = shape
            self._responses_layout = responses_layout
            self.questions = list(questions)
            if task.provenance.get("synthetic"):
                self.questions.append(SYNTHETIC_CHECK)
            self.editors.clear()
            self.groups.clear()
            # Move the focus out before the old editors go: a focused child destroyed inside an
            # editor with an event filter would call back into a half-destroyed Python object.
            self.setFocus(Qt.FocusReason.OtherFocusReason)
            self._build_item_side(task)
            self._build_question_side(task)
        for question in self.questions:
            self.editors[question["name"]].set_value(self._initial_value(question, task))

    @staticmethod
    def _initial_value(question: dict[str, Any], task: Task) -> Any:
        """The stored answer; with none, a dialogue starts as the item's conversation and
        segments as the imported transcript's."""
        value = task.values.get(question["name"])
        if value is None and question["type"] == "dialogue":
            return [dict(m) for m in task.content.get("messages", ())]
        if value is None and question["type"] == "segments":
            return [dict(s) for s in task.meta.get("transcript_segments", ())]
        return value

    @staticmethod
    def _shape(questions: list[dict[str, Any]], task: Task, responses_layout: str) -> tuple:
        """What decides the form's widgets: rebuilding them is the slow part of a task switch."""
        targets = tuple(
            target for q in questions if q["type"] == "spans" for target, _title, _text in span_targets(q, task.content)
        )
        return (
            tuple(q["name"] for q in questions), len(task.content.get("responses", ())), targets,
            bool(task.provenance.get("synthetic")), task.provenance.get("generator"), responses_layout,
        )

    def _refresh_content(self, task: Task) -> None:
        self.conversation.set_messages(self._shown_messages(task))
        if self.find_bar is not None:
            self.find_bar.dismiss()
        for question in self.questions:
            editor = self.editors[question["name"]]
            if question["type"] == "ranking":
                editor.set_responses([(r["id"], str(i + 1), r["content"]) for i, r in enumerate(task.content.get("responses", ()))])
            elif question["type"] == "spans":
                editor.set_content(question, task.content)
            elif question["type"] == "segments":
                editor.set_task(task)

    def _build_item_side(self, task: Task) -> None:
        old = self._item_side
        self._item_side = QWidget()
        layout = QVBoxLayout(self._item_side)
        if task.provenance.get("synthetic"):
            generator = task.provenance.get("generator", "a model")
            banner = QLabel(f"⚙ Model-generated item (generator: {generator}). Check it and answer “{SYNTHETIC_CHECK['name']}”.")
            banner.setObjectName("syntheticBanner")
            banner.setWordWrap(True)
            banner.setStyleSheet("#syntheticBanner { background: #fff4ce; color: #3b2f00; padding: 6px; border-radius: 4px; }")
            layout.addWidget(banner)
        self.conversation = ConversationView()
        self.conversation.set_messages(self._shown_messages(task))
        layout.addWidget(self.conversation, 3)
        self.find_bar = FindBar(self.conversation.text_edit())
        layout.addWidget(self.find_bar)
        layout.addWidget(PositionIndicator(self.conversation.text_edit()))
        for question in self.questions:
            if question["type"] in ITEM_SIDE_TYPES:
                layout.addWidget(self._group(question, task), 4)
        self.splitter.replaceWidget(0, self._item_side)
        old.deleteLater()

    def _shown_messages(self, task: Task) -> list[dict[str, Any]]:
        """The dialogue, followed by the responses unless a ranking question shows them itself."""
        messages = list(task.content.get("messages", ()))
        if not any(q["type"] == "ranking" for q in self.questions):
            for i, r in enumerate(task.content.get("responses", ())):
                source = f" · {r['source']}" if r.get("source") else ""
                messages.append({"role": "assistant", "speaker": f"response {i + 1}{source}", "content": r["content"]})
        return messages

    def _build_question_side(self, task: Task) -> None:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        for question in self.questions:
            if question["type"] not in ITEM_SIDE_TYPES:
                layout.addWidget(self._group(question, task))
        layout.addStretch(1)
        old = self._question_side.takeWidget()
        self._question_side.setWidget(panel)
        if old is not None:
            old.deleteLater()

    def _group(self, question: dict[str, Any], task: Task) -> QGroupBox:
        number = len(self.groups) + 1
        required = " *" if question.get("required") else ""
        box = QGroupBox(f"{number}. {question.get('title', question['name'])}{required}")
        box.setToolTip(f"Ctrl+{number} to jump here" if number < 10 else "")
        layout = QVBoxLayout(box)
        if question.get("prompt"):
            prompt = QLabel(question["prompt"])
            prompt.setWordWrap(True)
            layout.addWidget(prompt)
        editor = make_editor(question, task, self._responses_layout)
        editor.edited.connect(lambda old, new, name=question["name"]: self._edited(name, old, new))
        layout.addWidget(editor)
        self.editors[question["name"]] = editor
        self.groups.append(box)
        return box

    # --- answers --------------------------------------------------------------------

    def _edited(self, name: str, old: Any, new: Any) -> None:
        if old != new:
            self.undo_stack.push(SetAnswer(self, name, old, new))

    def apply_answer(self, question: str, value: Any) -> None:
        editor = self.editors.get(question)
        if editor is not None and editor.value() != value:
            editor.set_value(value)
        self.answersChanged.emit()

    def values(self) -> dict[str, Any]:
        return {name: editor.value() for name, editor in self.editors.items() if not is_empty(editor.value())}

    def missing_required(self) -> list[str]:
        return [q["name"] for q in self.questions if q.get("required") and is_empty(self.editors[q["name"]].value())]

    def focus_question(self, number: int) -> None:
        """Ctrl+n: put the keyboard on question n, so its own keys (1–5, label keys…) apply."""
        if not 1 <= number <= len(self.groups):
            return
        box = self.groups[number - 1]
        panel = self._question_side.widget()
        if panel is not None and panel.isAncestorOf(box):
            self._question_side.ensureWidgetVisible(box)
        editor = list(self.editors.values())[number - 1]
        editor.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def show_find(self) -> None:
        if self.find_bar is not None:
            self.find_bar.open()
