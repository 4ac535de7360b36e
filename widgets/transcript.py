"""Transcript view: a dialogue as turns (speaker, start–end, text).

A `QListView` over a plain Python list model with a painting delegate; the
turn containing the playhead is highlighted (bisection on sorted starts) and
kept in view. The view never edits its turns: editing, splitting and merging
emit signals and the app answers with ``set_turns`` / ``update_turn``.

Character offsets in ``turnSplit`` are Unicode code points into the turn's
text (the record schema's convention), not Qt's UTF-16 positions.
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Iterable, Sequence

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QPlainTextEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from labeldesk.widgets.regions import IntervalIndex
from labeldesk.widgets.shortcuts import key_matches, preset
from labeldesk.widgets.waveform import format_time

__all__ = ["Turn", "TurnModel", "TranscriptView"]

TURN_ROLE = Qt.ItemDataRole.UserRole + 1

# readable on light and dark backgrounds
SPEAKER_COLORS = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
    "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac",
)


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn of a dialogue (times in seconds)."""

    id: str
    speaker: str
    start: float
    end: float
    text: str


def _utf16_to_codepoints(text: str, pos: int) -> int:
    """Qt cursor position (UTF-16 units) -> code-point offset into ``text``."""
    return len(text.encode("utf-16-le")[: 2 * pos].decode("utf-16-le", errors="ignore"))


