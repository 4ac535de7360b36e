"""Krippendorff's alpha and its coincidence matrix (numpy only).

Conventions are those of :mod:`labeldesk.app.workflow.agreement`: ``ValueError``
where ``krippendorff.alpha`` raises, NaN where alpha is 0/0.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, NamedTuple, Sequence

import numpy as np

from labeldesk.app.workflow.answers import is_missing

__all__ = ["LEVELS", "coincidence_matrix", "encode_reliability_data", "krippendorff_alpha", "ordered_unique"]

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def ordered_unique(values: Iterable[Any]) -> list[Any]:
    """Sorted unique values; first-appearance order if they do not sort."""
    seen = list(dict.fromkeys(values))
    try:
        return sorted(seen)
    except TypeError:
        return seen


# --------------------------------------------------------------------------
# reliability matrix -> codes
# --------------------------------------------------------------------------


def encode_reliability_data(reliability_data: Any, value_domain: Any, level: str
                            ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Reliability matrix (coders x units) -> (codes, units, n_units, domain).

    ``codes[i]`` indexes ``domain`` and ``units[i]`` is the unit (column) of the
    i-th non-missing value.
    """
    arr = np.asarray(reliability_data)
    if arr.ndim != 2:
        raise ValueError("reliability_data must be a 2-D matrix (coders x units)")
    n_units = arr.shape[1]
    mask = _present(arr)
    if mask.all():
        units = np.tile(np.arange(n_units, dtype=np.intp), arr.shape[0])
        values = arr.reshape(-1)
    else:
        units = np.broadcast_to(np.arange(n_units, dtype=np.intp), arr.shape)[mask]
        values = arr[mask]
    if arr.dtype.kind == "O":
        codes, domain = _object_codes(values.tolist(), value_domain, level)
    elif value_domain is None:
        codes, domain = _inferred_codes(values, level)
    else:
        codes, domain = _domain_codes(values, value_domain)
    return codes, units, n_units, domain


def _present(arr: np.ndarray) -> np.ndarray:
    kind = arr.dtype.kind
    if kind in "iub":
        return np.ones(arr.shape, dtype=bool)
    if kind == "f":
        return ~np.isnan(arr)
    if kind in "US":
        # np.asarray turns np.nan into the string "nan" in string arrays
        return arr != arr.dtype.type("nan")
    if kind == "O":
        return np.array([[not is_missing(v) for v in row] for row in arr], dtype=bool).reshape(arr.shape)
    raise ValueError(f"Don't know how to handle values of dtype kind {kind!r}")


def _object_codes(values: list[Any], value_domain: Any, level: str) -> tuple[np.ndarray, np.ndarray]:
    if value_domain is None:
        domain_list = ordered_unique(values)
        if level != "nominal" and not all(isinstance(v, (int, float, np.number)) for v in domain_list):
            raise ValueError("When using non-numeric values, an ordered value_domain is required "
                             "for level_of_measurement other than 'nominal'.")
    else:
        domain_list = list(value_domain)
    index = {v: i for i, v in enumerate(domain_list)}
    try:
        codes = np.fromiter((index[v] for v in values), dtype=np.intp, count=len(values))
    except KeyError as exc:
        raise ValueError("The reliability data contains out-of-domain values.") from exc
    domain = np.empty(len(domain_list), dtype=object)
    domain[:] = domain_list
    if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in domain_list):
        domain = domain.astype(float)
    return codes, domain


def _inferred_codes(values: np.ndarray, level: str) -> tuple[np.ndarray, np.ndarray]:
    if values.dtype.kind in "US" and level != "nominal":
        raise ValueError("When using strings, an ordered value_domain is required "
                         "for level_of_measurement other than 'nominal'.")
    fast = _small_int_codes(values)
    if fast is not None:
        return fast
    domain, codes = np.unique(values, return_inverse=True)
    return codes.reshape(-1).astype(np.intp), domain


