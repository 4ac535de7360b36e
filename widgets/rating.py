"""Rating scale and choice questions, keyboard first.

Both follow the editor contract of the task form: ``value()``,
``set_value(v)`` (silent: the app's undo stack calls it) and
``edited(old, new)`` emitted only for the user's own changes.

The option buttons never take focus: the group does, so the number keys
reach it however it was focused (Tab, a click on a button, or the app's
"go to question n" shortcut), and while it has focus those keys are claimed
from window shortcuts through ShortcutOverride.
"""
from __future__ import annotations

from typing import Any, Iterable

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QGridLayout,
    QLabel,
    QRadioButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from labeldesk.widgets.keys import KeyActions

__all__ = ["RatingBar", "ChoiceGroup", "choice_keys", "typed_digit"]

#: key hints for options: 1..9, then letters
_KEYS = "123456789abcdefghijklmnopqrstuvwxyz"
_CTRL_ALT_META = (
    Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
)
_ACCENT = "#2f6fdb"


def choice_keys(n: int) -> list[str]:
    """The key hint of each of ``n`` options ("" past the 35th)."""
    return [_KEYS[i] if i < len(_KEYS) else "" for i in range(n)]


def typed_digit(event: QKeyEvent) -> int | None:
    """The digit a bare key press types (main row or keypad), else None."""
    if event.modifiers() & _CTRL_ALT_META:
        return None
    key = event.key()
    if Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
        return int(key) - int(Qt.Key.Key_0)
    text = event.text()
    # layouts where digits need Shift (AZERTY) still deliver the digit as text
    if len(text) == 1 and text.isdigit() and text.isascii():
        return int(text)
    return None


def _typed_letter(event: QKeyEvent) -> str | None:
    if event.modifiers() & _CTRL_ALT_META:
        return None
    text = event.text().lower()
    return text if len(text) == 1 and "a" <= text <= "z" else None


def _is_clear_key(event: QKeyEvent) -> bool:
    return event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not event.modifiers() & _CTRL_ALT_META


def _paint_focus(widget: QWidget) -> None:
    """A rounded accent frame while ``widget`` has the keyboard: the buttons
    never take focus, so this is the only cue that the keys go here."""
    if not widget.hasFocus():
        return
    p = QPainter(widget)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(widget.palette().color(QPalette.ColorRole.Highlight), 2))
    p.drawRoundedRect(QRectF(widget.rect()).adjusted(1, 1, -1, -1), 5, 5)


class _FocusRing:
    """Mixin: draw the focus ring (the whole widget takes the keys) and repaint when focus moves."""

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        _paint_focus(self)

    def focusInEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().focusOutEvent(event)
        self.update()


