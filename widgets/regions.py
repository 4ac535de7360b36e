"""Plain data for time regions and a fast interval index.

Qt-free on purpose: the app builds `Region` / `Tier` values from its own
records and hands them to the panes; the panes never edit them, they emit
signals and the app calls ``set_regions`` again.

`IntervalIndex` answers "which intervals contain t" and "which intervals
overlap [t0, t1)" in O(log n + k) with sorted starts, a running maximum of
the ends and `bisect` (numpy ``searchsorted``), which is what a pane needs on
every repaint with thousands of regions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

__all__ = ["Region", "Tier", "IntervalIndex", "RegionIndex"]


@dataclass(frozen=True, slots=True)
class Region:
    """A labeled time range on one tier (seconds)."""

    id: str
    tier: str
    start: float
    end: float
    label: str = ""
    text: str = ""

    @property
    def duration(self) -> float:
        return self.end - self.start

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True, slots=True)
class Tier:
    """A lane of regions: its name, a colour (``#rrggbb``) and its label set.

    ``labels[n]`` is what digit key ``n + 1`` assigns in the waveform view.
    """

    name: str
    color: str = "#4e79a7"
    labels: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        # accept any sequence for labels but store a tuple (hashable, frozen)
        if not isinstance(self.labels, tuple):
            object.__setattr__(self, "labels", tuple(self.labels))


class IntervalIndex:
    """Intervals ``[start, end)`` sorted by start, queried by bisection.

    ``order`` maps positions in the sorted arrays back to the caller's
    original indices, so results can index any parallel sequence.
    """

    __slots__ = ("starts", "ends", "order", "_max_end")

    def __init__(self, starts: Sequence[float] | np.ndarray, ends: Sequence[float] | np.ndarray):
        s = np.asarray(starts, dtype=np.float64).reshape(-1)
        e = np.asarray(ends, dtype=np.float64).reshape(-1)
        if s.shape != e.shape:
            raise ValueError("starts and ends differ in length")
        order = np.argsort(s, kind="stable")
        self.order: np.ndarray = order
        self.starts: np.ndarray = s[order]
        self.ends: np.ndarray = e[order]
        # running maximum of the ends: non-decreasing, so it can be bisected to
        # skip every interval that ends before a query starts
        self._max_end: np.ndarray = (
            np.maximum.accumulate(self.ends) if len(self.ends) else self.ends
        )

    def __len__(self) -> int:
        return len(self.starts)

    def _window(self, t0: float, t1: float, right_inclusive: bool) -> tuple[int, int]:
        lo = int(np.searchsorted(self._max_end, t0, side="right"))
        hi = int(np.searchsorted(self.starts, t1, side="right" if right_inclusive else "left"))
        return lo, hi

    def overlapping(self, t0: float, t1: float) -> np.ndarray:
        """Sorted positions of intervals with ``start < t1`` and ``end > t0``."""
        if t1 < t0:
            t0, t1 = t1, t0
        lo, hi = self._window(t0, t1, right_inclusive=False)
        if hi <= lo:
            return np.empty(0, dtype=np.intp)
        pos = np.arange(lo, hi, dtype=np.intp)
        return pos[self.ends[lo:hi] > t0]

    def at(self, t: float) -> np.ndarray:
        """Sorted positions of intervals with ``start <= t < end``."""
        lo, hi = self._window(t, t, right_inclusive=True)
        if hi <= lo:
            return np.empty(0, dtype=np.intp)
        pos = np.arange(lo, hi, dtype=np.intp)
        return pos[self.ends[lo:hi] > t]

    def original(self, positions: np.ndarray) -> np.ndarray:
        """Caller's indices for sorted positions."""
        return self.order[positions]


class RegionIndex:
    """Regions sorted by start with bisect queries; holds 1,000s cheaply.

    ``regions`` is the sorted list; query results are lists of `Region` or,
    for vectorised painting, position arrays into ``starts`` / ``ends``.
    """

    __slots__ = ("regions", "_index", "_by_id")

    def __init__(self, regions: Iterable[Region] = ()):
        regs = list(regions)
        idx = IntervalIndex([r.start for r in regs], [r.end for r in regs])
        self.regions: list[Region] = [regs[i] for i in idx.order]
        self._index = idx
        self._by_id: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.regions)

    def __iter__(self):
        return iter(self.regions)

    @property
    def starts(self) -> np.ndarray:
        return self._index.starts

    @property
    def ends(self) -> np.ndarray:
        return self._index.ends

    def positions_in(self, t0: float, t1: float) -> np.ndarray:
        return self._index.overlapping(t0, t1)

    def positions_at(self, t: float) -> np.ndarray:
        return self._index.at(t)

    def in_range(self, t0: float, t1: float) -> list[Region]:
        """Regions overlapping ``[t0, t1)``, by start."""
        regs = self.regions
        return [regs[i] for i in self._index.overlapping(t0, t1)]

    def at(self, t: float) -> list[Region]:
        """Regions containing ``t``, by start."""
        regs = self.regions
        return [regs[i] for i in self._index.at(t)]

    def get(self, region_id: str) -> Region | None:
        if self._by_id is None:
            self._by_id = {r.id: i for i, r in enumerate(self.regions)}
        i = self._by_id.get(region_id)
        return None if i is None else self.regions[i]
