"""The review panel: a queue per level, one submission at a time, every annotator side by side.

Reviewers and leads take the next submission (N, which claims it so that colleagues get
other ones), read the item, compare the answers of everyone who labeled it — rows whose
answers differ are marked "≠" and highlighted — and decide: accept (A), reject with a reason
(R), or correct the answers (C). The next submission loads after each decision, in the same
trip to the database thread. The panel never touches the database: it hands plain functions
to the DbWorker and shows the frozen dataclasses that come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHeaderView, QLabel, QListWidget, QListWidgetItem, QSplitter,
    QStackedWidget, QTableWidget, QTableWidgetItem, QToolBar, QVBoxLayout, QWidget,
)

from labeldesk.app.ui.answer_text import answer_text, consensus_text, duration_text
from labeldesk.app.ui.dbworker import Change, DbWorker
from labeldesk.app.ui.guarded import submit_guarded
from labeldesk.app.ui.review_dialogs import CorrectDialog, RejectDialog
from labeldesk.app.workflow import review
from labeldesk.app.workflow.permissions import LEAD_ONLY, Actor, PermissionDenied, review_levels, review_roles
from labeldesk.app.workflow.projects import ProjectInfo, get_project
from labeldesk.app.workflow.review import QueueEntry, ReviewError, ReviewInfo, SideBySide
from labeldesk.storage.db import Workspace
from labeldesk.widgets.conversation import ConversationView

QUEUE_LIMIT = 200
REFRESH_MS = 300  # coalesce bursts of change broadcasts into one queue reload
# topics after which the queue may have changed (submissions, decisions, items, assignments)
QUEUE_TOPICS = frozenset({"annotation", "review", "items", "assignment", "adjudication"})

# Highlights pass WCAG AA with INK on them; the "≠" marker carries the meaning for anyone who
# cannot tell the colours apart, so colour is never the only signal.
INK = QColor("#1f2328")
DIFFERENT_ROW = QColor("#fff4ce")  # the row: answers differ
MINORITY_CELL = QColor("#ffd59e")  # the answers that are not the most common one
UNDER_REVIEW = QColor("#e5edfb")  # the column of the submission being judged
MARKS = {"different": "≠", "equal": "=", "single": "◦", "missing": "–"}
LEGEND = ("≠ answers differ (highlighted; the odd ones out darker) · = all agree · ◦ one answer · – no answer · "
          "▶ the submission under review")
BANNER_STYLES = {
    "info": "color: #1f3d7a; background: #e5edfb; border: 1px solid #9db6e6;",
    "warning": "color: #3b2f00; background: #fff4ce; border: 1px solid #e0c36a;",
    "error": "color: #a4000f; background: #fde7e9; border: 1px solid #e8a0a6;",
}


# --- operations for the database thread: plain functions of the workspace ----------------


@dataclass(frozen=True)
class Opened:
    """A submission to judge and every annotator's answers to the same item."""

    entry: QueueEntry
    view: SideBySide


@dataclass(frozen=True)
class QueueState:
    level: int
    entries: tuple[QueueEntry, ...]
    size: int  # the whole queue, of which `entries` is the first QUEUE_LIMIT


def load_queue(ws: Workspace, who: Actor, project: str, level: int) -> QueueState:
    entries = review.review_queue(ws, who, project, level, limit=QUEUE_LIMIT)
    return QueueState(level, tuple(entries), review.queue_size(ws, who, project, level))


def open_entry(ws: Workspace, who: Actor, project: str, entry: QueueEntry) -> Opened:
    return Opened(entry, review.side_by_side(ws, who, project, entry.item_id))


def open_next(ws: Workspace, who: Actor, project: str, level: int) -> Opened | None:
    """Claim the next submission at `level` and load its side-by-side view."""
    entry = review.next_review(ws, who, project, level)
    return None if entry is None else open_entry(ws, who, project, entry)


