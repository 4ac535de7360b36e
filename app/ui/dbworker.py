"""The one thread that talks to the database.

The GUI hands it operations (plain functions of the workspace) and gets frozen results
back through queued signals, so the window never waits on the database and never
sees a live ORM row. After each operation that changed something, `changed` broadcasts
what it touched; each pane decides for itself whether to refresh.

Stopping never runs GUI code: `stop()` drops the callbacks of everything still queued
(nobody is left to show their results), lets the queued operations that write run in
order (the last draft), skips the queued reads that only fed the window
(`discardable=True`), and joins the thread. The thread never waits on the GUI thread
(its results go out through queued signals), so joining it cannot deadlock.
"""

from __future__ import annotations

import itertools
import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from labeldesk.storage.db import Workspace

Operation = Callable[..., Any]
Done = Callable[[Any], None]
Failed = Callable[[Exception], None]

log = logging.getLogger(__name__)

STOP_TIMEOUT_MS = 10000
_LINGERING: list[QThread] = []  # threads still busy when stop() gave up: never destroyed while running


@dataclass(frozen=True)
class Change:
    """What an operation touched: a topic ('annotation', 'task', 'guidelines'…) and its ids."""

    topic: str
    ids: tuple[Any, ...] = ()


def _open_workspace(_ws: None, spec: str) -> Workspace:
    """The first operation of a worker made by `DbWorker.opening`; the runner adopts the result."""
    return Workspace.open(spec)


class _Runner(QObject):
    finished = Signal(int, object)
    failed = Signal(int, object, str)

    def __init__(self, workspace: Workspace | None, stopping: threading.Event):
        super().__init__()
        self.workspace = workspace
        self._stopping = stopping

    @Slot(int, object, object, bool)
    def run(self, ticket: int, operation: Operation, args: tuple, discardable: bool) -> None:
        if discardable and self._stopping.is_set():
            return  # a read for a window that is going away
        try:
            result = operation(self.workspace, *args)
            if operation is _open_workspace:
                self.workspace = result
        except Exception as exc:  # every failure goes back to the GUI as a message, never kills the thread
            self.failed.emit(ticket, exc, traceback.format_exc())
            return
        self.finished.emit(ticket, result)

    @Slot()
    def stop(self) -> None:
        """Queued after every operation submitted before stop(): the thread ends once they ran."""
        QThread.currentThread().quit()


class DbWorker(QObject):
    """Queue operations on the database thread; callbacks run back on the GUI thread."""

    changed = Signal(object)  # Change
    failed = Signal(str)  # a message for the status bar when no error callback was given
    _submit = Signal(int, object, object, bool)
    _stop = Signal()

    def __init__(self, workspace: Workspace | None, parent: QObject | None = None):
        super().__init__(parent)
        self.workspace = workspace
        self.stopping = threading.Event()  # set by stop(); long operations may poll it to give up early
        self._thread = QThread()
        self._thread.setObjectName("labeldesk-db")
        self._runner = _Runner(workspace, self.stopping)
        self._runner.moveToThread(self._thread)
        self._submit.connect(self._runner.run)
        self._stop.connect(self._runner.stop)
        self._runner.finished.connect(self._on_finished)
        self._runner.failed.connect(self._on_failed)
        self._pending: dict[int, tuple[Done | None, Failed | None, Change | None]] = {}
        self._tickets = itertools.count(1)
        self._stopped = False
        self._thread.start()

    @classmethod
    def opening(cls, spec: str, *, done: Done, error: Failed, parent: QObject | None = None) -> DbWorker:
        """A worker whose thread first opens the workspace `spec` (migrations, a server connection).

        `done(workspace)` runs on the GUI thread once it is open; after a failure the caller
        stops the worker.
        """
        worker = cls(None, parent)

        def adopt(ws: Workspace) -> None:
            worker.workspace = ws
            done(ws)

        worker.submit(_open_workspace, spec, done=adopt, error=error)
        return worker

    def submit(
        self, operation: Operation, *args: Any, done: Done | None = None, error: Failed | None = None,
        change: Change | None = None, discardable: bool = False,
    ) -> int:
        """Queue `operation(workspace, *args)`; 0 (and nothing queued) once the worker is stopped.

        `discardable`: a read whose only use is to show something; skipped if the worker is
        stopped before it starts. Writes are never discarded.
        """
        if self._stopped:
            log.warning("database worker stopped: %s not run", getattr(operation, "__name__", operation))
            return 0
        ticket = next(self._tickets)
        self._pending[ticket] = (done, error, change)
        self._submit.emit(ticket, operation, args, discardable)
        return ticket

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    @property
    def stopped(self) -> bool:
        return self._stopped

    @Slot(int, object)
    def _on_finished(self, ticket: int, result: Any) -> None:
        entry = self._pending.pop(ticket, None)
        if entry is None:  # stopped meanwhile: nobody is left to show it
            return
        done, _error, change = entry
        if done is not None:
            done(result)
        if change is not None:
            self.changed.emit(change)

    @Slot(int, object, str)
    def _on_failed(self, ticket: int, exc: Exception, trace: str) -> None:
        entry = self._pending.pop(ticket, None)
        if entry is None:
            log.warning("after the database worker stopped: %s", trace)
            return
        _done, error, _change = entry
        if error is not None:
            error(exc)
        else:
            self.failed.emit(str(exc))

    def stop(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Run the queued writes (drafts included), skip the queued reads, and end the thread.

        Runs no GUI code and processes no events, so no callback can start new work or open
        a dialog while the window closes. True once the thread has ended; False if an
        operation was still running after `timeout_ms` (the thread is then kept, never
        destroyed while it runs, and ends on its own).
        """
        if self._stopped:
            return self._thread.wait(timeout_ms)
        self._stopped = True
        self.stopping.set()
        self._pending.clear()
        self._stop.emit()
        if self._thread.wait(timeout_ms):
            self.workspace = self._runner.workspace  # opened by `opening` even if nobody took the answer
            return True
        log.warning("the database thread is still busy after %d ms; leaving it to finish", timeout_ms)
        _LINGERING.append(self._thread)
        return False
