"""Where chunks are cleaned: in this process, or in a pool of worker processes.

Both runners take a :class:`~.cleaner._Processor` method name and its arguments, and hand
the results back in the order they were submitted.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Iterator

from .cleaner import _Processor, _processor_for
from .config import CleanConfig

_WORKER: _Processor | None = None


def _init_worker(data: dict) -> None:
    global _WORKER
    _WORKER = _Processor(CleanConfig(data))


def _in_worker(method: str, *args: Any) -> Any:
    return getattr(_WORKER, method)(*args)


def worker_count(cfg: CleanConfig) -> int:
    w = cfg["run"]["workers"]
    if w == "auto":
        try:
            w = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            w = os.cpu_count() or 1
    return max(1, int(w))


class InlineRunner:
    workers = 1

    def __init__(self, proc: _Processor):
        self.proc = proc
        self.q: deque = deque()
        self.notes: list[str] = []

    def submit(self, method: str, *args: Any) -> None:
        self.q.append(getattr(self.proc, method)(*args))

    def pending(self) -> int:
        return len(self.q)

    def next(self) -> Any:
        return self.q.popleft()

    def close(self, cancel: bool = False) -> None:
        self.q.clear()


@contextmanager
def _children_without_sigint() -> Iterator[None]:
    """Processes started in this block never see SIGINT: it is blocked, and they inherit the mask.

    A terminal's Ctrl+C reaches the whole process group: without this each worker would
    die with a KeyboardInterrupt traceback. The parent alone handles it and cancels the
    pool (``run_pipeline`` closes it on any exception). Blocked, not ignored: a Ctrl+C
    during the block is delivered to the parent when it ends, never lost.
    """
    if not hasattr(signal, "pthread_sigmask"):  # not POSIX
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class PoolRunner:
    def __init__(self, cfg: CleanConfig, workers: int):
        self.cfg = cfg
        self.workers = workers
        self.ex: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=workers, mp_context=mp.get_context("spawn"),
            initializer=_init_worker, initargs=(cfg.data,),
        )
        self.q: deque[tuple[Future | None, str, tuple]] = deque()
        self.fallback: _Processor | None = None
        self.notes: list[str] = []

    def submit(self, method: str, *args: Any) -> None:
        if self.ex is None:
            self.q.append((None, method, args))
            return
        try:
            with _children_without_sigint():  # the pool starts its workers on submit
                fut = self.ex.submit(_in_worker, method, *args)
        except Exception as exc:  # pool broken: carry on in-process
            self._broken(exc)
            fut = None
        self.q.append((fut, method, args))

    def pending(self) -> int:
        return len(self.q)

    def _broken(self, exc: BaseException) -> None:
        self.notes.append(f"worker pool failed ({type(exc).__name__}: {exc}); the rest ran in-process")
        if self.ex is not None:
            self.ex.shutdown(wait=False, cancel_futures=True)
            self.ex = None

    def next(self) -> Any:
        fut, method, args = self.q.popleft()
        if fut is not None:
            try:
                return fut.result()
            except Exception as exc:
                self._broken(exc)
        if self.fallback is None:
            self.fallback = _processor_for(self.cfg)
        return getattr(self.fallback, method)(*args)

    def close(self, cancel: bool = False) -> None:
        if self.ex is not None:
            self.ex.shutdown(wait=True, cancel_futures=cancel)
            self.ex = None
        self.q.clear()
