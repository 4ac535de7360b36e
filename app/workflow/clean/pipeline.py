"""Stage 5 — the cleaning pipeline: items in, cleaned items + decisions + report out.

``run_pipeline(items, config, reference_texts, progress, cancel)`` cleans
LabelDesk items (plain dicts in the record shape: ``messages``, ``responses``,
``labels``, ``safety``, ``provenance`` …) and returns a :class:`CleanResult`:
per item the cleaned item (a *new* dict when anything changed, the very same
object otherwise — inputs are never mutated), its decision (``keep`` |
``remove`` | ``review``) and the entries to append to
``provenance.cleaning``, plus a :class:`~.report.CleanReport`.

Per item, for every text field (``messages.<i>``, ``responses.<id>``):

1. input checks — not a mapping (``input.invalid``), no text
   (``input.empty``), bytes content decoded (``input.bytes_decoded``),
   binary garbage (``input.binary``); an item decided ``remove`` here goes no
   further;
2. encoding repair (``encoding.*``), then U+FFFD left over is flagged
   (``input.replacement_char``);
3. hidden characters (``filter.hidden_text``) and injection markers
   (``filter.injection``) on the repaired text;
4. PII detection and redaction (``pii.*``);
5. repetition (``filter.repetition``) on the final text;

then per item: length bounds (``filter.length_*``), label consistency
(``label.*``), span offsets moved along with changed text (``spans.*``); and
over the whole set: exact / near / reference duplicates (``duplicate.*``) on
the cleaned text of the items not already removed.

Parallelism: items are cut into chunks (``run.chunk_size``) processed by
``run.workers`` processes (``spawn`` start method — safe from a Qt GUI
thread); the duplicate resolution runs in the calling process on the
features the workers computed.  Small inputs (< ``run.parallel_min_items``
items + reference texts) run in-process.  An exception while cleaning one
item is caught and reported on that item (``input.error``); a crashed worker
process makes the pipeline finish the remaining chunks in-process.

Progress: ``progress(stage, done, total)`` with stage ``"clean"`` (items
done / total or ``None`` when the input has no length), ``"reference"`` and
``"duplicates"``.  Cancel: ``cancel`` is a callable returning true, or an
object with ``is_set()`` (``threading.Event``); the run then raises
:class:`~.config.CleanCancelled`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from difflib import SequenceMatcher
from itertools import islice
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

from .config import CleanCancelled, CleanConfig, ConfigError
from .duplicates import DedupFeatures, DedupSettings, compute_features, resolve_duplicates
from .encoding import EncodingRepairer, binary_ratio, first_difference
from .filters import TextFilters, label_checks, safety_labels
from .pii import PiiDetector
from .report import CleanReport
from .text import dedup_text, mask, snippet, utf8_len
from .textio import decode_bytes, read_text_file

__all__ = [
    "CleanConfig",
    "CleanCancelled",
    "ConfigError",
    "CleanResult",
    "ItemResult",
    "CleanReport",
    "run_pipeline",
    "clean_item",
    "read_text_file",
]

KEEP, REVIEW, REMOVE = 0, 1, 2
_DECISION_NAMES = ("keep", "review", "remove")
_ACTION_CODE = {"remove": REMOVE, "review": REVIEW}
_SPAN_ALIGN_LIMIT = 50_000


# --------------------------------------------------------------------------- results

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


# --------------------------------------------------------------------------- worker side

@dataclass
class _ChunkOut:
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
class _RefOut:
    features: DedupFeatures
    repaired: dict  # local index -> repaired text
    seconds: float
    nbytes: int


@dataclass
class _Acc:
    rules: dict = field(default_factory=dict)
    examples: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=lambda: {"encoding": 0.0, "pii": 0.0, "filters": 0.0, "duplicates.features": 0.0})
    nbytes: dict = field(default_factory=lambda: {"encoding": 0, "pii": 0, "filters": 0, "duplicates.features": 0})
    index: int = 0  # input position of the item being cleaned (for examples)


def _field_name(kind: str, i: int, part: dict) -> str:
    if kind == "responses":
        rid = part.get("id")
        return f"responses.{rid}" if isinstance(rid, str) and rid else f"responses.{i}"
    return f"messages.{i}"


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

    # -- helpers -----------------------------------------------------------------
    def _example(self, acc: _Acc, rule: str, **ex) -> None:
        lst = acc.examples.setdefault(rule, [])
        if len(lst) < self.max_examples:
            d = {"index": acc.index}
            d.update((k, v) for k, v in ex.items() if v is not None)
            lst.append(d)

    def _wants_example(self, acc: _Acc, rule: str) -> bool:
        return len(acc.examples.get(rule, ())) < self.max_examples

    # -- one item ---------------------------------------------------------------
    def clean(self, item: Any, acc: _Acc) -> tuple[Any, list, int, str | None]:
        """(new item or None, entries, decision code, dedup text or None)."""
        try:
            return self._clean(item, acc)
        except Exception as exc:  # never let one item break the run
            entries = []
            if self.act["input.error"] != "off":
                entries.append({"rule": "input.error", "action": self.act["input.error"],
                                "error": f"{type(exc).__name__}: {exc}"[:300]})
            return None, entries, _decision(entries), None

    def _clean(self, item: Any, acc: _Acc):
        act = self.act
        entries: list[dict] = []
        iid = item.get("id") if isinstance(item, dict) else None
        iid = str(iid) if iid is not None and iid != "" else None

        def add(rule: str, **kw) -> dict | None:
            a = act[rule]
            if a == "off":
                return None
            e = {"rule": rule, "action": a}
            for k, v in kw.items():
                if v is not None:
                    e[k] = v
            entries.append(e)
            return e

        if not isinstance(item, dict):
            if add("input.invalid", reason=f"not a mapping ({type(item).__name__})"):
                self._example(acc, "input.invalid", id=None, before=snippet(repr(item)[:200], 0, 0, self.width))
            return None, entries, _decision(entries), None
        if iid is None:
            add("input.missing_id")

        # ---- gather the text fields ------------------------------------------------
        fields: list[list] = []  # [kind, index, name, raw, text, forced_change]
        for kind in self.fields:
            seq = item.get(kind)
            if seq is None:
                continue
            if not isinstance(seq, list):
                add("input.unsupported_content", field=kind, reason=f"{kind} is a {type(seq).__name__}, not a list")
                continue
            for i, part in enumerate(seq):
                if not isinstance(part, dict):
                    add("input.unsupported_content", field=f"{kind}.{i}", reason=f"not a mapping ({type(part).__name__})")
                    continue
                name = _field_name(kind, i, part)
                c = part.get("content")
                if isinstance(c, str):
                    fields.append([kind, i, name, c, c, False])
                elif isinstance(c, (bytes, bytearray, memoryview)):
                    dec = decode_bytes(bytes(c))
                    add("input.bytes_decoded", field=name, encoding=dec.encoding, invalid_bytes=dec.invalid_bytes or None)
                    fields.append([kind, i, name, dec.text, dec.text, True])
                elif c is None:
                    fields.append([kind, i, name, "", "", False])
                else:
                    add("input.unsupported_content", field=name, reason=f"content is a {type(c).__name__}")
        if not fields or all(not f[4].strip() for f in fields):
            add("input.empty")
            return None, entries, _decision(entries), None
        if act["input.binary"] != "off":
            for f in fields:
                t = f[4]
                if len(t) >= self.bin_min:
                    r = binary_ratio(t)
                    if r >= self.bin_thr:
                        add("input.binary", field=f[2], ratio=round(r, 3))
                        if self._wants_example(acc, "input.binary"):
                            self._example(acc, "input.binary", id=iid, field=f[2], before=snippet(t[:120], 0, 0, self.width))
        if _decision(entries) == REMOVE:
            return None, entries, REMOVE, None

        # ---- per field stages ------------------------------------------------------------
        pii_found = False
        injection_found = False
        verdict, _behavior = safety_labels(item)
        exempt_injection = self.filters.exempt_safety_labeled and verdict in ("unsafe", "borderline")
        sec = acc.seconds
        nb = acc.nbytes
        perf = time.perf_counter
        for f in fields:
            name, text = f[2], f[4]
            if not text:
                continue
            size = utf8_len(text)
            # encoding
            t0 = perf()
            res = self.repairer.repair(text)
            t1 = perf()
            sec["encoding"] += t1 - t0
            nb["encoding"] += size
            if res.counts:
                for rule, n in res.counts.items():
                    add(rule, field=name, count=n)
                    if self._wants_example(acc, rule):
                        d = first_difference(text, res.text)
                        self._example(acc, rule, id=iid, field=name, before=snippet(text, d, d + 1, self.width),
                                      after=snippet(res.text, d, d + 1, self.width))
                text = res.text
            if "\ufffd" in text and act["input.replacement_char"] != "off":
                add("input.replacement_char", field=name, count=text.count("\ufffd"))
                if self._wants_example(acc, "input.replacement_char"):
                    p = text.index("\ufffd")
                    self._example(acc, "input.replacement_char", id=iid, field=name, before=snippet(text, p, p + 1, self.width))
            # filters on the repaired text: hidden characters, injection markers
            t0 = perf()
            if act["filter.hidden_text"] != "off":
                spans = self.filters.hidden(text)
                if spans:
                    add("filter.hidden_text", field=name, count=len(spans),
                        chars=sorted({f"U+{ord(text[a]):04X}" for a, _ in spans})[:10])
                    new = self.filters.strip_hidden(text, spans) if act["filter.hidden_text"] == "strip" else text
                    if self._wants_example(acc, "filter.hidden_text"):
                        a0 = spans[0][0]
                        self._example(acc, "filter.hidden_text", id=iid, field=name, before=snippet(text, a0, a0 + 1, self.width),
                                      after=snippet(new, a0, a0, self.width) if new is not text else None)
                    text = new
            if act["filter.injection"] != "off" or act["label.safe_with_injection"] != "off":
                m = self.filters.injection(text)
                if m is not None:
                    injection_found = True
                    if not exempt_injection and add("filter.injection", field=name, match=m.group()[:80]):
                        if self._wants_example(acc, "filter.injection"):
                            self._example(acc, "filter.injection", id=iid, field=name,
                                          before=snippet(text, m.start(), m.end(), self.width))
            t1 = perf()
            sec["filters"] += t1 - t0
            nb["filters"] += size
            # pii
            findings = self.pii.find(text)
            if findings:
                pii_found = True
                by_type: dict[str, list] = {}
                for fd in findings:
                    by_type.setdefault(fd.type, []).append(fd)
                redacted = self.pii.redact(text, findings)
                for typ, fds in by_type.items():
                    rule = f"pii.{typ}"
                    kinds = sorted({fd.detail for fd in fds if fd.detail})
                    add(rule, field=name, count=len(fds), kinds=kinds or None)
                    if self._wants_example(acc, rule):
                        self._example(acc, rule, id=iid, field=name, **self._pii_example(text, redacted, findings, fds[0]))
                text = redacted
            t2 = perf()
            sec["pii"] += t2 - t1
            nb["pii"] += size
            # repetition on the final text
            if act["filter.repetition"] != "off":
                rep = self.filters.repetition(text)
                if rep is not None:
                    start = rep.pop("start", 0)
                    add("filter.repetition", field=name, **rep)
                    if self._wants_example(acc, "filter.repetition"):
                        self._example(acc, "filter.repetition", id=iid, field=name, before=snippet(text, start, start, self.width))
            sec["filters"] += perf() - t2
            f[4] = text

        # ---- rebuild the item if anything changed --------------------------------------
        changed_fields = [f for f in fields if f[5] or f[4] != f[3]]
        new_item = None
        if changed_fields:
            new_item = dict(item)
            seqs: dict[str, list] = {}
            for kind, i, _name, _raw, text, _forced in changed_fields:
                seq = seqs.get(kind)
                if seq is None:
                    seq = seqs[kind] = list(item[kind])
                part = dict(seq[i])
                part["content"] = text
                seq[i] = part
            new_item.update(seqs)
            spans = item.get("spans")
            if isinstance(spans, list) and spans:
                self._remap_spans(new_item, spans, {f[2]: (f[3], f[4]) for f in changed_fields}, add)
        view = new_item if new_item is not None else item

        # ---- item-level rules ------------------------------------------------------------
        t0 = perf()
        total = sum(len(f[4]) for f in fields)
        lf = self.config["filters"]["length"]
        if total < lf["min_chars"] and add("filter.length_min", chars=total, min_chars=lf["min_chars"]):
            self._example(acc, "filter.length_min", id=iid, chars=total, before=snippet(fields[0][4], 0, 0, self.width))
        if total > lf["max_chars"] and add("filter.length_max", chars=total, max_chars=lf["max_chars"]):
            self._example(acc, "filter.length_max", id=iid, chars=total, before=snippet(fields[0][4][:200], 0, 0, self.width))
        for lab in label_checks(view, self.filters, pii_found, injection_found):
            rule = lab.pop("rule")
            if add(rule, **lab) and self._wants_example(acc, rule):
                self._example(acc, rule, id=iid, **{k: str(v) for k, v in lab.items()})
        sec["filters"] += perf() - t0

        decision = _decision(entries)
        dtext = None
        if decision != REMOVE:
            dtext = dedup_text(view, self.dedup.key)
        return new_item, entries, decision, dtext

    def _pii_example(self, before: str, after: str, findings: list, fd) -> dict:
        # position of fd in the redacted text
        shift = 0
        for g in findings:
            if g.start >= fd.start:
                break
            if self.pii.actions.get(g.type) == "redact":
                shift += len(self.pii.placeholder(g)) - (g.end - g.start)
        if self.pii.actions.get(fd.type) == "redact":
            a_start, a_end = fd.start + shift, fd.start + shift + len(self.pii.placeholder(fd))
        else:
            a_start, a_end = fd.start + shift, fd.end + shift
        shown = before
        if not self.show_pii:
            # every finding, not only this one: the snippet around it may hold others
            for g in sorted(findings, key=lambda g: g.start, reverse=True):
                shown = shown[:g.start] + mask(g.value) + shown[g.end:]
        b_end = fd.start + (len(fd.value) if self.show_pii else len(mask(fd.value)))
        out = {"before": snippet(shown, fd.start, b_end, self.width)}
        if after is not before:
            out["after"] = snippet(after, a_start, a_end, self.width)
        if fd.detail:
            out["kind"] = fd.detail
        return out

    def _remap_spans(self, new_item: dict, spans: list, changes: dict, add) -> None:
        """Move span offsets of changed fields along with the text (code points)."""
        aligners: dict[str, list | None] = {}
        out, moved, dropped = [], 0, 0
        for sp in spans:
            target = sp.get("target") if isinstance(sp, dict) else None
            if target not in changes:
                out.append(sp)
                continue
            old, new = changes[target]
            if target not in aligners:
                if len(old) > _SPAN_ALIGN_LIMIT or len(new) > _SPAN_ALIGN_LIMIT:
                    aligners[target] = None
                else:
                    aligners[target] = SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
            ops = aligners[target]
            s, e = sp.get("start"), sp.get("end")
            if ops is None or not isinstance(s, int) or not isinstance(e, int) or not 0 <= s <= e <= len(old):
                dropped += 1
                continue
            s2, e2 = _map_offset(ops, s, False, len(new)), _map_offset(ops, e, True, len(new))
            if e2 <= s2 and e > s:
                dropped += 1
                continue
            if (s2, e2) != (s, e):
                moved += 1
            out.append({**sp, "start": s2, "end": e2})
        if moved or dropped:
            new_item["spans"] = out
        if moved:
            add("spans.remapped", count=moved)
        if dropped:
            add("spans.dropped", count=dropped)

    # -- chunks -----------------------------------------------------------------------
    def process_items(self, items: list, base: int) -> _ChunkOut:
        acc = _Acc()
        n = len(items)
        decisions = np.zeros(n, dtype=np.uint8)
        changed: dict[int, dict] = {}
        entries: dict[int, list] = {}
        texts: list[str | None] = [None] * n
        for i, item in enumerate(items):
            acc.index = base + i
            new, ents, dec, dtext = self.clean(item, acc)
            decisions[i] = dec
            if new is not None:
                changed[i] = new
            if ents:
                entries[i] = ents
                seen: dict[str, int] = {}
                for e in ents:
                    seen[e["rule"]] = seen.get(e["rule"], 0) + int(e.get("count", 1) or 1)
                for rule, occ in seen.items():
                    r = acc.rules.setdefault(rule, [0, 0])
                    r[0] += 1
                    r[1] += occ
            texts[i] = dtext
        t0 = time.perf_counter()
        feats = self._features(texts)
        acc.seconds["duplicates.features"] += time.perf_counter() - t0
        acc.nbytes["duplicates.features"] += sum(utf8_len(t) for t in texts if t)
        return _ChunkOut(base, n, changed, entries, decisions, feats, acc.rules, acc.examples, acc.seconds, acc.nbytes)

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

    def process_refs(self, texts: list) -> _RefOut:
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
        return _RefOut(feats, repaired, time.perf_counter() - t0, nbytes)


def _map_offset(ops: list, pos: int, is_end: bool, new_len: int) -> int:
    for tag, i1, i2, j1, j2 in ops:
        if (i1 <= pos < i2) or (is_end and i1 < pos <= i2) or (pos == i1 == i2):
            if tag == "equal":
                return j1 + (pos - i1)
            return j2 if is_end else j1
    return new_len if pos > 0 else 0


def _decision(entries: list) -> int:
    d = KEEP
    for e in entries:
        c = _ACTION_CODE.get(e["action"], KEEP)
        if c > d:
            d = c
    return d


def clean_item(item: Any, config: CleanConfig | Mapping | None = None) -> ItemResult:
    """Clean one item (no duplicate detection): handy for previews and tests."""
    cfg = _as_config(config)
    proc = _processor_for(cfg)
    new, entries, dec, _ = proc.clean(item, _Acc())
    iid = item.get("id") if isinstance(item, dict) else None
    return ItemResult(0, str(iid) if iid is not None else None, new if new is not None else item,
                      _DECISION_NAMES[dec], tuple(entries), new is not None)


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


# --------------------------------------------------------------------------- runners

_WORKER: _Processor | None = None


def _init_worker(data: dict) -> None:
    global _WORKER
    _WORKER = _Processor(CleanConfig(data))


def _in_worker(method: str, *args):
    return getattr(_WORKER, method)(*args)


class _InlineRunner:
    workers = 1

    def __init__(self, cfg: CleanConfig):
        self.proc = _processor_for(cfg)
        self.q: deque = deque()

    def submit(self, method: str, *args) -> None:
        self.q.append(getattr(self.proc, method)(*args))

    def pending(self) -> int:
        return len(self.q)

    def next(self):
        return self.q.popleft()

    def close(self, cancel: bool = False) -> None:
        self.q.clear()


@contextmanager
def _children_without_sigint() -> Iterator[None]:
    """Processes started in this block never see SIGINT: it is blocked, and they inherit the mask.

    A terminal's Ctrl+C reaches the whole process group: without this each worker would
    die with a KeyboardInterrupt traceback. The parent alone handles it and cancels the
    pool (``run_pipeline`` closes it on any exception). Blocked, not ignored: a Ctrl+C
    during the block is delivered to the parent when it ends, never lost.
    """
    if not hasattr(signal, "pthread_sigmask"):  # not POSIX
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _PoolRunner:
    def __init__(self, cfg: CleanConfig, workers: int):
        self.cfg = cfg
        self.workers = workers
        self.ex: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=workers, mp_context=mp.get_context("spawn"),
            initializer=_init_worker, initargs=(cfg.data,),
        )
        self.q: deque = deque()
        self.fallback: _Processor | None = None
        self.notes: list[str] = []

    def submit(self, method: str, *args) -> None:
        if self.ex is None:
            self.q.append((None, method, args))
            return
        try:
            with _children_without_sigint():  # the pool starts its workers on submit
                fut = self.ex.submit(_in_worker, method, *args)
        except Exception as exc:  # pool broken: carry on in-process
            self._broken(exc)
            fut = None
        self.q.append((fut, method, args))

    def pending(self) -> int:
        return len(self.q)

    def _broken(self, exc: BaseException) -> None:
        self.notes.append(f"worker pool failed ({type(exc).__name__}: {exc}); the rest ran in-process")
        if self.ex is not None:
            self.ex.shutdown(wait=False, cancel_futures=True)
            self.ex = None

    def next(self):
        fut, method, args = self.q.popleft()
        if fut is not None:
            try:
                return fut.result()
            except Exception as exc:
                self._broken(exc)
        if self.fallback is None:
            self.fallback = _processor_for(self.cfg)
        return getattr(self.fallback, method)(*args)

    def close(self, cancel: bool = False) -> None:
        if self.ex is not None:
            self.ex.shutdown(wait=True, cancel_futures=cancel)
            self.ex = None
        self.q.clear()


# --------------------------------------------------------------------------- run

def _as_config(config) -> CleanConfig:
    if config is None:
        return CleanConfig.default()
    if isinstance(config, CleanConfig):
        return config
    if isinstance(config, Mapping):
        return CleanConfig.from_dict(config)
    if isinstance(config, (str, os.PathLike)):
        return CleanConfig.from_yaml(config)
    raise ConfigError(f"config must be a CleanConfig, a mapping or a YAML path, not {type(config).__name__}")


def _cancel_fn(cancel) -> Callable[[], bool]:
    if cancel is None:
        return lambda: False
    if hasattr(cancel, "is_set"):
        return cancel.is_set
    if callable(cancel):
        return lambda: bool(cancel())
    raise TypeError("cancel must be a callable or an object with is_set()")


def _workers(cfg: CleanConfig) -> int:
    w = cfg["run"]["workers"]
    if w == "auto":
        try:
            w = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            w = os.cpu_count() or 1
    return max(1, int(w))


def _item_id(item: Any) -> str | None:
    if isinstance(item, dict):
        v = item.get("id")
        if v is not None and v != "":
            return str(v)
    return None


def run_pipeline(
    items: Iterable[Any],
    config: CleanConfig | Mapping | str | os.PathLike | None = None,
    reference_texts: Iterable[tuple[str, str]] = (),
    progress: Callable[[str, int, int | None], None] | None = None,
    cancel: Callable[[], bool] | Any = None,
) -> CleanResult:
    """Clean ``items``; see the module docstring.  Never mutates the inputs."""
    cfg = _as_config(config)
    is_cancelled = _cancel_fn(cancel)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t_start = time.perf_counter()
    report = CleanReport(started_at=started, config=cfg.to_dict())
    total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]

    # reference texts: (id, text) pairs
    ref_ids: list[str] = []
    ref_texts: list[str] = []
    for pair in reference_texts:
        try:
            rid, txt = pair
        except (TypeError, ValueError):
            report.reference_texts_skipped += 1
            continue
        if isinstance(txt, (bytes, bytearray)):
            txt = decode_bytes(bytes(txt)).text
        if not isinstance(txt, str) or not txt.strip():
            report.reference_texts_skipped += 1
            continue
        ref_ids.append(str(rid))
        ref_texts.append(txt)
    report.reference_texts = len(ref_texts)

    chunk_size = int(cfg["run"]["chunk_size"])
    it = iter(items)
    min_par = int(cfg["run"]["parallel_min_items"])
    head = list(islice(it, max(min_par, chunk_size)))
    exhausted = len(head) < max(min_par, chunk_size)
    workers = _workers(cfg)
    small = exhausted and len(head) + len(ref_texts) < min_par
    runner = _InlineRunner(cfg) if (workers == 1 or small) else _PoolRunner(cfg, workers)
    report.workers = runner.workers

    originals: list[Any] = []
    outs: list[_ChunkOut] = []
    ref_outs: list[_RefOut] = []
    max_inflight = 2 * runner.workers + 1
    done_items = 0

    def collect(block: bool) -> None:
        nonlocal done_items
        while runner.pending() and (block or runner.pending() >= max_inflight):
            out = runner.next()
            if isinstance(out, _ChunkOut):
                outs.append(out)
                done_items += out.n
                if progress is not None:
                    progress("clean", done_items, total)
            else:
                ref_outs.append(out)
                if progress is not None:
                    progress("reference", sum(len(r.features) for r in ref_outs), len(ref_texts))
            if is_cancelled():
                raise CleanCancelled()

    def chunks() -> Iterator[list]:
        for i in range(0, len(head), chunk_size):
            yield head[i:i + chunk_size]
        if not exhausted:
            while True:
                c = list(islice(it, chunk_size))
                if not c:
                    break
                yield c

    try:
        base = 0
        for chunk in chunks():
            if is_cancelled():
                raise CleanCancelled()
            runner.submit("process_items", chunk, base)
            originals.extend(chunk)
            base += len(chunk)
            collect(False)
        for i in range(0, len(ref_texts), chunk_size):
            if is_cancelled():
                raise CleanCancelled()
            runner.submit("process_refs", ref_texts[i:i + chunk_size])
            collect(False)
        collect(True)
    except BaseException:
        runner.close(cancel=True)
        raise
    runner.close()
    report.notes.extend(getattr(runner, "notes", []))
    head = []

    # ---- merge chunk results -------------------------------------------------------
    N = len(originals)
    decisions = np.zeros(N, dtype=np.uint8)
    changed: dict[int, dict] = {}
    entries: dict[int, list] = {}
    seconds: dict[str, float] = {}
    nbytes: dict[str, int] = {}
    rules: dict[str, list] = {}
    examples: dict[str, list] = {}
    max_ex = int(cfg["report"]["max_examples"])
    for out in outs:
        b = out.base
        decisions[b:b + out.n] = out.decisions
        for k, v in out.changed.items():
            changed[b + k] = v
        for k, v in out.entries.items():
            entries[b + k] = v
        for k, v in out.seconds.items():
            seconds[k] = seconds.get(k, 0.0) + v
        for k, v in out.nbytes.items():
            nbytes[k] = nbytes.get(k, 0) + v
        for rule, (ni, no) in out.rules.items():
            r = rules.setdefault(rule, [0, 0])
            r[0] += ni
            r[1] += no
        for rule, exs in out.examples.items():
            lst = examples.setdefault(rule, [])
            lst.extend(exs[: max(0, max_ex - len(lst))])
    dset = _processor_for(cfg).dedup if isinstance(runner, _InlineRunner) else DedupSettings(cfg)
    item_feats = DedupFeatures.concat([o.features for o in outs], dset.bands)
    ref_feats = DedupFeatures.concat([r.features for r in ref_outs], dset.bands)
    if ref_outs:
        seconds["duplicates.features"] = seconds.get("duplicates.features", 0.0) + sum(r.seconds for r in ref_outs)
        nbytes["duplicates.features"] = nbytes.get("duplicates.features", 0) + sum(r.nbytes for r in ref_outs)
        pos = 0
        for r in ref_outs:
            for k, v in r.repaired.items():
                ref_texts[pos + k] = v
            pos += len(r.features)
    outs = []
    ids = [_item_id(o) for o in originals]

    # ---- duplicates ---------------------------------------------------------------------
    t0 = time.perf_counter()
    if dset.exact_on or dset.near_on or dset.ref_on:
        rank = None
        if dset.keep == "id":
            order = sorted(range(N), key=lambda i: (ids[i] is None, ids[i] or "", i))
            rank = np.empty(N, dtype=np.int64)
            rank[np.asarray(order, dtype=np.int64)] = np.arange(N, dtype=np.int64)
        key = dset.key

        def text_of(i: int) -> str:
            return dedup_text(changed.get(i, originals[i]), key)

        matches = resolve_duplicates(
            ref_feats, item_feats, decisions != REMOVE, dset, text_of, lambda r: ref_texts[r],
            item_rank=rank, cancel=is_cancelled,
            progress=(lambda d, t: progress("duplicates", d, t)) if progress is not None else None,
        )
        width = int(cfg["report"]["snippet_chars"])
        for i in sorted(matches):
            m = matches[i]
            a = cfg.action(m.rule)
            if m.of >= 0:
                of_id, of_text = ids[m.of], None
            else:
                of_id, of_text = ref_ids[-1 - m.of], ref_texts[-1 - m.of]
            e = {"rule": m.rule, "action": a, "duplicate_of": of_id, "jaccard": m.jaccard}
            if m.of >= 0 and of_id is None:
                e["duplicate_of_index"] = m.of
            if m.rule == "duplicate.reference":
                e["match"] = m.match
            entries.setdefault(i, []).append(e)
            decisions[i] = max(int(decisions[i]), _ACTION_CODE.get(a, KEEP))
            r = rules.setdefault(m.rule, [0, 0])
            r[0] += 1
            r[1] += 1
            lst = examples.setdefault(m.rule, [])
            if len(lst) < max_ex:
                if of_text is None:
                    of_text = text_of(m.of)
                lst.append({"index": i, "id": ids[i], "duplicate_of": of_id, "jaccard": m.jaccard, "match": m.match,
                            "text": snippet(text_of(i)[:4 * width], 0, 0, 2 * width),
                            "duplicate_of_text": snippet(of_text[:4 * width], 0, 0, 2 * width)})
    seconds["duplicates.resolve"] = time.perf_counter() - t0

    # ---- results and report ---------------------------------------------------------------
    results = [
        ItemResult(i, ids[i], changed.get(i, originals[i]), _DECISION_NAMES[decisions[i]],
                   tuple(entries.get(i, ())), i in changed)
        for i in range(N)
    ]
    counts = np.bincount(decisions, minlength=3) if N else np.zeros(3, dtype=np.int64)
    report.items_in = N
    report.items_kept = int(counts[KEEP])
    report.items_review = int(counts[REVIEW])
    report.items_removed = int(counts[REMOVE])
    report.items_changed = len(changed)
    report.rules = {rule: {"action": cfg.action(rule), "items": v[0], "occurrences": v[1]} for rule, v in rules.items()}
    report.examples = examples
    report.wall_seconds = time.perf_counter() - t_start
    report.mb_in = nbytes.get("encoding", 0) / 1e6
    stages = {}
    for st in ("encoding", "filters", "pii", "duplicates.features", "duplicates.resolve"):
        s = seconds.get(st, 0.0)
        mb = nbytes.get(st, nbytes.get("duplicates.features", 0) if st == "duplicates.resolve" else 0) / 1e6
        stages[st] = {"seconds": round(s, 3), "mb": round(mb, 3), "mb_per_s": round(mb / s, 2) if s > 0 else None}
    report.stages = stages
    if runner.workers > 1:
        report.notes.append("stage seconds are summed over the worker processes; a stage's MB/s is per process")
    if progress is not None:
        progress("done", N, N)
    return CleanResult(results, report)
