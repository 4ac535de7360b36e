"""The per-item cleaning step, and the chunks of it a worker process runs.

A :class:`_Processor` holds the detectors built from one configuration (building them
compiles many patterns): one per worker process, or one per configuration in-process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import CleanConfig
from .duplicates import DedupFeatures, DedupSettings, compute_features
from .encoding import EncodingRepairer
from .fields import TextField, flag_binary, gather_fields, item_id, rebuild
from .filters import TextFilters, safety_labels
from .itemlog import ChunkStats, ItemLog
from .pii import PiiDetector
from .results import REMOVE, decision_code
from .stages import (flag_replacement_chars, hidden_text, injection, label_consistency, length_bounds,
                     record_repairs, redact_pii, repetition)
from .text import dedup_text, snippet, utf8_len

# new item or None, entries, decision code, text to de-duplicate or None
Cleaned = tuple[Any, list, int, str | None]


@dataclass
class ChunkOut:
    base: int
    n: int
    changed: dict  # local index -> new item
    entries: dict  # local index -> [entry, ...]
    decisions: np.ndarray  # uint8 per item
    features: DedupFeatures
    rules: dict  # rule -> [items, occurrences]
    examples: dict  # rule -> [example, ...]
    seconds: dict  # stage -> seconds
    nbytes: dict  # stage -> bytes


@dataclass
class RefOut:
    features: DedupFeatures
    repaired: dict  # local index -> repaired text
    seconds: float
    nbytes: int


class _Processor:
    """Cleans items and computes duplicate features; one per process."""

    def __init__(self, config: CleanConfig):
        self.config = config
        self.act = dict(config["actions"])
        self.fields = tuple(config["fields"])
        self.repairer = EncodingRepairer(config)
        self.pii = PiiDetector(config)
        self.filters = TextFilters(config)
        self.dedup = DedupSettings(config)
        self.bin_thr = float(config["input"]["binary_threshold"])
        self.bin_min = int(config["input"]["binary_min_chars"])
        rep = config["report"]
        self.max_examples = int(rep["max_examples"])
        self.width = int(rep["snippet_chars"])
        self.show_pii = bool(rep["show_pii"])

    # -- one item ---------------------------------------------------------------
    def clean(self, item: Any, stats: ChunkStats) -> Cleaned:
        try:
            return self._clean(item, stats)
        except Exception as exc:  # never let one item break the run
            entries = []
            if self.act["input.error"] != "off":
                entries.append({"rule": "input.error", "action": self.act["input.error"],
                                "error": f"{type(exc).__name__}: {exc}"[:300]})
            return None, entries, decision_code(entries), None

    def _clean(self, item: Any, stats: ChunkStats) -> Cleaned:
        log = ItemLog(self.act, stats, self.max_examples, self.width, item_id(item))
        if not isinstance(item, dict):
            if log.add("input.invalid", reason=f"not a mapping ({type(item).__name__})"):
                log.example("input.invalid", before=snippet(repr(item)[:200], 0, 0, self.width))
            return None, log.entries, decision_code(log.entries), None
        if log.iid is None:
            log.add("input.missing_id")
        fields = gather_fields(item, self.fields, log)
        if not fields or all(not f.text.strip() for f in fields):
            log.add("input.empty")
            return None, log.entries, decision_code(log.entries), None
        flag_binary(fields, log, self.bin_min, self.bin_thr)
        if decision_code(log.entries) == REMOVE:  # cleaning what is dropped anyway is wasted work
            return None, log.entries, REMOVE, None

        pii_found, injection_found = self._clean_fields(item, fields, log)
        new_item = rebuild(item, fields, log)
        view = new_item if new_item is not None else item
        t0 = time.perf_counter()
        length_bounds(fields, log, self.config["filters"]["length"])
        label_consistency(view, self.filters, log, pii_found, injection_found)
        stats.seconds["filters"] += time.perf_counter() - t0

        decision = decision_code(log.entries)
        dtext = dedup_text(view, self.dedup.key) if decision != REMOVE else None
        return new_item, log.entries, decision, dtext

    def _clean_fields(self, item: dict, fields: list[TextField], log: ItemLog) -> tuple[bool, bool]:
        """Run the field stages on every non-empty field; (PII found, injection found) in any."""
        verdict, _behavior = safety_labels(item)
        # injection markers are expected in items labelled as attacks
        exempt = self.filters.exempt_safety_labeled and verdict in ("unsafe", "borderline")
        pii_found = injection_found = False
        for f in fields:
            if f.text:
                f.text, pii, injected = self._clean_field(f.name, f.text, log, exempt)
                pii_found = pii_found or pii
                injection_found = injection_found or injected
        return pii_found, injection_found

    def _clean_field(self, name: str, text: str, log: ItemLog, exempt: bool) -> tuple[str, bool, bool]:
        """(cleaned text, PII found, injection found); times each stage for the report's MB/s."""
        perf = time.perf_counter
        sec, nb = log.stats.seconds, log.stats.nbytes
        size = utf8_len(text)
        t0 = perf()
        res = self.repairer.repair(text)
        sec["encoding"] += perf() - t0
        nb["encoding"] += size
        text = record_repairs(log, name, text, res)
        flag_replacement_chars(log, name, text)
        t0 = perf()
        text = hidden_text(self.filters, log, name, text)
        injected = injection(self.filters, log, name, text, exempt)
        t1 = perf()
        sec["filters"] += t1 - t0
        nb["filters"] += size
        text, pii = redact_pii(self.pii, log, name, text, self.show_pii)
        t2 = perf()
        sec["pii"] += t2 - t1
        nb["pii"] += size
        repetition(self.filters, log, name, text)
        sec["filters"] += perf() - t2
        return text, pii, injected

    # -- chunks -----------------------------------------------------------------------
    def process_items(self, items: list, base: int) -> ChunkOut:
        stats = ChunkStats()
        n = len(items)
        decisions = np.zeros(n, dtype=np.uint8)
        changed: dict[int, dict] = {}
        entries: dict[int, list] = {}
        texts: list[str | None] = [None] * n
        for i, item in enumerate(items):
            stats.index = base + i
            new, ents, dec, dtext = self.clean(item, stats)
            decisions[i] = dec
            if new is not None:
                changed[i] = new
            if ents:
                entries[i] = ents
                _count_rules(stats, ents)
            texts[i] = dtext
        t0 = time.perf_counter()
        feats = self._features(texts)
        stats.seconds["duplicates.features"] += time.perf_counter() - t0
        stats.nbytes["duplicates.features"] += sum(utf8_len(t) for t in texts if t)
        return ChunkOut(base, n, changed, entries, decisions, feats, stats.rules, stats.examples, stats.seconds,
                        stats.nbytes)

    def _features(self, texts: list) -> DedupFeatures:
        try:
            return compute_features(texts, self.dedup)
        except Exception:
            # one bad text must not cost the chunk its de-duplication
            parts = []
            for t in texts:
                try:
                    parts.append(compute_features([t], self.dedup))
                except Exception:
                    parts.append(compute_features([None], self.dedup))
            return DedupFeatures.concat(parts, self.dedup.bands)

    def process_refs(self, texts: list) -> RefOut:
        t0 = time.perf_counter()
        repaired = {}
        fixed = []
        nbytes = 0
        for i, t in enumerate(texts):
            nbytes += utf8_len(t)
            r = self.repairer.repair(t).text
            if r != t:
                repaired[i] = r
            fixed.append(r)
        feats = self._features(fixed)
        return RefOut(feats, repaired, time.perf_counter() - t0, nbytes)


def _count_rules(stats: ChunkStats, entries: list[dict]) -> None:
    """An item counts once per rule; its occurrences are the entries' counts."""
    seen: dict[str, int] = {}
    for e in entries:
        seen[e["rule"]] = seen.get(e["rule"], 0) + int(e.get("count", 1) or 1)
    for rule, occ in seen.items():
        r = stats.rules.setdefault(rule, [0, 0])
        r[0] += 1
        r[1] += occ


_PROC_CACHE: dict[int, tuple[CleanConfig, _Processor]] = {}


def _processor_for(cfg: CleanConfig) -> _Processor:
    hit = _PROC_CACHE.get(id(cfg))
    if hit is not None and hit[0] is cfg:
        return hit[1]
    proc = _Processor(cfg)
    if len(_PROC_CACHE) > 8:
        _PROC_CACHE.clear()
    _PROC_CACHE[id(cfg)] = (cfg, proc)
    return proc
