"""Multi-turn dialogues: an editor for writing them, a view for reading them.

`ConversationEditor` edits ``[{"role", "content"}]``: a system prompt at the
top, then one block per turn (role + text). Structural changes (add, remove,
move, role) are reported at once; typing is reported per burst (a 600 ms
pause or leaving the turn), so the app's undo steps are word bursts, not
keystrokes. Keys inside a turn: Alt+Enter adds a turn after it,
Alt+Up / Alt+Down move it, Ctrl+Shift+Backspace (or Delete) removes it.
Keys other than role and content that a turn came with (``speaker``,
``media``…) are kept.

`ConversationView` shows messages read-only as chat bubbles, all in one
`SafeTextBrowser` document — one widget for 200 turns rather than 200
widgets, and one text for the find bar and the position indicator to work on.
"""
from __future__ import annotations

import copy
from bisect import bisect_right
from typing import Any, Iterable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QKeyEvent,
    QPalette,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFrameFormat,
    QTextLength,
    QTextTableFormat,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from labeldesk.widgets.safe_text import SafeTextBrowser, style_code_blocks
from labeldesk.widgets.text_answer import TypingBurst
from labeldesk.widgets.text_offsets import display_text

__all__ = ["ConversationEditor", "ConversationView", "ROLES", "message_text"]

ROLES = ("system", "user", "assistant")
_NEXT_ROLE = {"user": "assistant", "assistant": "user", "system": "user"}

# bubble fill, border, header colour; fixed light colours with dark text so
# the contrast holds whatever the desktop theme
_BUBBLES = {
    "user": ("#e3edfd", "#b4c8ef", "#1f4fa3"),
    "assistant": ("#f3f4f6", "#d3d7de", "#2f3a4c"),
    "system": ("#fff6d9", "#e6cf86", "#7a5a00"),
}
_OTHER_BUBBLE = ("#eef3ee", "#c9d6c9", "#35533a")
#: per message, and for the whole conversation, above which Markdown is shown
#: as plain text (parsing is the expensive part)
_MESSAGE_MD_LIMIT = 50_000
_TOTAL_MD_LIMIT = 600_000
_MD_FEATURES = (
    QTextDocument.MarkdownFeature.MarkdownDialectGitHub | QTextDocument.MarkdownFeature.MarkdownNoHTML
)


