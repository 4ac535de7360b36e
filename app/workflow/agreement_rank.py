"""Rank agreement: Kendall's W and tau-b (numpy only).

Conventions are those of :mod:`labeldesk.app.workflow.agreement`: ``ValueError``
for input that cannot be measured, NaN where the statistic is undefined.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["kendall_tau_b", "kendall_w", "mean_pairwise_kendall_tau", "rank_similarity"]


def _midranks(row: np.ndarray) -> tuple[np.ndarray, float]:
    """Average ranks (1-based) of one row and its tie term sum(t^3 - t)."""
    _, inv, counts = np.unique(row, return_inverse=True, return_counts=True)
    before = np.concatenate(([0], np.cumsum(counts)[:-1]))
    mid = before + (counts + 1) / 2.0
    tie = float((counts.astype(float) ** 3 - counts).sum())
    return mid[inv.reshape(-1)], tie


def kendall_w(rankings: Any) -> float:
    """Kendall's coefficient of concordance W with tie correction.

    ``rankings``: raters x objects; each row is one rater's ranks (or scores —
    only their order matters; ties allowed).  Rows are converted to mid-ranks.
    ``W = 12 S / (m^2 (n^3 - n) - m sum T)`` with ``T = sum (t^3 - t)`` over the
    tie groups of each rater.  Equals scipy's tie-corrected Friedman chi^2 /
    (m (n - 1)).  NaN when every rater ties every object.
    """
    r = np.asarray(rankings, dtype=float)
    if r.ndim != 2:
        raise ValueError("rankings must be a raters x objects matrix")
    m, n = r.shape
    if m < 2 or n < 2:
        raise ValueError("Kendall's W needs at least two raters and two objects")
    if np.isnan(r).any():
        raise ValueError("Kendall's W needs complete rankings (no missing values)")
    ranks = np.empty_like(r)
    ties = 0.0
    for i in range(m):
        ranks[i], t = _midranks(r[i])
        ties += t
    col = ranks.sum(axis=0)
    s = float(((col - m * (n + 1) / 2.0) ** 2).sum())
    denom = m * m * (n ** 3 - n) - m * ties
    if denom == 0:
        return float("nan")
    return 12.0 * s / denom


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b of two paired sequences (equal to ``scipy.stats.kendalltau``).

    NaN when undefined (fewer than two pairs, a constant sequence, or any NaN).
    O(n^2) in row blocks — meant for rankings of a handful to a few thousand
    objects.
    """
    a = np.asarray(x, dtype=float).ravel()
    b = np.asarray(y, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError("x and y must have the same length")
    n = a.size
    if n < 2 or np.isnan(a).any() or np.isnan(b).any():
        return float("nan")
    num = 0.0
    nx = 0.0
    ny = 0.0
    for start in range(0, n, 1024):
        sx = np.sign(a[start:start + 1024, None] - a[None, :])
        sy = np.sign(b[start:start + 1024, None] - b[None, :])
        num += float((sx * sy).sum())
        nx += float(np.count_nonzero(sx))
        ny += float(np.count_nonzero(sy))
    if nx == 0 or ny == 0:
        return float("nan")
    return min(1.0, max(-1.0, num / math.sqrt(nx * ny)))


def mean_pairwise_kendall_tau(rankings: Any) -> float:
    """Mean Kendall tau-b over all pairs of raters (rows of raters x objects).

    Undefined pairs (a rater tying everything) are left out; NaN if all are.
    """
    r = np.asarray(rankings, dtype=float)
    if r.ndim != 2 or r.shape[0] < 2:
        raise ValueError("mean pairwise tau needs a raters x objects matrix with at least two raters")
    taus = [kendall_tau_b(r[i], r[j]) for i, j in combinations(range(r.shape[0]), 2)]
    taus = [t for t in taus if not math.isnan(t)]
    return float(np.mean(taus)) if taus else float("nan")


def rank_similarity(ra: Mapping[str, float], rb: Mapping[str, float]) -> float | None:
    """tau-b on the responses both ranked; two rankings that tie everything
    identically count as 1.0, other undefined pairs as None (skipped)."""
    common = [r for r in ra if r in rb]
    if len(common) < 2:
        return None
    x = [ra[r] for r in common]
    y = [rb[r] for r in common]
    tau = kendall_tau_b(x, y)
    if math.isnan(tau):
        return 1.0 if len(set(x)) == 1 and len(set(y)) == 1 else None
    return tau
