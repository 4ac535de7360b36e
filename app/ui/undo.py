"""Undo commands: each holds the question, the value before and after, and applies through the form."""

from __future__ import annotations

from typing import Any, Protocol

from PySide6.QtGui import QUndoCommand


class AnswerTarget(Protocol):
    def apply_answer(self, question: str, value: Any) -> None: ...


class SetAnswer(QUndoCommand):
    """One user edit of one answer; applying it sets the widget silently and records the value."""

    def __init__(self, form: AnswerTarget, question: str, before: Any, after: Any):
        super().__init__(f"change {question}")
        self.form = form
        self.question = question
        self.before = before
        self.after = after

    def redo(self) -> None:
        self.form.apply_answer(self.question, self.after)

    def undo(self) -> None:
        self.form.apply_answer(self.question, self.before)