class TurnModel(QAbstractListModel):
    """Read-only list model of `Turn` (edits are reported, not applied)."""

    editRequested = Signal(str, str)  # id, new text

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._turns: list[Turn] = []
        self._rows: dict[str, int] = {}

    def set_turns(self, turns: Sequence[Turn]) -> None:
        self.beginResetModel()
        self._turns = sorted(turns, key=lambda t: (t.start, t.end))
        self._rows = {t.id: i for i, t in enumerate(self._turns)}
        self.endResetModel()

    def update_turn(self, turn: Turn) -> bool:
        """Replace one turn in place (same start order); False if unknown."""
        row = self._rows.get(turn.id)
        if row is None:
            return False
        self._turns[row] = turn
        ix = self.index(row)
        self.dataChanged.emit(ix, ix)
        return True

    def turns(self) -> list[Turn]:
        return self._turns

    def row_of(self, turn_id: str) -> int:
        return self._rows.get(turn_id, -1)

    def turn(self, row: int) -> Turn | None:
        return self._turns[row] if 0 <= row < len(self._turns) else None

    # Qt API
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._turns)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._turns)):
            return None
        t = self._turns[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return t.text
        if role == TURN_ROLE:
            return t
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{t.speaker}  {format_time(t.start, 2)} – {format_time(t.end, 2)}"
        return None

    def setData(self, index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        t = self._turns[index.row()]
        if str(value) != t.text:
            self.editRequested.emit(t.id, str(value))
        return False  # the app updates the turn (update_turn / set_turns)

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable


class _TurnEditor(QPlainTextEdit):
    """Inline editor: Enter commits, Shift+Enter breaks the line, Escape
    cancels; split / merge keys go to the transcript view."""

    def __init__(self, view: "TranscriptView", parent: QWidget):
        super().__init__(parent)
        self._view = view
        self.setProperty("labeldesk_text_input", True)
        self.setTabChangesFocus(True)
        self.setFrameShape(QPlainTextEdit.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        keys = self._view._keys
        if key_matches(event, keys.get("split_turn", ())):
            self._view._split_from_editor(self)
            return
        if key_matches(event, keys.get("merge_turn", ())):
            self._view._merge_from_editor(self)
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                super().keyPressEvent(event)
            else:
                self._view._commit_editor(self)
            return
        if event.key() == Qt.Key.Key_Escape:
            self._view._cancel_editor(self)
            return
        super().keyPressEvent(event)


class _TurnDelegate(QStyledItemDelegate):
    PAD = 6
    BAR = 4

    def __init__(self, view: "TranscriptView"):
        super().__init__(view)
        self._view = view
        self._sizes: dict[tuple[str, str, int], QSize] = {}

    def fonts(self, base: QFont) -> tuple[QFont, QFont]:
        head = QFont(base)
        head.setBold(True)
        head.setPointSizeF(base.pointSizeF() * 0.92)
        return head, base

    def _text_rect(self, rect: QRect, fm_head: QFontMetrics) -> QRect:
        p = self.PAD
        top = rect.top() + p + fm_head.height() + 2
        return QRect(rect.left() + self.BAR + 2 * p, top, rect.width() - self.BAR - 3 * p, rect.bottom() - top - p + 1)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        t: Turn = index.data(TURN_ROLE)
        width = max(80, self._view.list.viewport().width())
        key = (t.id, t.text, width)
        s = self._sizes.get(key)
        if s is None:
            head, body = self.fonts(option.font)
            fh = QFontMetrics(head)
            fb = QFontMetrics(body)
            tw = width - self.BAR - 3 * self.PAD
            br = fb.boundingRect(QRect(0, 0, tw, 100000), int(Qt.TextFlag.TextWordWrap), t.text or " ")
            s = QSize(width, self.PAD + fh.height() + 2 + br.height() + self.PAD)
            if len(self._sizes) > 20000:
                self._sizes.clear()
            self._sizes[key] = s
        return s

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        t: Turn = index.data(TURN_ROLE)
        r = option.rect
        pal = option.palette
        active = index.row() == self._view.active_row()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        p.save()
        base = pal.color(QPalette.ColorRole.Base)
        hl = QColor(pal.color(QPalette.ColorRole.Highlight))
        if active:
            hl.setAlpha(95)
            p.fillRect(r, base)
            p.fillRect(r, hl)
        elif selected:
            hl.setAlpha(40)
            p.fillRect(r, base)
            p.fillRect(r, hl)
        else:
            p.fillRect(r, base if index.row() % 2 == 0 else pal.color(QPalette.ColorRole.AlternateBase))
        color = self._view.speaker_color(t.speaker)
        p.fillRect(QRect(r.left(), r.top(), self.BAR + (2 if active else 0), r.height()), color)
        head, body = self.fonts(option.font)
        fh = QFontMetrics(head)
        text_color = pal.color(QPalette.ColorRole.Text)
        muted = QColor(text_color)
        muted.setAlpha(150)
        x = r.left() + self.BAR + 2 * self.PAD
        y = r.top() + self.PAD
        p.setFont(head)
        p.setPen(text_color)
        name = t.speaker or "—"
        p.drawText(QRect(x, y, r.width(), fh.height()), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), name)
        nx = x + fh.horizontalAdvance(name) + 10
        small = QFont(body)
        small.setPointSizeF(body.pointSizeF() * 0.88)
        p.setFont(small)
        p.setPen(muted)
        span = f"{format_time(t.start, 2)} – {format_time(t.end, 2)}"
        p.drawText(QRect(nx, y, r.right() - nx, fh.height()), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), span)
        tr = self._text_rect(r, fh)
        p.setFont(body)
        if t.text:
            p.setPen(text_color)
            p.drawText(tr, int(Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft), t.text)
        else:
            f = QFont(body)
            f.setItalic(True)
            p.setFont(f)
            p.setPen(muted)
            p.drawText(tr, int(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft), "(empty)")
        sep = QColor(text_color)
        sep.setAlpha(30)
        p.fillRect(QRect(r.left(), r.bottom(), r.width(), 1), sep)
        p.restore()

    # editing
    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex) -> QWidget:  # noqa: N802
        ed = _TurnEditor(self._view, parent)
        ed.setFont(option.font)
        ed.setProperty("turn_id", index.data(TURN_ROLE).id)
        return ed

    def setEditorData(self, editor: QWidget, index: QModelIndex) -> None:  # noqa: N802
        if isinstance(editor, QPlainTextEdit) and not editor.property("initialised"):
            editor.setPlainText(index.data(Qt.ItemDataRole.EditRole) or "")
            editor.moveCursor(editor.textCursor().MoveOperation.End)
            editor.setProperty("initialised", True)

    def setModelData(self, editor: QWidget, model, index: QModelIndex) -> None:  # noqa: N802
        if isinstance(editor, QPlainTextEdit):
            model.setData(index, editor.toPlainText(), Qt.ItemDataRole.EditRole)

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem, index: QModelIndex) -> None:  # noqa: N802
        head, _ = self.fonts(option.font)
        tr = self._text_rect(option.rect, QFontMetrics(head))
        editor.setGeometry(tr.adjusted(-3, -2, 3, 2))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        # our editor handles Return/Escape/Tab itself; keep Qt's default
        # filter from committing on Return or closing on Tab/Backtab
        if isinstance(obj, _TurnEditor) and event.type() == QEvent.Type.KeyPress:
            return False
        return super().eventFilter(obj, event)


class _TurnList(QListView):
    def __init__(self, view: "TranscriptView"):
        super().__init__(view)
        self._view = view

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        # Space belongs to the app (play/pause); the list must not eat it
        if event.key() == Qt.Key.Key_Space and not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            event.ignore()
            return
        if key_matches(event, self._view._keys.get("merge_turn", ())):
            self._view.merge_with_next()
            event.accept()
            return
        super().keyPressEvent(event)


