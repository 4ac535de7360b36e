"""The one thread that talks to the database.

The GUI hands it operations (plain functions of the workspace) and gets frozen results
back through queued signals, so the window never waits on the database and never
sees a live ORM row. After each operation that changed something, `changed` broadcasts
what it touched; each pane decides for itself whether to refresh.
"""

from __future__ import annotations

import itertools
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from labeldesk.storage.db import Workspace

Operation = Callable[..., Any]
Done = Callable[[Any], None]
Failed = Callable[[Exception], None]


@dataclass(frozen=True)
class Change:
    """What an operation touched: a topic ('annotation', 'task', 'guidelines'…) and its ids."""

    topic: str
    ids: tuple[Any, ...] = ()


class _Runner(QObject):
    finished = Signal(int, object)
    failed = Signal(int, object, str)

    def __init__(self, workspace: Workspace):
        super().__init__()
        self.workspace = workspace

    @Slot(int, object, object)
    def run(self, ticket: int, operation: Operation, args: tuple) -> None:
        try:
            result = operation(self.workspace, *args)
        except Exception as exc:  # every failure goes back to the GUI as a message, never kills the thread
            self.failed.emit(ticket, exc, traceback.format_exc())
            return
        self.finished.emit(ticket, result)


class DbWorker(QObject):
    """Queue operations on the database thread; callbacks run back on the GUI thread."""

    changed = Signal(object)  # Change
    failed = Signal(str)  # a message for the status bar when no error callback was given
    _submit = Signal(int, object, object)

    def __init__(self, workspace: Workspace, parent: QObject | None = None):
        super().__init__(parent)
        self.workspace = workspace
        self._thread = QThread()
        self._thread.setObjectName("labeldesk-db")
        self._runner = _Runner(workspace)
        self._runner.moveToThread(self._thread)
        self._submit.connect(self._runner.run)
        self._runner.finished.connect(self._on_finished)
        self._runner.failed.connect(self._on_failed)
        self._pending: dict[int, tuple[Done | None, Failed | None, Change | None]] = {}
        self._tickets = itertools.count(1)
        self._thread.start()

    def submit(
        self, operation: Operation, *args: Any, done: Done | None = None, error: Failed | None = None,
        change: Change | None = None,
    ) -> int:
        ticket = next(self._tickets)
        self._pending[ticket] = (done, error, change)
        self._submit.emit(ticket, operation, args)
        return ticket

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    @Slot(int, object)
    def _on_finished(self, ticket: int, result: Any) -> None:
        done, _error, change = self._pending.pop(ticket)
        if done is not None:
            done(result)
        if change is not None:
            self.changed.emit(change)

    @Slot(int, object, str)
    def _on_failed(self, ticket: int, exc: Exception, trace: str) -> None:
        _done, error, _change = self._pending.pop(ticket)
        if error is not None:
            error(exc)
        else:
            self.failed.emit(str(exc))

    def stop(self, timeout_ms: int = 5000) -> None:
        """Finish queued work (drafts included) and stop the thread."""
        self._thread.quit()
        self._thread.wait(timeout_ms)
