"""What a cleaning run returns: one :class:`ItemResult` per input item, in a :class:`CleanResult`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

from .report import CleanReport

# Codes rise with severity so that an item's decision is the highest code among its entries.
KEEP, REVIEW, REMOVE = 0, 1, 2
DECISION_NAMES = ("keep", "review", "remove")
ACTION_CODE = {"remove": REMOVE, "review": REVIEW}


def decision_code(entries: Iterable[Mapping[str, Any]]) -> int:
    """The strongest action among ``entries`` (``KEEP`` when there are none)."""
    return max((ACTION_CODE.get(e["action"], KEEP) for e in entries), default=KEEP)


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The outcome for one input item."""

    index: int  # position in the input
    id: str | None
    item: Any  # the cleaned item (new dict) or the original object when unchanged
    decision: str  # keep | review | remove
    entries: tuple[dict, ...]  # to append to provenance.cleaning
    changed: bool

    def record(self) -> Any:
        """A new dict: ``item`` with ``entries`` appended to ``provenance.cleaning``."""
        if not isinstance(self.item, dict) or not self.entries:
            return self.item
        new = dict(self.item)
        prov = new.get("provenance")
        prov = dict(prov) if isinstance(prov, dict) else {}
        cleaning = prov.get("cleaning")
        cleaning = list(cleaning) if isinstance(cleaning, list) else []
        cleaning.extend(dict(e) for e in self.entries)
        prov["cleaning"] = cleaning
        new["provenance"] = prov
        return new


@dataclass
class CleanResult:
    results: list[ItemResult]
    report: CleanReport

    def __iter__(self) -> Iterator[ItemResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def with_decision(self, decision: str) -> list[ItemResult]:
        return [r for r in self.results if r.decision == decision]

    def kept(self) -> list[ItemResult]:
        return self.with_decision("keep")

    def removed(self) -> list[ItemResult]:
        return self.with_decision("remove")

    def to_review(self) -> list[ItemResult]:
        return self.with_decision("review")