def reopen_or_next(ws: Workspace, who: Actor, project: str, entry: QueueEntry) -> Opened | None:
    """The same submission as it is now, if it still waits at this level; else the next one."""
    for fresh in review.review_queue(ws, who, project, entry.level, limit=QUEUE_LIMIT):
        if fresh.annotation_id == entry.annotation_id:
            return open_entry(ws, who, project, fresh)
    return open_next(ws, who, project, entry.level)


def decide_and_next(
    ws: Workspace, who: Actor, project: str, entry: QueueEntry, decision: str, reason: str = "",
    values: dict[str, Any] | None = None,
) -> tuple[ReviewInfo, Opened | None]:
    """One trip: store the decision on the revision the reviewer saw, claim the next one."""
    done = review.review(ws, who, entry.annotation_id, decision, level=entry.level, reason=reason, values=values,
                         revision=entry.revision)
    return done, open_next(ws, who, project, entry.level)


# --- the panel ------------------------------------------------------------------------------


def level_title(config: dict[str, Any], level: int) -> str:
    who = "lead" if review_roles(config, level) == LEAD_ONLY else "reviewers"
    return f"Level {level} ({who})"


def entry_summary(entry: QueueEntry) -> str:
    """Two short lines, so that a narrow dock shows them whole."""
    when = entry.submitted_at.strftime("%Y-%m-%d %H:%M") if entry.submitted_at else "imported"
    return f"{entry.uid}\n{entry.annotator} · {when}"


