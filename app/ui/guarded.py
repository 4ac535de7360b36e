"""Worker calls from panels that may be closed before the answer comes back.

A dock can be closed (and its widget deleted) while an operation is still queued on the
database thread; calling back into the deleted widget would raise from deep inside Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject

from labeldesk.app.ui.dbworker import Change, DbWorker


def while_alive(owner: QObject, fn: Callable[[Any], None]) -> Callable[[Any], None]:
    """`fn`, or nothing once `owner`'s C++ object is gone."""
    def call(result: Any) -> None:
        if shiboken6.isValid(owner):
            fn(result)
    return call


def submit_guarded(
    worker: DbWorker, owner: QObject, op: Callable[..., Any], *args: Any, done: Callable[[Any], None],
    error: Callable[[Exception], None], change: Change | None = None,
) -> int:
    return worker.submit(op, *args, done=while_alive(owner, done), error=while_alive(owner, error), change=change)
