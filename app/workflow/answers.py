"""Reading stored answers the same way in agreement and consensus.

Both modules compare annotators' answers; they must agree on what counts as
missing, how a ranking or a safety verdict is read and which verdict wins a
tie, or the per-annotator agreement would be measured against a different
consensus than the one exported.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

__all__ = ["VERDICT_ORDER", "as_set", "is_missing", "ranking_map", "verdict"]

VERDICT_ORDER = ("unsafe", "borderline", "safe")  # consensus tie-break: most cautious first


def is_missing(v: Any) -> bool:
    if v is None:
        return True
    if type(v) is float:
        return v != v
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    return False


def as_set(value: Any) -> frozenset:
    """A multi-choice answer as a set; a bare string is one option, not its letters."""
    if value is None:
        return frozenset()
    if isinstance(value, (str, bytes)):
        return frozenset([value])
    return frozenset(value)


def verdict(value: Any) -> Any:
    return value.get("verdict") if isinstance(value, Mapping) else None


def ranking_map(value: Any) -> dict[str, float]:
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
