"""Data preparation commands: `labeldesk clean` and `labeldesk clean-review`.

`clean` runs the cleaning pipeline over a project (app.workflow.prepare.clean_project)
and writes its reports; Ctrl+C before the write leaves the workspace untouched (the
write is one transaction, and reports are written only after it).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from labeldesk.app.commands.access import acting_user, open_workspace
from labeldesk.app.commands.common import CommandError, console, out, print_json
from labeldesk.app.workflow.clean import CleanConfig
from labeldesk.app.workflow.prepare import (
    STAGES, PrepareOutcome, StageProgress, clean_project, items_in_review, release_from_review, write_reports,
)


def clean_config(path: str | None) -> CleanConfig:
    """The configuration given with --config / --clean-config, or the built-in defaults."""
    return CleanConfig.from_yaml(path) if path else CleanConfig.default()


@contextmanager
def stage_progress(enabled: bool = True) -> Iterator[StageProgress]:
    """A progress bar that names the stage it is in, drawn on stderr when it is a terminal."""
    if not enabled or not console.is_terminal:
        yield lambda stage, done, total: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(STAGES["loading"], total=None)
        yield lambda stage, done, total: bar.update(task, description=STAGES.get(stage, stage), completed=done, total=total)


def summary_line(outcome: PrepareOutcome) -> str:
    d = outcome.decisions()
    verb = "cleaned" if outcome.applied else "dry run of"
    line = (f"{verb} {outcome.project}: {outcome.report.items_in} item(s) looked at, {d['changed']} changed, "
            f"{d['removed']} removed, {d['review']} sent to review")
    if outcome.skipped:
        line += " (left alone: " + ", ".join(f"{n} {status}" for status, n in sorted(outcome.skipped.items())) + ")"
    if outcome.conflicts:
        line += f"; {len(outcome.conflicts)} item(s) changed meanwhile were left alone: run again"
    return line + ("" if outcome.applied else "; nothing was written")


def cmd_clean(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    lead = acting_user(ws, args)
    config = clean_config(args.config)
    with stage_progress(not args.json) as progress:
        outcome = clean_project(ws, lead, args.project, config, args.dry_run, progress)
    write_reports(outcome, _path(args.report), _path(args.markdown), _path(args.html))
    if args.json:
        print_json(outcome.to_dict())
        return
    table = Table("rule", "action", "items")
    for rule, figures in sorted(outcome.report.rules.items()):
        table.add_row(rule, str(figures.get("action")), str(figures.get("items", 0)))
    if outcome.report.rules:
        out.print(table)
    console.print(summary_line(outcome), markup=False, highlight=False)


def cmd_clean_review(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    if args.keep and args.remove:
        raise CommandError("give --keep or --remove, not both")
    lead = acting_user(ws, args)
    if args.keep or args.remove:
        changed = release_from_review(ws, lead, args.project, args.keep or args.remove, keep=bool(args.keep))
        result = {"changed": changed, "decision": "keep" if args.keep else "remove"}
        if args.json:
            print_json(result)
        else:
            console.print(f"{'kept' if args.keep else 'removed'} {changed} item(s) held for review")
        return
    held = items_in_review(ws, lead, args.project)
    if args.json:
        print_json([h.to_dict() for h in held])
        return
    table = Table("item", "why")
    for h in held:
        table.add_row(h.uid, ", ".join(h.rules))
    out.print(table)
    console.print(f"{len(held)} item(s) held for review in {args.project}")


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