def _domain_codes(values: np.ndarray, value_domain: Any) -> tuple[np.ndarray, np.ndarray]:
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
    return codes.astype(np.intp), domain


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


# --------------------------------------------------------------------------
# disagreement sums
# --------------------------------------------------------------------------


class _Pairable(NamedTuple):
    """The values of units coded at least twice, with what every disagreement sum needs."""

    codes: np.ndarray
    units: np.ndarray
    m_u: np.ndarray  # values per unit, over all units
    w: np.ndarray  # 1 / (m_u - 1) on pairable units, 0 elsewhere
    n_c: np.ndarray  # pairable values per domain value = coincidence matrix column sums


def _pairable(codes: np.ndarray, units: np.ndarray, n_units: int, n_values: int) -> _Pairable:
    m_u = np.bincount(units, minlength=n_units)
    pairable = m_u >= 2
    if not pairable.any():
        raise ValueError("There has to be at least one unit with values assigned by at least two coders.")
    keep = pairable[units]
    if not keep.all():
        codes, units = codes[keep], units[keep]
    w = np.zeros(n_units)
    w[pairable] = 1.0 / (m_u[pairable] - 1)
    n_c = np.bincount(codes, minlength=n_values).astype(float)
    return _Pairable(codes, units, m_u, w, n_c)


def _ratio_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    s = a + b
    out = np.zeros(np.broadcast(a, b).shape)
    np.divide(a - b, s, out=out, where=s != 0)
    return out * out


