"""Inter-annotator agreement: the math of quality control.

Qt-free and database-free; the only dependency is numpy.  The reference
packages (``krippendorff``, scikit-learn, statsmodels, scipy) are used by the
tests only, never at run time.

Two layers:

* **Primitives** on plain arrays / lists — :func:`krippendorff_alpha`,
  :func:`coincidence_matrix`, :func:`cohen_kappa`, :func:`fleiss_kappa`
  (+ :func:`category_table`), :func:`kendall_w`, :func:`kendall_tau_b`,
  :func:`mean_pairwise_kendall_tau`, :func:`span_f1`, :func:`segment_f1`,
  :func:`mean_pairwise_span_f1`.
* **Question layer** on submissions ``(item_id, annotator, value)`` of one
  question — :func:`question_agreement` and :func:`gold_accuracy`.

Conventions
-----------
* Primitives **raise** ``ValueError`` for input that cannot be measured at all
  (fewer than two annotators, no unit coded twice, a single value in the
  domain — exactly where ``krippendorff.alpha`` raises) and **return NaN**
  when the statistic is mathematically undefined (0/0), as the reference
  implementations do.
* The question layer never raises for thin data: an undefined or
  uncomputable figure is ``None`` (JSON-safe) and ``extra["reason"]`` says why.
* Missing values are ``None`` or NaN (and the string ``"nan"`` in numpy
  string arrays, which is what ``np.asarray`` turns ``np.nan`` into — the
  ``krippendorff`` package does the same).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Hashable, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

__all__ = [
    "LEVELS",
    "Submission",
    "QuestionAgreement",
    "SpanF1",
    "krippendorff_alpha",
    "coincidence_matrix",
    "cohen_kappa",
    "fleiss_kappa",
    "category_table",
    "kendall_w",
    "kendall_tau_b",
    "mean_pairwise_kendall_tau",
    "span_f1",
    "segment_f1",
    "mean_pairwise_span_f1",
    "question_agreement",
    "gold_accuracy",
]

LEVELS = ("nominal", "ordinal", "interval", "ratio")


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if type(v) is float:
        return v != v
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    return False


def _ordered_unique(values: Iterable[Any]) -> list[Any]:
    """Sorted unique values; first-appearance order if they do not sort."""
    seen = list(dict.fromkeys(values))
    try:
        return sorted(seen)
    except TypeError:
        return seen


# --------------------------------------------------------------------------
# Krippendorff's alpha
# --------------------------------------------------------------------------


def _prepare(reliability_data: Any, value_domain: Any, level: str):
    """Reliability matrix (coders x units) -> (codes, units, n_units, domain).

    ``codes[i]`` indexes ``domain`` and ``units[i]`` is the unit (column) of the
    i-th non-missing value.
    """
    arr = np.asarray(reliability_data)
    if arr.ndim != 2:
        raise ValueError("reliability_data must be a 2-D matrix (coders x units)")
    n_units = arr.shape[1]
    kind = arr.dtype.kind
    if kind in "iub":
        mask = np.ones(arr.shape, dtype=bool)
    elif kind == "f":
        mask = ~np.isnan(arr)
    elif kind in "US":
        mask = arr != arr.dtype.type("nan")
    elif kind == "O":
        mask = np.array([[not _is_missing(v) for v in row] for row in arr], dtype=bool).reshape(arr.shape)
    else:
        raise ValueError(f"Don't know how to handle values of dtype kind {kind!r}")
    if mask.all():
        units = np.tile(np.arange(n_units, dtype=np.intp), arr.shape[0])
        values = arr.reshape(-1)
    else:
        units = np.broadcast_to(np.arange(n_units, dtype=np.intp), arr.shape)[mask]
        values = arr[mask]

    if kind == "O":
        py_values = values.tolist()
        if value_domain is None:
            domain_list = _ordered_unique(py_values)
            if level != "nominal" and not all(isinstance(v, (int, float, np.number)) for v in domain_list):
                raise ValueError("When using non-numeric values, an ordered value_domain is required "
                                 "for level_of_measurement other than 'nominal'.")
        else:
            domain_list = list(value_domain)
        index = {v: i for i, v in enumerate(domain_list)}
        try:
            codes = np.fromiter((index[v] for v in py_values), dtype=np.intp, count=len(py_values))
        except KeyError as exc:
            raise ValueError("The reliability data contains out-of-domain values.") from exc
        domain = np.empty(len(domain_list), dtype=object)
        domain[:] = domain_list
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in domain_list):
            domain = domain.astype(float)
        return codes, units, n_units, domain

    if value_domain is None:
        if kind in "US" and level != "nominal":
            raise ValueError("When using strings, an ordered value_domain is required "
                             "for level_of_measurement other than 'nominal'.")
        fast = _small_int_codes(values)
        if fast is not None:
            return fast[0], units, n_units, fast[1]
        domain, codes = np.unique(values, return_inverse=True)
        return codes.reshape(-1).astype(np.intp), units, n_units, domain

    domain = np.asarray(value_domain)
    if domain.ndim != 1:
        raise ValueError("value_domain must be one-dimensional")
    order = np.argsort(domain, kind="stable")
    sorted_domain = domain[order]
    pos = np.searchsorted(sorted_domain, values)
    pos_c = np.minimum(pos, len(domain) - 1) if len(domain) else pos
    if len(values) and (len(domain) == 0 or not np.all(sorted_domain[pos_c] == values)):
        raise ValueError("The reliability data contains out-of-domain values.")
    codes = order[pos_c] if len(values) else np.zeros(0, dtype=np.intp)
    return codes.astype(np.intp), units, n_units, domain


def _small_int_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """O(n) replacement for ``np.unique(values, return_inverse=True)`` when the
    values are integers (possibly stored as floats) in a modest range — codes
    and ratings, the common case."""
    if values.size == 0 or values.dtype.kind not in "iuf":
        return None
    lo, hi = values.min(), values.max()
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi - lo > max(4 * values.size, 1 << 16):
        return None
    if values.dtype.kind == "f":
        as_int = values.astype(np.int64)
        if not np.array_equal(as_int, values):
            return None
    else:
        as_int = values.astype(np.int64)
    shifted = as_int - int(lo)
    present = np.bincount(shifted) > 0
    remap = np.cumsum(present) - 1
    domain = (np.flatnonzero(present) + int(lo)).astype(values.dtype)
    return remap[shifted].astype(np.intp), domain


def _ratio_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    s = a + b
    out = np.zeros(np.broadcast(a, b).shape)
    np.divide(a - b, s, out=out, where=s != 0)
    return out * out


def _pairs_within_units(codes: np.ndarray, units: np.ndarray):
    """Yield (codes_i, codes_j, units) for every unordered pair of values that
    share a unit — O(N * M^2) without any V x V array."""
    order = np.argsort(units, kind="stable")
    u = units[order]
    c = codes[order]
    s = 1
    while s < len(u):
        same = u[s:] == u[:-s]
        if not same.any():  # groups are contiguous: no pair at offset s -> none further
            break
        yield c[s:][same], c[:-s][same], u[s:][same]
        s += 1


def _alpha_from_codes(codes: np.ndarray, units: np.ndarray, n_units: int,
                      domain: np.ndarray, level: str) -> float:
    n_values = len(domain)
    if n_values <= 1:
        raise ValueError("There has to be more than one value in the domain.")
    m_u = np.bincount(units, minlength=n_units)
    pairable = m_u >= 2
    if not pairable.any():
        raise ValueError("There has to be at least one unit with values assigned by at least two coders.")
    keep = pairable[units]
    if not keep.all():
        codes, units = codes[keep], units[keep]
    w = np.zeros(n_units)
    w[pairable] = 1.0 / (m_u[pairable] - 1)
    n_c = np.bincount(codes, minlength=n_values).astype(float)  # = coincidence matrix column sums
    n = n_c.sum()

    if level == "nominal":
        # sum(o * d) = sum of off-diagonal coincidences = n - trace(o),
        # trace(o) = sum_u w_u sum_c c_uc (c_uc - 1)
        key = units.astype(np.int64) * n_values + codes
        if n_units * n_values <= 8 * len(key) + (1 << 20):
            cnt = np.bincount(key)
            nz = np.flatnonzero(cnt)
            c = cnt[nz].astype(float)
        else:
            nz, c = np.unique(key, return_counts=True)
            c = c.astype(float)
        trace = float((w[nz // n_values] * c * (c - 1.0)).sum())
        observed = n - trace
        expected = (n * n - float((n_c * n_c).sum())) / (n - 1.0)
    elif level in ("interval", "ordinal"):
        if level == "interval":
            if domain.dtype.kind not in "iufb":
                raise ValueError("interval alpha needs numeric values")
            t = domain.astype(float)
        else:
            # The ordinal distance between values c <= k is
            #   (sum_{g=c..k} n_g - (n_c + n_k) / 2) ** 2  ==  (t_k - t_c) ** 2
            # with t_c = (n_0 + ... + n_{c-1}) + n_c / 2: an interval metric on t.
            t = np.concatenate(([0.0], np.cumsum(n_c)[:-1])) + n_c / 2.0
        tbar = float((n_c * t).sum() / n)
        t = t - tbar  # centre for numerical stability
        tv = t[codes]
        m = m_u.astype(float)
        s1 = np.bincount(units, weights=tv, minlength=n_units)
        mean = np.divide(s1, m, out=np.zeros(n_units), where=m > 0)
        dev = tv - mean[units]
        ss = np.bincount(units, weights=dev * dev, minlength=n_units)
        # sum_{i != j in u} (t_i - t_j)^2 = 2 m_u SS_u
        observed = float((w * 2.0 * m * ss).sum())
        expected = 2.0 * n * float((n_c * t * t).sum()) / (n - 1.0)
    elif level == "ratio":
        if domain.dtype.kind not in "iufb":
            raise ValueError("ratio alpha needs numeric values")
        v = domain.astype(float)
        observed = 0.0
        if n_values <= 256 and n_units * n_values <= 50_000_000:
            # small domain: explicit coincidence matrix o = C^T W C - diag(w C)
            cnt = np.bincount(units.astype(np.int64) * n_values + codes, minlength=n_units * n_values)
            cmat = cnt.reshape(n_units, n_values).astype(float)
            o = (cmat * w[:, None]).T @ cmat - np.diag(w @ cmat)
            observed = float((o * _ratio_distance(v[:, None], v[None, :])).sum())
        else:
            for a, b, u in _pairs_within_units(codes, units):
                observed += 2.0 * float((w[u] * _ratio_distance(v[a], v[b])).sum())
        present = np.flatnonzero(n_c)
        vp, np_ = v[present], n_c[present]
        expected = 0.0
        for start in range(0, len(present), 512):
            blk = slice(start, start + 512)
            d = _ratio_distance(vp[blk, None], vp[None, :])
            expected += float((np_[blk, None] * np_[None, :] * d).sum())
        expected /= n - 1.0
    else:
        raise ValueError(f"level_of_measurement must be one of {LEVELS}, not {level!r}")

    if expected == 0.0:
        return float("nan")  # no variation among pairable values: alpha is 0/0
    return 1.0 - observed / expected


def krippendorff_alpha(reliability_data: Any, level_of_measurement: str = "interval", *,
                       value_domain: Sequence[Any] | None = None) -> float:
    """Krippendorff's alpha of a reliability matrix (coders x units).

    Missing values are NaN / None.  Equal to ``krippendorff.alpha`` (0.9) with
    the same arguments: the value domain defaults to the sorted values that
    occur (units coded once included); ``ValueError`` when the domain has fewer
    than two values or no unit is coded by two coders; NaN when all pairable
    values are equal but the domain has more (0/0).  Strings need an ordered
    ``value_domain`` for any level but nominal.

    The computation goes through the coincidence matrix, but the sums
    ``sum(o * d)`` and ``sum(e * d)`` are reduced algebraically so that no
    units x values or values x values array is built for nominal, ordinal and
    interval data: O(N * M) after one sort of the values.  The ordinal metric
    is an interval metric on the mid-cumulative frequencies of the values.
    Ratio data build the V x V coincidence matrix when V <= 256, else enumerate
    value pairs within units (O(N * M^2)); their expected disagreement is
    O(V^2) (minutes for ~10^5 distinct values — ratio alpha is meant for
    scales, not continuous measurements).
    """
    if level_of_measurement not in LEVELS:
        raise ValueError(f"level_of_measurement must be one of {LEVELS}, not {level_of_measurement!r}")
    codes, units, n_units, domain = _prepare(reliability_data, value_domain, level_of_measurement)
    return _alpha_from_codes(codes, units, n_units, domain, level_of_measurement)


def coincidence_matrix(reliability_data: Any, *, value_domain: Sequence[Any] | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Krippendorff's coincidence matrix ``o`` (V x V) and its value domain.

    ``o[c, k] = sum_u (number of ordered coder pairs in u valued (c, k)) / (m_u - 1)``
    over units coded at least twice.  Meant for display and checks; alpha itself
    never materialises it.
    """
    codes, units, n_units, domain = _prepare(reliability_data, value_domain, "nominal")
    n_values = len(domain)
    m_u = np.bincount(units, minlength=n_units)
    w = np.zeros(n_units)
    w[m_u >= 2] = 1.0 / (m_u[m_u >= 2] - 1)
    o = np.zeros(n_values * n_values)
    for a, b, u in _pairs_within_units(codes, units):
        o += np.bincount(a * n_values + b, weights=w[u], minlength=n_values * n_values)
        o += np.bincount(b * n_values + a, weights=w[u], minlength=n_values * n_values)
    return o.reshape(n_values, n_values), domain


