"""The team dashboard on known data: progress, per-annotator figures, charts, CSV export, live refresh."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from PySide6.QtCharts import QBarSeries, QLineSeries
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from sqlalchemy import select

from labeldesk.app.ui.dashboard import COLUMNS, Dashboard, agreement_lines, open_dashboard
from labeldesk.app.ui.dbworker import Change, DbWorker
from labeldesk.app.workflow import accounts, review
from labeldesk.app.workflow.importer import import_files
from labeldesk.app.workflow.permissions import Actor
from labeldesk.app.workflow.projects import create_project
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Annotation, Item, User

pytestmark = pytest.mark.gui

QUESTIONS = [{"name": "label", "type": "choice", "options": ["a", "b"]}, {"name": "note", "type": "text"}]


def rows() -> list[dict]:
    """fast: 30 s a task, always `a`; slow: 90–93 s, `b` on even items (ties go to `a`)."""
    found = []
    for i in range(4):
        day = "2026-11-02" if i < 2 else "2026-11-03"
        found.append({"id": f"i{i}", "annotations": [
            {"annotator": "fast", "values": {"label": "a"}, "seconds": 30.0, "submitted_at": f"{day}T09:00:00Z"},
            {"annotator": "slow", "values": {"label": "a" if i % 2 else "b"}, "seconds": 90.0 + i,
             "submitted_at": f"{day}T10:00:00Z"},
        ]})
    found.append({"id": "open"})
    return found


def load(ws: Workspace, tmp_path: Path, project: str, records: list[dict], overlap: int = 2) -> None:
    template = tmp_path / f"{project}.yaml"
    template.write_text(yaml.safe_dump({"kind": "instruction", "overlap": overlap, "questions": QUESTIONS}))
    create_project(ws, accounts.local_actor(ws), project, "instruction", template)
    if records:
        write(ws, tmp_path, project, records)


def write(ws: Workspace, tmp_path: Path, project: str, records: list[dict]) -> None:
    src = tmp_path / f"{project}-{len(list(tmp_path.glob('*.jsonl')))}.jsonl"
    src.write_text("".join(json.dumps({"schema": "labeldesk/record@1", "kind": "instruction",
                                       "messages": [{"role": "user", "content": f"question {r['id']}"}], **r}) + "\n"
                           for r in records))
    import_files(ws, accounts.local_actor(ws), project, [src])


@pytest.fixture
def ws(tmp_path: Path):
    workspace = Workspace.open(tmp_path / "ws", create=True)
    load(workspace, tmp_path, "p", rows())
    yield workspace
    workspace.close()


@pytest.fixture
def lead(ws: Workspace) -> Actor:
    return accounts.local_actor(ws)


@pytest.fixture
def worker(qtbot, ws: Workspace):
    w = DbWorker(ws)
    yield w
    qtbot.waitUntil(lambda: not w.busy, timeout=5000)
    w.stop()


def slow_annotation(ws: Workspace, uid: str) -> int:
    with ws.sessions() as s:
        return s.scalar(select(Annotation.id).join(Item, Item.id == Annotation.item_id)
                        .join(User, User.id == Annotation.user_id).where(Item.uid == uid, User.name == "slow"))


def make(qtbot, worker: DbWorker, who: Actor, project: str = "p") -> Dashboard:
    dash = open_dashboard(None, worker, who, project)
    assert isinstance(dash, Dashboard)
    qtbot.addWidget(dash)
    dash.resize(1300, 850)
    dash.show()
    qtbot.waitExposed(dash)
    qtbot.waitUntil(lambda: dash.figures is not None, timeout=5000)
    return dash


def table(dash: Dashboard) -> list[dict[str, str]]:
    """The annotator table as shown (sorted as shown), by column title."""
    view = dash.proxy
    return [{COLUMNS[c].title: view.index(r, c).data() for c in range(view.columnCount())} for r in range(view.rowCount())]


def test_figures_charts_and_sorting(qtbot, ws, lead, worker) -> None:
    rev = accounts.add_user(ws, lead, "rev", "reviewer")
    rev = Actor(rev.id, rev.name, rev.role)
    review.reject(ws, rev, slow_annotation(ws, "i0"), "b is wrong here")
    review.correct(ws, rev, slow_annotation(ws, "i2"), {"label": "a"})
    dash = make(qtbot, worker, lead)

    assert dash.progress.text() == "3 of 5 items complete (60%)", "i0 lost its second submission"
    assert "<b>4</b> annotated" in dash.summary.text() and "<b>7</b> submissions" in dash.summary.text()
    assert "<b>1</b> drafts" in dash.summary.text(), "the rejected submission is a draft again"
    shown = table(dash)
    assert [r["Annotator"] for r in shown] == ["fast", "slow"]
    fast, slow = shown
    assert (fast["Submitted"], fast["Items / hour"], fast["Median time / task"]) == ("4", "120.0", "30 s")
    assert (slow["Submitted"], slow["Items / hour"], slow["Median time / task"]) == ("3", "39.1", "1 min 32 s")
    assert fast["Agreement with consensus"] == "100% (3 items)" and slow["Agreement with consensus"] == "67% (3 items)"
    assert fast["Gold accuracy"] == "—"
    assert (slow["Corrections"], slow["Rejections"], fast["Corrections"], fast["Rejections"]) == ("1", "1", "0", "0")

    # sorting compares numbers, not text; the header click does the same as sortByColumn
    dash.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)
    assert [r["Annotator"] for r in table(dash)] == ["slow", "fast"]
    dash.table.sortByColumn(7, Qt.SortOrder.DescendingOrder)
    assert table(dash)[0]["Annotator"] == "slow"

    # agreement per day, one line per question (free text is not scored), then per annotator
    assert not dash.agreement_chart.is_empty()
    lines = [s for s in dash.agreement_chart.chart.series() if isinstance(s, QLineSeries)]
    assert [s.name() for s in lines] == ["label"]
    assert [(p.x(), round(p.y(), 1)) for p in lines[0].points()] == [(0.0, 100.0), (1.0, 75.0)]
    dash.lines_by.setCurrentIndex(1)
    assert sorted(s.name() for s in dash.agreement_chart.chart.series()) == ["fast", "slow"]
    by_annotator = agreement_lines(dash.figures.agreement, "annotator")
    assert [v for _day, v in by_annotator["slow"]] == [1.0, 0.5] and [v for _d, v in by_annotator["fast"]] == [1.0, 1.0]

    [bars] = [s for s in dash.throughput_chart.chart.series() if isinstance(s, QBarSeries)]
    values = [bars.barSets()[0].at(i) for i in range(bars.barSets()[0].count())]
    assert values == [120.0, pytest.approx(39.130, abs=0.001)]


def test_export_csv_writes_the_file(qtbot, ws, lead, worker, tmp_path, monkeypatch) -> None:
    dash = make(qtbot, worker, lead)
    target = tmp_path / "out" / "figures"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "CSV files (*.csv)"))
    qtbot.mouseClick(dash.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dash.last_export is not None, timeout=5000)
    path, count = dash.last_export
    assert path == target.with_suffix(".csv")
    table_rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(table_rows) == count and list(table_rows[0]) == ["section", "annotator", "question", "day", "metric", "value"]
    assert {"section": "annotator", "annotator": "fast", "question": "", "day": "", "metric": "items_per_hour",
            "value": "120.0"} in table_rows
    assert f"Wrote {count} rows" in dash.status.text()


def test_refreshes_on_change_broadcasts(qtbot, ws, lead, worker, tmp_path) -> None:
    dash = make(qtbot, worker, lead)
    assert dash.figures.progress.complete == 4 and len(dash.agreement_chart.chart.series()[0].points()) == 2
    more = [{"id": "open", "annotations": [
        {"annotator": "fast", "values": {"label": "a"}, "seconds": 30.0, "submitted_at": "2026-11-04T09:00:00Z"},
        {"annotator": "slow", "values": {"label": "a"}, "seconds": 60.0, "submitted_at": "2026-11-04T10:00:00Z"}]}]
    worker.submit(lambda w: write(w, tmp_path, "p", more), change=Change("annotation"))
    qtbot.waitUntil(lambda: dash.figures.progress.complete == 5, timeout=5000)
    assert dash.progress.text() == "5 of 5 items complete (100%)"
    lines = dash.agreement_chart.chart.series()
    assert len(lines[0].points()) == 3, "the new day is on the chart"

    # hidden, it only remembers; shown again, it reloads
    dash.hide()
    worker.changed.emit(Change("review", (1,)))
    qtbot.wait(50)
    assert dash._dirty and not dash._timer.isActive()
    before = dash.figures
    dash.show()
    qtbot.waitUntil(lambda: dash.figures is not before, timeout=5000)


def test_empty_states_and_annotator_scope(qtbot, ws, lead, worker, tmp_path) -> None:
    load(ws, tmp_path, "empty", [{"id": "e0"}])
    empty = make(qtbot, worker, lead, "empty")
    assert empty.agreement_chart.is_empty() and "No agreement yet" in empty.agreement_chart.empty.text()
    assert empty.throughput_chart.is_empty() and "No throughput yet" in empty.throughput_chart.empty.text()
    assert empty.table_pages.currentWidget() is empty.table_empty
    assert empty.progress.text() == "0 of 1 items complete (0%)"

    load(ws, tmp_path, "none", [], overlap=1)
    none = make(qtbot, worker, lead, "none")
    assert none.progress.text() == "No items yet: import some to start"

    fast = accounts.sign_in(ws, "fast", None)
    own = make(qtbot, worker, fast)
    assert [r["Annotator"] for r in table(own)] == ["fast"]
    assert "your own figures only" in own.message.text()
