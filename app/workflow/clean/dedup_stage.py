"""The stage over the whole set: duplicates among the cleaned items, and items repeating a reference text.

It runs in the calling process once every chunk is in, on the features the workers computed
(:mod:`.duplicates` holds the algorithm); only items not already removed take part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .assemble import RunTotals
from .cleaner import RefOut
from .config import CleanConfig
from .duplicates import DedupFeatures, DedupSettings, DuplicateMatch, resolve_duplicates
from .text import dedup_text, snippet
from .textio import decode_bytes


@dataclass
class References:
    """The reference texts (an evaluation set …) that no item may repeat."""

    ids: list[str]
    texts: list[str]
    skipped: int  # pairs that were not (id, text) or had no text
    features: DedupFeatures | None = None

    @classmethod
    def read(cls, pairs: Iterable[Any]) -> References:
        refs = cls([], [], 0)
        for pair in pairs:
            try:
                rid, txt = pair
            except (TypeError, ValueError):
                refs.skipped += 1
                continue
            if isinstance(txt, (bytes, bytearray)):
                txt = decode_bytes(bytes(txt)).text
            if not isinstance(txt, str) or not txt.strip():
                refs.skipped += 1
                continue
            refs.ids.append(str(rid))
            refs.texts.append(txt)
        return refs

    def take(self, outs: Sequence[RefOut], bands: int) -> None:
        """Adopt what the workers computed: the features, and the texts as encoding repair left them."""
        self.features = DedupFeatures.concat([r.features for r in outs], bands)
        pos = 0
        for r in outs:
            for k, v in r.repaired.items():
                self.texts[pos + k] = v
            pos += len(r.features)


def mark_duplicates(
    run: RunTotals,
    originals: Sequence[Any],
    ids: Sequence[str | None],
    refs: References,
    dset: DedupSettings,
    cfg: CleanConfig,
    progress: Callable[[int, int], None] | None,
    cancel: Callable[[], bool],
) -> None:
    """Add the ``duplicate.*`` entries to ``run`` (when any of those rules is on)."""
    if not (dset.exact_on or dset.near_on or dset.ref_on):
        return
    marks = _Marks(run, originals, ids, refs, dset.key, int(cfg["report"]["snippet_chars"]))
    matches = resolve_duplicates(
        refs.features, run.features, run.not_removed(), dset, marks.text_of, lambda r: refs.texts[r],
        item_rank=_id_rank(ids) if dset.keep == "id" else None, cancel=cancel, progress=progress,
    )
    for i in sorted(matches):
        marks.record(i, matches[i], cfg.action(matches[i].rule))


def _id_rank(ids: Sequence[str | None]) -> np.ndarray:
    """Each item's rank by id (items without one last, then by position): with ``keep: id`` the first is kept."""
    n = len(ids)
    order = sorted(range(n), key=lambda i: (ids[i] is None, ids[i] or "", i))
    rank = np.empty(n, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(n, dtype=np.int64)
    return rank


class _Marks:
    """Turns duplicate matches into entries and report examples on ``run``."""

    def __init__(self, run: RunTotals, originals: Sequence[Any], ids: Sequence[str | None], refs: References,
                 key: str, width: int):
        self.run = run
        self.originals = originals
        self.ids = ids
        self.refs = refs
        self.key = key
        self.width = width

    def text_of(self, i: int) -> str:
        return dedup_text(self.run.changed.get(i, self.originals[i]), self.key)

    def record(self, i: int, m: DuplicateMatch, action: str) -> None:
        if m.of >= 0:
            of_id, of_text = self.ids[m.of], None
        else:
            of_id, of_text = self.refs.ids[-1 - m.of], self.refs.texts[-1 - m.of]
        entry = {"rule": m.rule, "action": action, "duplicate_of": of_id, "jaccard": m.jaccard}
        if m.of >= 0 and of_id is None:
            entry["duplicate_of_index"] = m.of
        if m.rule == "duplicate.reference":
            entry["match"] = m.match

        def example() -> dict:
            kept = of_text if of_text is not None else self.text_of(m.of)
            return {"index": i, "id": self.ids[i], "duplicate_of": of_id, "jaccard": m.jaccard, "match": m.match,
                    "text": self._snippet(self.text_of(i)), "duplicate_of_text": self._snippet(kept)}

        self.run.add_entry(i, entry, example)

    def _snippet(self, text: str) -> str:
        return snippet(text[:4 * self.width], 0, 0, 2 * self.width)
