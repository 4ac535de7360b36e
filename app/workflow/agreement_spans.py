"""Span and segment overlap: character- and time-level F1 (numpy only).

Spans are code point ranges of a text target, segments time ranges of a
media tier; both are reduced to merged integer intervals per (where, label)
and compared by overlap length.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "OverlapCounts",
    "SpanF1",
    "mean_pairwise_f1",
    "mean_pairwise_span_f1",
    "merge_intervals",
    "segment_f1",
    "segment_intervals",
    "span_f1",
    "span_intervals",
    "to_ticks",
]


def merge_intervals(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint [start, end) ranges; empty ones dropped, so a unit marked twice counts once."""
    out: list[list[int]] = []
    for s, e in sorted(intervals):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1][1] = e
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _length(iv: list[tuple[int, int]]) -> int:
    return sum(e - s for s, e in iv)


def _overlap(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    i = j = total = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if hi > lo:
            total += hi - lo
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def span_intervals(spans: Iterable[Mapping[str, Any]] | None) -> dict[tuple, list[tuple[int, int]]]:
    """{(target, label): merged [start, end) code point ranges}."""
    raw: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
    for sp in spans or ():
        raw[(sp.get("target"), sp.get("label"))].append((int(sp["start"]), int(sp["end"])))
    return {k: m for k, v in raw.items() if (m := merge_intervals(v))}


def to_ticks(t: float, resolution: float) -> int:
    return int(round(float(t) / resolution))


def segment_intervals(segments: Iterable[Mapping[str, Any]] | None, resolution: float = 0.01
                      ) -> dict[tuple, list[tuple[int, int]]]:
    """{((media, tier), label): merged tick ranges}  (ticks of ``resolution`` s)."""
    raw: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
    for sg in segments or ():
        raw[((sg.get("media"), sg.get("tier")), sg.get("label"))].append(
            (to_ticks(sg["start"], resolution), to_ticks(sg["end"], resolution)))
    return {k: m for k, v in raw.items() if (m := merge_intervals(v))}


def _unlabeled(sets: Mapping[tuple, list[tuple[int, int]]]) -> dict[Any, list[tuple[int, int]]]:
    raw: dict[Any, list[tuple[int, int]]] = defaultdict(list)
    for (where, _label), iv in sets.items():
        raw[where].extend(iv)
    return {k: merge_intervals(v) for k, v in raw.items()}


@dataclass(frozen=True)
class SpanF1:
    """Character- (or time-tick-) level overlap of two annotators' marks.

    ``f1`` is label-sensitive: a character counts as agreed only when both
    marked it with the same label (micro-averaged over labels).  ``precision``
    treats *a* as the prediction and *b* as the reference.  When neither marked
    anything F1 is 1.0 (both agree there is nothing to mark).
    ``unlabeled_f1`` ignores the labels; ``per_label`` covers the labels that
    either used.
    """

    f1: float
    precision: float
    recall: float
    unlabeled_f1: float
    per_label: dict = field(default_factory=dict)
    overlap: int = 0
    size_a: int = 0
    size_b: int = 0


class OverlapCounts:
    """Pooled overlap counts for micro-averaged F1 (per label and overall)."""

    __slots__ = ("per_label", "unlabeled")

    def __init__(self) -> None:
        self.per_label: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.unlabeled = [0, 0, 0]

    def add(self, a: Mapping[tuple, list], b: Mapping[tuple, list]) -> None:
        for key in set(a) | set(b):
            ia, ib = a.get(key, []), b.get(key, [])
            c = self.per_label[key[1]]
            c[0] += _overlap(ia, ib)
            c[1] += _length(ia)
            c[2] += _length(ib)
        ua, ub = _unlabeled(a), _unlabeled(b)
        for key in set(ua) | set(ub):
            ia, ib = ua.get(key, []), ub.get(key, [])
            self.unlabeled[0] += _overlap(ia, ib)
            self.unlabeled[1] += _length(ia)
            self.unlabeled[2] += _length(ib)

    @staticmethod
    def f1(ov: int, sa: int, sb: int) -> float:
        return 1.0 if sa + sb == 0 else 2.0 * ov / (sa + sb)

    def overall(self) -> tuple[int, int, int]:
        ov = sum(c[0] for c in self.per_label.values())
        sa = sum(c[1] for c in self.per_label.values())
        sb = sum(c[2] for c in self.per_label.values())
        return ov, sa, sb

    def result(self) -> SpanF1:
        ov, sa, sb = self.overall()
        return SpanF1(
            f1=self.f1(ov, sa, sb),
            precision=1.0 if sa == 0 and sb == 0 else (ov / sa if sa else 0.0),
            recall=1.0 if sa == 0 and sb == 0 else (ov / sb if sb else 0.0),
            unlabeled_f1=self.f1(*self.unlabeled),
            per_label={lab: self.f1(*c) for lab, c in self.per_label.items()},
            overlap=ov, size_a=sa, size_b=sb,
        )


def span_f1(spans_a: Iterable[Mapping[str, Any]] | None,
            spans_b: Iterable[Mapping[str, Any]] | None) -> SpanF1:
    """Character-level F1 of two span sets (``{"target","start","end","label"}``,
    code point offsets, end exclusive).  Overlapping spans of one annotator with
    the same target and label are merged (a character counts once)."""
    c = OverlapCounts()
    c.add(span_intervals(spans_a), span_intervals(spans_b))
    return c.result()


def segment_f1(segments_a: Iterable[Mapping[str, Any]] | None,
               segments_b: Iterable[Mapping[str, Any]] | None, *, resolution: float = 0.01) -> SpanF1:
    """Time-level F1 of two segment sets (``{"media","start","end","tier","label"}``,
    seconds) at ``resolution`` seconds; agreement needs the same media, tier and
    label.  ``per_label`` keys are labels (pooled over tiers)."""
    c = OverlapCounts()
    c.add(segment_intervals(segments_a, resolution), segment_intervals(segments_b, resolution))
    return c.result()


def mean_pairwise_span_f1(span_sets: Sequence[Iterable[Mapping[str, Any]] | None]) -> float:
    """Mean character-level F1 over all pairs of annotators' span sets (one item)."""
    if len(span_sets) < 2:
        raise ValueError("pairwise F1 needs at least two annotators")
    return mean_pairwise_f1([span_intervals(s) for s in span_sets])


def mean_pairwise_f1(interval_sets: Sequence[Mapping[tuple, list[tuple[int, int]]]]) -> float:
    """Mean label-sensitive F1 over all pairs of at least two annotators' interval sets."""
    vals = []
    for a, b in combinations(interval_sets, 2):
        c = OverlapCounts()
        c.add(a, b)
        vals.append(c.f1(*c.overall()))
    return float(np.mean(vals))