class TranscriptView(QWidget):
    """Dialogue turns with the playhead's turn highlighted and kept visible.

    Signals:

    * ``seekRequested(float start)`` — a turn was clicked
    * ``turnEdited(str id, str text)`` — the inline editor committed new text
    * ``turnSplit(str id, int char_offset, float time)`` — split at the
      cursor; time is the playhead when it lies inside the turn, else the
      time proportional to the offset
    * ``turnMerge(str id)`` — merge this turn with the next
    * ``turnSelected(str id)``
    """

    seekRequested = Signal(float)
    turnEdited = Signal(str, str)
    turnSplit = Signal(str, int, float)
    turnMerge = Signal(str)
    turnSelected = Signal(str)

    #: don't auto-scroll for this long after the user scrolled by hand
    USER_SCROLL_GRACE = 3.0

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = TurnModel(self)
        self.model.editRequested.connect(self.turnEdited)
        self.list = _TurnList(self)
        self.list.setModel(self.model)
        self._delegate = _TurnDelegate(self)
        self.list.setItemDelegate(self._delegate)
        self.list.setUniformItemSizes(False)
        self.list.setWordWrap(True)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setLayoutMode(QListView.LayoutMode.Batched)
        self.list.setBatchSize(200)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.list.setAlternatingRowColors(False)
        self.list.clicked.connect(self._on_clicked)
        self.list.selectionModel().currentChanged.connect(self._on_current)
        self.list.verticalScrollBar().sliderPressed.connect(self._mark_user_scroll)
        self.list.viewport().installEventFilter(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.list)
        self.setFocusProxy(self.list)

        self._index = IntervalIndex([], [])
        self._active = -1
        self._playhead = 0.0
        self._follow = True
        self._user_scroll_at = -1e9
        self._colors: dict[str, QColor] = {}
        self._keys = preset()

    # ------------------------------------------------------------ data in
    def set_turns(self, turns: Iterable[Turn]) -> None:
        editing = self._editing_id()
        self.model.set_turns(list(turns))
        ts = self.model.turns()
        for t in ts:  # distinct colours in order of first appearance
            if t.speaker not in self._colors:
                used = {c.name() for c in self._colors.values()}
                free = [c for c in SPEAKER_COLORS if c not in used]
                self._colors[t.speaker] = QColor(free[0] if free else self._hash_color(t.speaker))
        self._index = IntervalIndex([t.start for t in ts], [t.end for t in ts])
        self._active = -1
        self._update_active(scroll=False)
        if editing is not None:
            row = self.model.row_of(editing)
            if row >= 0:
                self.list.setCurrentIndex(self.model.index(row))

    def update_turn(self, turn: Turn) -> None:
        """Cheap single-turn refresh (start/end may change within its place)."""
        if not self.model.update_turn(turn):
            return
        ts = self.model.turns()
        self._index = IntervalIndex([t.start for t in ts], [t.end for t in ts])
        self._update_active(scroll=False)

    def turns(self) -> list[Turn]:
        return list(self.model.turns())

    def set_speaker_colors(self, colors: dict[str, str]) -> None:
        self._colors = {k: QColor(v) for k, v in colors.items()}
        self.list.viewport().update()

    def speaker_color(self, speaker: str) -> QColor:
        c = self._colors.get(speaker)
        if c is None:
            c = self._colors[speaker] = QColor(self._hash_color(speaker))
        return c

    @staticmethod
    def _hash_color(speaker: str) -> str:
        return SPEAKER_COLORS[zlib.crc32(speaker.encode("utf-8")) % len(SPEAKER_COLORS)]

    def set_key_map(self, mapping: dict[str, Sequence[str]]) -> None:
        keys = preset()
        keys.update({k: tuple(v) for k, v in mapping.items()})
        self._keys = keys

    def set_follow(self, follow: bool) -> None:
        self._follow = bool(follow)

    # ------------------------------------------------------------ playhead
    def set_playhead(self, t: float) -> None:
        """Connect to ``Playhead.timeChanged``."""
        self._playhead = float(t)
        self._update_active(scroll=True)

    def _find_active(self, t: float) -> int:
        pos = self._index.at(t)
        if not len(pos):
            return -1
        # overlapping turns: the one that started last
        return int(self._index.original(pos[-1:])[0])

    def _update_active(self, scroll: bool) -> None:
        row = self._find_active(self._playhead) if len(self._index) else -1
        if row == self._active:
            return
        old, self._active = self._active, row
        vp = self.list.viewport()
        for r in (old, row):
            if r >= 0:
                vp.update(self.list.visualRect(self.model.index(r)))
        if scroll and row >= 0 and self._follow and self._may_autoscroll():
            self.list.scrollTo(self.model.index(row), QAbstractItemView.ScrollHint.EnsureVisible)

    def _may_autoscroll(self) -> bool:
        if self.list.state() == QAbstractItemView.State.EditingState:
            return False
        return time.monotonic() - self._user_scroll_at > self.USER_SCROLL_GRACE

    def _mark_user_scroll(self) -> None:
        self._user_scroll_at = time.monotonic()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if obj is self.list.viewport() and event.type() == QEvent.Type.Wheel:
            self._mark_user_scroll()
        return super().eventFilter(obj, event)

    def active_row(self) -> int:
        return self._active

    def active_turn(self) -> Turn | None:
        return self.model.turn(self._active)

    def turn_rect(self, turn_id: str) -> QRect:
        """The turn's rectangle in ``list.viewport()`` coordinates."""
        row = self.model.row_of(turn_id)
        return QRect() if row < 0 else self.list.visualRect(self.model.index(row))

    # ------------------------------------------------------------ actions
    def _on_clicked(self, index: QModelIndex) -> None:
        t = self.model.turn(index.row())
        if t is not None:
            self.seekRequested.emit(t.start)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        t = self.model.turn(current.row())
        if t is not None:
            self.turnSelected.emit(t.id)

    def edit_turn(self, turn_id: str) -> None:
        row = self.model.row_of(turn_id)
        if row >= 0:
            ix = self.model.index(row)
            self.list.setCurrentIndex(ix)
            self.list.scrollTo(ix)
            self.list.edit(ix)

    def current_editor(self) -> QPlainTextEdit | None:
        ix = self.list.currentIndex()
        if not ix.isValid():
            return None
        ed = self.list.indexWidget(ix)  # not used by delegates; fall back below
        if isinstance(ed, QPlainTextEdit):
            return ed
        for child in self.list.viewport().findChildren(_TurnEditor):
            if child.isVisible():
                return child
        return None

    def _editing_id(self) -> str | None:
        ed = self.current_editor()
        return None if ed is None else ed.property("turn_id")

    def split_time(self, turn: Turn, char_offset: int) -> float:
        """Where a split at ``char_offset`` falls: the playhead if it is inside
        the turn, else proportional to the offset in the text."""
        if turn.start < self._playhead < turn.end:
            return self._playhead
        n = max(1, len(turn.text))
        frac = min(1.0, max(0.0, char_offset / n))
        return turn.start + (turn.end - turn.start) * frac

    def split_turn(self, turn_id: str, char_offset: int, time_s: float | None = None) -> None:
        row = self.model.row_of(turn_id)
        t = self.model.turn(row)
        if t is None:
            return
        char_offset = max(0, min(len(t.text), int(char_offset)))
        self.turnSplit.emit(t.id, char_offset, self.split_time(t, char_offset) if time_s is None else float(time_s))

    def merge_with_next(self, turn_id: str | None = None) -> None:
        if turn_id is None:
            t = self.model.turn(self.list.currentIndex().row())
        else:
            t = self.model.turn(self.model.row_of(turn_id))
        if t is None or self.model.row_of(t.id) >= self.model.rowCount() - 1:
            return
        self.turnMerge.emit(t.id)

    def _close(self, editor: QWidget, commit: bool) -> None:
        hint = QStyledItemDelegate.EndEditHint.NoHint
        if commit:
            self._delegate.commitData.emit(editor)
        self._delegate.closeEditor.emit(editor, hint)
        self.list.setFocus()

    def _commit_editor(self, editor: _TurnEditor) -> None:
        self._close(editor, commit=True)

    def _cancel_editor(self, editor: _TurnEditor) -> None:
        self._close(editor, commit=False)

    def _split_from_editor(self, editor: _TurnEditor) -> None:
        turn_id = editor.property("turn_id")
        text = editor.toPlainText()
        offset = _utf16_to_codepoints(text, editor.textCursor().position())
        t = self.model.turn(self.model.row_of(turn_id))
        if t is None:
            return
        self._close(editor, commit=True)  # an edit first, so the offset is into this text
        time_s = self.split_time(Turn(t.id, t.speaker, t.start, t.end, text), offset)
        self.turnSplit.emit(turn_id, offset, time_s)

    def _merge_from_editor(self, editor: _TurnEditor) -> None:
        turn_id = editor.property("turn_id")
        self._close(editor, commit=True)
        self.merge_with_next(turn_id)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        # keys reaching the view itself (the list forwards what it ignores)
        if key_matches(event, self._keys.get("merge_turn", ())):
            self.merge_with_next()
            event.accept()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            ix = self.list.currentIndex()
            if ix.isValid():
                self.list.edit(ix)
                event.accept()
                return
        event.ignore()