# --------------------------------------------------------------------------
# kappas
# --------------------------------------------------------------------------


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
    pairs = [(a, b) for a, b in zip(y1, y2) if not _is_missing(a) and not _is_missing(b)]
    if labels is None:
        labels = _ordered_unique([v for p in pairs for v in p])
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
    codes, units, n_units, domain = _prepare(reliability_data, value_domain, "nominal")
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


# --------------------------------------------------------------------------
# rank agreement
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# span / segment overlap
# --------------------------------------------------------------------------


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
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


def _span_sets(spans: Iterable[Mapping[str, Any]] | None) -> dict[tuple, list[tuple[int, int]]]:
    """{(target, label): merged [start, end) code point ranges}."""
    raw: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
    for sp in spans or ():
        raw[(sp.get("target"), sp.get("label"))].append((int(sp["start"]), int(sp["end"])))
    return {k: m for k, v in raw.items() if (m := _merge(v))}


def _to_ticks(t: float, resolution: float) -> int:
    return int(round(float(t) / resolution))


def _segment_sets(segments: Iterable[Mapping[str, Any]] | None, resolution: float = 0.01
                  ) -> dict[tuple, list[tuple[int, int]]]:
    """{((media, tier), label): merged tick ranges}  (ticks of ``resolution`` s)."""
    raw: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
    for sg in segments or ():
        raw[((sg.get("media"), sg.get("tier")), sg.get("label"))].append(
            (_to_ticks(sg["start"], resolution), _to_ticks(sg["end"], resolution)))
    return {k: m for k, v in raw.items() if (m := _merge(v))}


