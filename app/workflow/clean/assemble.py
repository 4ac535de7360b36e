"""The chunks' outcomes merged over the run, and turned into the results and the report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .cleaner import ChunkOut, RefOut
from .config import CleanConfig
from .duplicates import DedupFeatures
from .report import CleanReport
from .results import ACTION_CODE, DECISION_NAMES, KEEP, REMOVE, REVIEW, ItemResult

_REPORTED_STAGES = ("encoding", "filters", "pii", "duplicates.features", "duplicates.resolve")


@dataclass
class RunTotals:
    """Per item (by input position) and per rule, over every chunk of the run."""

    decisions: np.ndarray  # uint8 per item
    changed: dict[int, dict]  # index -> new item
    entries: dict[int, list]  # index -> [entry, ...]
    seconds: dict[str, float]  # stage -> seconds
    nbytes: dict[str, int]  # stage -> bytes
    rules: dict[str, list]  # rule -> [items, occurrences]
    examples: dict[str, list]  # rule -> [example, ...]
    features: DedupFeatures  # for the duplicates stage
    max_examples: int

    @classmethod
    def merge(cls, outs: Sequence[ChunkOut], n: int, bands: int, max_examples: int) -> RunTotals:
        features = DedupFeatures.concat([o.features for o in outs], bands)
        run = cls(np.zeros(n, dtype=np.uint8), {}, {}, {}, {}, {}, {}, features, max_examples)
        for out in outs:
            run._add_chunk(out)
        return run

    def _add_chunk(self, out: ChunkOut) -> None:
        b = out.base
        self.decisions[b:b + out.n] = out.decisions
        for k, v in out.changed.items():
            self.changed[b + k] = v
        for k, v in out.entries.items():
            self.entries[b + k] = v
        for k, v in out.seconds.items():
            self.seconds[k] = self.seconds.get(k, 0.0) + v
        for k, v in out.nbytes.items():
            self.nbytes[k] = self.nbytes.get(k, 0) + v
        for rule, (ni, no) in out.rules.items():
            r = self.rules.setdefault(rule, [0, 0])
            r[0] += ni
            r[1] += no
        for rule, exs in out.examples.items():
            lst = self.examples.setdefault(rule, [])
            lst.extend(exs[: max(0, self.max_examples - len(lst))])

    def add_reference_costs(self, ref_outs: Sequence[RefOut]) -> None:
        """Reference texts count towards the duplicate features stage they were computed in."""
        if not ref_outs:
            return
        self.seconds["duplicates.features"] = self.seconds.get("duplicates.features", 0.0) + sum(r.seconds for r in ref_outs)
        self.nbytes["duplicates.features"] = self.nbytes.get("duplicates.features", 0) + sum(r.nbytes for r in ref_outs)

    def add_entry(self, i: int, entry: dict, example: Callable[[], dict]) -> None:
        """An entry found over the whole set, after the chunks; ``example`` is called when one is wanted."""
        self.entries.setdefault(i, []).append(entry)
        self.decisions[i] = max(int(self.decisions[i]), ACTION_CODE.get(entry["action"], KEEP))
        r = self.rules.setdefault(entry["rule"], [0, 0])
        r[0] += 1
        r[1] += 1
        examples = self.examples.setdefault(entry["rule"], [])
        if len(examples) < self.max_examples:
            examples.append(example())

    def not_removed(self) -> np.ndarray:
        return self.decisions != REMOVE

    def results(self, originals: Sequence[Any], ids: Sequence[str | None]) -> list[ItemResult]:
        return [
            ItemResult(i, ids[i], self.changed.get(i, originals[i]), DECISION_NAMES[self.decisions[i]],
                       tuple(self.entries.get(i, ())), i in self.changed)
            for i in range(len(originals))
        ]

    def fill_report(self, report: CleanReport, cfg: CleanConfig) -> None:
        """Counts, rules, examples and stage costs (not the run's wall time)."""
        n = len(self.decisions)
        counts = np.bincount(self.decisions, minlength=3) if n else np.zeros(3, dtype=np.int64)
        report.items_in = n
        report.items_kept = int(counts[KEEP])
        report.items_review = int(counts[REVIEW])
        report.items_removed = int(counts[REMOVE])
        report.items_changed = len(self.changed)
        report.rules = {rule: {"action": cfg.action(rule), "items": v[0], "occurrences": v[1]}
                        for rule, v in self.rules.items()}
        report.examples = self.examples
        report.mb_in = self.nbytes.get("encoding", 0) / 1e6
        report.stages = {st: self._stage_cost(st) for st in _REPORTED_STAGES}
        if report.workers > 1:
            report.notes.append("stage seconds are summed over the worker processes; a stage's MB/s is per process")

    def _stage_cost(self, stage: str) -> dict:
        s = self.seconds.get(stage, 0.0)
        # resolving duplicates reads the texts the features were computed on
        default = self.nbytes.get("duplicates.features", 0) if stage == "duplicates.resolve" else 0
        mb = self.nbytes.get(stage, default) / 1e6
        return {"seconds": round(s, 3), "mb": round(mb, 3), "mb_per_s": round(mb / s, 2) if s > 0 else None}
