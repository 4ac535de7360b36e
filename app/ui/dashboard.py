"""The team dashboard: progress, per-annotator figures, agreement over time, throughput.

Everything comes from one `stats.team_figures` call on the database thread (it already holds
each annotator's agreement with consensus per question and day, the same series as
`quality.agreement_over_time`, and it works for annotators too, who see only their own row).
The dashboard reloads when the worker broadcasts a change — only while it is visible; a
hidden one reloads when it is shown again — and "Export CSV…" writes the figures it shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCharts import (
    QBarCategoryAxis, QBarSeries, QBarSet, QCategoryAxis, QChart, QChartView, QLineSeries, QValueAxis,
)
from PySide6.QtCore import (
    QAbstractTableModel, QMargins, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, QTimer,
)
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainter, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QProgressBar,
    QPushButton, QStackedWidget, QTableView, QVBoxLayout, QWidget,
)

from labeldesk.app.ui.answer_text import duration_text
from labeldesk.app.ui.dbworker import Change, DbWorker
from labeldesk.app.ui.guarded import submit_guarded
from labeldesk.app.workflow import stats
from labeldesk.app.workflow.permissions import Actor
from labeldesk.app.workflow.quality import AgreementPoint
from labeldesk.app.workflow.stats import AnnotatorFigures, TeamFigures
from labeldesk.storage.db import Workspace

REFRESH_MS = 800  # coalesce a burst of submissions and reviews into one reload
SORT_ROLE = Qt.ItemDataRole.UserRole
VISIBLE_ROWS = 8  # annotator rows shown before the table scrolls
NONE_SORTS_AS = -1.0  # every figure is >= 0: a missing one sorts below all of them
EMPTY_STYLE = "color: #4a5160; background: #f4f5f7; border: 1px dashed #c5cad3; border-radius: 6px; padding: 18px;"
# distinguishable for the common colour-vision deficiencies (Okabe–Ito), on white
SERIES_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")


def number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


@dataclass(frozen=True)
class Column:
    title: str
    text: Callable[[AnnotatorFigures], str]
    key: Callable[[AnnotatorFigures], Any]  # what sorting compares
    tip: str


def _share(value: float | None, items: int) -> str:
    return "—" if value is None else f"{value:.0%} ({items} item{'s' if items != 1 else ''})"


def _key(value: float | None) -> float:
    return NONE_SORTS_AS if value is None else float(value)


COLUMNS: tuple[Column, ...] = (
    Column("Annotator", lambda a: a.annotator, lambda a: a.annotator.lower(), "who"),
    Column("Submitted", lambda a: str(a.submitted), lambda a: a.submitted, "submitted tasks"),
    Column("Items / hour", lambda a: number(a.items_per_hour), lambda a: _key(a.items_per_hour),
           "submitted tasks per hour of active time (pauses do not count)"),
    Column("Median time / task", lambda a: duration_text(a.median_seconds), lambda a: _key(a.median_seconds),
           "median active time per submitted task"),
    Column("Agreement with consensus", lambda a: _share(a.consensus_accuracy, a.consensus_items),
           lambda a: _key(a.consensus_accuracy), "score against the consensus of items shared with others"),
    Column("Gold accuracy", lambda a: _share(a.gold_accuracy, a.gold_items), lambda a: _key(a.gold_accuracy),
           "score against the known answers of gold items"),
    Column("Accepted", lambda a: str(a.accepted), lambda a: a.accepted, "review decisions: accepted"),
    Column("Corrections", lambda a: str(a.corrections), lambda a: a.corrections, "corrections received from reviewers"),
    Column("Rejections", lambda a: str(a.rejections), lambda a: a.rejections, "submissions sent back for rework"),
    Column("Drafts", lambda a: str(a.drafts), lambda a: a.drafts, "tasks started and not yet submitted"),
)


class AnnotatorModel(QAbstractTableModel):
    """One row per annotator; the sort role gives numbers, so 10 sorts after 9."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.rows: tuple[AnnotatorFigures, ...] = ()

    def set_rows(self, rows: tuple[AnnotatorFigures, ...]) -> None:
        self.beginResetModel()
        self.rows = tuple(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == SORT_ROLE:
            return column.key(row)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tip
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section].title
            if role == Qt.ItemDataRole.ToolTipRole:
                return COLUMNS[section].tip
        return super().headerData(section, orientation, role)


# --- chart data: pure functions of the figures -------------------------------------------------


