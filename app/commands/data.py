"""Data in and out: import (files or `-` for stdin) and export (files, packages or `-` for stdout)."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from labeldesk.app.commands.access import acting_user, open_workspace
from labeldesk.app.commands.common import STDIO, CommandError, console, print_json, progress_bar
from labeldesk.app.commands.prepare import clean_config, summary_line
from labeldesk.app.workflow.export import export, write_package
from labeldesk.app.workflow.importer import ImportFailed, import_files, write_skip_report
from labeldesk.storage.db import Workspace
from labeldesk.storage.files import scratch_dir
from labeldesk.storage.vocabulary import TRANSCRIPT_FORMATS

# what `import -` calls standard input, by the format it holds: readers pick their parser by suffix
_STDIN_SUFFIX = {"parquet": ".parquet", "csv": ".csv", "labelstudio": ".json"}


def _stdin_suffix(fmt: str, head: bytes) -> str:
    """The file name suffix that makes the readers parse standard input as what it is."""
    if fmt in _STDIN_SUFFIX:
        return _STDIN_SUFFIX[fmt]
    if head.startswith(b"PAR1"):
        return ".parquet"
    if head.startswith(b"PK\x03\x04"):
        return ".zip"
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first == b"[":
        return ".json"
    return ".jsonl" if first == b"{" or fmt != "auto" else ".csv"


@contextmanager
def _spooled_stdin(paths: list[str], fmt: str) -> Iterator[list[str]]:
    """Replace `-` by a file holding standard input, named `stdin.<suffix>` so errors read `stdin.jsonl:12`."""
    if STDIO not in paths:
        yield paths
        return
    with scratch_dir("stdin") as tmp:
        data = sys.stdin.buffer.read()
        spooled = tmp / f"stdin{_stdin_suffix(fmt, data[:64])}"
        spooled.write_bytes(data)
        yield [str(spooled) if p == STDIO else p for p in paths]


def cmd_import(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    lead = acting_user(ws, args)
    clean = clean_config(args.clean_config) if args.clean or args.clean_config else None
    with _spooled_stdin(args.files, args.format) as files, \
            progress_bar("reading" if clean is None else "reading and cleaning", not args.json) as progress:
        try:
            report = import_files(ws, lead, args.project, files, args.format, args.skip_invalid, args.annotator, progress, clean)
        except ImportFailed as exc:
            raise CommandError(str(exc)) from None
    if report.skipped:
        report_path = Path(args.report or "import-skipped.json")
        write_skip_report(report, report_path)
        console.print(f"skipped {len(report.skipped)} invalid row(s); see {report_path}")
    if args.json:
        print_json(report.to_dict())
    else:
        console.print(
            f"imported {report.imported} item(s) and {report.annotations} annotation(s) into {args.project}"
            f" ({report.unchanged} already there, {len(report.skipped)} skipped, {report.read} rows read)"
        )
        for d in report.to_dict().get("deviations", ()):
            console.print(f"  stored other than given: {d['field']}: {d['change']} ({d['rows']} row(s), first {d['first']})",
                          markup=False, highlight=False)
        if report.cleaning is not None:
            console.print(summary_line(report.cleaning), markup=False, highlight=False)


def _export_to_stdout(ws: Workspace, args: argparse.Namespace, progress) -> dict[str, Any]:
    """Write the export under a temporary name (so it is validated whole), then stream it to stdout."""
    if args.format in TRANSCRIPT_FORMATS:
        raise CommandError(f"--out -: {args.format} export writes one file per media item; give a folder")
    with scratch_dir("export") as tmp:
        target = tmp / ("export.json" if args.format == "labelstudio" else "export.jsonl")
        summary = export(ws, args.project, args.format, target, args.include, args.pairing, progress,
                         actor=acting_user(ws, args))
        with target.open("rb") as src:
            shutil.copyfileobj(src, sys.stdout.buffer)
        sys.stdout.flush()
    return summary.to_dict() | {"files": ["-"]}


def cmd_export(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    with progress_bar("exporting", not args.json) as progress:
        if args.package:
            views = [args.format] if args.format != "records" else []
            manifest = write_package(ws, args.project, Path(args.package), views + (args.views or []), args.include,
                                     args.pairing, args.parquet, progress, actor=acting_user(ws, args), clips=args.clips)
            result: dict[str, Any] = {"package": args.package, "files": len(manifest["files"]), "counts": manifest["counts"]}
        elif args.out == STDIO:
            result = _export_to_stdout(ws, args, progress)
        else:
            summary = export(ws, args.project, args.format, Path(args.out) if args.out else None, args.include,
                             args.pairing, progress, actor=acting_user(ws, args))
            result = summary.to_dict()
    if args.json and args.out != STDIO:
        print_json(result)
    elif args.package:
        console.print(f"wrote package {args.package}: {result['files']} files, {result['counts']}")
    else:
        console.print(f"wrote {result['rows']} {args.format} row(s) from {result['records']} record(s) to {', '.join(result['files']).replace(STDIO, 'stdout')}")
