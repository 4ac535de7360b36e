"""Exports: records, training views, Label Studio, and the dataset package.

Every file is written under a temporary name and renamed when complete; every record
is validated against `labeldesk/record@1` before it is written.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from labeldesk.app.workflow.bulk import paused_gc
from labeldesk.app.workflow.media_items import labeled_segments, write_transcripts
from labeldesk.app.workflow.permissions import Actor, require
from labeldesk.app.workflow.projects import ProjectInfo, get_project, guidelines
from labeldesk.app.workflow.records import below_threshold_policy, iter_built, iter_records, threshold_of
from labeldesk.storage.db import Workspace
from labeldesk.storage.files import atomic_path, atomic_write_bytes, atomic_writer, scratch_dir
from labeldesk.storage.formats import labelstudio, parquet
from labeldesk.media.clips import cut_clip
from labeldesk.storage.formats.views import view_rows
from labeldesk.storage.record import SCHEMA_ID, countable_labels, validate
from labeldesk.storage.vocabulary import EXPORT_FORMATS, PAIRINGS, TRANSCRIPT_FORMATS, VIEWS

FORMATS = EXPORT_FORMATS
Progress = Callable[[int, int | None], None]


class ExportError(ValueError):
    """An export that cannot be written; the message says why."""


@dataclass
class ExportSummary:
    project: str
    format: str
    files: list[str] = field(default_factory=list)
    records: int = 0
    rows: int = 0
    kinds: Counter = field(default_factory=Counter)
    labels: dict[str, Counter] = field(default_factory=dict)
    agreement: list[float] = field(default_factory=list)

    def observe(self, record: dict[str, Any]) -> None:
        self.records += 1
        self.kinds[record["kind"]] += 1
        for name, value in countable_labels(record):
            self.labels.setdefault(name, Counter())[value] += 1
        if "agreement" in record.get("quality", {}):
            self.agreement.append(record["quality"]["agreement"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project, "format": self.format, "files": self.files, "records": self.records,
            "rows": self.rows, "kinds": dict(self.kinds), "labels": {k: dict(v) for k, v in self.labels.items()},
            "mean_agreement": round(sum(self.agreement) / len(self.agreement), 4) if self.agreement else None,
        }


def _validated(records: Iterable[dict[str, Any]], summary: ExportSummary, progress: Progress | None) -> Iterator[dict[str, Any]]:
    for record in records:
        validate(record)
        summary.observe(record)
        if progress and summary.records % 5000 == 0:
            progress(summary.records, None)
        yield record


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    with atomic_writer(path) as fh:
        buffer: list[bytes] = []
        for row in rows:
            buffer.append(orjson.dumps(row))
            count += 1
            if len(buffer) >= 2000:
                fh.write(b"\n".join(buffer) + b"\n")
                buffer.clear()
        if buffer:
            fh.write(b"\n".join(buffer) + b"\n")
    return count


def _view_stream(view: str, records: Iterable[dict[str, Any]], pairing: str) -> Iterator[dict[str, Any]]:
    for record in records:
        yield from view_rows(view, record, pairing)


def write_export(
    records: Iterable[dict[str, Any]], project: ProjectInfo, fmt: str, out: Path, summary: ExportSummary,
    pairing: str = "all",
) -> list[Path]:
    """Write one export format to `out`; returns the files written."""
    parquet_out = out.suffix.lower() == ".parquet"
    if fmt == "records":
        if parquet_out:
            parquet.write_records(out, records)
        else:
            _write_jsonl(out, records)
        return [out]
    if fmt in VIEWS:
        rows = _view_stream(fmt, records, pairing)
        summary.rows = parquet.write_rows(out, rows) if parquet_out else _write_jsonl(out, rows)
        return [out]
    if fmt == "labelstudio":
        questions = list(project.questions)
        tasks = list(labelstudio.records_to_tasks(records, project.kind, questions))
        config_path = out.with_suffix(".xml")
        atomic_write_bytes(out, orjson.dumps(tasks, option=orjson.OPT_INDENT_2))
        atomic_write_bytes(config_path, labelstudio.label_config(project.kind, questions).encode())
        summary.rows = len(tasks)
        return [out, config_path]
    raise ExportError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def default_name(fmt: str) -> str:
    if fmt in TRANSCRIPT_FORMATS:
        return f"transcripts-{fmt}"
    return {"records": "records.jsonl", "labelstudio": "labelstudio.json"}.get(fmt, f"{fmt}.jsonl")


def _may_export(ws: Workspace, actor: Actor) -> None:
    """Exports hold every annotator's answers: annotators may not make them."""
    with ws.sessions() as session:
        require(session, actor, "export")