def agreement_lines(points: tuple[AgreementPoint, ...], by: str = "question") -> dict[str, list[tuple[date, float]]]:
    """Agreement per day for each question (or annotator): item-weighted means of the points."""
    sums: dict[str, dict[date, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    for p in points:
        name = p.question if by == "question" else p.annotator
        cell = sums[name][p.day]
        cell[0] += p.consensus_accuracy * p.items
        cell[1] += p.items
    return {name: [(day, total / n) for day, (total, n) in sorted(days.items()) if n]
            for name, days in sorted(sums.items())}


def throughput(figures: TeamFigures) -> list[tuple[str, float]]:
    return [(a.annotator, a.items_per_hour) for a in figures.annotators if a.items_per_hour is not None]


class ChartPane(QStackedWidget):
    """A chart, or a sentence saying why there is nothing to draw yet."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.chart = QChart()
        self.chart.setTitle(title)
        self.chart.setMargins(QMargins(4, 4, 4, 4))
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.view = QChartView(self.chart)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setMinimumHeight(260)
        self.empty = QLabel()
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet(EMPTY_STYLE)
        self.empty.setMinimumHeight(260)
        self.addWidget(self.view)
        self.addWidget(self.empty)

    def _clear(self) -> None:
        self.chart.removeAllSeries()
        for axis in self.chart.axes():
            self.chart.removeAxis(axis)

    def show_empty(self, text: str) -> None:
        self._clear()
        self.empty.setText(f"{self.chart.title()}\n\n{text}")
        self.setCurrentWidget(self.empty)

    def is_empty(self) -> bool:
        return self.currentWidget() is self.empty

    def reset(self) -> None:
        self._clear()
        self.setCurrentWidget(self.view)


def _percent_axis() -> QValueAxis:
    axis = QValueAxis()
    # headroom above 100 %, so that a line at full agreement is not hidden by the plot's edge
    axis.setRange(0, 108)
    axis.setTickType(QValueAxis.TickType.TicksDynamic)
    axis.setTickAnchor(0)
    axis.setTickInterval(20)
    axis.setLabelFormat("%d%%")
    axis.setTitleText("agreement with consensus")
    return axis


def _day_axis(days: list[date]) -> QCategoryAxis:
    """Days as numbers since the first one, labelled on the days that have data (gaps stay gaps)."""
    axis = QCategoryAxis()
    axis.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
    step = max(1, len(days) // 10)  # at most about ten labels, whatever the span
    for day in days[::step]:
        axis.append(day.strftime("%b %d").replace(" 0", " "), float((day - days[0]).days))
    span = float((days[-1] - days[0]).days)
    axis.setRange(-0.5, span + 0.5)
    axis.setTitleText("day submitted")
    return axis


def draw_agreement(pane: ChartPane, lines: dict[str, list[tuple[date, float]]]) -> None:
    if not lines:
        pane.show_empty("No agreement yet: it needs items answered by at least two annotators\n"
                        "(free-text questions are not scored).")
        return
    pane.reset()
    days = sorted({day for points in lines.values() for day, _v in points})
    x = _day_axis(days)
    y = _percent_axis()
    pane.chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
    pane.chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
    for n, (name, points) in enumerate(lines.items()):
        series = QLineSeries()
        series.setName(name)
        series.setPointsVisible(True)  # a single day is a point, not an invisible line
        pen = series.pen()
        pen.setColor(QColor(SERIES_COLOURS[n % len(SERIES_COLOURS)]))
        pen.setWidth(3)
        series.setPen(pen)
        for day, value in points:
            series.append(float((day - days[0]).days), value * 100.0)
        pane.chart.addSeries(series)
        series.attachAxis(x)
        series.attachAxis(y)
    pane.chart.legend().setVisible(True)


def draw_throughput(pane: ChartPane, bars: list[tuple[str, float]]) -> None:
    if not bars:
        pane.show_empty("No throughput yet: nobody has submitted a task with recorded active time.")
        return
    pane.reset()
    bar_set = QBarSet("items per active hour")
    bar_set.setColor(QColor(SERIES_COLOURS[0]))
    for _name, value in bars:
        bar_set.append(value)
    series = QBarSeries()
    series.append(bar_set)
    series.setLabelsVisible(True)
    series.setLabelsPosition(QBarSeries.LabelsPosition.LabelsOutsideEnd)
    series.setLabelsFormat("@value")
    series.setLabelsPrecision(3)  # significant digits: 32.7, as in the table
    bar_set.setLabelColor(QColor("#1f2328"))  # the default is white, invisible above a bar
    pane.chart.addSeries(series)
    x = QBarCategoryAxis()
    x.append([name for name, _v in bars])
    y = QValueAxis()
    top = max(value for _n, value in bars)
    y.setRange(0, top * 1.15 if top > 0 else 1)
    y.applyNiceNumbers()  # round ticks (0, 10, 20 …) rather than fractions of the maximum
    y.setLabelFormat("%.0f")
    y.setTitleText("items / hour")
    pane.chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
    pane.chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(x)
    series.attachAxis(y)
    pane.chart.legend().setVisible(False)


# --- the widget ------------------------------------------------------------------------------


def write_figures(_ws: Workspace, figures: TeamFigures, path: Path) -> int:
    """On the worker thread with the rest of the file and database work, off the GUI thread."""
    return stats.write_csv(figures, path)


class Dashboard(QWidget):
    """Team figures for one project; reloads itself when the worker reports changes."""

    def __init__(self, worker: DbWorker, who: Actor, project: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.worker = worker
        self.who = who
        self.project = project
        self.figures: TeamFigures | None = None
        self.last_export: tuple[Path, int] | None = None
        self._dirty = False
        self._loading = False
        self.setObjectName("teamDashboard")
        self.setWindowTitle(f"Team · {project}")
        self._build()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        worker.changed.connect(self._on_change)
        self.refresh()

    def _build(self) -> None:
        self.title = QLabel(f"Team figures · {self.project}")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.updated = QLabel()
        self.updated.setStyleSheet("color: #4a5160;")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Reload the figures (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Write these figures as a long-format CSV: section, annotator, question, day, metric, value")
        self.export_button.clicked.connect(self.choose_export)
        self.export_button.setEnabled(False)
        refresh = QAction("Refresh", self)
        refresh.setShortcut(QKeySequence("F5"))
        refresh.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        refresh.triggered.connect(self.refresh)
        self.addAction(refresh)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.updated, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.export_button)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.hide()

        self.progress = QProgressBar()
        self.progress.setAccessibleName("Project progress")
        self.progress.setTextVisible(True)
        self.progress.setMinimumHeight(24)
        self.summary = QLabel()
        self.summary.setWordWrap(True)

        self.model = AnnotatorModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Figures per annotator")
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table_empty = QLabel("No submissions yet: figures appear here as annotators submit.")
        self.table_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.table_empty.setStyleSheet(EMPTY_STYLE)
        self.table_pages = QStackedWidget()
        self.table_pages.addWidget(self.table)
        self.table_pages.addWidget(self.table_empty)

        self.lines_by = QComboBox()
        self.lines_by.addItem("one line per question", "question")
        self.lines_by.addItem("one line per annotator", "annotator")
        self.lines_by.setAccessibleName("Agreement lines")
        self.lines_by.currentIndexChanged.connect(lambda _i: self._draw_agreement())
        self.agreement_chart = ChartPane("Agreement with consensus per day")
        self.throughput_chart = ChartPane("Throughput per annotator")
        charts = QGridLayout()
        lines_row = QHBoxLayout()
        lines_row.addWidget(QLabel("Agreement chart:"))
        lines_row.addWidget(self.lines_by)
        lines_row.addStretch(1)
        charts.addLayout(lines_row, 0, 0)
        charts.addWidget(self.agreement_chart, 1, 0)
        charts.addWidget(self.throughput_chart, 1, 1)
        charts.setColumnStretch(0, 3)
        charts.setColumnStretch(1, 2)
        charts.setRowStretch(1, 1)

        self.status = QLabel()
        self.status.setStyleSheet("color: #4a5160;")
        self.status.setTextFormat(Qt.TextFormat.PlainText)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(self.table_pages)
        layout.addLayout(charts, 1)
        layout.addWidget(self.status)

    # --- loading ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload from the database thread (a click, F5, a change, or being shown after changes)."""
        self._timer.stop()
        self._dirty = False
        if self._loading:
            self._dirty = True  # one more reload after the running one, not a pile of them
            return
        self._loading = True
        self.updated.setText("loading…")
        submit_guarded(self.worker, self, stats.team_figures, self.who, self.project, done=self.show_figures,
                       error=self._failed)

    def _on_change(self, change: Change) -> None:
        if change.topic in ("guidelines",):
            return  # nothing the dashboard shows
        if self.isVisible():
            self._timer.start()
        else:
            self._dirty = True

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit_table()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self._dirty and not self._loading:
            self.refresh()

    def _failed(self, exc: Exception) -> None:
        self._loading = False
        self.updated.setText("")
        self.message.setText(f"Cannot load the figures: {exc}")
        self.message.setStyleSheet("color: #a4000f; background: #fde7e9; border: 1px solid #e8a0a6; "
                                   "border-radius: 4px; padding: 6px;")
        self.message.show()

    def show_figures(self, figures: TeamFigures) -> None:
        self._loading = False
        self.figures = figures
        self.message.hide()
        self.export_button.setEnabled(True)
        local = figures.generated_at.astimezone().strftime("%H:%M:%S")
        self.updated.setText(f"   {figures.kind} · updated {local}")
        if figures.scope != "team":
            self.message.setText("You see the project's progress and your own figures only: "
                                 "labeling is blind, other annotators' figures are for reviewers and leads.")
            self.message.setStyleSheet("color: #1f3d7a; background: #e5edfb; border: 1px solid #9db6e6; "
                                       "border-radius: 4px; padding: 6px;")
            self.message.show()
        self._show_progress(figures)
        self.model.set_rows(figures.annotators)
        self._fit_table()
        self._draw_agreement()
        draw_throughput(self.throughput_chart, throughput(figures))
        if self._dirty:
            self.refresh()

    def _fit_table(self) -> None:
        """As tall as its rows (up to VISIBLE_ROWS, then it scrolls): the charts get the rest."""
        rows = self.model.rowCount()
        self.table_pages.setCurrentWidget(self.table if rows else self.table_empty)
        shown = min(max(rows, 1), VISIBLE_ROWS)
        height = self.table.horizontalHeader().sizeHint().height() + 2 * self.table.frameWidth()
        height += shown * self.table.verticalHeader().defaultSectionSize()
        if rows > VISIBLE_ROWS:
            height += self.table.verticalHeader().defaultSectionSize() // 2  # a half row says "there is more"
        if self.table.horizontalHeader().length() > self.table.width() - 2 * self.table.frameWidth():
            height += self.table.horizontalScrollBar().sizeHint().height()  # narrow dock: keep the last row visible
        self.table.setFixedHeight(height + 2)
        self.table_pages.setFixedHeight(height + 2 if rows else max(height, 60))

    def _show_progress(self, figures: TeamFigures) -> None:
        p = figures.progress
        if p.items:
            self.progress.setRange(0, p.items)
            self.progress.setValue(p.complete)
            self.progress.setFormat(f"{p.complete} of {p.items} items complete (%p%)")
        else:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("No items yet: import some to start")
        parts = [
            f"<b>{p.annotated}</b> annotated", f"<b>{p.submissions}</b> submissions", f"<b>{p.drafts}</b> drafts",
            f"overlap <b>{p.overlap}</b>", f"<b>{p.gold_items}</b> gold items", f"<b>{p.adjudicated}</b> adjudicated",
        ]
        self.summary.setText(" · ".join(parts))

    def _draw_agreement(self) -> None:
        if self.figures is not None:
            draw_agreement(self.agreement_chart, agreement_lines(self.figures.agreement, self.lines_by.currentData()))

    # --- export ---------------------------------------------------------------------------------

    def choose_export(self) -> None:
        if self.figures is None:
            return
        suggested = str(Path.home() / f"{self.project}-team-figures.csv")
        path, _filter = QFileDialog.getSaveFileName(self, "Export team figures", suggested, "CSV files (*.csv)")
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> None:
        """Write the figures on screen to `path` on the worker thread."""
        if self.figures is None:
            return
        if not path.suffix:
            path = path.with_suffix(".csv")
        self.status.setText(f"Writing {path}…")
        submit_guarded(self.worker, self, write_figures, self.figures, path,
                       done=lambda rows: self._exported(path, rows), error=self._export_failed)

    def _exported(self, path: Path, rows: int) -> None:
        self.last_export = (path, rows)
        self.status.setText(f"Wrote {rows} rows to {path}")

    def _export_failed(self, exc: Exception) -> None:
        self.status.setText(f"⚠ Export failed: {exc}")


def open_dashboard(parent: QWidget | None, worker: DbWorker, who: Actor, project: str) -> QWidget:
    """The team dashboard for `project`, ready to put in a dock."""
    return Dashboard(worker, who, project, parent)


__all__ = ["Dashboard", "open_dashboard", "AnnotatorModel", "agreement_lines", "throughput", "write_figures"]
