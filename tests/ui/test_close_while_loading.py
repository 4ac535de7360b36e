"""Closing the window while a project is still loading never hangs.

The hang: closeEvent spun the GUI event loop until the database worker was idle. That
delivered the results of the load still in flight, and their callbacks carried on as if
the window stayed open: the project list chose a project, which queued more reads, and
next_task's GuidelinesChanged opened the modal GuidelinesDialog with exec(), a nested
event loop inside closeEvent that nobody answers. (The 5 s limit never applied: the
QTimer meant to end the wait repeats, so it stayed active.)

Here the database thread really is busy when the window closes: a write that holds a
transaction for a while is queued ahead of the window's load, on a project whose
guidelines the user has not acknowledged yet. The close comes from the event loop at
delays that fall during the write, while the load's reads are queued, and after the load
asked for the guidelines (the dialog is up: it must go with the window). A watchdog timer
records a modal dialog still running after CLOSE_LIMIT_S and dismisses it, so the old
code fails (10 of 10 runs) instead of hanging the test run.
"""

from __future__ import annotations

import time
import uuid

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from labeldesk.app.ui.dbworker import DbWorker
from labeldesk.app.ui.main_window import MainWindow
from labeldesk.app.ui.settings import Settings
from labeldesk.app.workflow.accounts import local_actor
from labeldesk.storage.db import Workspace
from labeldesk.storage.models import Setting

pytestmark = pytest.mark.gui

HOLD_SECONDS = 0.25  # how long the queued write keeps the database thread busy
CLOSE_LIMIT_S = 3.0  # closing must take about HOLD_SECONDS, never this long
# close during the write, while the load's reads are queued, and after the load asked for the guidelines
DELAYS_MS = (0, 0, 20, 60, 120, 180, 240, 270, 300, 400)


def slow_write(ws: Workspace, key: str, value: dict, seconds: float) -> None:
    """A real write on the database thread that holds its transaction open for `seconds`."""
    with ws.transaction() as session:
        session.merge(Setting(key=key, value=value))
        time.sleep(seconds)


@pytest.fixture(scope="module")
def unacknowledged(tmp_path_factory, make_project) -> str:
    """A workspace whose project asks for its guidelines to be acknowledged before the first task."""
    tmp = tmp_path_factory.mktemp("close")
    ws = Workspace.open(tmp / "ws", create=True)
    make_project(ws, "ins", "instruction", [{"id": f"i{k}", "instruction": f"question {k}"} for k in range(500)],
                 ack=False)
    ws.close()
    return str(tmp / "ws")


@pytest.mark.parametrize("delay_ms", DELAYS_MS)
def test_closing_while_a_project_loads_does_not_hang(qtbot, unacknowledged, delay_ms) -> None:
    ws = Workspace.open(unacknowledged)
    hung: list[str] = []

    def watchdog() -> None:
        """A modal dialog still up (or close() still spinning events) after CLOSE_LIMIT_S: record it, unwind."""
        dialog = QApplication.activeModalWidget()
        hung.append(type(dialog).__name__ if dialog else "event loop")
        if dialog is not None:
            dialog.reject()

    timer = QTimer()
    timer.timeout.connect(watchdog)
    try:
        worker = DbWorker(ws)
        key = f"test/close-{uuid.uuid4().hex}"
        worker.submit(slow_write, key, {"delay": delay_ms}, HOLD_SECONDS)  # the database thread is busy…
        settings = Settings("LabelDeskTests", uuid.uuid4().hex)
        settings.last_project = "ins"
        win = MainWindow(worker, local_actor(ws), settings)  # …and the window's load queues behind it
        qtbot.addWidget(win)
        took: list[float] = []

        def close_now() -> None:  # as a user (or the session ending) would, from the event loop
            started = time.monotonic()
            win.close()
            took.append(time.monotonic() - started)

        win.show()
        timer.start(int(CLOSE_LIMIT_S * 1000))
        QTimer.singleShot(delay_ms, close_now)
        qtbot.waitUntil(lambda: bool(took), timeout=int(CLOSE_LIMIT_S * 4000))
        qtbot.wait(100)  # nothing of the load reaches the closed window afterwards

        assert not hung, f"{hung[0]} still running {CLOSE_LIMIT_S} s after the close began"
        assert took[0] < CLOSE_LIMIT_S
        assert QApplication.activeModalWidget() is None and not win.isVisible()
        assert worker.stopped and not worker.busy and not worker._thread.isRunning()
        assert ws.setting(key) == {"delay": delay_ms}  # the queued write ran before the thread ended
        assert win.task is None
    finally:
        timer.stop()
        ws.close()


def test_closing_while_a_workspace_opens_does_not_hang(qtbot, unacknowledged) -> None:
    """File > Open is still connecting when the window closes: the opener thread is stopped too."""
    win = MainWindow(None, None, Settings("LabelDeskTests", uuid.uuid4().hex))
    qtbot.addWidget(win)
    win.show()
    win.open_workspace(unacknowledged)
    opener = win._opening
    started = time.monotonic()
    win.close()
    assert time.monotonic() - started < CLOSE_LIMIT_S
    assert opener.stopped and not opener._thread.isRunning()
    qtbot.wait(100)
    assert win.worker is None and QApplication.activeModalWidget() is None