def export(
    ws: Workspace, project_name: str, fmt: str, out: Path | None = None, include: str = "all",
    pairing: str = "all", progress: Progress | None = None, *, actor: Actor,
) -> ExportSummary:
    _may_export(ws, actor)
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if pairing not in PAIRINGS:
        raise ExportError(f"unknown pairing {pairing!r}; one of {', '.join(PAIRINGS)}")
    project = get_project(ws, project_name)
    out = Path(out) if out else Path(default_name(fmt))
    summary = ExportSummary(project=project_name, format=fmt)
    records = _validated(iter_records(ws, project, include), summary, progress)
    with paused_gc():
        return _write_summary(ws, project, fmt, out, summary, records, pairing)


def _write_summary(
    ws: Workspace, project: ProjectInfo, fmt: str, out: Path, summary: ExportSummary, records: Iterable[dict[str, Any]],
    pairing: str,
) -> ExportSummary:
    if fmt in TRANSCRIPT_FORMATS:  # one transcript file per media item, in the folder `out`
        summary.files = [str(p) for p in write_transcripts(records, fmt, out, ws.media_root)]
        summary.rows = len(summary.files)
        return summary
    summary.files = [str(p) for p in write_export(records, project, fmt, out, summary, pairing)]
    if fmt == "records":
        summary.rows = summary.records
    return summary


# --- the dataset package --------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_media(ws: Workspace, records: list[dict[str, Any]], target: Path, clips: bool) -> list[str]:
    """Put the media the records point at in the package: whole files, or clips of the labeled ranges.

    Whole files keep their content-addressed names and the records' paths become package
    paths. With `clips`, each segment's range is cut to `media/clips/` and listed in the
    record's `meta.clips` (the record's own media entry then names the source it came from).
    """
    missing = []
    media_dir = target / "media"
    for record in records:
        for ref in record.get("media", ()):
            name = f"{ref['sha256']}{Path(ref.get('path', '')).suffix}"
            src = ws.media_root / name
            if not src.exists():
                missing.append(f"{record['id']}: {ref['id']} ({name})")
                continue
            if clips:
                _cut_clips(record, ref, src, media_dir / "clips")
                continue
            media_dir.mkdir(exist_ok=True)
            dst = media_dir / name
            if not dst.exists():
                shutil.copyfile(src, dst)
            ref["path"] = f"media/{name}"
    return missing


def _cut_clips(record: dict[str, Any], ref: dict[str, Any], src: Path, clip_dir: Path) -> None:
    clip_dir.mkdir(parents=True, exist_ok=True)
    suffix = ".mp4" if ref["type"] == "video" else ".flac"
    ranges = sorted({(s["start"], s["end"]) for s in labeled_segments(record) if s["media"] == ref["id"] and s["end"] > s["start"]})
    listed = record.setdefault("meta", {}).setdefault("clips", [])
    for start, end in ranges:
        dst = clip_dir / f"{ref['sha256'][:16]}_{start:.3f}-{end:.3f}{suffix}"
        clip = cut_clip(src, dst, start, end)
        listed.append({"media": ref["id"], "start": clip.start, "end": clip.end, "path": f"media/clips/{dst.name}", "sha256": _sha256(dst)})
    ref.pop("path", None)