def _unlabeled(sets: Mapping[tuple, list[tuple[int, int]]]) -> dict[Any, list[tuple[int, int]]]:
    raw: dict[Any, list[tuple[int, int]]] = defaultdict(list)
    for (where, _label), iv in sets.items():
        raw[where].extend(iv)
    return {k: _merge(v) for k, v in raw.items()}


class _Counts:
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

    def result(self) -> "SpanF1":
        ov, sa, sb = self.overall()
        return SpanF1(
            f1=self.f1(ov, sa, sb),
            precision=1.0 if sa == 0 and sb == 0 else (ov / sa if sa else 0.0),
            recall=1.0 if sa == 0 and sb == 0 else (ov / sb if sb else 0.0),
            unlabeled_f1=self.f1(*self.unlabeled),
            per_label={lab: self.f1(*c) for lab, c in self.per_label.items()},
            overlap=ov, size_a=sa, size_b=sb,
        )


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


def span_f1(spans_a: Iterable[Mapping[str, Any]] | None,
            spans_b: Iterable[Mapping[str, Any]] | None) -> SpanF1:
    """Character-level F1 of two span sets (``{"target","start","end","label"}``,
    code point offsets, end exclusive).  Overlapping spans of one annotator with
    the same target and label are merged (a character counts once)."""
    c = _Counts()
    c.add(_span_sets(spans_a), _span_sets(spans_b))
    return c.result()


