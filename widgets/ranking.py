"""Ranking 2–4 responses best → worst, by keyboard or by dragging.

Keys while the widget (or one of its responses) has focus: press the
response numbers in order of preference — the first gets rank 1, the next
rank 2, … ; ``=`` before a number ties that response with the one ranked
just before it (when ties are allowed); Backspace takes back the last
response ranked. With the mouse: click a response's rank badge to rank it
next (again to take it out), drag the entries of the ranking strip to
reorder, double-click an entry to tie it with the one before it.

Ranks are dense (1, 2, 2, 3), 1 = best, equal ranks are ties — the form the
consensus code produces. A partial ranking is a valid value (responses left
out count as tied last downstream); `is_complete` tells whether every
response got a rank. When ties are not allowed, ranking all but one
response ranks the last one too: nothing else is possible.
"""
from __future__ import annotations

from typing import Any, Iterable

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from labeldesk.widgets.keys import KeyActions
from labeldesk.widgets.rating import typed_digit
from labeldesk.widgets.safe_text import SafeTextBrowser

__all__ = ["RankingWidget", "groups_to_value", "value_to_groups"]

ID_ROLE = Qt.ItemDataRole.UserRole + 1
_CTRL_ALT_META = (
    Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
)
_BEST = ("#1e6b34", "#e2f3e5", "#7cc08b")  # text, fill, border
_RANKED = ("#1f3d7a", "#e5edfb", "#9db6e6")
_UNRANKED = ("#5f6672", "#f4f5f7", "#c5cad3")


def groups_to_value(groups: list[list[str]]) -> list[dict[str, Any]]:
    """Tie groups (best first) -> ``[{"response", "rank"}]`` with dense ranks."""
    return [{"response": rid, "rank": r} for r, group in enumerate(groups, start=1) for rid in group]


def value_to_groups(value: Any) -> list[list[str]]:
    """A stored ranking -> tie groups, best first. Accepts the stored form
    ``[{"response", "rank"}]``, a ``{response: rank}`` mapping or a plain
    best-first list of ids; entries without a usable rank are dropped."""
    if not value:
        return []
    pairs: list[tuple[float, int, str]] = []
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    else:
        items = []
        for i, entry in enumerate(value):
            if isinstance(entry, dict):
                items.append((entry.get("response"), entry.get("rank")))
            else:
                items.append((entry, i + 1))
    seen: set[str] = set()
    for order, (rid, rank) in enumerate(items):
        if rid is None or isinstance(rank, bool):
            continue
        try:
            r = float(rank)
        except (TypeError, ValueError):
            continue
        if str(rid) in seen:
            continue
        seen.add(str(rid))
        pairs.append((r, order, str(rid)))
    pairs.sort()
    groups: list[list[str]] = []
    last: float | None = None
    for r, _order, rid in pairs:
        if groups and r == last:
            groups[-1].append(rid)
        else:
            groups.append([rid])
        last = r
    return groups