def dataset_card(project: ProjectInfo, summaries: list[ExportSummary], guideline_version: int, settings: dict[str, Any]) -> str:
    records = summaries[0]
    lines = [
        f"# {project.title}", "",
        f"LabelDesk dataset package of project **{project.name}** ({project.kind}), schema `{SCHEMA_ID}`.",
        f"Exported {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} under guideline version {guideline_version}.", "",
        "## Contents", "",
        "| file | format | rows |", "|---|---|---|",
    ]
    for s in summaries:
        for f in s.files:
            lines.append(f"| `{f}` | {s.format} | {s.rows} |")
    lines += ["", "## Records per kind", ""] + [f"- {k}: {v}" for k, v in sorted(records.kinds.items())]
    if records.labels:
        lines += ["", "## Labels", ""]
        for name, counts in sorted(records.labels.items()):
            shown = ", ".join(f"{value}: {n}" for value, n in counts.most_common(12))
            lines.append(f"- **{name}**: {shown}")
    agreement = records.to_dict()["mean_agreement"]
    lines += ["", "## How it was made", "",
              f"- Questions: {', '.join(q['name'] + ' (' + q['type'] + ')' for q in project.questions)}",
              f"- Overlap: {project.overlap} annotator(s) per item",
              f"- Mean agreement of items with several annotators: {agreement if agreement is not None else 'not measured (single annotation per item)'}",
              f"- Export settings: `{orjson.dumps(settings).decode()}`",
              "- The guidelines annotators worked under are in `guidelines.md`.", "",
              "## Loading", "", "```python", "from datasets import load_dataset",
              "records = load_dataset('json', data_files='data/records.jsonl', split='train')", "```", ""]
    return "\n".join(lines)


def write_package(
    ws: Workspace, project_name: str, target: Path, views: Iterable[str] = (), include: str = "all",
    pairing: str = "all", parquet_too: bool = False, progress: Progress | None = None, *, actor: Actor,
    clips: bool = False,
) -> dict[str, Any]:
    """Write the dataset package (folder or .zip) of DESIGN.md §2; returns its manifest."""
    _may_export(ws, actor)
    project = get_project(ws, project_name)
    views = [v for v in views if v != "records"]
    for view in views:
        if view not in VIEWS:
            raise ExportError(f"unknown view {view!r}; one of {', '.join(VIEWS)}")
    version, guideline_text = guidelines(ws, project_name)
    settings = {"include": include, "views": views, "pairing": pairing, "parquet": parquet_too, "media": "clips" if clips else "files"}
    as_zip = target.suffix.lower() == ".zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    # built beside the target, so that a folder package moves into place with one rename
    with scratch_dir("package", target.parent) as scratch:
        work = scratch / "package"
        data = work / "data"
        data.mkdir(parents=True)
        summary = ExportSummary(project=project_name, format="records")
        records = list(_validated(iter_records(ws, project, include), summary, progress))
        missing = _copy_media(ws, records, work, clips)
        if missing:
            raise ExportError("media files missing from the workspace store: " + "; ".join(missing[:5]))
        summary.files = [str(p.relative_to(work)) for p in write_export(records, project, "records", data / "records.jsonl", summary)]
        summary.rows = summary.records
        summaries = [summary]
        if parquet_too:
            parquet.write_records(data / "records.parquet", records)
            summary.files.append("data/records.parquet")
        for view in views:
            s = ExportSummary(project=project_name, format=view)
            s.files = [str(p.relative_to(work)) for p in write_export(records, project, view, data / f"{view}.jsonl", s, pairing)]
            summaries.append(s)
        (work / "guidelines.md").write_text(guideline_text, encoding="utf-8")
        (work / "README.md").write_text(dataset_card(project, summaries, version, settings), encoding="utf-8")
        manifest = _manifest(work, project, summaries, version, settings)
        (work / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        _publish(work, target, as_zip)
        return manifest


def _manifest(work: Path, project: ProjectInfo, summaries: list[ExportSummary], version: int, settings: dict[str, Any]) -> dict[str, Any]:
    files = sorted(p for p in work.rglob("*") if p.is_file() and p.name != "manifest.json")
    return {
        "schema": SCHEMA_ID,
        "project": project.name,
        "kind": project.kind,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "guideline_version": version,
        "settings": settings,
        "counts": {s.format: s.rows for s in summaries} | {"kinds": dict(summaries[0].kinds)},
        "files": {str(p.relative_to(work)): {"sha256": _sha256(p), "bytes": p.stat().st_size} for p in files},
    }


def _publish(work: Path, target: Path, as_zip: bool) -> None:
    """Move the finished package into place in one step."""
    if as_zip:
        with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(work.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(work).as_posix())
        return
    if target.exists():
        if not (target / "manifest.json").exists():
            raise ExportError(f"{target} exists and is not a LabelDesk package: choose another folder")
        # the old package moves into the scratch folder, which goes when the export ends
        target.rename(work.parent / "previous")
    work.rename(target)


# --- aggregation ------------------------------------------------------------------------

KEPT = ("accepted", "adjudicated")


@dataclass(frozen=True)
class AggregateSummary:
    """What `aggregate` kept and why the rest was left out."""

    project: str
    threshold: float | None
    policy: str  # adjudicate | drop: what happens below the threshold
    written: int
    statuses: dict[str, int]  # quality.status -> items
    methods: dict[str, int]  # quality.method of the written records -> items
    to_adjudicate: int  # escalated items waiting in the lead's adjudication queue
    dropped: int  # escalated items left out for good (policy drop)
    mean_agreement: float | None
    files: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project, "threshold": self.threshold, "policy": self.policy, "written": self.written,
            "statuses": self.statuses, "methods": self.methods, "to_adjudicate": self.to_adjudicate,
            "dropped": self.dropped, "mean_agreement": self.mean_agreement, "files": list(self.files),
        }


