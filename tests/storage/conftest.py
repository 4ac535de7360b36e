"""Hypothesis settings and shared strategies for the property suites of bad input (test_fuzz_*.py).

The "ci" profile (the default) keeps every suite to a bounded number of examples and no
deadline (two shared cores make timings noisy); LABELDESK_HYPOTHESIS=deep runs thousands
when hunting. No example database: runs leave no .hypothesis folder in the work tree.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from labeldesk.app.workflow import accounts
from labeldesk.storage.db import Workspace

settings.register_profile(
    "ci", max_examples=60, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("deep", parent=settings.get_profile("ci"), max_examples=3000)
settings.load_profile(os.environ.get("LABELDESK_HYPOTHESIS", "ci"))


@st.composite
def _mutated(draw: st.DrawFn, seed: bytes, inserts: Sequence[bytes]) -> bytes:
    """A damaged copy of `seed`: a few insertions (of `inserts` or random bytes), deletions, bit flips, a cut."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "flip", "truncate"]))
        if action == "insert":
            data[at:at] = draw(st.sampled_from(inserts) | st.binary(min_size=1, max_size=4))
        elif action == "delete":
            del data[at: at + draw(st.integers(1, 12))]
        elif action == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "truncate":
            del data[at:]
    return bytes(data)


@pytest.fixture(scope="session")
def mutated() -> Callable[[bytes, Sequence[bytes]], st.SearchStrategy[bytes]]:
    """The strategy of damaged copies of a file, for the fuzz suites (draw it with st.data())."""
    return _mutated


def _lead_args(ws: Workspace) -> tuple[Any, ...]:
    return (accounts.local_actor(ws),)


@pytest.fixture(scope="session")
def lead_args() -> Callable[[Workspace], tuple[Any, ...]]:
    """What create_project and import_files take before the project name on an SQLite workspace."""
    return _lead_args
