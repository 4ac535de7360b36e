"""Free-text answers: a plain text editor, live counts, a Markdown preview.

Undo granularity: the app's undo stack should get one step per burst of
typing, not one per keystroke. `TypingBurst` emits ``edited(old, new)`` when
the user pauses (600 ms) or leaves the field, and compares against the last
value it reported or was given, so nothing is emitted for no change.

Inside the field, Ctrl+Z is the editor's own (keystroke level) undo, as in
any text field — LabelDesk's TextInputGuard keeps that key for text inputs;
what reaches the app is the burst that results.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from labeldesk.widgets.safe_text import SafeTextBrowser

__all__ = ["TypingBurst", "TextAnswer", "count_text"]

#: pause after which a burst of typing becomes one edit
BURST_MS = 600
#: above this many characters counts and preview wait for a pause in typing
_BIG = 50_000
_PREVIEW_KEY = QKeySequence("Ctrl+Shift+P")[0]


def count_text(text: str) -> tuple[int, int]:
    """(characters, words): code points, and whitespace-separated words."""
    return len(text), len(text.split())


class TypingBurst(QObject):
    """Turns typing into ``emit(old, new)`` calls, one per burst.

    ``snapshot`` returns the current value; a burst ends after ``delay_ms``
    without a change or when a watched editor loses focus. `reset` records a
    value set by the app (no emission); `flush` ends the burst now.
    """

    def __init__(
        self,
        parent: QObject,
        snapshot: Callable[[], Any],
        emit: Callable[[Any, Any], None],
        delay_ms: int = BURST_MS,
    ) -> None:
        super().__init__(parent)
        self._snapshot = snapshot
        self._emit = emit
        self._committed: Any = snapshot()
        self._suspended = 0
        self._timer = QTimer(self, singleShot=True, interval=delay_ms)
        self._timer.timeout.connect(self.flush)

    def watch(self, editor: QPlainTextEdit) -> None:
        editor.textChanged.connect(self.touch)
        editor.installEventFilter(self)

    def touch(self) -> None:
        """Something changed: (re)start the pause timer."""
        self._timer.start()

    def pending(self) -> bool:
        return self._timer.isActive()

    def committed(self) -> Any:
        return self._committed

    def reset(self, value: Any) -> None:
        self._timer.stop()
        self._committed = value

    @contextmanager
    def suspended(self) -> Iterator[None]:
        """No reports inside (the owner is rebuilding: focus moves, texts are
        half set); call `reset` or `flush` after."""
        self._suspended += 1
        try:
            yield
        finally:
            self._suspended -= 1

    def flush(self) -> None:
        if self._suspended:
            return
        self._timer.stop()
        new = self._snapshot()
        if new != self._committed:
            old, self._committed = self._committed, new
            self._emit(old, new)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.FocusOut:
            self.flush()
        return False


class TextAnswer(QWidget):
    """A plain-text answer with character/word counts and a Markdown preview
    (Ctrl+Shift+P or the Preview button) beside it.

    ``edited(old: str, new: str)`` once per burst of typing.
    """

    edited = Signal(object, object)

    def __init__(self, parent: QWidget | None = None, *, placeholder: str = "", multiline: bool = True) -> None:
        super().__init__(parent)
        self._multiline = multiline
        self.editor = QPlainTextEdit(self)
        self.editor.setPlaceholderText(placeholder)
        self.editor.setTabChangesFocus(True)  # Tab leaves the answer, as in a form
        self.editor.installEventFilter(self)
        self.preview = SafeTextBrowser(self)
        self.preview.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.preview.hide()
        self.counts = QLabel(self)
        self.counts.setStyleSheet("color: #4a5160;")
        self.preview_button = QToolButton(self)
        self.preview_button.setText("Preview")
        self.preview_button.setCheckable(True)
        self.preview_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.preview_button.setToolTip("Show the Markdown rendering beside the text (Ctrl+Shift+P)")
        self.preview_button.toggled.connect(self.set_preview_visible)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.editor)
        self.splitter.addWidget(self.preview)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.counts, 1)
        bar.addWidget(self.preview_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(bar)
        self.setFocusProxy(self.editor)
        if not multiline:
            line = self.editor.fontMetrics().lineSpacing()
            self.editor.setFixedHeight(int(line * 2.2) + 2 * self.editor.frameWidth() + 8)

        self._burst = TypingBurst(self, self.value, self.edited.emit)
        self._burst.watch(self.editor)
        # big texts: counts and preview follow at a pause, not per keystroke
        self._counts_timer = QTimer(self, singleShot=True, interval=150)
        self._counts_timer.timeout.connect(self._update_counts)
        self._preview_timer = QTimer(self, singleShot=True, interval=250)
        self._preview_timer.timeout.connect(self._update_preview)
        self.editor.textChanged.connect(self._text_changed)
        self._update_counts()

    # --- contract -----------------------------------------------------------------

    def value(self) -> str:
        return self.editor.toPlainText()

    def set_value(self, value: Any) -> None:
        """Show ``value`` (None shows empty) without emitting ``edited``."""
        text = "" if value is None else str(value)
        if text != self.editor.toPlainText():
            had_focus = self.editor.hasFocus()
            pos = self.editor.textCursor().position()
            self.editor.blockSignals(True)
            self.editor.setPlainText(text)  # also drops the editor's own undo history
            self.editor.blockSignals(False)
            if had_focus:
                cursor = self.editor.textCursor()
                cursor.setPosition(min(pos, self.editor.document().characterCount() - 1))
                self.editor.setTextCursor(cursor)
            self._update_counts()
            if self.is_preview_visible():
                self._update_preview()
        self._burst.reset(text)

    def flush(self) -> None:
        """Report pending typing now (before submitting or saving)."""
        self._burst.flush()

    def set_placeholder(self, text: str) -> None:
        self.editor.setPlaceholderText(text)

    def is_preview_visible(self) -> bool:
        return self.preview.isVisibleTo(self)

    def set_preview_visible(self, visible: bool) -> None:
        self.preview.setVisible(visible)
        if self.preview_button.isChecked() != visible:
            self.preview_button.blockSignals(True)
            self.preview_button.setChecked(visible)
            self.preview_button.blockSignals(False)
        if visible:
            self._update_preview()
            self.splitter.setSizes([1, 1])

    # --- live updates ---------------------------------------------------------------

    def _text_changed(self) -> None:
        big = self.editor.document().characterCount() > _BIG
        if big:
            self._counts_timer.start()
        else:
            self._update_counts()
        if self.is_preview_visible():
            self._preview_timer.start(600 if big else 250)

    def _update_counts(self) -> None:
        chars, words = count_text(self.editor.toPlainText())
        self.counts.setText(f"{chars:,} character{'s' if chars != 1 else ''} · {words:,} word{'s' if words != 1 else ''}")

    def _update_preview(self) -> None:
        bar = self.preview.verticalScrollBar()
        keep = bar.value()  # re-rendering must not jump the reader to the top
        self.preview.set_markdown(self.editor.toPlainText())
        bar.setValue(keep)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        # the preview key is handled here rather than by a QShortcut: a window
        # shortcut on the same key would make both ambiguous and neither fire
        if (
            obj is self.editor
            and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress)
            and isinstance(event, QKeyEvent)
            and event.keyCombination() == _PREVIEW_KEY
        ):
            event.accept()
            if event.type() == QEvent.Type.KeyPress:
                self.set_preview_visible(not self.is_preview_visible())
            return True
        if (
            obj is self.editor
            and not self._multiline
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            # a one-line answer: Enter finishes it instead of adding a line
            self.flush()
            self.focusNextChild()
            return True
        return super().eventFilter(obj, event)
