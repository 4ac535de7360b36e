"""One editor per question type, built from the project's question config.

Every editor offers `value()`, `set_value(v)` (silent) and `edited(old, new)` (user
changes only), so the form can put each change on the undo stack the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from labeldesk.app.workflow.tasks import Task
from labeldesk.widgets.conversation import ConversationEditor
from labeldesk.widgets.ranking import RankingWidget
from labeldesk.widgets.rating import ChoiceGroup, RatingBar
from labeldesk.widgets.spans import SpanHighlighter
from labeldesk.widgets.text_answer import TextAnswer

SAFETY_VERDICTS = ["safe", "unsafe", "borderline"]
DEFAULT_BEHAVIORS = ["comply", "refuse", "safe-complete"]
SYNTHETIC_CHECK = {"name": "synthetic_check", "type": "choice", "options": ["accept", "fix", "reject"],
                   "prompt": "This item was written by a model: is it usable as it is?"}
ITEM_SIDE_TYPES = ("ranking", "spans", "segments")  # editors that show the item's texts themselves


def span_targets(question: dict[str, Any], content: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target name, tab title, text) for every text a span question may mark."""
    wanted = question.get("targets", "responses")
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    targets = []
    if "messages" in wanted:
        for i, m in enumerate(content.get("messages", ())):
            if m["role"] != "system":
                targets.append((f"messages.{i}", f"{m['role']} {i + 1}", m["content"]))
    if "responses" in wanted:
        for i, r in enumerate(content.get("responses", ())):
            targets.append((f"responses.{r['id']}", f"response {i + 1}", r["content"]))
    return targets


class SpansAnswer(QWidget):
    """All the texts a span question targets, one highlighter each, one answer for all."""

    edited = Signal(object, object)

    def __init__(self, question: dict[str, Any], content: dict[str, Any], parent: QWidget | None = None):
        super().__init__(parent)
        self._spans: list[dict[str, Any]] = []
        self._views: dict[str, SpanHighlighter] = {}
        tabs = QTabWidget(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(tabs)
        for target, title, text in span_targets(question, content):
            view = SpanHighlighter()
            view.set_labels(list(question.get("labels", ["error"])))
            view.set_severities(list(question.get("severities", [])))
            view.set_text(target, text)
            view.edited.connect(lambda old, new, t=target: self._target_edited(t, new))
            self._views[target] = view
            tabs.addTab(view, title)

    def set_content(self, question: dict[str, Any], content: dict[str, Any]) -> None:
        """The next item, with the same targets: new texts in the same views."""
        for target, _title, text in span_targets(question, content):
            self._views[target].set_text(target, text)

    def value(self) -> list[dict[str, Any]]:
        return list(self._spans)

    def set_value(self, spans: list[dict[str, Any]] | None) -> None:
        self._spans = list(spans or [])
        for target, view in self._views.items():
            view.set_spans([s for s in self._spans if s["target"] == target])

    def _target_edited(self, target: str, new_for_target: list[dict[str, Any]]) -> None:
        old = list(self._spans)
        self._spans = [s for s in self._spans if s["target"] != target] + list(new_for_target)
        self.edited.emit(old, list(self._spans))


class SafetyAnswer(QWidget):
    """Verdict, taxonomy categories and expected behaviour: one answer object."""

    edited = Signal(object, object)

    def __init__(self, question: dict[str, Any], parent: QWidget | None = None):
        super().__init__(parent)
        self.verdict = ChoiceGroup(SAFETY_VERDICTS, multiple=False)
        self.categories = ChoiceGroup(list(question.get("categories", [])), multiple=True)
        self.behavior = ChoiceGroup(list(question.get("behaviors", DEFAULT_BEHAVIORS)), multiple=False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for title, part in (("Verdict", self.verdict), ("Categories", self.categories), ("Expected model behaviour", self.behavior)):
            layout.addWidget(QLabel(f"<b>{title}</b>"))
            layout.addWidget(part)
            part.edited.connect(self._part_edited)
        self.setFocusProxy(self.verdict)
        self._value = self.value()

    def value(self) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        if self.verdict.value():
            answer["verdict"] = self.verdict.value()
        if self.categories.value():
            answer["categories"] = self.categories.value()
        if self.behavior.value():
            answer["expected_behavior"] = self.behavior.value()
        return answer

    def set_value(self, answer: dict[str, Any] | None) -> None:
        answer = answer or {}
        self.verdict.set_value(answer.get("verdict"))
        self.categories.set_value(list(answer.get("categories", [])))
        self.behavior.set_value(answer.get("expected_behavior"))
        self._value = self.value()

    def _part_edited(self, _old: Any, _new: Any) -> None:
        old, self._value = self._value, self.value()
        self.edited.emit(old, self._value)


MEDIA_ROOT: Path | None = None  # the workspace media folder; segments questions need it


def set_media_root(path: str | os.PathLike[str] | None) -> None:
    """Where the media of multimodal items live (`<sha256>.<ext>` files); the window calls this at start."""
    global MEDIA_ROOT
    MEDIA_ROOT = Path(path) if path is not None else None


class Placeholder(QLabel):
    """A question answered elsewhere (time segments live in the media panes)."""

    edited = Signal(object, object)

    def __init__(self, text: str):
        super().__init__(text)
        self.setWordWrap(True)
        self._value: Any = None

    def value(self) -> Any:
        return self._value

    def set_value(self, value: Any) -> None:
        self._value = value


def make_editor(question: dict[str, Any], task: Task, responses_layout: str) -> QWidget:
    qtype = question["type"]
    if qtype == "text":
        editor: QWidget = TextAnswer()
    elif qtype in ("choice", "multi_choice"):
        editor = ChoiceGroup(list(question["options"]), multiple=qtype == "multi_choice")
    elif qtype == "rating":
        editor = RatingBar(int(question.get("min", 1)), int(question.get("max", 5)))
    elif qtype == "ranking":
        editor = RankingWidget()
        editor.set_ties_allowed(bool(question.get("ties", True)))
        editor.set_layout(responses_layout)
        editor.set_responses([
            (r["id"], str(i + 1), r["content"]) for i, r in enumerate(task.content.get("responses", ()))
        ])
    elif qtype == "spans":
        editor = SpansAnswer(question, task.content)
    elif qtype == "safety":
        editor = SafetyAnswer(question)
    elif qtype == "dialogue":
        editor = ConversationEditor()
    elif qtype == "segments" and MEDIA_ROOT is not None:
        # The media pane is both this question's editor and the synchronized audio/video view.
        # Imported here: text-only projects never load the decoders and QtMultimedia.
        from labeldesk.app.ui.media_pane import MediaPane

        editor = MediaPane(question, MEDIA_ROOT)
        editor.set_task(task)
    else:  # segments before the window said where the media live (set_media_root)
        editor = Placeholder("Label time segments in the media panes (waveform and video timeline).")
    return editor