def _pairs_within_units(codes: np.ndarray, units: np.ndarray
                        ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
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


def _nominal_disagreement(p: _Pairable) -> tuple[float, float]:
    """(observed, expected) sums of o * d and e * d."""
    n_units, n_values = len(p.m_u), len(p.n_c)
    n = p.n_c.sum()
    # sum(o * d) = sum of off-diagonal coincidences = n - trace(o),
    # trace(o) = sum_u w_u sum_c c_uc (c_uc - 1)
    key = p.units.astype(np.int64) * n_values + p.codes
    if n_units * n_values <= 8 * len(key) + (1 << 20):
        cnt = np.bincount(key)
        nz = np.flatnonzero(cnt)
        c = cnt[nz].astype(float)
    else:
        nz, c = np.unique(key, return_counts=True)
        c = c.astype(float)
    trace = float((p.w[nz // n_values] * c * (c - 1.0)).sum())
    return n - trace, (n * n - float((p.n_c * p.n_c).sum())) / (n - 1.0)


def _interval_scale(p: _Pairable, domain: np.ndarray, level: str) -> np.ndarray:
    """Positions of the domain values on which the level's distance is (t_k - t_c) ** 2."""
    if level == "interval":
        if domain.dtype.kind not in "iufb":
            raise ValueError("interval alpha needs numeric values")
        return domain.astype(float)
    # The ordinal distance between values c <= k is
    #   (sum_{g=c..k} n_g - (n_c + n_k) / 2) ** 2  ==  (t_k - t_c) ** 2
    # with t_c = (n_0 + ... + n_{c-1}) + n_c / 2: an interval metric on t.
    return np.concatenate(([0.0], np.cumsum(p.n_c)[:-1])) + p.n_c / 2.0


def _interval_disagreement(p: _Pairable, t: np.ndarray) -> tuple[float, float]:
    n_units = len(p.m_u)
    n = p.n_c.sum()
    tbar = float((p.n_c * t).sum() / n)
    t = t - tbar  # centre for numerical stability
    tv = t[p.codes]
    m = p.m_u.astype(float)
    s1 = np.bincount(p.units, weights=tv, minlength=n_units)
    mean = np.divide(s1, m, out=np.zeros(n_units), where=m > 0)
    dev = tv - mean[p.units]
    ss = np.bincount(p.units, weights=dev * dev, minlength=n_units)
    # sum_{i != j in u} (t_i - t_j)^2 = 2 m_u SS_u
    observed = float((p.w * 2.0 * m * ss).sum())
    expected = 2.0 * n * float((p.n_c * t * t).sum()) / (n - 1.0)
    return observed, expected


def _ratio_disagreement(p: _Pairable, domain: np.ndarray) -> tuple[float, float]:
    if domain.dtype.kind not in "iufb":
        raise ValueError("ratio alpha needs numeric values")
    v = domain.astype(float)
    return _ratio_observed(p, v), _ratio_expected(p.n_c, v) / (p.n_c.sum() - 1.0)


def _ratio_observed(p: _Pairable, v: np.ndarray) -> float:
    n_units, n_values = len(p.m_u), len(v)
    if n_values <= 256 and n_units * n_values <= 50_000_000:
        # small domain: explicit coincidence matrix o = C^T W C - diag(w C)
        cnt = np.bincount(p.units.astype(np.int64) * n_values + p.codes, minlength=n_units * n_values)
        cmat = cnt.reshape(n_units, n_values).astype(float)
        o = (cmat * p.w[:, None]).T @ cmat - np.diag(p.w @ cmat)
        return float((o * _ratio_distance(v[:, None], v[None, :])).sum())
    observed = 0.0
    for a, b, u in _pairs_within_units(p.codes, p.units):
        observed += 2.0 * float((p.w[u] * _ratio_distance(v[a], v[b])).sum())
    return observed


def _ratio_expected(n_c: np.ndarray, v: np.ndarray) -> float:
    """sum_c sum_k n_c n_k d(c, k) in row blocks, so no V x V array for large domains."""
    present = np.flatnonzero(n_c)
    vp, np_ = v[present], n_c[present]
    expected = 0.0
    for start in range(0, len(present), 512):
        blk = slice(start, start + 512)
        d = _ratio_distance(vp[blk, None], vp[None, :])
        expected += float((np_[blk, None] * np_[None, :] * d).sum())
    return expected


def _alpha_from_codes(codes: np.ndarray, units: np.ndarray, n_units: int,
                      domain: np.ndarray, level: str) -> float:
    n_values = len(domain)
    if n_values <= 1:
        raise ValueError("There has to be more than one value in the domain.")
    p = _pairable(codes, units, n_units, n_values)
    if level == "nominal":
        observed, expected = _nominal_disagreement(p)
    elif level in ("interval", "ordinal"):
        observed, expected = _interval_disagreement(p, _interval_scale(p, domain, level))
    elif level == "ratio":
        observed, expected = _ratio_disagreement(p, domain)
    else:
        raise ValueError(f"level_of_measurement must be one of {LEVELS}, not {level!r}")
    if expected == 0.0:
        return float("nan")  # no variation among pairable values: alpha is 0/0
    return 1.0 - observed / expected


# --------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------


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
    codes, units, n_units, domain = encode_reliability_data(reliability_data, value_domain, level_of_measurement)
    return _alpha_from_codes(codes, units, n_units, domain, level_of_measurement)


def coincidence_matrix(reliability_data: Any, *, value_domain: Sequence[Any] | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Krippendorff's coincidence matrix ``o`` (V x V) and its value domain.

    ``o[c, k] = sum_u (number of ordered coder pairs in u valued (c, k)) / (m_u - 1)``
    over units coded at least twice.  Meant for display and checks; alpha itself
    never materialises it.
    """
    codes, units, n_units, domain = encode_reliability_data(reliability_data, value_domain, "nominal")
    n_values = len(domain)
    m_u = np.bincount(units, minlength=n_units)
    w = np.zeros(n_units)
    w[m_u >= 2] = 1.0 / (m_u[m_u >= 2] - 1)
    o = np.zeros(n_values * n_values)
    for a, b, u in _pairs_within_units(codes, units):
        o += np.bincount(a * n_values + b, weights=w[u], minlength=n_values * n_values)
        o += np.bincount(b * n_values + a, weights=w[u], minlength=n_values * n_values)
    return o.reshape(n_values, n_values), domain