def aggregate(
    ws: Workspace, lead: Actor, project_name: str, out: Path | None = None, threshold: float | None = None,
    keep_unreviewed: bool = False, progress: Progress | None = None,
) -> AggregateSummary:
    """One record per item, only the decided ones: accepted or adjudicated (and, when asked,
    unreviewed single submissions). Items below the agreement threshold are escalated to the
    adjudication queue or dropped, by the project's `below_threshold`; `threshold` overrides
    the project's `agreement_threshold` for this run. Without `out` it only counts."""
    project = get_project(ws, project_name)
    with ws.sessions() as session:
        require(session, lead, "aggregate")
    limit = threshold_of(project, threshold)
    policy = below_threshold_policy(project)
    kept = KEPT + (("submitted",) if keep_unreviewed else ())
    statuses: Counter = Counter()
    methods: Counter = Counter()
    agreement: list[float] = []
    summary = ExportSummary(project=project_name, format="records")

    def decided() -> Iterator[dict[str, Any]]:
        for built in iter_built(ws, project, limit, annotated_only=True):
            quality = built.record["quality"]
            statuses[quality["status"]] += 1
            if quality["status"] not in kept:
                continue
            methods[quality["method"]] += 1
            if "agreement" in quality:
                agreement.append(quality["agreement"])
            yield built.record

    records = _validated(decided(), summary, progress)
    files: tuple[str, ...] = ()
    if out is not None:
        files = tuple(str(p) for p in write_export(records, project, "records", Path(out), summary))
    else:
        for _ in records:
            pass
    escalated = statuses.get("escalated", 0)
    return AggregateSummary(
        project.name, limit, policy, summary.records, dict(statuses), dict(methods),
        escalated if policy == "adjudicate" else 0, escalated if policy == "drop" else 0,
        round(sum(agreement) / len(agreement), 6) if agreement else None, files,
    )