def segment_f1(segments_a: Iterable[Mapping[str, Any]] | None,
               segments_b: Iterable[Mapping[str, Any]] | None, *, resolution: float = 0.01) -> SpanF1:
    """Time-level F1 of two segment sets (``{"media","start","end","tier","label"}``,
    seconds) at ``resolution`` seconds; agreement needs the same media, tier and
    label.  ``per_label`` keys are labels (pooled over tiers)."""
    c = _Counts()
    c.add(_segment_sets(segments_a, resolution), _segment_sets(segments_b, resolution))
    return c.result()


def mean_pairwise_span_f1(span_sets: Sequence[Iterable[Mapping[str, Any]] | None]) -> float:
    """Mean character-level F1 over all pairs of annotators' span sets (one item)."""
    if len(span_sets) < 2:
        raise ValueError("pairwise F1 needs at least two annotators")
    sets = [_span_sets(s) for s in span_sets]
    vals = []
    for a, b in combinations(sets, 2):
        c = _Counts()
        c.add(a, b)
        vals.append(c.f1(*c.overall()))
    return float(np.mean(vals))


# --------------------------------------------------------------------------
# question layer
# --------------------------------------------------------------------------


class Submission(NamedTuple):
    """One annotator's answer to one question on one item (plain tuples work too)."""

    item_id: str
    annotator: str
    value: Any


@dataclass(frozen=True)
class QuestionAgreement:
    """Agreement on one question.

    ``value`` is the headline figure named by ``metric_name`` (None when it is
    undefined or not computed — ``extra["reason"]`` says why).  ``n_items``
    counts items with at least one answer, ``n_annotators`` distinct
    annotators; ``extra["n_items_overlap"]`` counts items answered by two or
    more (the ones agreement is measured on).  ``per_annotator`` is each
    annotator's agreement with the consensus of the items they share with
    others; its meaning is in ``extra["per_annotator_metric"]``.  ``pairwise``
    maps ``(a, b)`` (a < b, pairs sharing an item) to the pairwise figure in
    ``extra["pairwise_metric"]``; None when the type has none.
    """

    question: str
    type: str
    metric_name: str
    value: float | None
    n_items: int
    n_annotators: int
    per_annotator: dict = field(default_factory=dict)
    pairwise: dict | None = None
    extra: dict = field(default_factory=dict)


