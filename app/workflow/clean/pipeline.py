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

Where the parts live: the per-item step in :mod:`.cleaner`, made of the field
stages in :mod:`.stages` (fields read and written back in :mod:`.fields`, spans
moved in :mod:`.spans`); the worker pool in :mod:`.runners`; the duplicates
stage in :mod:`.dedup_stage`; the merge of the chunks and the report in
:mod:`.assemble`.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from itertools import islice
from typing import Any, Callable, Iterable, Iterator, Mapping

from .assemble import RunTotals
from .cleaner import ChunkOut, RefOut, _processor_for
from .config import CleanCancelled, CleanConfig, ConfigError
from .dedup_stage import References, mark_duplicates
from .duplicates import DedupSettings
from .fields import item_id
from .itemlog import ChunkStats
from .report import CleanReport
from .results import DECISION_NAMES, CleanResult, ItemResult
from .runners import InlineRunner, PoolRunner, worker_count
from .textio import read_text_file

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

Progress = Callable[[str, int, int | None], None]
Runner = InlineRunner | PoolRunner


def clean_item(item: Any, config: CleanConfig | Mapping | None = None) -> ItemResult:
    """Clean one item (no duplicate detection): handy for previews and tests."""
    cfg = _as_config(config)
    proc = _processor_for(cfg)
    new, entries, dec, _ = proc.clean(item, ChunkStats())
    iid = item.get("id") if isinstance(item, dict) else None
    return ItemResult(0, str(iid) if iid is not None else None, new if new is not None else item,
                      DECISION_NAMES[dec], tuple(entries), new is not None)


def run_pipeline(
    items: Iterable[Any],
    config: CleanConfig | Mapping | str | os.PathLike | None = None,
    reference_texts: Iterable[tuple[str, str]] = (),
    progress: Progress | None = None,
    cancel: Callable[[], bool] | Any = None,
) -> CleanResult:
    """Clean ``items``; see the module docstring.  Never mutates the inputs."""
    cfg = _as_config(config)
    is_cancelled = _cancel_fn(cancel)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t_start = time.perf_counter()
    report = CleanReport(started_at=started, config=cfg.to_dict())
    total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
    refs = References.read(reference_texts)
    report.reference_texts_skipped += refs.skipped
    report.reference_texts = len(refs.texts)

    runner, chunks = _start(items, cfg, len(refs.texts))
    report.workers = runner.workers
    originals, outs, ref_outs = _Feed(runner, progress, total, len(refs.texts), is_cancelled).run(
        chunks, refs.texts, int(cfg["run"]["chunk_size"]))
    report.notes.extend(runner.notes)

    dset = runner.proc.dedup if isinstance(runner, InlineRunner) else DedupSettings(cfg)
    run = RunTotals.merge(outs, len(originals), dset.bands, int(cfg["report"]["max_examples"]))
    del outs  # run.features holds a copy of their features, the bulk of them: free these before the duplicates stage
    run.add_reference_costs(ref_outs)
    refs.take(ref_outs, dset.bands)
    ids = [item_id(o) for o in originals]
    t0 = time.perf_counter()
    mark_duplicates(run, originals, ids, refs, dset, cfg,
                    (lambda d, t: progress("duplicates", d, t)) if progress is not None else None, is_cancelled)
    run.seconds["duplicates.resolve"] = time.perf_counter() - t0

    results = run.results(originals, ids)
    run.fill_report(report, cfg)
    report.wall_seconds = time.perf_counter() - t_start
    if progress is not None:
        progress("done", len(originals), len(originals))
    return CleanResult(results, report)


def _as_config(config: Any) -> CleanConfig:
    if config is None:
        return CleanConfig.default()
    if isinstance(config, CleanConfig):
        return config
    if isinstance(config, Mapping):
        return CleanConfig.from_dict(config)
    if isinstance(config, (str, os.PathLike)):
        return CleanConfig.from_yaml(config)
    raise ConfigError(f"config must be a CleanConfig, a mapping or a YAML path, not {type(config).__name__}")


def _cancel_fn(cancel: Any) -> Callable[[], bool]:
    if cancel is None:
        return lambda: False
    if hasattr(cancel, "is_set"):
        return cancel.is_set
    if callable(cancel):
        return lambda: bool(cancel())
    raise TypeError("cancel must be a callable or an object with is_set()")


def _start(items: Iterable[Any], cfg: CleanConfig, n_refs: int) -> tuple[Runner, Iterator[list]]:
    """The runner for ``items`` and their chunks: a pool only pays off past ``run.parallel_min_items``."""
    chunk_size = int(cfg["run"]["chunk_size"])
    min_par = int(cfg["run"]["parallel_min_items"])
    it = iter(items)
    head = list(islice(it, max(min_par, chunk_size)))
    exhausted = len(head) < max(min_par, chunk_size)
    workers = worker_count(cfg)
    small = exhausted and len(head) + n_refs < min_par
    runner = InlineRunner(_processor_for(cfg)) if (workers == 1 or small) else PoolRunner(cfg, workers)
    return runner, _chunks(head, None if exhausted else it, chunk_size)


def _chunks(head: list, rest: Iterator[Any] | None, size: int) -> Iterator[list]:
    for i in range(0, len(head), size):
        yield head[i:i + size]
    if rest is not None:
        while chunk := list(islice(rest, size)):
            yield chunk


class _Feed:
    """Submits chunks to a runner and collects what comes back, with a bounded number in flight."""

    def __init__(self, runner: Runner, progress: Progress | None, total: int | None, n_refs: int,
                 is_cancelled: Callable[[], bool]):
        self.runner = runner
        self.progress = progress
        self.total = total
        self.n_refs = n_refs
        self.is_cancelled = is_cancelled
        # enough to keep every worker busy while results wait to be collected, without holding the input
        self.max_inflight = 2 * runner.workers + 1
        self.outs: list[ChunkOut] = []
        self.ref_outs: list[RefOut] = []
        self.done_items = 0

    def run(self, chunks: Iterator[list], ref_texts: list[str],
            chunk_size: int) -> tuple[list, list[ChunkOut], list[RefOut]]:
        """(the items in input order, their chunks cleaned, the reference chunks); closes the runner."""
        originals: list[Any] = []
        try:
            base = 0
            for chunk in chunks:
                self._check_cancel()
                self.runner.submit("process_items", chunk, base)
                originals.extend(chunk)
                base += len(chunk)
                self._collect(False)
            for i in range(0, len(ref_texts), chunk_size):
                self._check_cancel()
                self.runner.submit("process_refs", ref_texts[i:i + chunk_size])
                self._collect(False)
            self._collect(True)
        except BaseException:
            self.runner.close(cancel=True)
            raise
        self.runner.close()
        return originals, self.outs, self.ref_outs

    def _check_cancel(self) -> None:
        if self.is_cancelled():
            raise CleanCancelled()

    def _collect(self, block: bool) -> None:
        while self.runner.pending() and (block or self.runner.pending() >= self.max_inflight):
            self._take(self.runner.next())
            self._check_cancel()

    def _take(self, out: ChunkOut | RefOut) -> None:
        if isinstance(out, ChunkOut):
            self.outs.append(out)
            self.done_items += out.n
            if self.progress is not None:
                self.progress("clean", self.done_items, self.total)
        else:
            self.ref_outs.append(out)
            if self.progress is not None:
                self.progress("reference", sum(len(r.features) for r in self.ref_outs), self.n_refs)
