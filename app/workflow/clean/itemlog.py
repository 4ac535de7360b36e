"""Where the stages write what they find: an item's entries, and a chunk's examples and costs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass
class ChunkStats:
    """Gathered over the items of one chunk, then merged over the run for the report."""

    rules: dict = field(default_factory=dict)  # rule -> [items, occurrences]
    examples: dict = field(default_factory=dict)  # rule -> [example, ...]
    seconds: dict = field(default_factory=lambda: {"encoding": 0.0, "pii": 0.0, "filters": 0.0, "duplicates.features": 0.0})
    nbytes: dict = field(default_factory=lambda: {"encoding": 0, "pii": 0, "filters": 0, "duplicates.features": 0})
    index: int = 0  # input position of the item being cleaned (for examples)


class ItemLog:
    """The entries of the item being cleaned, under the configured actions, and its report examples."""

    def __init__(self, actions: Mapping[str, str], stats: ChunkStats, max_examples: int, width: int,
                 iid: str | None):
        self.actions = actions
        self.stats = stats
        self.max_examples = max_examples
        self.width = width  # snippet width of the examples
        self.iid = iid
        self.entries: list[dict] = []

    def on(self, rule: str) -> bool:
        return self.actions[rule] != "off"

    def add(self, rule: str, **details: Any) -> dict | None:
        """Record ``rule`` with the details that are not None; None when the rule is off."""
        action = self.actions[rule]
        if action == "off":
            return None
        entry = {"rule": rule, "action": action}
        entry.update((k, v) for k, v in details.items() if v is not None)
        self.entries.append(entry)
        return entry

    def wants_example(self, rule: str) -> bool:
        """Whether an example of ``rule`` would still be kept: building one can cost more than finding it."""
        return len(self.stats.examples.get(rule, ())) < self.max_examples

    def example(self, rule: str, **details: Any) -> None:
        examples = self.stats.examples.setdefault(rule, [])
        if len(examples) < self.max_examples:
            ex = {"index": self.stats.index}
            ex.update((k, v) for k, v in {"id": self.iid, **details}.items() if v is not None)
            examples.append(ex)
