"""Marking spans of one text: errors, hallucinated claims, unsafe passages.

`SpanHighlighter` shows one target text read-only with its spans as coloured
backgrounds. Keyboard first: select text (mouse, Shift+arrows, double-click,
or the find bar), press a label's key 1–9. Click a span (or step with
``[`` / ``]``) to select it; then Delete removes it, N edits its note, S
cycles its severity, a digit changes its label, Esc lets go.

Offsets are Unicode code points into the target text as given (the record
schema's convention); the view converts to and from Qt's UTF-16 positions
with an `OffsetMap`. Overlapping spans are all drawn: the first layer as a
background, deeper layers as underlines in their label's colour.

The widget never keeps history: every change emits
``edited(old_spans, new_spans)`` with this target's full list of spans.
"""
from __future__ import annotations

import copy
import html
from typing import Any, Iterable

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QKeyEvent,
    QMouseEvent,
    QTextCharFormat,
    QTextCursor,
    QTextOption,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QSizePolicy,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from labeldesk.widgets.rating import typed_digit
from labeldesk.widgets.text_offsets import OffsetMap, display_text, set_selection_layer

__all__ = ["SpanHighlighter", "SPAN_COLORS", "span_layers"]

#: label colours, in label order (cycled past nine)
SPAN_COLORS = (
    "#e15759", "#4e79a7", "#59a14f", "#f28e2b", "#b07aa1",
    "#76b7b2", "#edc948", "#ff9da7", "#9c755f",
)
_TINT_ALPHA = 95  # backgrounds: light enough that the text stays readable
_CTRL_ALT_META = (
    Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
)
_WHITESPACE = frozenset(" \t\n\r\f\v\u00a0\u2028\u2029\u3000\u200b")