class RatingBar(_FocusRing, KeyActions, QWidget):
    """One button per value from ``minimum`` to ``maximum``.

    Keys while focused: a digit sets that value; Left/Right (or -/+) step;
    Home/End go to the ends; Delete/Backspace clear, and so does 0 when 0 is
    not on the scale. Clicking the chosen value again clears it.
    """

    edited = Signal(object, object)

    def __init__(
        self,
        minimum: int = 1,
        maximum: int = 5,
        parent: QWidget | None = None,
        *,
        captions: dict[int, str] | None = None,
    ) -> None:
        super().__init__(parent)
        if minimum > maximum:
            minimum, maximum = maximum, minimum
        self._min = int(minimum)
        self._max = int(maximum)
        self._value: int | None = None
        self._captions = dict(captions or {})
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # hug the buttons: the focus frame then outlines just the scale
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(f"Rating {self._min} to {self._max}")

        grid = QGridLayout(self)
        grid.setContentsMargins(5, 5, 5, 5)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(1)
        self.buttons: list[QToolButton] = []
        compact = self._max - self._min >= 11
        for column, v in enumerate(range(self._min, self._max + 1)):
            b = QToolButton(self)
            b.setText(str(v))
            b.setCheckable(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setMinimumSize(26 if compact else 36, 30)
            tip = self._captions.get(v, "")
            b.setToolTip(f"{v} — {tip}" if tip else f"{v} (key {v})" if 0 <= v <= 9 else str(v))
            b.clicked.connect(lambda _c=False, v=v: self._clicked(v))
            grid.addWidget(b, 0, column)
            self.buttons.append(b)
        if self._captions.get(self._min) or self._captions.get(self._max):
            # the end captions sit under the end buttons
            n = len(self.buttons)
            span = max(1, n // 2)
            low = QLabel(self._captions.get(self._min, ""), self)
            high = QLabel(self._captions.get(self._max, ""), self)
            for lab in (low, high):
                lab.setStyleSheet("color: #4a5160; font-size: 11px;")
            grid.addWidget(low, 1, 0, 1, span, Qt.AlignmentFlag.AlignLeft)
            grid.addWidget(high, 1, n - span, 1, span, Qt.AlignmentFlag.AlignRight)
        self._refresh()

    # --- contract -----------------------------------------------------------------

    def minimum(self) -> int:
        return self._min

    def maximum(self) -> int:
        return self._max

    def value(self) -> int | None:
        return self._value

    def set_value(self, value: Any) -> None:
        """Show ``value`` without emitting ``edited`` (None, or anything not
        an integer on the scale, clears)."""
        self._value = self._coerce(value)
        self._refresh()

    def _coerce(self, value: Any) -> int | None:
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, str):  # "4" from a CSV import is still a 4
            value = value.strip()
            if not value.lstrip("-").isdigit():
                return None
        try:
            v = int(value)
        except (TypeError, ValueError, OverflowError):
            return None
        if isinstance(value, float) and value != v:
            return None  # 3.5 is not a point on the scale
        return v if self._min <= v <= self._max else None

    # --- user edits ---------------------------------------------------------------

    def _user_set(self, value: int | None) -> None:
        old = self._value
        self._value = value
        self._refresh()
        if old != value:
            self.edited.emit(old, value)

    def _clicked(self, v: int) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self._user_set(None if self._value == v else v)

    def _key_action(self, event: QKeyEvent):
        digit = typed_digit(event)
        if digit is not None:
            if self._min <= digit <= self._max:
                return lambda: self._user_set(digit)
            if digit == 0:
                return lambda: self._user_set(None)
            return None
        if _is_clear_key(event):
            return lambda: self._user_set(None)
        if event.modifiers() & _CTRL_ALT_META:
            return None
        key = event.key()
        if key in (Qt.Key.Key_Right, Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            return lambda: self._user_set(self._min if self._value is None else min(self._max, self._value + 1))
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Minus):
            return lambda: self._user_set(self._max if self._value is None else max(self._min, self._value - 1))
        if key == Qt.Key.Key_Home:
            return lambda: self._user_set(self._min)
        if key == Qt.Key.Key_End:
            return lambda: self._user_set(self._max)
        return None

    # --- look -------------------------------------------------------------------------

    def _refresh(self) -> None:
        for v, b in zip(range(self._min, self._max + 1), self.buttons):
            chosen = v == self._value
            b.setChecked(chosen)
            if chosen:
                b.setStyleSheet(
                    f"QToolButton {{ background: {_ACCENT}; color: white; font-weight: bold;"
                    f" border: 1px solid {_ACCENT}; border-radius: 4px; }}"
                )
            elif self._value is not None and v < self._value:
                # an ordinal scale reads as "filled up to here"
                b.setStyleSheet(
                    "QToolButton { background: #dbe6fa; color: #1b2a4a; border: 1px solid #b7c9ee; border-radius: 4px; }"
                )
            else:
                b.setStyleSheet(
                    "QToolButton { border: 1px solid palette(mid); border-radius: 4px; }"
                    " QToolButton:hover { border-color: " + _ACCENT + "; }"
                )
        self.setAccessibleDescription("no rating" if self._value is None else f"rated {self._value}")
        self.update()


class ChoiceGroup(_FocusRing, KeyActions, QWidget):
    """Options as radio buttons (single choice) or check boxes (multiple),
    each with a key hint: 1–9, then a–z.

    Keys while focused: single choice — the option's key selects it,
    0/Delete/Backspace clear; multiple — the key toggles the option,
    Delete/Backspace clear all. Clicking a chosen radio button again clears it.

    A stored answer that is not among ``options`` (the project's options
    changed since) is kept and shown as an extra, italic option rather than
    silently dropped.
    """

    edited = Signal(object, object)

    def __init__(self, options: Iterable[str], multiple: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # duplicates would make two buttons for one answer
        self._options: list[str] = list(dict.fromkeys(str(o) for o in options))
        self._multiple = bool(multiple)
        self._chosen: list[str] = []
        self._extra: list[str] = []  # stored answers no longer among the options
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(6, 4, 6, 4)
        self._grid.setHorizontalSpacing(6)
        self._grid.setVerticalSpacing(2)
        self.buttons: dict[str, QAbstractButton] = {}
        self._rebuild()

    # --- contract -----------------------------------------------------------------

    def options(self) -> list[str]:
        return list(self._options)

    def is_multiple(self) -> bool:
        return self._multiple

    def value(self) -> str | None | list[str]:
        if self._multiple:
            return list(self._chosen)
        return self._chosen[0] if self._chosen else None

    def set_value(self, value: Any) -> None:
        """Show ``value`` (an option, a list of options, or None) silently."""
        if value is None or value == "":
            wanted: list[str] = []
        elif isinstance(value, (list, tuple, set, frozenset)):
            wanted = [str(v) for v in value]
        else:
            wanted = [str(value)]
        if not self._multiple:
            wanted = wanted[:1]
        extra = [v for v in dict.fromkeys(wanted) if v not in self._options]
        if extra != self._extra:
            self._extra = extra
            self._rebuild()
        self._chosen = self._ordered(wanted)
        self._refresh()

    # --- user edits ---------------------------------------------------------------

    def _ordered(self, values: Iterable[str]) -> list[str]:
        wanted = set(values)
        return [o for o in self._all() if o in wanted]

    def _all(self) -> list[str]:
        return self._options + self._extra

    def _user_set(self, chosen: list[str]) -> None:
        old = self.value()
        self._chosen = self._ordered(chosen)
        self._refresh()
        new = self.value()
        if old != new:
            self.edited.emit(old, new)

    def _toggle(self, option: str) -> None:
        if self._multiple:
            if option in self._chosen:
                self._user_set([o for o in self._chosen if o != option])
            else:
                self._user_set(self._chosen + [option])
        else:
            self._user_set([] if self._chosen == [option] else [option])

    def _choose(self, option: str) -> None:
        """Keyboard: single choice selects (pressing again keeps it), multiple toggles."""
        if self._multiple:
            self._toggle(option)
        else:
            self._user_set([option])

    def _clicked(self, option: str) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self._toggle(option)

    def _key_action(self, event: QKeyEvent):
        if _is_clear_key(event):
            return lambda: self._user_set([])
        digit = typed_digit(event)
        keys = choice_keys(len(self._all()))
        if digit is not None:
            if digit == 0:
                return lambda: self._user_set([])
            key = str(digit)
        else:
            key = _typed_letter(event)
            if key is None or event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                return None
        if key in keys:
            option = self._all()[keys.index(key)]
            return lambda: self._choose(option)
        return None

    # --- look -------------------------------------------------------------------------

    def _rebuild(self) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.buttons = {}
        everything = self._all()
        columns = 1 if len(everything) <= 8 else 2 if len(everything) <= 20 else 3
        rows = -(-len(everything) // columns)
        for i, (option, key) in enumerate(zip(everything, choice_keys(len(everything)))):
            hint = QLabel(key, self)
            hint.setObjectName("keyHint")
            hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
            hint.setFixedWidth(18)
            hint.setStyleSheet(
                "#keyHint { color: #3c4350; background: #e6e9ef; border: 1px solid #c5cad3;"
                " border-radius: 3px; font-size: 11px; font-family: monospace; }"
            )
            button: QAbstractButton = QCheckBox(option, self) if self._multiple else QRadioButton(option, self)
            if not self._multiple:
                button.setAutoExclusive(False)  # so clicking the chosen one can clear it
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            # as wide as its text: a click in the empty space beside it is not a click on it
            button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
            if option in self._extra:
                f = button.font()
                f.setItalic(True)
                button.setFont(f)
                button.setToolTip("This answer is not among the project's options any more.")
            else:
                button.setToolTip(f"Key {key}" if key else "")
            button.clicked.connect(lambda _c=False, o=option: self._clicked(o))
            row, col = i % rows, i // rows
            self._grid.addWidget(hint, row, col * 2)
            self._grid.addWidget(button, row, col * 2 + 1)
            self.buttons[option] = button
        for c in range(columns - 1):
            self._grid.setColumnMinimumWidth(c * 2 + 1, 0)
            # a gap between columns, so hints read as belonging to their right
            self._grid.setColumnMinimumWidth(c * 2 + 2, 18)

    def _refresh(self) -> None:
        for option, button in self.buttons.items():
            button.setChecked(option in self._chosen)
        self.update()

