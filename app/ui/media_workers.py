"""Threads for the media panes: one-shot jobs and "newest request wins" workers.

Decoding and peak building never run on the GUI thread (DESIGN §3). Two shapes
cover the media panes:

* `Job` runs one function (probe, peak pyramid, thumbnails) with progress,
  an early partial result and cancel;
* `LatestWorker` owns a decoder for its whole life (a `VideoReader` is not
  thread-safe, so it is created, used and closed on this thread) and serves
  requests one at a time, keeping only the newest pending one: while a frame
  decodes, a scrub's forty intermediate positions collapse into the last.

Threads have no Qt parent and are kept alive by a module registry until they
end, so a pane deleted mid-decode never destroys a running QThread (which
aborts the process). `stop_all` (also run at interpreter exit) cancels and
joins whatever is left.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QThread, QTimer, Signal

from labeldesk.media.errors import Cancelled, MediaError

__all__ = ["Job", "LatestWorker", "stop_all", "live_threads"]

log = logging.getLogger(__name__)
S = TypeVar("S")

_LIVE: set[QThread] = set()


class _MediaThread(QThread):
    """A thread that stays referenced until it has ended."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        _LIVE.add(self)
        # A slot of this object: it runs on the GUI thread (where the object lives),
        # not on the ending worker thread, which has no event loop for the timer below.
        self.finished.connect(self._forget)

    def _forget(self) -> None:
        # Dropped on a later turn of the event loop, not inside this delivery:
        # freeing the last reference here would delete the QThread inside its own event.
        QTimer.singleShot(0, partial(_LIVE.discard, self))

    def stop(self) -> None:
        raise NotImplementedError


def live_threads() -> list[QThread]:
    return [t for t in _LIVE if t.isRunning()]


def stop_all(timeout_ms: int = 5000) -> bool:
    """Cancel every job and worker and wait for them; True when all ended in time."""
    threads = list(_LIVE)
    for t in threads:
        t.stop()
    ok = all(t.wait(timeout_ms) for t in threads)
    _LIVE.difference_update(t for t in threads if t.isFinished())
    return ok


atexit.register(stop_all)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, MediaError):
        return str(exc)  # already names the file and says what is wrong, in words for annotators
    log.exception("media work failed", exc_info=exc)
    return f"{type(exc).__name__}: {exc}"


class Job(_MediaThread):
    """Run ``fn(job)`` once on its own thread.

    ``fn`` may call ``job.progressed.emit(fraction)`` and ``job.partial.emit(x)``
    and should poll ``job.is_cancelled()``. Exactly one of ``succeeded``,
    ``failed`` (a message) or ``cancelled`` follows, unless the job was
    cancelled: then a late result is dropped.
    """

    progressed = Signal(float)
    partial = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, fn: Callable[[Job], Any], name: str = "media job") -> None:
        super().__init__(name)
        self._fn = fn
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def stop(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        try:
            result = self._fn(self)
        except Cancelled:
            self.cancelled.emit()
        except BaseException as exc:  # noqa: BLE001 - a worker must report, never kill the app
            if not self._cancel.is_set():
                self.failed.emit(_describe(exc))
        else:
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.succeeded.emit(result)


class LatestWorker(_MediaThread, Generic[S]):
    """A decoder on its own thread serving only the newest pending request.

    ``open_fn()`` builds the state (on this thread); ``describe(state)`` is
    emitted once with ``opened`` (plain data for the GUI); each request's
    ``handle(state, payload)`` result comes back with ``done(seq, result)``
    or ``failed(seq, message)``; ``close(state)`` runs when the worker stops.
    """

    opened = Signal(object)
    openFailed = Signal(str)
    done = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, open_fn: Callable[[], S], handle: Callable[[S, Any], Any],
                 describe: Callable[[S], Any] = lambda s: None,
                 close: Callable[[S], None] | None = None, name: str = "media worker") -> None:
        super().__init__(name)
        self._open, self._handle, self._describe, self._close = open_fn, handle, describe, close
        self._cond = threading.Condition()
        self._pending: tuple[int, Any] | None = None
        self._seq = 0
        self._stopping = False
        self.handled = 0  # requests actually processed (the rest were superseded)

    def request(self, payload: Any) -> int:
        """Queue ``payload``, replacing any request not started yet; returns its sequence number."""
        with self._cond:
            self._seq += 1
            self._pending = (self._seq, payload)
            self._cond.notify()
            return self._seq

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._pending = None
            self._cond.notify()

    def _next(self) -> tuple[int, Any] | None:
        with self._cond:
            while self._pending is None and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            job, self._pending = self._pending, None
            return job

    def run(self) -> None:
        try:
            state = self._open()
        except BaseException as exc:  # noqa: BLE001
            if not self._stopping:
                self.openFailed.emit(_describe(exc))
            return
        try:
            self.opened.emit(self._describe(state))
            while (job := self._next()) is not None:
                seq, payload = job
                try:
                    result = self._handle(state, payload)
                except BaseException as exc:  # noqa: BLE001
                    self.failed.emit(seq, _describe(exc))
                else:
                    self.done.emit(seq, result)
                self.handled += 1
        finally:
            if self._close is not None:
                try:
                    self._close(state)
                except Exception:  # noqa: BLE001 - closing a broken decoder must not mask the real error
                    log.debug("closing %s failed", self.objectName(), exc_info=True)