def _clean(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def _safe_alpha(matrix: np.ndarray, level: str) -> tuple[float | None, str | None]:
    try:
        return _clean(krippendorff_alpha(matrix, level)), None
    except ValueError as exc:
        return None, str(exc)


def _collect(submissions: Iterable[Sequence[Any]]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """{item: {annotator: value}} in first-seen item order; None answers are
    skipped; a repeated (item, annotator) keeps the last answer."""
    by_item: dict[str, dict[str, Any]] = {}
    for sub in submissions:
        item, annotator, value = sub[0], sub[1], sub[2]
        if _is_missing(value):
            continue
        by_item.setdefault(item, {})[annotator] = value
    annotators = sorted({a for answers in by_item.values() for a in answers})
    return by_item, annotators


def _code_map(question: Mapping[str, Any], values: Iterable[Hashable]) -> dict[Any, int]:
    """Category -> code: config ``options`` order first, then unseen values in
    ``str`` order — the same order the consensus tie-break uses."""
    opts = list(question.get("options") or ())
    extra = sorted({v for v in values if v not in set(opts)}, key=str)
    return {v: i for i, v in enumerate(opts + extra)}


def _matrix(by_item: Mapping[str, Mapping[str, Any]], annotators: list[str], conv) -> np.ndarray:
    pos = {a: i for i, a in enumerate(annotators)}
    mat = np.full((len(annotators), len(by_item)), np.nan)
    for j, answers in enumerate(by_item.values()):
        for a, v in answers.items():
            cv = conv(v)
            if cv is not None:
                mat[pos[a], j] = cv
    return mat


def _pairwise_kappa(mat: np.ndarray, annotators: list[str], weights: str | None,
                    labels: Sequence[Any] | None) -> dict[tuple[str, str], float | None]:
    out: dict[tuple[str, str], float | None] = {}
    for i, j in combinations(range(len(annotators)), 2):
        both = ~np.isnan(mat[i]) & ~np.isnan(mat[j])
        if both.any():
            out[(annotators[i], annotators[j])] = _clean(
                cohen_kappa(mat[i, both], mat[j, both], weights=weights, labels=labels))
    return out


def _fleiss_from_matrix(mat: np.ndarray) -> tuple[float | None, str | None]:
    present = ~np.isnan(mat)
    counts = present.sum(axis=0)
    counts = counts[counts > 0]
    if counts.size == 0 or counts.max() < 2:
        return None, "needs at least two raters per item"
    if counts.min() != counts.max():
        return None, "items have different numbers of raters"
    table, _ = category_table(mat)
    return _clean(fleiss_kappa(table)), None


def _mean(xs: Iterable[float | None]) -> float | None:
    vals = [x for x in xs if x is not None and not math.isnan(x)]
    return float(np.mean(vals)) if vals else None


def _ranking_map(value: Any) -> dict[str, float]:
    """Ranking answer -> {response: rank}.  Accepts the stored form
    ``[{"response", "rank"}]``, a ``{response: rank}`` mapping, or a list of ids
    best to worst."""
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items()}
    out: dict[str, float] = {}
    for pos, entry in enumerate(value or ()):
        if isinstance(entry, Mapping):
            out[str(entry["response"])] = float(entry["rank"])
        else:
            out[str(entry)] = float(pos + 1)
    return out


def _rank_similarity(ra: Mapping[str, float], rb: Mapping[str, float]) -> float | None:
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


def _as_set(value: Any) -> frozenset:
    if value is None:
        return frozenset()
    if isinstance(value, (str, bytes)):
        return frozenset([value])
    return frozenset(value)


VERDICT_ORDER = ("unsafe", "borderline", "safe")  # consensus tie-break: most cautious first


def _verdict(value: Any) -> Any:
    return value.get("verdict") if isinstance(value, Mapping) else None


def _consensus_fn():
    from labeldesk.app.workflow import consensus as _c  # lazy: consensus imports this module
    return _c


def _agree_nominal(by_item, annotators, question, extract) -> tuple[dict, dict]:
    """choice-like: matrix, alpha, Fleiss, pairwise Cohen, per-annotator match."""
    raw = [extract(v) for answers in by_item.values() for v in answers.values()]
    codes = _code_map(question, [v for v in raw if v is not None])
    mat = _matrix(by_item, annotators, lambda v: None if extract(v) is None else codes[extract(v)])
    alpha, reason = _safe_alpha(mat, "nominal")
    fleiss, f_reason = _fleiss_from_matrix(mat)
    extra: dict[str, Any] = {"fleiss_kappa": fleiss}
    if f_reason:
        extra["fleiss_kappa_reason"] = f_reason
    if reason:
        extra["reason"] = reason
    # per annotator: consensus = plurality, ties -> lowest code (config order)
    present = ~np.isnan(mat)
    multi = present.sum(axis=0) >= 2
    per: dict[str, float] = {}
    if multi.any() and codes:
        sub = mat[:, multi]
        counts = np.zeros((len(codes), sub.shape[1]))
        for c in range(len(codes)):
            counts[c] = (sub == c).sum(axis=0)
        cons = counts.argmax(axis=0)
        for i, a in enumerate(annotators):
            has = ~np.isnan(sub[i])
            if has.any():
                per[a] = float((sub[i, has] == cons[has]).mean())
    return {"value": alpha, "mat": mat, "codes": codes, "per": per}, extra


def question_agreement(submissions: Iterable[Sequence[Any]], question: Mapping[str, Any]) -> QuestionAgreement:
    """Agreement on one question from ``(item_id, annotator, value)`` submissions.

    Metrics by question type (``metric_name``, then ``extra``):

    * ``choice`` — nominal alpha; ``fleiss_kappa`` (only when every item has
      the same number of raters, else None + ``fleiss_kappa_reason``);
      ``pairwise`` Cohen's kappa; per annotator: share of items where they
      match the plurality consensus.
    * ``multi_choice`` — mean over options of the nominal alpha of "option
      chosen" (``per_option``; options never or always chosen are undefined
      and left out of the mean); per annotator: share of items where their set
      equals the per-option-majority set.
    * ``rating`` — ordinal alpha (interval if ``scale == "interval"``; the other
      level in ``extra``); ``pairwise`` quadratic-weighted Cohen's kappa over
      ``min..max``; per annotator: mean |rating - consensus (lower) median|
      in scale points (lower is better).
    * ``ranking`` — mean Kendall's W over items (responses ranked by all the
      item's annotators); ``mean_pairwise_tau`` (tau-b, over item x pair),
      ``alpha_ordinal`` over (item, response) units of the stored ranks;
      ``pairwise`` mean tau-b per annotator pair; per annotator: mean tau-b
      against the Borda consensus.
    * ``spans`` / ``segments`` — mean over annotator pairs of the pooled
      (micro) character / 10 ms F1 on shared items, label-sensitive;
      ``per_label`` and ``unlabeled_f1`` pooled over all pairs; per annotator:
      pooled F1 against the consensus spans/segments.
    * ``safety`` — nominal alpha of the verdict; ``per_category`` alpha of each
      category (chosen / not), ``alpha_behavior``, ``fleiss_kappa``;
      ``pairwise`` Cohen's kappa of verdicts; per annotator: verdict matches
      consensus verdict.
    * ``text`` — not scored (value None), counts only.

    Per-annotator figures include the annotator in the consensus they are
    compared with (the consensus that is exported), so they run higher than a
    leave-one-out figure, most with two annotators per item.
    """
    name = str(question.get("name", ""))
    qtype = str(question.get("type", ""))
    by_item, annotators = _collect(submissions)
    n_overlap = sum(1 for answers in by_item.values() if len(answers) >= 2)
    base_extra: dict[str, Any] = {"n_items_overlap": n_overlap}

    def result(metric: str, value, per=None, pairwise=None, **extra) -> QuestionAgreement:
        ex = dict(base_extra)
        ex.update(extra)
        return QuestionAgreement(name, qtype, metric, _clean(value), len(by_item), len(annotators),
                                 per or {}, pairwise, ex)

    if qtype == "text":
        return result("none", None, reason="free text is not scored")
    if qtype not in ("choice", "multi_choice", "rating", "ranking", "spans", "segments", "safety"):
        raise ValueError(f"unknown question type {qtype!r}")
    if n_overlap == 0:
        return result("none", None, reason="needs at least two annotators on the same item")

    if qtype == "choice":
        r, extra = _agree_nominal(by_item, annotators, question, lambda v: v)
        pairwise = _pairwise_kappa(r["mat"], annotators, None, None)
        return result("krippendorff_alpha_nominal", r["value"], r["per"], pairwise,
                      pairwise_metric="cohen_kappa", per_annotator_metric="match_rate_with_consensus",
                      **extra)

    if qtype == "multi_choice":
        sets = {i: {a: _as_set(v) for a, v in answers.items()} for i, answers in by_item.items()}
        seen = {o for answers in sets.values() for s in answers.values() for o in s}
        options = list(question.get("options") or ()) + sorted(seen - set(question.get("options") or ()), key=str)
        per_option: dict[str, float | None] = {}
        for opt in options:
            mat = _matrix(sets, annotators, lambda s, o=opt: 1.0 if o in s else 0.0)
            per_option[opt], _ = _safe_alpha(mat, "nominal")
        c = _consensus_fn()
        hits: dict[str, list[float]] = defaultdict(list)
        for answers in sets.values():
            if len(answers) < 2:
                continue
            cons = frozenset(c.consensus(question, list(answers.values())).value or ())
            for a, s in answers.items():
                hits[a].append(1.0 if s == cons else 0.0)
        per = {a: float(np.mean(v)) for a, v in hits.items()}
        mean = _mean(per_option.values())
        extra = {"per_option": per_option, "per_annotator_metric": "exact_set_match_rate_with_consensus"}
        if mean is None:
            extra["reason"] = "no option has a defined alpha (each is chosen always or never)"
        return result("mean_option_alpha_nominal", mean, per, None, **extra)

    if qtype == "rating":
        level = "interval" if question.get("scale") == "interval" else "ordinal"
        other = "ordinal" if level == "interval" else "interval"
        mat = _matrix(by_item, annotators, float)
        alpha, reason = _safe_alpha(mat, level)
        alpha_other, _ = _safe_alpha(mat, other)
        lo, hi = question.get("min"), question.get("max")
        if isinstance(lo, int) and isinstance(hi, int) and hi > lo:
            labels: list[Any] | None = [float(v) for v in range(lo, hi + 1)]
            observed = set(np.unique(mat[~np.isnan(mat)]).tolist())
            if not observed <= set(labels):
                labels = None
        else:
            labels = None
        pairwise = _pairwise_kappa(mat, annotators, "quadratic", labels)
        multi = (~np.isnan(mat)).sum(axis=0) >= 2
        sub = np.sort(mat[:, multi], axis=0)  # NaN sort last
        cnt = (~np.isnan(sub)).sum(axis=0)
        med = sub[(cnt - 1) // 2, np.arange(sub.shape[1])]  # lower median
        diffs = np.abs(mat[:, multi] - med[None, :])
        per = {a: float(np.nanmean(diffs[i])) for i, a in enumerate(annotators)
               if (~np.isnan(diffs[i])).any()}
        extra = {f"alpha_{other}": alpha_other, "pairwise_metric": "cohen_kappa_quadratic",
                 "per_annotator_metric": "mean_abs_diff_from_consensus_median"}
        if reason:
            extra["reason"] = reason
        return result(f"krippendorff_alpha_{level}", alpha, per, pairwise, **extra)

    if qtype == "ranking":
        c = _consensus_fn()
        rankings = {i: {a: _ranking_map(v) for a, v in answers.items()} for i, answers in by_item.items()}
        ws: list[float] = []
        taus: list[float] = []
        pair_taus: dict[tuple[str, str], list[float]] = defaultdict(list)
        per_taus: dict[str, list[float]] = defaultdict(list)
        unit_rows: list[tuple[str, int, float]] = []
        unit_index: dict[tuple[str, str], int] = {}
        for item, answers in rankings.items():
            for a, rk in answers.items():
                for resp, rank in rk.items():
                    u = unit_index.setdefault((item, resp), len(unit_index))
                    unit_rows.append((a, u, rank))
            if len(answers) < 2:
                continue
            names = sorted(answers)
            common = [r for r in answers[names[0]] if all(r in answers[a] for a in names)]
            if len(common) >= 2:
                w = kendall_w([[answers[a][r] for r in common] for a in names])
                if not math.isnan(w):
                    ws.append(w)
            for a, b in combinations(names, 2):
                t = _rank_similarity(answers[a], answers[b])
                if t is not None:
                    taus.append(t)
                    pair_taus[(a, b)].append(t)
            cons = _ranking_map(c.consensus(question, [answers[a] for a in names]).value)
            for a in names:
                t = _rank_similarity(answers[a], cons)
                if t is not None:
                    per_taus[a].append(t)
        pos = {a: i for i, a in enumerate(annotators)}
        mat = np.full((len(annotators), len(unit_index)), np.nan)
        for a, u, rank in unit_rows:
            mat[pos[a], u] = rank
        alpha_ord, _ = _safe_alpha(mat, "ordinal")
        extra = {"mean_pairwise_tau": _mean(taus), "alpha_ordinal": alpha_ord,
                 "n_items_w": len(ws), "pairwise_metric": "mean_kendall_tau_b",
                 "per_annotator_metric": "mean_kendall_tau_b_with_borda_consensus"}
        if not ws:
            extra["reason"] = "Kendall's W is undefined on every item (fewer than two common responses or all tied)"
        return result("kendall_w_mean", _mean(ws), {a: float(np.mean(v)) for a, v in per_taus.items()},
                      {k: float(np.mean(v)) for k, v in pair_taus.items()}, **extra)

    if qtype in ("spans", "segments"):
        c = _consensus_fn()
        to_sets = _span_sets if qtype == "spans" else _segment_sets
        pair_counts: dict[tuple[str, str], _Counts] = defaultdict(_Counts)
        all_pairs = _Counts()
        per_counts: dict[str, _Counts] = defaultdict(_Counts)
        for answers in by_item.values():
            if len(answers) < 2:
                continue
            names = sorted(answers)
            sets = {a: to_sets(answers[a]) for a in names}
            for a, b in combinations(names, 2):
                pair_counts[(a, b)].add(sets[a], sets[b])
                all_pairs.add(sets[a], sets[b])
            cons = to_sets(c.consensus(question, [answers[a] for a in names]).value)
            for a in names:
                per_counts[a].add(sets[a], cons)
        pairwise = {k: v.result().f1 for k, v in pair_counts.items()}
        pooled = all_pairs.result()
        unit = "char" if qtype == "spans" else "time"
        return result(f"mean_pairwise_{unit}_f1", _mean(pairwise.values()),
                      {a: v.result().f1 for a, v in per_counts.items()}, pairwise,
                      per_label=pooled.per_label, unlabeled_f1=pooled.unlabeled_f1,
                      pooled_f1=pooled.f1, pairwise_metric=f"{unit}_f1",
                      per_annotator_metric=f"{unit}_f1_with_consensus")

    # safety: verdict codes in the consensus tie-break order (most cautious first)
    r, extra = _agree_nominal(by_item, annotators, {"options": list(VERDICT_ORDER)}, _verdict)
    pairwise = _pairwise_kappa(r["mat"], annotators, None, None)
    cats = list(question.get("categories") or ())
    seen = {cat for answers in by_item.values() for v in answers.values() if isinstance(v, Mapping)
            for cat in (v.get("categories") or ())}
    cats += sorted(seen - set(cats), key=str)
    per_category = {}
    for cat in cats:
        mat = _matrix(by_item, annotators,
                      lambda v, k=cat: None if not isinstance(v, Mapping) else
                      (1.0 if k in (v.get("categories") or ()) else 0.0))
        per_category[cat], _ = _safe_alpha(mat, "nominal")
    beh_codes = _code_map({"options": question.get("behaviors")},
                          [v.get("expected_behavior") for a in by_item.values() for v in a.values()
                           if isinstance(v, Mapping) and v.get("expected_behavior") is not None])
    bmat = _matrix(by_item, annotators,
                   lambda v: beh_codes.get(v.get("expected_behavior")) if isinstance(v, Mapping) else None)
    alpha_beh, _ = _safe_alpha(bmat, "nominal")
    extra.update(per_category=per_category, alpha_behavior=alpha_beh, pairwise_metric="cohen_kappa_verdict",
                 per_annotator_metric="verdict_match_rate_with_consensus")
    return result("krippendorff_alpha_nominal_verdict", r["value"], r["per"], pairwise, **extra)


def gold_accuracy(submissions: Iterable[Sequence[Any]], gold: Mapping[str, Any],
                  question: Mapping[str, Any]) -> dict[str, float]:
    """Each annotator's mean score against gold answers, over the gold items
    they answered (annotators with none are left out).

    Score per item, all in [0, 1]: exact match for ``choice`` and ``rating``;
    exact set for ``multi_choice``; verdict match for ``safety``; whitespace-
    normalised exact match for ``text``; for ``ranking`` the share of response
    pairs ordered as in gold (ties must be ties) over the responses both rank;
    for ``spans`` / ``segments`` the pooled character / 10 ms F1 against gold
    over all the annotator's gold items (both empty counts as 1.0).
    """
    qtype = str(question.get("type", ""))
    by_item, _ = _collect(submissions)
    scores: dict[str, list[float]] = defaultdict(list)
    pooled: dict[str, _Counts] = defaultdict(_Counts)
    for item, answers in by_item.items():
        if item not in gold or _is_missing(gold[item]):
            continue
        g = gold[item]
        for a, v in answers.items():
            if qtype in ("choice", "rating"):
                scores[a].append(float(v == g))
            elif qtype == "multi_choice":
                scores[a].append(float(_as_set(v) == _as_set(g)))
            elif qtype == "safety":
                scores[a].append(float(_verdict(v) == _verdict(g)))
            elif qtype == "text":
                scores[a].append(float(" ".join(str(v).split()) == " ".join(str(g).split())))
            elif qtype == "ranking":
                ra, rg = _ranking_map(v), _ranking_map(g)
                common = [r for r in rg if r in ra]
                pairs = list(combinations(common, 2))
                if pairs:
                    ok = sum(np.sign(ra[x] - ra[y]) == np.sign(rg[x] - rg[y]) for x, y in pairs)
                    scores[a].append(ok / len(pairs))
            elif qtype == "spans":
                pooled[a].add(_span_sets(v), _span_sets(g))
            elif qtype == "segments":
                pooled[a].add(_segment_sets(v), _segment_sets(g))
            else:
                raise ValueError(f"unknown question type {qtype!r}")
    if qtype in ("spans", "segments"):
        return {a: c.result().f1 for a, c in pooled.items()}
    return {a: float(np.mean(v)) for a, v in scores.items() if v}