def message_text(content: Any) -> str:
    """A message's content as text: strings as they are, OpenAI-style part
    lists by their text parts, anything else through ``str``."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n\n".join(parts)
    return str(content)


# --- the view ------------------------------------------------------------------------


class ConversationView(QWidget):
    """Read-only chat bubbles: role, speaker, media, content (Markdown).

    ``linkActivated(url: str)`` when a link in a message is clicked (nothing
    is opened).
    """

    linkActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._messages: list[dict[str, Any]] = []
        self._starts: list[int] = []  # document position of each bubble
        self.browser = SafeTextBrowser(self)
        self.browser.linkActivated.connect(self.linkActivated)
        pal = self.browser.palette()
        pal.setColor(QPalette.ColorRole.Base, QColor("#ffffff"))
        pal.setColor(QPalette.ColorRole.Text, QColor("#1f2328"))
        self.browser.setPalette(pal)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.browser)
        self.setFocusProxy(self.browser)

    def text_edit(self) -> SafeTextBrowser:
        """The browser holding all messages (for FindBar / PositionIndicator)."""
        return self.browser

    def messages(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self._messages)

    def message_count(self) -> int:
        return len(self._messages)

    def set_messages(self, messages: Iterable[dict[str, Any]] | None) -> None:
        self._messages = [copy.deepcopy(dict(m)) for m in (messages or []) if isinstance(m, dict)]
        doc = self.browser.document()
        base = self.browser.font()
        doc.clear()
        self._starts = []
        cursor = QTextCursor(doc)
        cursor.beginEditBlock()  # one layout pass at the end, not one per bubble
        total = 0
        for number, message in enumerate(self._messages, start=1):
            content = message_text(message.get("content"))
            markdown = len(content) <= _MESSAGE_MD_LIMIT and total + len(content) <= _TOTAL_MD_LIMIT
            total += len(content)
            cursor.movePosition(QTextCursor.MoveOperation.End)
            self._starts.append(cursor.position())
            self._bubble(cursor, number, message, content, markdown, base)
        cursor.endEditBlock()
        style_code_blocks(doc)
        # the view's own cursor was carried along by the inserts: back to the top
        self.browser.moveCursor(QTextCursor.MoveOperation.Start)
        self.browser.verticalScrollBar().setValue(0)

    def _bubble(
        self, cursor: QTextCursor, number: int, message: dict[str, Any], content: str, markdown: bool, base: QFont
    ) -> None:
        role = str(message.get("role") or "message")
        fill, border, ink = _BUBBLES.get(role, _OTHER_BUBBLE)
        fmt = QTextTableFormat()
        fmt.setWidth(QTextLength(QTextLength.Type.PercentageLength, 100 if role == "system" else 84))
        fmt.setAlignment(Qt.AlignmentFlag.AlignRight if role == "user" else Qt.AlignmentFlag.AlignLeft)
        fmt.setBorder(1)
        fmt.setBorderBrush(QBrush(QColor(border)))
        fmt.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
        fmt.setBorderCollapse(True)
        fmt.setCellPadding(8)
        fmt.setCellSpacing(0)
        fmt.setTopMargin(5)
        fmt.setBottomMargin(5)
        table = cursor.insertTable(1, 1, fmt)
        cell = table.cellAt(0, 0)
        cell_fmt = cell.format().toTableCellFormat()
        cell_fmt.setBackground(QColor(fill))
        cell.setFormat(cell_fmt)
        inner = cell.firstCursorPosition()
        header = QTextCharFormat()
        header.setForeground(QColor(ink))
        header.setFontWeight(QFont.Weight.Bold)
        header.setFontPointSize(max(7.0, base.pointSizeF() * 0.9))
        header.setFontCapitalization(QFont.Capitalization.AllUppercase)
        inner.insertText(role, header)
        details = []
        if message.get("speaker"):
            details.append(str(message["speaker"]))
        for media in message.get("media") or ():
            if isinstance(media, dict):
                details.append(_media_text(media))
        details.append(f"#{number}")
        meta = QTextCharFormat()
        meta.setForeground(QColor("#5f6672"))
        meta.setFontPointSize(max(7.0, base.pointSizeF() * 0.9))
        inner.insertText("  ·  " + "  ·  ".join(details), meta)
        inner.insertBlock(QTextBlockFormat(), QTextCharFormat())
        if not content.strip():
            empty = QTextCharFormat()
            empty.setForeground(QColor("#8a8f98"))
            empty.setFontItalic(True)
            inner.insertText("(empty)", empty)
        elif markdown:
            inner.insertMarkdown(content, _MD_FEATURES)
        else:
            plain = QTextCharFormat()
            plain.setForeground(QColor("#1f2328"))
            inner.insertText(display_text(content), plain)

    def message_at(self, position: int) -> int | None:
        """Index of the message containing document ``position`` (UTF-16)."""
        i = bisect_right(self._starts, position) - 1
        return i if 0 <= i < len(self._starts) else None

    def scroll_to_message(self, index: int) -> None:
        if not 0 <= index < len(self._starts):
            return
        cursor = QTextCursor(self.browser.document())
        cursor.setPosition(self._starts[index])
        rect = self.browser.document().documentLayout().blockBoundingRect(cursor.block())
        self.browser.verticalScrollBar().setValue(int(rect.top()))


def _media_text(media: dict[str, Any]) -> str:
    ref = media.get("ref", "media")
    start, end = media.get("start"), media.get("end")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)):
        return f"{ref} {start:.2f}–{end:.2f} s"
    return str(ref)


# --- the editor ----------------------------------------------------------------------


class _TurnEditor(QFrame):
    """One turn: number, role, move/remove buttons, text."""

    def __init__(self, owner: "ConversationEditor", role: str, content: str, extra: dict[str, Any]) -> None:
        super().__init__(owner.turns_host)
        self.extra = extra
        self.setObjectName("turnEditor")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.number = QLabel(self)
        self.number.setMinimumWidth(28)
        self.role = QComboBox(self)
        self.role.addItems(list(ROLES))
        if role not in ROLES:
            self.role.addItem(role)  # a role we do not offer is kept, not renamed
        self.role.setCurrentText(role)
        self.role.setToolTip("Role of this turn")
        self.up = self._tool("↑", "Move up (Alt+Up)")
        self.down = self._tool("↓", "Move down (Alt+Down)")
        self.add = self._tool("+", "Add a turn after this one (Alt+Enter)")
        self.remove = self._tool("✕", "Remove this turn (Ctrl+Shift+Backspace)")
        self.text = QPlainTextEdit(self)
        self.text.setPlaceholderText("Message…")
        self.text.setTabChangesFocus(True)
        self.text.setPlainText(content)
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.number)
        head.addWidget(self.role)
        head.addStretch(1)
        for b in (self.up, self.down, self.add, self.remove):
            head.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.setSpacing(3)
        layout.addLayout(head)
        layout.addWidget(self.text)
        self.text.document().documentLayout().documentSizeChanged.connect(lambda _s: self.fit_height())
        self.fit_height()

    def _tool(self, text: str, tip: str) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return b

    def restyle(self, current: bool) -> None:
        """A stripe in the role's colour (scanning who says what), an accent
        frame around the turn the keys act on."""
        _fill, border, ink = _BUBBLES.get(self.role.currentText(), _OTHER_BUBBLE)
        frame = "#2f6fdb" if current else "#c5cad3"
        self.setStyleSheet(
            f"#turnEditor {{ border: {2 if current else 1}px solid {frame}; border-left: 5px solid {ink};"
            " border-radius: 4px; }"
        )

    def fit_height(self) -> None:
        """Grow with the text from 2 up to 14 lines, then scroll inside."""
        doc = self.text.document()
        lines = max(2.0, min(14.0, doc.size().height()))  # wrapped lines, in QPlainTextEdit
        per_line = self.text.fontMetrics().lineSpacing()
        height = int(lines * per_line + 2 * doc.documentMargin() + 2 * self.text.frameWidth() + 4)
        if self.text.height() != height:
            self.text.setFixedHeight(height)

    def value(self) -> dict[str, Any]:
        out = {"role": self.role.currentText(), "content": self.text.toPlainText()}
        out.update({k: copy.deepcopy(v) for k, v in self.extra.items() if k not in ("role", "content")})
        return out


class ConversationEditor(QWidget):
    """Edit a multi-turn dialogue; see the module docstring for keys.

    ``edited(old, new)``: lists of ``{"role", "content", …}`` messages; a
    non-empty system prompt is the first message, with role "system".
    """

    edited = Signal(object, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.turns: list[_TurnEditor] = []
        self._current = -1
        self._system_extra: dict[str, Any] = {}

        self.system = QPlainTextEdit(self)
        self.system.setPlaceholderText("System prompt (optional)")
        self.system.setTabChangesFocus(True)
        line = self.system.fontMetrics().lineSpacing()
        self.system.setFixedHeight(int(line * 3.2) + 12)
        self.turns_host = QWidget()
        self.turns_layout = QVBoxLayout(self.turns_host)
        self.turns_layout.setContentsMargins(0, 0, 0, 0)
        self.turns_layout.setSpacing(6)
        self.turns_layout.addStretch(1)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.turns_host)
        self.add_button = QPushButton("+ Add turn", self)
        self.add_button.setToolTip("Add a turn after the current one (Alt+Enter in a turn)")
        self.add_button.clicked.connect(lambda _c=False: self.add_turn())
        self.empty_hint = QLabel("No turns yet — add one.", self)
        self.empty_hint.setStyleSheet("color: #5f6672;")
        system_label = QLabel("<b>System prompt</b>", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(system_label)
        layout.addWidget(self.system)
        layout.addWidget(self.scroll, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.empty_hint)
        bottom.addStretch(1)
        bottom.addWidget(self.add_button)
        layout.addLayout(bottom)

        self._burst = TypingBurst(self, self.value, self.edited.emit)
        self._burst.watch(self.system)
        self.system.installEventFilter(self)
        self._refresh_numbers()
        self._update_focus_proxy()

    # --- contract -----------------------------------------------------------------

    def value(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        system = self.system.toPlainText() if hasattr(self, "system") else ""
        if system:
            first = {"role": "system", "content": system}
            first.update({k: copy.deepcopy(v) for k, v in self._system_extra.items() if k not in ("role", "content")})
            out.append(first)
        out.extend(t.value() for t in self.turns)
        return out

    def set_value(self, messages: Iterable[dict[str, Any]] | None) -> None:
        """Show ``messages`` without emitting ``edited``; turn widgets are
        reused where they can be, so the focused turn keeps its place."""
        # hiding a focused turn moves the focus: no burst may report meanwhile
        with self._burst.suspended():
            items = [copy.deepcopy(dict(m)) for m in (messages or []) if isinstance(m, dict)]
            system_text = ""
            self._system_extra = {}
            if items and items[0].get("role") == "system":
                first = items.pop(0)
                system_text = message_text(first.get("content"))
                self._system_extra = {k: v for k, v in first.items() if k not in ("role", "content")}
            _set_text_silently(self.system, system_text)
            while len(self.turns) > len(items):
                self._drop_turn_widget(len(self.turns) - 1)
            for i, m in enumerate(items):
                role = str(m.get("role") or "user")
                content = message_text(m.get("content"))
                extra = {k: v for k, v in m.items() if k not in ("role", "content")}
                if i < len(self.turns):
                    t = self.turns[i]
                    t.extra = extra
                    if t.role.findText(role) < 0:
                        t.role.addItem(role)
                    t.role.blockSignals(True)
                    t.role.setCurrentText(role)
                    t.role.blockSignals(False)
                    _set_text_silently(t.text, content)
                else:
                    self._insert_turn_widget(i, role, content, extra)
            self._current = min(self._current, len(self.turns) - 1)
            self._refresh_numbers()
        self._burst.reset(self.value())

    def flush(self) -> None:
        """Report pending typing now (before submitting or saving)."""
        self._burst.flush()

    def turn_count(self) -> int:
        return len(self.turns)

    def current_index(self) -> int:
        """The turn last focused (-1: none)."""
        return self._current

    def set_current(self, index: int) -> None:
        if 0 <= index < len(self.turns):
            self._current = index
            self._update_focus_proxy()
            self.turns[index].text.setFocus(Qt.FocusReason.OtherFocusReason)
            self.scroll.ensureWidgetVisible(self.turns[index])

    # --- structural edits (reported at once) ------------------------------------------

    def add_turn(self, after: int | None = None, role: str | None = None, content: str = "") -> int:
        """Add a turn after ``after`` (default: the current turn, else at the
        end); its role follows the turn before. Returns its index."""
        self._burst.flush()  # the typing so far is its own undo step
        if after is None:
            after = self._current if self._current >= 0 else len(self.turns) - 1
        after = max(-1, min(after, len(self.turns) - 1))
        if role is None:
            prev = self.turns[after].role.currentText() if after >= 0 else ""
            role = _NEXT_ROLE.get(prev, "user")
        index = after + 1
        self._insert_turn_widget(index, role, content, {})
        self._refresh_numbers()
        self.set_current(index)
        self._burst.flush()
        return index

    def remove_turn(self, index: int | None = None) -> None:
        index = self._current if index is None else index
        if not 0 <= index < len(self.turns):
            return
        self._burst.flush()
        with self._burst.suspended():
            self._drop_turn_widget(index)
            self._refresh_numbers()
            if self.turns:
                self.set_current(min(index, len(self.turns) - 1))
            else:
                self._current = -1
                self.add_button.setFocus(Qt.FocusReason.OtherFocusReason)
        self._burst.flush()

    def move_turn(self, index: int | None, delta: int) -> None:
        index = self._current if index is None else index
        target = index + delta
        if not (0 <= index < len(self.turns) and 0 <= target < len(self.turns)):
            return
        self._burst.flush()
        turn = self.turns.pop(index)
        self.turns.insert(target, turn)
        self.turns_layout.removeWidget(turn)
        self.turns_layout.insertWidget(target, turn)
        self._refresh_numbers()
        self.set_current(target)
        self._burst.flush()

    # --- turn widgets -------------------------------------------------------------------

    def _insert_turn_widget(self, index: int, role: str, content: str, extra: dict[str, Any]) -> _TurnEditor:
        turn = _TurnEditor(self, role, content, extra)
        self.turns.insert(index, turn)
        self.turns_layout.insertWidget(index, turn)
        self._burst.watch(turn.text)
        turn.text.installEventFilter(self)
        turn.role.installEventFilter(self)
        turn.role.currentTextChanged.connect(lambda _t: (self._update_focus_proxy(), self._burst.flush()))
        turn.up.clicked.connect(lambda _c=False, t=turn: self.move_turn(self.turns.index(t), -1))
        turn.down.clicked.connect(lambda _c=False, t=turn: self.move_turn(self.turns.index(t), +1))
        turn.add.clicked.connect(lambda _c=False, t=turn: self.add_turn(self.turns.index(t)))
        turn.remove.clicked.connect(lambda _c=False, t=turn: self.remove_turn(self.turns.index(t)))
        return turn

    def _drop_turn_widget(self, index: int) -> None:
        turn = self.turns.pop(index)
        self.turns_layout.removeWidget(turn)
        turn.text.removeEventFilter(self)
        turn.role.removeEventFilter(self)
        turn.hide()
        turn.deleteLater()
        if self._current >= len(self.turns):
            self._current = len(self.turns) - 1

    def _update_focus_proxy(self) -> None:
        """Focusing the editor (the form's "go to question n") lands in the
        current turn, else the last one, else the system prompt."""
        for i, t in enumerate(self.turns):
            t.restyle(i == self._current)
        if 0 <= self._current < len(self.turns):
            self.setFocusProxy(self.turns[self._current].text)
        elif self.turns:
            self.setFocusProxy(self.turns[-1].text)
        else:
            self.setFocusProxy(self.system)

    def _refresh_numbers(self) -> None:
        n = len(self.turns)
        for i, t in enumerate(self.turns):
            t.number.setText(f"#{i + 1}")
            t.up.setEnabled(i > 0)
            t.down.setEnabled(i < n - 1)
        self.empty_hint.setVisible(n == 0)
        self._update_focus_proxy()

    def _turn_of(self, obj: QObject) -> int:
        for i, t in enumerate(self.turns):
            if obj is t.text or obj is t.role:
                return i
        return -1

    def _key_action(self, index: int, event: QKeyEvent):
        key, mods = event.key(), event.modifiers()
        ctrl, alt, shift = (
            Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.AltModifier, Qt.KeyboardModifier.ShiftModifier
        )
        if mods == alt and key == Qt.Key.Key_Up:
            return lambda: self.move_turn(index, -1)
        if mods == alt and key == Qt.Key.Key_Down:
            return lambda: self.move_turn(index, +1)
        if mods == alt and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):  # Alt+Enter is the app's submit
            return lambda: self.add_turn(index)
        if mods == ctrl | shift and key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
            return lambda: self.remove_turn(index)
        return None

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        etype = event.type()
        if obj is self.system:
            if etype == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
                if event.modifiers() == Qt.KeyboardModifier.AltModifier and event.key() in (
                    Qt.Key.Key_Return, Qt.Key.Key_Enter
                ):
                    self.add_turn(-1)  # Alt+Enter in the system prompt: a first turn
                    return True
            return False
        index = self._turn_of(obj)
        if index < 0:
            return super().eventFilter(obj, event)
        if etype == QEvent.Type.FocusIn:
            self._current = index
            self._update_focus_proxy()
        elif etype in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and isinstance(event, QKeyEvent):
            action = self._key_action(index, event)
            if action is not None:
                event.accept()
                if etype == QEvent.Type.KeyPress:
                    action()  # a removed turn is deleted later, not under our feet
                return True
        return super().eventFilter(obj, event)


def _set_text_silently(edit: QPlainTextEdit, text: str) -> None:
    if edit.toPlainText() == text:
        return
    had_focus = edit.hasFocus()
    pos = edit.textCursor().position()
    edit.blockSignals(True)
    edit.setPlainText(text)
    edit.blockSignals(False)
    if had_focus:
        cursor = edit.textCursor()
        cursor.setPosition(min(pos, edit.document().characterCount() - 1))
        edit.setTextCursor(cursor)