class _ResponsePanel(QFrame):
    """One response: its number, its rank badge, its text."""

    def __init__(self, number: int, rid: str, label: str, text: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.rid = rid
        self.number = number
        self.setObjectName("responsePanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.key_label = QLabel(str(number) if number <= 9 else "", self)
        self.key_label.setObjectName("responseKey")
        self.key_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.key_label.setFixedSize(24, 24)
        self.key_label.setToolTip(f"Press {number} to rank this response next" if number <= 9 else "")
        self.key_label.setStyleSheet(
            "#responseKey { background: #3c4350; color: white; border-radius: 12px; font-weight: bold; }"
        )
        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.badge = QToolButton(self)
        self.badge.setObjectName("rankBadge")
        self.badge.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.badge.setMinimumWidth(86)
        self.view = SafeTextBrowser(self)
        self.view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.view.setMinimumSize(140, 80)
        self.set_content(label, text)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.key_label)
        head.addWidget(self.title, 1)
        head.addWidget(self.badge)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addWidget(self.view, 1)
        self.show_rank(None, False)

    def set_content(self, label: str, text: str) -> None:
        self.title.setText(label if label and label != str(self.number) else f"Response {self.number}")
        self.view.set_markdown(text)

    def show_rank(self, rank: int | None, tied: bool) -> None:
        if rank is None:
            fg, bg, border = _UNRANKED
            self.badge.setText("not ranked")
            self.badge.setToolTip("Click to rank this response next")
        else:
            fg, bg, border = _BEST if rank == 1 else _RANKED
            best = " · best" if rank == 1 else ""
            self.badge.setText(f"rank {rank}{best}{' (tie)' if tied else ''}")
            self.badge.setToolTip("Click to take this response out of the ranking")
        self.badge.setStyleSheet(
            f"#rankBadge {{ color: {fg}; background: {bg}; border: 1px solid {border};"
            " border-radius: 10px; padding: 2px 8px; font-weight: bold; }"
        )
        self.setStyleSheet(
            f"#responsePanel {{ border: {2 if rank is not None else 1}px solid {border}; border-radius: 6px; }}"
        )
        # the badge never elides: the title gives way instead
        self.badge.setMinimumWidth(self.badge.sizeHint().width())


class _RankList(QListWidget):
    """The ranking as a horizontal strip of entries that can be dragged."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSpacing(3)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the widget owns the keys
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.fontMetrics().height() + 22)
        self.setStyleSheet(
            "QListWidget { background: transparent; border: none; }"
            " QListWidget::item { border: 1px solid #9db6e6; border-radius: 4px; padding: 2px 6px;"
            " background: #e5edfb; color: #1f3d7a; }"
            " QListWidget::item:selected { background: #2f6fdb; color: white; }"
        )


class RankingWidget(KeyActions, QWidget):
    """Responses side by side or stacked, and their ranking.

    ``edited(old, new)``: rankings as ``[{"response": id, "rank": n}]``.
    """

    edited = Signal(object, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._responses: list[tuple[str, str, str]] = []
        self._groups: list[list[str]] = []
        self._ties = True
        self._tie_pending = False
        self._auto_ranked: str | None = None  # ranked by rank_next, not by a key
        self._layout_mode = "side"
        self._updating_list = False
        self.panels: list[_ResponsePanel] = []
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        self.rank_list = _RankList(self)
        self.rank_list.model().rowsMoved.connect(self._rows_moved)
        self.rank_list.itemDoubleClicked.connect(self._toggle_tie_item)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.clear_button.setToolTip("Take every response out of the ranking")
        self.clear_button.clicked.connect(lambda _c=False: self.clear_ranking())
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #4a5160;")
        strip = QHBoxLayout()
        strip.setContentsMargins(0, 0, 0, 0)
        title = QLabel("<b>Ranking</b> (best first):", self)
        strip.addWidget(title)
        strip.addWidget(self.rank_list, 1)
        strip.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(strip)
        layout.addWidget(self.hint)
        self._refresh()

    # --- configuration ------------------------------------------------------------

    def set_responses(self, responses: Iterable[tuple[Any, Any, Any]]) -> None:
        """``(id, label, text)`` for each response, in display order (their
        keys are 1, 2, …). Clears the ranking."""
        seen: set[str] = set()
        self._responses = []
        for rid, label, text in responses:
            rid = str(rid)
            if rid in seen:
                continue  # one response cannot hold two ranks
            seen.add(rid)
            self._responses.append((rid, str(label or ""), str(text or "")))
        if [p.rid for p in self.panels] == [rid for rid, _l, _t in self._responses]:
            # the next item of a project has the same responses slots: refill the panels, don't rebuild
            for panel, (_rid, label, text) in zip(self.panels, self._responses):
                panel.set_content(label, text)
        else:
            self._rebuild_panels()
        self._groups = []
        self._tie_pending = False
        self._refresh()

    def _rebuild_panels(self) -> None:
        for panel in self.panels:
            panel.setParent(None)
            panel.deleteLater()
        self.panels = []
        for number, (rid, label, text) in enumerate(self._responses, start=1):
            panel = _ResponsePanel(number, rid, label, text, self.splitter)
            panel.badge.clicked.connect(lambda _c=False, rid=rid: self._badge_clicked(rid))
            panel.view.installEventFilter(self)
            self.splitter.addWidget(panel)
            self.panels.append(panel)

    def response_ids(self) -> list[str]:
        return [rid for rid, _l, _t in self._responses]

    def set_layout(self, mode: str) -> None:
        """"side" (columns) or "stacked" (rows)."""
        self._layout_mode = "stacked" if mode == "stacked" else "side"
        self.splitter.setOrientation(
            Qt.Orientation.Vertical if self._layout_mode == "stacked" else Qt.Orientation.Horizontal
        )

    def layout_mode(self) -> str:
        return self._layout_mode

    def set_ties_allowed(self, allowed: bool) -> None:
        self._ties = bool(allowed)
        self._tie_pending = False
        self._refresh()

    def ties_allowed(self) -> bool:
        return self._ties

    # --- contract -----------------------------------------------------------------

    def value(self) -> list[dict[str, Any]]:
        return groups_to_value(self._groups)

    def set_value(self, value: Any) -> None:
        """Show a stored ranking without emitting ``edited``."""
        self._groups = value_to_groups(value)
        self._tie_pending = False
        self._auto_ranked = None
        self._refresh()

    def is_complete(self) -> bool:
        ranked = {rid for g in self._groups for rid in g}
        return bool(self._responses) and all(rid in ranked for rid in self.response_ids())

    def ranks(self) -> dict[str, int]:
        return {e["response"]: e["rank"] for e in self.value()}

    # --- user edits ---------------------------------------------------------------

    def _set_groups(self, groups: list[list[str]]) -> None:
        old = self.value()
        self._groups = [list(g) for g in groups if g]
        self._tie_pending = False
        self._auto_ranked = None
        self._refresh()
        new = self.value()
        if old != new:
            self.edited.emit(old, new)

    def _ranked(self) -> set[str]:
        return {rid for g in self._groups for rid in g}

    def rank_next(self, rid: str, tie: bool = False) -> None:
        """Rank ``rid`` after the ones ranked so far (or tied with the last
        one ranked), as pressing its number does."""
        if rid not in self.response_ids() or rid in self._ranked():
            self._tie_pending = False
            self._refresh()
            return
        groups = [list(g) for g in self._groups]
        if tie and self._ties and groups:
            groups[-1].append(rid)
        else:
            groups.append([rid])
        auto = None
        if not self._ties:
            # the last response has only one place left: rank it too
            left = [r for r in self.response_ids() if r not in {x for g in groups for x in g}]
            if len(left) == 1:
                auto = left[0]
                groups.append(left)
        self._set_groups(groups)
        self._auto_ranked = auto

    def undo_last(self) -> None:
        """Take back the response ranked last (Backspace); a response ranked
        automatically with it goes too."""
        if self._tie_pending:
            self._tie_pending = False
            self._refresh()
            return
        if not self._groups:
            return
        groups = [list(g) for g in self._groups]
        if self._auto_ranked is not None and groups[-1] == [self._auto_ranked]:
            groups.pop()
        groups[-1].pop()
        self._set_groups(groups)

    def unrank(self, rid: str) -> None:
        self._set_groups([[r for r in g if r != rid] for g in self._groups])

    def clear_ranking(self) -> None:
        self._set_groups([])

    def move_response(self, rid: str, position: int) -> None:
        """Put ranked response ``rid`` at ``position`` (0 = best) of the ranked
        order; it leaves any tie, the others keep theirs where still adjacent."""
        order = [r for g in self._groups for r in g]
        if rid not in order:
            return
        order.remove(rid)
        order.insert(max(0, min(position, len(order))), rid)
        self._set_groups(self._regroup(order, moved=rid))

    def _regroup(self, order: list[str], moved: str) -> list[list[str]]:
        group_of = {r: i for i, g in enumerate(self._groups) for r in g}
        groups: list[list[str]] = []
        prev: str | None = None
        for r in order:
            tied = (
                prev is not None and r != moved and prev != moved
                and group_of.get(r) == group_of.get(prev)
            )
            if tied:
                groups[-1].append(r)
            else:
                groups.append([r])
            prev = r
        return groups

    def toggle_tie(self, rid: str) -> None:
        """Tie ``rid`` with the response ranked just before it, or undo that tie."""
        if not self._ties:
            return
        order = [r for g in self._groups for r in g]
        if rid not in order or order.index(rid) == 0:
            return
        groups = [list(g) for g in self._groups]
        gi = next(i for i, g in enumerate(groups) if rid in g)
        g = groups[gi]
        if g.index(rid) > 0:
            # split the group before rid
            k = g.index(rid)
            groups[gi:gi + 1] = [g[:k], g[k:]]
        else:
            # rid alone joins the group before it (a response tied with rid
            # stays where it was)
            groups[gi - 1].append(rid)
            g.remove(rid)
        self._set_groups(groups)

    def _badge_clicked(self, rid: str) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if rid in self._ranked():
            self.unrank(rid)
        else:
            self.rank_next(rid)

    def _rows_moved(self, _parent: QModelIndex, start: int, _end: int, _dest: QModelIndex, row: int) -> None:
        """A drag in the ranking strip (QListWidget moves one row)."""
        if self._updating_list:
            return
        order = [self.rank_list.item(i).data(ID_ROLE) for i in range(self.rank_list.count())]
        moved = order[row if row < start else row - 1] if order else None
        if moved is None:
            return
        self._set_groups(self._regroup(order, moved=moved))

    def _toggle_tie_item(self, item: QListWidgetItem) -> None:
        self.toggle_tie(item.data(ID_ROLE))

    # --- keys ---------------------------------------------------------------------------

    def _key_action(self, event: QKeyEvent):
        if event.modifiers() & _CTRL_ALT_META:
            return None
        digit = typed_digit(event)
        ids = self.response_ids()
        if digit is not None and 1 <= digit <= min(9, len(ids)):
            rid = ids[digit - 1]
            tie = self._tie_pending
            return lambda: self.rank_next(rid, tie=tie)
        key = event.key()
        if key == Qt.Key.Key_Equal or event.text() == "=":
            if self._ties and self._groups:
                return self._start_tie
            return None
        if key == Qt.Key.Key_Backspace:
            return self.undo_last
        return None

    def _start_tie(self) -> None:
        self._tie_pending = True
        self._refresh()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        # a response's text may have the focus (to select and copy): its
        # digits still rank
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            action = self._key_action(event)
            if action is not None:
                event.accept()
                if event.type() == QEvent.Type.KeyPress:
                    action()
                return True
        return super().eventFilter(obj, event)

    # --- look ---------------------------------------------------------------------------

    def _refresh(self) -> None:
        ranks = self.ranks()
        sizes = {}
        for g in self._groups:
            for r in g:
                sizes[r] = len(g)
        for panel in self.panels:
            panel.show_rank(ranks.get(panel.rid), sizes.get(panel.rid, 1) > 1)
        titles = {rid: (label if label and label != str(n) else f"Response {n}")
                  for n, (rid, label, _t) in enumerate(self._responses, start=1)}
        self._updating_list = True
        try:
            self.rank_list.clear()
            for entry in self.value():
                rid = entry["response"]
                tie = "=" if sizes.get(rid, 1) > 1 else ""
                item = QListWidgetItem(f"{tie}{entry['rank']} · {titles.get(rid, rid)}")
                item.setData(ID_ROLE, rid)
                item.setToolTip("Drag to reorder" + (" · double-click to tie with the one before" if self._ties else ""))
                self.rank_list.addItem(item)
        finally:
            self._updating_list = False
        n = len(self._responses)
        keys = f"1–{min(n, 9)}" if n > 1 else "1"
        if self._tie_pending:
            text = "<b>=</b> tie: press the number of the response that ties with the last one ranked."
        else:
            text = f"Press {keys} best → worst"
            if self._ties:
                text += " · <b>=</b> before a number ties it with the previous"
            text += " · Backspace takes back the last · drag entries to reorder"
        if self._responses and not self.is_complete() and self._groups:
            missing = n - len(ranks.keys() & set(self.response_ids()))
            text += f" · <i>{missing} not ranked yet</i>"
        self.hint.setText(text)
        self.clear_button.setEnabled(bool(self._groups))