def span_layers(spans: list[tuple[int, int]]) -> list[int]:
    """Layer of each (start, end): 0 unless it overlaps an earlier-drawn span,
    then the lowest layer free over its extent (interval colouring)."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], -spans[i][1]))
    layers = [0] * len(spans)
    active: list[tuple[int, int]] = []  # (end, layer)
    for i in order:
        start, end = spans[i]
        active = [(e, lay) for e, lay in active if e > start]
        used = {lay for _e, lay in active}
        layer = 0
        while layer in used:
            layer += 1
        layers[i] = layer
        active.append((end, layer))
    return layers


def _readable_on(color: QColor) -> QColor:
    """Black or white, whichever reads on ``color``."""
    luminance = 0.299 * color.red() + 0.587 * color.green() + 0.114 * color.blue()
    return QColor("#000000") if luminance > 150 else QColor("#ffffff")


class _SpanTextView(QTextEdit):
    """The read-only text; hands clicks and the context menu to its owner.

    A QTextEdit in plain-text mode rather than a QPlainTextEdit: its layout
    right-aligns right-to-left paragraphs (Arabic, Hebrew responses), and it
    lays out big documents in the background instead of all at once."""

    def __init__(self, owner: "SpanHighlighter") -> None:
        super().__init__(owner)
        self._owner = owner
        self.setAcceptRichText(False)
        self.setReadOnly(True)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.setUndoRedoEnabled(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self._press: QPoint | None = None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        super().mouseReleaseEvent(event)
        pos = event.position().toPoint()
        if (
            event.button() == Qt.MouseButton.LeftButton
            and self._press is not None
            and (pos - self._press).manhattanLength() < 4
            and not self.textCursor().hasSelection()
        ):
            self._owner._clicked(pos)
        self._press = None

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 (Qt API)
        menu = self._owner.context_menu(self.viewport().mapFromGlobal(event.globalPos()))
        menu.popup(event.globalPos())  # popup, not exec: no nested event loop


class SpanHighlighter(QWidget):
    """One target text with its spans; see the module docstring for keys.

    ``edited(old, new)``: lists of span dicts ``{"target", "start", "end",
    "label", "note"?, "severity"?}`` (offsets in code points).
    ``spanSelected(span | None)``: the span the user selected (a copy).
    """

    edited = Signal(object, object)
    spanSelected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._target = ""
        self._text = ""
        self._map = OffsetMap("")
        self._labels: list[str] = []
        self._colors: dict[str, QColor] = {}
        self._severities: list[str] = []
        self._spans: list[dict[str, Any]] = []
        self._selected: int | None = None
        self._note_committing = False

        self.legend = QLabel(self)
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.view = _SpanTextView(self)
        self.view.installEventFilter(self)
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.note_edit = QLineEdit(self)
        self.note_edit.setPlaceholderText("Note for this span — Enter saves, Esc cancels")
        self.note_edit.hide()
        self.note_edit.installEventFilter(self)
        self.note_edit.editingFinished.connect(self._commit_note)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.legend)
        layout.addWidget(self.view, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.info, 1)
        bottom.addWidget(self.note_edit, 2)
        layout.addLayout(bottom)
        self.setFocusProxy(self.view)
        self._refresh_legend()
        self._refresh_info()

    # --- configuration ------------------------------------------------------------

    def set_labels(self, labels: Iterable[str], colors: Iterable[str] | dict[str, str] | None = None) -> None:
        """The span labels, in key order (1–9); colours default to SPAN_COLORS."""
        self._labels = list(dict.fromkeys(str(lab) for lab in labels))
        if isinstance(colors, dict):
            given = {str(k): v for k, v in colors.items()}
        else:
            given = dict(zip(self._labels, colors or ()))
        self._colors = {}
        for i, lab in enumerate(self._labels):
            c = QColor(given.get(lab) or SPAN_COLORS[i % len(SPAN_COLORS)])
            self._colors[lab] = c if c.isValid() else QColor(SPAN_COLORS[i % len(SPAN_COLORS)])
        self._refresh_legend()
        self._redraw()

    def labels(self) -> list[str]:
        return list(self._labels)

    def set_severities(self, severities: Iterable[str]) -> None:
        """What S cycles through (none → first → … → none)."""
        self._severities = list(dict.fromkeys(str(s) for s in severities))
        self._refresh_legend()

    def set_text(self, target: str, text: str | None) -> None:
        """Show ``text``, the text named ``target`` ("responses.a"). Clears the
        spans: call `set_spans` afterwards."""
        self._target = str(target)
        self._text = text or ""
        self._map = OffsetMap(self._text)
        self._spans = []
        self._selected = None
        self.view.setPlainText(display_text(self._text))
        self._redraw()
        self._refresh_info()

    def target(self) -> str:
        return self._target

    def text(self) -> str:
        return self._text

    # --- contract -----------------------------------------------------------------

    def value(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self._spans)

    def set_value(self, spans: Iterable[dict[str, Any]] | None) -> None:
        self.set_spans(spans)

    def set_spans(self, spans: Iterable[dict[str, Any]] | None) -> None:
        """Show ``spans`` without emitting ``edited``. Entries that cannot be
        drawn (offsets outside the text, missing fields) are kept, not drawn."""
        self._spans = [copy.deepcopy(dict(s)) for s in (spans or []) if isinstance(s, dict)]
        if self._selected is not None and self._selected >= len(self._spans):
            self._selected = None
        self._close_note_editor()
        self._redraw()
        self._refresh_info()

    def selected_span(self) -> dict[str, Any] | None:
        return copy.deepcopy(self._spans[self._selected]) if self._selected is not None else None

    def selected_index(self) -> int | None:
        return self._selected

    def select_span(self, index: int | None) -> None:
        if index is not None and not 0 <= index < len(self._spans):
            index = None
        if index != self._selected:
            self._selected = index
            self._redraw()
            self._refresh_info()
            self.spanSelected.emit(self.selected_span())

    def select_text(self, start: int, end: int) -> None:
        """Select code points [start, end) in the view (as the user would)."""
        cursor = QTextCursor(self.view.document())
        cursor.setPosition(self._map.to_utf16(start))
        cursor.setPosition(self._map.to_utf16(end), QTextCursor.MoveMode.KeepAnchor)
        self.view.setTextCursor(cursor)

    def text_selection(self) -> tuple[int, int] | None:
        """The selected text in code points, or None."""
        cursor = self.view.textCursor()
        if not cursor.hasSelection():
            return None
        return self._map.to_cp(cursor.selectionStart()), self._map.to_cp(cursor.selectionEnd())

    # --- edits ----------------------------------------------------------------------

    def _commit(self, new_spans: list[dict[str, Any]], select: int | None) -> None:
        old = copy.deepcopy(self._spans)
        self._spans = new_spans
        self._selected = select if select is not None and 0 <= select < len(new_spans) else None
        self._redraw()
        self._refresh_info()
        if old != self._spans:
            self.edited.emit(old, copy.deepcopy(self._spans))
        self.spanSelected.emit(self.selected_span())

    def add_span(self, start: int, end: int, label: str) -> bool:
        """Mark code points [start, end) with ``label`` as the user; surrounding
        whitespace is left out. False when nothing would be marked."""
        if label not in self._labels:
            return False
        start, end = max(0, min(start, end)), min(len(self._text), max(start, end))
        while start < end and self._text[start] in _WHITESPACE:
            start += 1
        while end > start and self._text[end - 1] in _WHITESPACE:
            end -= 1
        if start >= end:
            return False
        for i, s in enumerate(self._spans):
            if s.get("start") == start and s.get("end") == end and s.get("label") == label:
                self.select_span(i)  # already there: a second key press adds nothing
                return False
        span = {"target": self._target, "start": start, "end": end, "label": label}
        self._commit(self._spans + [span], len(self._spans))
        return True

    def remove_selected(self) -> None:
        if self._selected is None:
            return
        i = self._selected
        self._commit(self._spans[:i] + self._spans[i + 1:], None)

    def relabel_selected(self, label: str) -> None:
        if self._selected is None or label not in self._labels:
            return
        new = copy.deepcopy(self._spans)
        new[self._selected]["label"] = label
        self._commit(new, self._selected)

    def set_selected_severity(self, severity: str | None) -> None:
        if self._selected is None:
            return
        new = copy.deepcopy(self._spans)
        if severity:
            new[self._selected]["severity"] = severity
        else:
            new[self._selected].pop("severity", None)
        self._commit(new, self._selected)

    def cycle_severity(self) -> None:
        """none → first severity → … → last → none."""
        if self._selected is None or not self._severities:
            return
        current = self._spans[self._selected].get("severity")
        cycle: list[str | None] = [None, *self._severities]
        nxt = cycle[(cycle.index(current) + 1) % len(cycle)] if current in cycle else self._severities[0]
        self.set_selected_severity(nxt)

    def set_selected_note(self, note: str) -> None:
        if self._selected is None:
            return
        new = copy.deepcopy(self._spans)
        note = note.strip()
        if note:
            new[self._selected]["note"] = note
        else:
            new[self._selected].pop("note", None)
        self._commit(new, self._selected)

    def edit_note(self) -> None:
        """Open the inline note editor for the selected span."""
        if self._selected is None:
            return
        self.note_edit.setText(str(self._spans[self._selected].get("note", "")))
        self.note_edit.show()
        self.note_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self.note_edit.selectAll()

    def _commit_note(self) -> None:
        if not self.note_edit.isVisible() or self._note_committing:
            return
        self._note_committing = True
        try:
            text = self.note_edit.text()
            self._close_note_editor()
            self.set_selected_note(text)
        finally:
            self._note_committing = False

    def _close_note_editor(self) -> None:
        if self.note_edit.isVisible():
            had_focus = self.note_edit.hasFocus()
            self.note_edit.blockSignals(True)  # hiding loses focus: not a second commit
            self.note_edit.hide()
            self.note_edit.blockSignals(False)
            if had_focus:
                self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- mouse ------------------------------------------------------------------------

    def spans_at(self, cp: int) -> list[int]:
        """Indices of the spans covering code point ``cp``, shortest first."""
        hits = [
            i for i, s in enumerate(self._spans)
            if self._drawable(s) and s["start"] <= cp < s["end"]
        ]
        return sorted(hits, key=lambda i: (self._spans[i]["end"] - self._spans[i]["start"], i))

    def _span_at_point(self, pos: QPoint) -> list[int]:
        cursor = self.view.cursorForPosition(pos)
        cp = self._map.to_cp(cursor.position())
        # the caret lands between characters; the character clicked is the
        # one before it when the click fell on the caret's "backward" side
        # (its left in left-to-right text, its right in right-to-left text)
        rect = self.view.cursorRect(cursor)
        rtl = cursor.block().textDirection() == Qt.LayoutDirection.RightToLeft
        backward = (pos.x() < rect.x()) != rtl
        if backward and cp > 0:
            return self.spans_at(cp - 1) or self.spans_at(cp)
        return self.spans_at(cp) or (self.spans_at(cp - 1) if cp > 0 else [])

    def _clicked(self, pos: QPoint) -> None:
        hits = self._span_at_point(pos)
        if not hits:
            self.select_span(None)
            return
        # clicking again on overlapping spans walks through them
        if self._selected in hits:
            self.select_span(hits[(hits.index(self._selected) + 1) % len(hits)])
        else:
            self.select_span(hits[0])

    def context_menu(self, pos: QPoint) -> QMenu:
        """The context menu for viewport point ``pos`` (not shown: the caller
        pops it up). Offers the labels for a selection, or the span's actions."""
        menu = QMenu(self)
        selection = self.text_selection()
        if selection is not None and selection[0] != selection[1]:
            mark = menu.addMenu("Mark selection as")
            for i, lab in enumerate(self._labels):
                act = mark.addAction(f"{lab}\t{i + 1}" if i < 9 else lab)
                act.triggered.connect(lambda _c=False, lab=lab, sel=selection: self.add_span(sel[0], sel[1], lab))
        else:
            hits = self._span_at_point(pos)
            if hits and self._selected not in hits:
                self.select_span(hits[0])
        if self._selected is not None:
            span = self._spans[self._selected]
            if not menu.isEmpty():
                menu.addSeparator()
            relabel = menu.addMenu("Label")
            for i, lab in enumerate(self._labels):
                act = relabel.addAction(f"{lab}\t{i + 1}" if i < 9 else lab)
                act.setCheckable(True)
                act.setChecked(lab == span.get("label"))
                act.triggered.connect(lambda _c=False, lab=lab: self.relabel_selected(lab))
            if self._severities:
                sev = menu.addMenu("Severity\tS")
                for name in [None, *self._severities]:
                    act = sev.addAction(name or "none")
                    act.setCheckable(True)
                    act.setChecked(span.get("severity") == name)
                    act.triggered.connect(lambda _c=False, name=name: self.set_selected_severity(name))
            menu.addAction("Edit note…\tN").triggered.connect(lambda _c=False: self.edit_note())
            menu.addAction("Delete span\tDel").triggered.connect(lambda _c=False: self.remove_selected())
        if self.view.textCursor().hasSelection():
            menu.addSeparator()
            menu.addAction("Copy").triggered.connect(lambda _c=False: self.view.copy())
        return menu

    # --- keys -------------------------------------------------------------------------

    def _key_action(self, event: QKeyEvent):
        if event.modifiers() & _CTRL_ALT_META:
            return None
        digit = typed_digit(event)
        if digit is not None and 1 <= digit <= min(9, len(self._labels)):
            label = self._labels[digit - 1]
            selection = self.text_selection()
            if selection is not None:
                return lambda: self._label_key(selection, label)
            if self._selected is not None:
                return lambda: self.relabel_selected(label)
            return None
        key = event.key()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self._selected is not None:
            return self.remove_selected
        if key == Qt.Key.Key_N and self._selected is not None:
            return self.edit_note
        if key == Qt.Key.Key_S and self._selected is not None and self._severities:
            return self.cycle_severity
        if key == Qt.Key.Key_Escape and self._selected is not None:
            return lambda: self.select_span(None)
        if key == Qt.Key.Key_BracketRight and self._spans:
            return lambda: self._step(+1)
        if key == Qt.Key.Key_BracketLeft and self._spans:
            return lambda: self._step(-1)
        return None

    def _label_key(self, selection: tuple[int, int], label: str) -> None:
        if self.add_span(selection[0], selection[1], label):
            # let go of the text: the next digit relabels the new span
            cursor = self.view.textCursor()
            cursor.clearSelection()
            self.view.setTextCursor(cursor)

    def _step(self, delta: int) -> None:
        """Select the next / previous span in reading order."""
        order = sorted(
            (i for i, s in enumerate(self._spans) if self._drawable(s)),
            key=lambda i: (self._spans[i]["start"], self._spans[i]["end"], i),
        )
        if not order:
            return
        if self._selected in order:
            pos = (order.index(self._selected) + delta) % len(order)
        else:
            pos = 0 if delta > 0 else len(order) - 1
        self.select_span(order[pos])
        span = self._spans[order[pos]]
        cursor = QTextCursor(self.view.document())
        cursor.setPosition(self._map.to_utf16(span["start"]))
        self.view.setTextCursor(cursor)
        self.view.ensureCursorVisible()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        etype = event.type()
        if obj is self.view:
            if etype == QEvent.Type.ShortcutOverride and self._key_action(event) is not None:
                event.accept()  # these keys are ours while the text has focus
                return True
            if etype == QEvent.Type.KeyPress:
                action = self._key_action(event)
                if action is not None:
                    action()
                    return True
        elif obj is self.note_edit and etype in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            if event.key() == Qt.Key.Key_Escape:
                if etype == QEvent.Type.KeyPress:
                    self._close_note_editor()
                event.accept()
                return True
        return super().eventFilter(obj, event)

    # --- drawing ----------------------------------------------------------------------

    def _drawable(self, span: dict[str, Any]) -> bool:
        start, end = span.get("start"), span.get("end")
        return (
            isinstance(start, int) and isinstance(end, int)
            and not isinstance(start, bool) and not isinstance(end, bool)
            and 0 <= start < end <= len(self._text)
        )

    def _color(self, label: Any) -> QColor:
        return QColor(self._colors.get(str(label), QColor("#8a8f98")))

    def _redraw(self) -> None:
        drawable = [i for i, s in enumerate(self._spans) if self._drawable(s)]
        layers = span_layers([(self._spans[i]["start"], self._spans[i]["end"]) for i in drawable])
        doc = self.view.document()
        selections: list[QTextEdit.ExtraSelection] = []
        chosen: QTextEdit.ExtraSelection | None = None
        # backgrounds first, so later underlines are drawn on top of them
        for i, layer in sorted(zip(drawable, layers), key=lambda t: t[1]):
            span = self._spans[i]
            color = self._color(span.get("label"))
            sel = QTextEdit.ExtraSelection()
            cursor = QTextCursor(doc)
            cursor.setPosition(self._map.to_utf16(span["start"]))
            cursor.setPosition(self._map.to_utf16(span["end"]), QTextCursor.MoveMode.KeepAnchor)
            sel.cursor = cursor
            fmt = QTextCharFormat()
            if i == self._selected:
                fmt.setBackground(color)
                fmt.setForeground(_readable_on(color))
            elif layer == 0:
                tint = QColor(color)
                tint.setAlpha(_TINT_ALPHA)
                fmt.setBackground(tint)
            else:
                fmt.setUnderlineStyle(
                    QTextCharFormat.UnderlineStyle.SingleUnderline if layer == 1
                    else QTextCharFormat.UnderlineStyle.WaveUnderline
                )
                fmt.setUnderlineColor(color)
                fmt.setFontUnderline(True)
            if span.get("note"):
                fmt.setToolTip(str(span["note"]))
            sel.format = fmt
            if i == self._selected:
                chosen = sel
            else:
                selections.append(sel)
        if chosen is not None:
            selections.append(chosen)  # drawn last: on top of what it overlaps
        set_selection_layer(self.view, "spans", selections)

    def _refresh_legend(self) -> None:
        chips = []
        for i, lab in enumerate(self._labels):
            color = self._color(lab)
            key = f"<b>{i + 1}</b>&nbsp;" if i < 9 else ""
            name = html.escape(lab).replace(" ", "&nbsp;")
            chips.append(
                f'<span style="background-color:{color.name()}; color:{_readable_on(color).name()};">'
                f"&nbsp;{key}{name}&nbsp;</span>"
            )
        self.legend.setText("&nbsp;&nbsp; ".join(chips) if chips else "<i>no labels</i>")
        self._refresh_info()

    def _refresh_info(self) -> None:
        n = len(self._spans)
        if self._selected is None:
            # &nbsp; inside each hint so the line wraps between hints only
            hints = [f"{n}&nbsp;span{'s' if n != 1 else ''}", "select&nbsp;text,&nbsp;then&nbsp;1–9",
                     "click&nbsp;a&nbsp;span&nbsp;or&nbsp;[&nbsp;/&nbsp;]", "Del&nbsp;removes", "N&nbsp;note"]
            if self._severities:
                hints.append("S&nbsp;severity&nbsp;(" + html.escape("/".join(self._severities)) + ")")
            self.info.setText('<span style="color:#4a5160;">' + " · ".join(hints) + "</span>")
            return
        span = self._spans[self._selected]
        color = self._color(span.get("label"))
        excerpt = self._text[span.get("start", 0): span.get("end", 0)] if self._drawable(span) else ""
        if len(excerpt) > 60:
            excerpt = excerpt[:57] + "…"
        parts = [
            f'<span style="color:{color.name()};">■</span> <b>{html.escape(str(span.get("label", "")))}</b>',
            f'{span.get("start")}–{span.get("end")}',
        ]
        if excerpt:
            parts.append(f"“{html.escape(excerpt)}”")
        if span.get("severity"):
            parts.append(f"severity: <b>{html.escape(str(span['severity']))}</b>")
        if span.get("note"):
            parts.append(f"note: {html.escape(str(span['note']))}")
        self.info.setText(" · ".join(parts))