class ReviewPanel(QWidget):
    """Queue, item, side-by-side answers and decisions for one project."""

    def __init__(self, worker: DbWorker, who: Actor, project: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.worker = worker
        self.who = who
        self.project_name = project
        self.project: ProjectInfo | None = None
        self.level = 1
        self.current: Opened | None = None
        self.queue: QueueState | None = None
        self.last_decision: ReviewInfo | None = None
        self._busy = False
        self._request = 0  # only the newest request to show a submission may show one
        self._dialog: RejectDialog | CorrectDialog | None = None
        self.setObjectName("reviewPanel")
        self.setWindowTitle(f"Review · {project}")

        self._build()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self.refresh_queue)
        worker.changed.connect(self._on_change)
        self._update_actions()
        self._say("Loading the project…", "info")
        self._submit(get_project, project, done=self._project_loaded)

    # --- layout ---------------------------------------------------------------------

    def _build(self) -> None:
        self.toolbar = QToolBar("Review")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.level_box = QComboBox()
        self.level_box.setAccessibleName("Review level")
        self.level_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.level_box.currentIndexChanged.connect(self._level_chosen)
        self.toolbar.addWidget(QLabel(" Queue "))
        self.toolbar.addWidget(self.level_box)
        self.toolbar.addSeparator()
        self.actions_by_name: dict[str, QAction] = {}
        for name, title, keys, slot in (
            ("next", "Next", "N", self.request_next),
            ("accept", "Accept", "A", self.accept_current),
            ("reject", "Reject…", "R", self.reject_current),
            ("correct", "Correct…", "C", self.correct_current),
            ("refresh", "Refresh", "F5", self.refresh_queue),
        ):
            action = QAction(f"{title} ({keys})", self)
            action.setShortcut(QKeySequence(keys))
            # only while the keyboard is in this panel: single letters must not fire while typing elsewhere
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setToolTip(f"{title.rstrip('…')} — key {keys}")
            action.triggered.connect(slot)
            self.addAction(action)
            self.toolbar.addAction(action)
            self.actions_by_name[name] = action

        self.banner = QLabel()
        self.banner.setObjectName("reviewBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.hide()

        self.queue_title = QLabel("Queue")
        self.queue_list = QListWidget()
        self.queue_list.setAccessibleName("Review queue")
        self.queue_list.setAlternatingRowColors(True)  # two-line entries: tell neighbours apart
        self.queue_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.queue_list.setTextElideMode(Qt.TextElideMode.ElideRight)  # a narrow dock cuts with "…", never mid-letter
        self.queue_list.setMinimumWidth(190)
        self.queue_list.itemActivated.connect(self._queue_item_activated)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.queue_title)
        left_layout.addWidget(self.queue_list)

        self.entry_label = QLabel()
        self.entry_label.setTextFormat(Qt.TextFormat.PlainText)  # names and uids come from data
        self.entry_label.setWordWrap(True)
        font = self.entry_label.font()
        font.setBold(True)
        self.entry_label.setFont(font)
        self.conversation = ConversationView()
        self.table = QTableWidget()
        self.table.setAccessibleName("Answers side by side")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.setAlternatingRowColors(False)  # the highlight must be the only row colouring
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # wrapped cells need their rows re-measured whenever the columns change width (dock resized)
        self._fit_rows = QTimer(self)
        self._fit_rows.setSingleShot(True)
        self._fit_rows.setInterval(0)
        self._fit_rows.timeout.connect(self.table.resizeRowsToContents)
        self.table.horizontalHeader().sectionResized.connect(lambda *_: self._fit_rows.start())
        legend = QLabel(LEGEND)
        legend.setWordWrap(True)
        legend.setStyleSheet("color: #4a5160;")
        answers = QWidget()
        answers_layout = QVBoxLayout(answers)
        answers_layout.setContentsMargins(0, 0, 0, 0)
        answers_layout.addWidget(self.table, 1)
        answers_layout.addWidget(legend)
        self.item_split = QSplitter(Qt.Orientation.Vertical)
        self.item_split.addWidget(self.conversation)
        self.item_split.addWidget(answers)
        self.item_split.setStretchFactor(0, 2)
        self.item_split.setStretchFactor(1, 3)
        entry_page = QWidget()
        entry_layout = QVBoxLayout(entry_page)
        entry_layout.setContentsMargins(0, 0, 0, 0)
        entry_layout.addWidget(self.entry_label)
        entry_layout.addWidget(self.item_split, 1)

        self.empty = QLabel()
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty)
        self.pages.addWidget(entry_page)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.pages)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 4)
        split.setSizes([240, 960])

        hint = QLabel("Keys: N next · A accept · R reject (with a reason) · C correct · F5 refresh the queue")
        hint.setStyleSheet("color: #4a5160;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)
        layout.addWidget(hint)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a home for the keyboard, so the letter keys work
        self._show_empty("Loading…")

    # --- messages -------------------------------------------------------------------

    def _say(self, text: str, kind: str = "info") -> None:
        self.banner.setText(text)
        self.banner.setStyleSheet(f"QLabel#reviewBanner {{ {BANNER_STYLES[kind]} border-radius: 4px; padding: 6px; }}")
        self.banner.setProperty("kind", kind)
        self.banner.show()

    def _quiet(self) -> None:
        self.banner.hide()

    def message(self) -> str:
        """The text of the banner, empty when none is shown (for tests and the status bar)."""
        return self.banner.text() if not self.banner.isHidden() else ""

    def _failed(self, exc: Exception) -> None:
        """Every error from the worker: a message in the panel, never a crash."""
        self._busy = False
        if isinstance(exc, PermissionDenied):
            self._say(f"Not allowed: {exc}. Pick another level or ask a lead for the reviewer role.", "error")
        elif isinstance(exc, ReviewError):
            # stale (the annotator resubmitted) or taken by someone else: show the queue as it is now
            self._say(f"{exc}.", "warning")
            self.refresh_queue()
            if self.current is not None:
                self._request += 1
                self._submit(reopen_or_next, self.who, self.project_name, self.current.entry,
                             done=self._opener(self._request))
        else:
            self._say(f"Something went wrong: {exc}", "error")
        self._update_actions()

    def _show_empty(self, text: str) -> None:
        self.empty.setText(text)
        self.pages.setCurrentWidget(self.empty)

    # --- worker plumbing ----------------------------------------------------------------

    def _submit(self, op: Any, *args: Any, done: Any, change: Change | None = None) -> None:
        submit_guarded(self.worker, self, op, *args, done=done, error=self._failed, change=change)

    def _on_change(self, change: Change) -> None:
        if change.topic in QUEUE_TOPICS and self.project is not None:
            self._refresh_timer.start()

    # --- project and queue ----------------------------------------------------------------

    def _project_loaded(self, info: ProjectInfo) -> None:
        self.project = info
        self.level_box.blockSignals(True)
        self.level_box.clear()
        for level in range(1, review_levels(info.config) + 1):
            self.level_box.addItem(level_title(info.config, level), level)
        self.level_box.blockSignals(False)
        self._quiet()
        self._show_empty("Press N to take the next submission to review, or pick one in the queue.")
        self._update_actions()
        self.refresh_queue()

    def set_level(self, level: int) -> None:
        index = self.level_box.findData(level)
        if index >= 0:
            self.level_box.setCurrentIndex(index)

    def _level_chosen(self, index: int) -> None:
        level = self.level_box.itemData(index)
        if level is None or level == self.level:
            return
        self.level = int(level)
        self.current = None
        self._quiet()
        self._show_empty(f"{level_title(self.project.config, self.level)}: press N for the next submission.")
        self._update_actions()
        self.refresh_queue()

    def refresh_queue(self) -> None:
        if self.project is not None:
            self._submit(load_queue, self.who, self.project_name, self.level, done=self._queue_loaded)

    def _queue_loaded(self, state: QueueState) -> None:
        if state.level != self.level:
            return  # the level changed while this was loading
        self.queue = state
        self.queue_list.clear()
        for entry in state.entries:
            item = QListWidgetItem(entry_summary(entry))
            item.setData(Qt.ItemDataRole.UserRole, entry)
            self.queue_list.addItem(item)
        self._mark_current_in_queue()
        more = f", first {len(state.entries)} shown" if state.size > len(state.entries) else ""
        self.queue_title.setText(f"Queue: {state.size} waiting{more}")

    def _mark_current_in_queue(self) -> None:
        """The submission on screen in bold (and with "▶" for those who cannot see bold), the rest plain."""
        current = self.current.entry.annotation_id if self.current else None
        for row in range(self.queue_list.count()):
            item = self.queue_list.item(row)
            entry = item.data(Qt.ItemDataRole.UserRole)
            mine = entry.annotation_id == current
            font = item.font()
            font.setBold(mine)
            item.setFont(font)
            item.setText(("▶ " if mine else "") + entry_summary(entry))
            if mine:
                self.queue_list.setCurrentItem(item)
                self.queue_list.scrollToItem(item)

    def _queue_item_activated(self, item: QListWidgetItem) -> None:
        entry = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(entry, QueueEntry) and not self._busy:
            self._request += 1
            self._submit(open_entry, self.who, self.project_name, entry, done=self._opener(self._request))

    # --- showing one submission ---------------------------------------------------------------

    def request_next(self) -> None:
        if self.project is None or self._busy:
            return
        self._request += 1
        self._submit(open_next, self.who, self.project_name, self.level, done=self._opener(self._request))

    def _opener(self, request: int) -> Any:
        def show(opened: Opened | None) -> None:
            if request == self._request:
                self.show_opened(opened)
        return show

    def show_opened(self, opened: Opened | None) -> None:
        self.current = opened
        self._busy = False
        if opened is None:
            self._show_empty(f"Nothing is waiting at {level_title(self.project.config, self.level).lower()}. 🎉\n"
                             "New submissions appear here as annotators submit (F5 refreshes).")
        else:
            self._show_entry(opened)
        self._mark_current_in_queue()
        self._update_actions()

    def _show_entry(self, opened: Opened) -> None:
        entry = opened.entry
        corrected = " · judging the lower level's correction" if entry.values != entry.original else ""
        self.entry_label.setText(
            f"{entry.uid} · by {entry.annotator} · revision {entry.revision} · level {entry.level} · "
            f"{duration_text(entry.seconds)} active{corrected}"
        )
        messages = list(entry.content.get("messages", ()))
        for response in entry.content.get("responses", ()):
            source = f" · {response['source']}" if response.get("source") else ""
            messages.append({"role": "assistant", "speaker": f"response {response.get('id')}{source}",
                             "content": response.get("content")})
        self.conversation.set_messages(messages)
        self._fill_table(opened)
        self.pages.setCurrentIndex(1)

    def _columns(self, opened: Opened) -> list[tuple[str, str, dict[str, Any] | None]]:
        """(header, tooltip, values or None for the consensus) per column."""
        entry = opened.entry
        columns: list[tuple[str, str, dict[str, Any] | None]] = []
        for answer in opened.view.answers:
            judged = answer.annotation_id == entry.annotation_id
            verdict = f"\n{answer.verdict.decision} (level {answer.verdict.level})" if answer.verdict else ""
            header = f"▶ {answer.annotator}\n(under review)" if judged else f"{answer.annotator}{verdict}"
            columns.append((header, f"{answer.annotator}, revision {answer.revision}", answer.values))
        if entry.values != entry.original:
            columns.append((f"▶ {entry.annotator}\ncorrected at level {entry.level - 1}",
                            "the correction this level judges", entry.values))
        columns.append(("consensus", "the answer the project's aggregation would pick, with its agreement", None))
        return columns

    def _fill_table(self, opened: Opened) -> None:
        questions = {q["name"]: q for q in (self.project.questions if self.project else ())}
        view = opened.view
        columns = self._columns(opened)
        names = [a.annotator for a in view.answers]
        self.table.clear()
        self.table.setRowCount(len(view.questions))
        self.table.setColumnCount(len(columns))
        for c, (header, tip, _values) in enumerate(columns):
            item = QTableWidgetItem(header)
            item.setToolTip(tip)
            if header.startswith("▶"):
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.table.setHorizontalHeaderItem(c, item)
        judged = {c for c, (header, _tip, _v) in enumerate(columns) if header.startswith("▶")}
        for r, diff in enumerate(view.questions):
            question = questions.get(diff.question, {"name": diff.question, "type": diff.type})
            different = diff.status == "different"
            title = question.get("title", diff.question)
            row_header = QTableWidgetItem(f"{MARKS.get(diff.status, '?')}  {title}")
            row_header.setToolTip({
                "different": "the annotators' answers differ", "equal": "all annotators agree",
                "single": "only one annotator answered", "missing": "nobody answered",
            }.get(diff.status, diff.status))
            row_header.setData(Qt.ItemDataRole.UserRole, diff.status)
            if different:
                row_header.setBackground(QBrush(DIFFERENT_ROW))
                row_header.setForeground(QBrush(INK))
                font = row_header.font()
                font.setBold(True)
                row_header.setFont(font)
            self.table.setVerticalHeaderItem(r, row_header)
            for c, (_header, _tip, values) in enumerate(columns):
                if values is None:
                    text = consensus_text(question, diff.consensus, diff.agreement, view.content)
                    odd = False
                else:
                    value = values.get(diff.question)
                    text = answer_text(question, value, view.content)
                    odd = c < len(names) and names[c] in diff.differs
                if odd:
                    text = f"≠ {text}"  # the odd one out, in words as well as in colour
                cell = QTableWidgetItem(text)
                cell.setToolTip(answer_text(question, values.get(diff.question) if values else diff.consensus,
                                            view.content, limit=4000))
                cell.setForeground(QBrush(INK))
                if odd:
                    cell.setBackground(QBrush(MINORITY_CELL))
                    font = cell.font()
                    font.setBold(True)
                    cell.setFont(font)
                elif different:
                    cell.setBackground(QBrush(DIFFERENT_ROW))
                elif c in judged:
                    cell.setBackground(QBrush(UNDER_REVIEW))
                else:
                    cell.setBackground(QBrush(QColor("#ffffff")))
                if values is None:
                    font = cell.font()
                    font.setItalic(True)
                    cell.setFont(font)
                self.table.setItem(r, c, cell)
        self.table.resizeRowsToContents()

    def highlighted_questions(self) -> tuple[str, ...]:
        """The questions whose rows are marked as differing, in table order."""
        if self.current is None:
            return ()
        marked = []
        for r, diff in enumerate(self.current.view.questions):
            header = self.table.verticalHeaderItem(r)
            if header is not None and header.text().startswith(MARKS["different"]):
                marked.append(diff.question)
        return tuple(marked)

    # --- decisions --------------------------------------------------------------------------

    def _update_actions(self) -> None:
        ready = self.current is not None and not self._busy
        for name in ("accept", "reject", "correct"):
            self.actions_by_name[name].setEnabled(ready)
        self.actions_by_name["next"].setEnabled(self.project is not None and not self._busy)

    def _decide(self, decision: str, reason: str = "", values: dict[str, Any] | None = None) -> None:
        if self.current is None or self._busy:
            return
        entry = self.current.entry
        self._busy = True
        self._update_actions()
        self._say(f"Saving: {decision} {entry.uid}…", "info")
        self._submit(decide_and_next, self.who, self.project_name, entry, decision, reason, values,
                     done=self._decided, change=Change("review", (entry.annotation_id,)))

    def _decided(self, result: tuple[ReviewInfo, Opened | None]) -> None:
        done, following = result
        self.last_decision = done
        uid = self.current.entry.uid if self.current else ""
        words = {"accept": "Accepted", "reject": "Rejected and sent back", "correct": "Corrected"}
        self._say(f"{words.get(done.decision, done.decision)}: {uid}.", "info")
        self._request += 1  # a slower "open" still on its way must not replace what comes next
        self.show_opened(following)
        self.refresh_queue()

    def accept_current(self) -> None:
        self._decide("accept")

    def reject_current(self) -> None:
        if self.current is None or self._busy:
            return
        entry = self.current.entry
        dialog = RejectDialog(entry.uid, entry.annotator, self)
        dialog.accepted.connect(lambda: self._decide("reject", reason=dialog.text()))
        self._open_dialog(dialog)

    def correct_current(self) -> None:
        if self.current is None or self._busy or self.project is None:
            return
        entry = self.current.entry
        dialog = CorrectDialog(list(self.project.questions), entry, self.project_name, self.project.kind, self)
        dialog.accepted.connect(lambda: self._decide("correct", reason=dialog.reason.text().strip(),
                                                     values=dialog.changed))
        self._open_dialog(dialog)

    def _open_dialog(self, dialog: RejectDialog | CorrectDialog) -> None:
        """Window-modal and non-blocking: the event loop (and the worker's answers) keep running."""
        self._dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._dialog_closed)
        dialog.open()

    def _dialog_closed(self, _result: int) -> None:
        self._dialog = None
        # give the keyboard back to the panel, so that the next letter key decides again
        self.window().activateWindow()
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    @property
    def dialog(self) -> RejectDialog | CorrectDialog | None:
        """The reject or correct dialog while it is open."""
        return self._dialog


def open_review(parent: QWidget | None, worker: DbWorker, who: Actor, project: str) -> QWidget:
    """The review panel for `project`, ready to put in a dock."""
    return ReviewPanel(worker, who, project, parent)


__all__ = ["ReviewPanel", "open_review", "Opened", "QueueState", "load_queue", "open_next", "open_entry", "decide_and_next"]
