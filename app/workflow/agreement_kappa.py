"""Cohen's and Fleiss' kappa (numpy only).

Conventions are those of :mod:`labeldesk.app.workflow.agreement`: ``ValueError``
for input that cannot be measured, NaN where the statistic is 0/0.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from labeldesk.app.workflow.agreement_alpha import encode_reliability_data, ordered_unique
from labeldesk.app.workflow.answers import is_missing

__all__ = ["category_table", "cohen_kappa", "fleiss_kappa"]


def cohen_kappa(y1: Sequence[Any], y2: Sequence[Any], *, weights: str | None = None,
                labels: Sequence[Any] | None = None) -> float:
    """Cohen's kappa of two coders' labels (equal to sklearn ``cohen_kappa_score``).

    ``weights``: None, ``"linear"`` or ``"quadratic"``; as in scikit-learn the
    weights are distances between *positions in* ``labels`` (default: the
    sorted labels that occur), so for ratings pass ``labels=range(lo, hi + 1)``.
    Pairs where either label is missing (None/NaN) or not in ``labels`` are
    dropped.  NaN when undefined (no pairs, or chance disagreement is zero).
    """
    if len(y1) != len(y2):
        raise ValueError("y1 and y2 must have the same length")
    if weights not in (None, "linear", "quadratic"):
        raise ValueError("weights must be None, 'linear' or 'quadratic'")
    if isinstance(y1, np.ndarray) and isinstance(y2, np.ndarray) and y1.dtype.kind in "iuf" \
            and y2.dtype.kind in "iuf":
        return _cohen_numeric(y1.ravel(), y2.ravel(), weights, labels)
    pairs = [(a, b) for a, b in zip(y1, y2) if not is_missing(a) and not is_missing(b)]
    if labels is None:
        labels = ordered_unique([v for p in pairs for v in p])
    labels = list(labels)
    index = {lab: i for i, lab in enumerate(labels)}
    ij = [(index[a], index[b]) for a, b in pairs if a in index and b in index]
    if not ij or not labels:
        return float("nan")
    idx = np.asarray(ij, dtype=np.intp)
    return _kappa_codes(idx[:, 0], idx[:, 1], len(labels), weights)


def _cohen_numeric(a: np.ndarray, b: np.ndarray, weights: str | None, labels: Sequence[Any] | None) -> float:
    """Vectorised :func:`cohen_kappa` for numeric arrays (NaN = missing)."""
    a = a.astype(float)
    b = b.astype(float)
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    lab = np.unique(np.concatenate([a, b])) if labels is None else np.asarray(list(labels), dtype=float)
    if lab.size == 0:
        return float("nan")
    order = np.argsort(lab, kind="stable")
    sl = lab[order]
    ia = np.minimum(np.searchsorted(sl, a), sl.size - 1)
    ib = np.minimum(np.searchsorted(sl, b), sl.size - 1)
    known = (sl[ia] == a) & (sl[ib] == b)
    if not known.any():
        return float("nan")
    return _kappa_codes(order[ia[known]], order[ib[known]], lab.size, weights)


def _kappa_codes(ca: np.ndarray, cb: np.ndarray, k: int, weights: str | None) -> float:
    conf = np.bincount(ca * k + cb, minlength=k * k).reshape(k, k).astype(float)
    expected = np.outer(conf.sum(axis=1), conf.sum(axis=0)) / conf.sum()
    pos = np.arange(k, dtype=float)
    if weights is None:
        w = 1.0 - np.eye(k)
    elif weights == "linear":
        w = np.abs(pos[:, None] - pos[None, :])
    else:
        w = (pos[:, None] - pos[None, :]) ** 2
    denom = float((w * expected).sum())
    if denom == 0.0:
        return float("nan")
    return 1.0 - float((w * conf).sum()) / denom


def category_table(reliability_data: Any, *, value_domain: Sequence[Any] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Units x categories count table from a reliability matrix (coders x units),
    like ``statsmodels.stats.inter_rater.aggregate_raters`` on its transpose.
    Units nobody coded are dropped."""
    codes, units, n_units, domain = encode_reliability_data(reliability_data, value_domain, "nominal")
    table = np.bincount(units * len(domain) + codes, minlength=n_units * len(domain))
    table = table.reshape(n_units, len(domain))
    return table[table.sum(axis=1) > 0], domain


def fleiss_kappa(table: Any) -> float:
    """Fleiss' kappa of a units x categories count table (equal to statsmodels
    ``fleiss_kappa(table, method="fleiss")``).

    Fleiss' kappa assumes every unit was rated by the same number of raters;
    a table whose rows sum differently raises ``ValueError`` (use
    Krippendorff's alpha, which handles varying raters).  NaN when expected
    agreement is 1 (a single category used throughout).
    """
    t = np.asarray(table, dtype=float)
    if t.ndim != 2 or t.shape[0] == 0:
        raise ValueError("table must be a non-empty 2-D units x categories array")
    raters = t.sum(axis=1)
    r = raters.max()
    if not np.all(raters == r):
        raise ValueError("Fleiss' kappa needs the same number of raters on every unit "
                         f"(got {int(raters.min())}..{int(r)}); use Krippendorff's alpha instead")
    if r < 2:
        raise ValueError("Fleiss' kappa needs at least two raters per unit")
    p_cat = t.sum(axis=0) / t.sum()
    p_unit = ((t * t).sum(axis=1) - r) / (r * (r - 1.0))
    p_mean = float(p_unit.mean())
    p_exp = float((p_cat * p_cat).sum())
    if p_exp == 1.0:
        return float("nan")
    return (p_mean - p_exp) / (1.0 - p_exp)
