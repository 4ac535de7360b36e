"""Team work on the command line: users, assignment, review, agreement, adjudication, aggregation, stats.

The acting user is `--user NAME` (`--as NAME` where `--user` names someone else, as in
`assign`), signed in with $LABELDESK_PASSWORD or a prompt on a shared PostgreSQL workspace.
Without it a personal SQLite workspace acts as its local lead; a shared one refuses.
Every permission is checked by the workflow operation itself, never here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson
from rich.table import Table

from labeldesk.app.commands.access import acting_user, open_workspace
from labeldesk.app.commands.common import CommandError, console, out, print_json, progress_bar
from labeldesk.app.workflow import accounts, quality, review, stats, tasks
from labeldesk.app.workflow.export import aggregate


def _json_arg(text: str, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise CommandError(f"{what}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise CommandError(f"{what}: give a JSON object of question -> answer")
    return value


def _short(values: dict[str, Any], width: int = 70) -> str:
    text = orjson.dumps(values).decode()
    return text if len(text) <= width else text[: width - 1] + "…"


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


# --- users -------------------------------------------------------------------------------


def _read_password(args: argparse.Namespace) -> str | None:
    if not args.password_stdin:
        return None
    line = sys.stdin.readline()
    if not line:
        raise CommandError("--password-stdin: nothing on standard input")
    return line.rstrip("\r\n")


def cmd_users_add(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    password = _read_password(args)
    if not args.acting and not ws.location.is_sqlite and args.role == "lead":
        # a fresh shared workspace has nobody to sign in as: its first lead creates themselves
        if password is None:
            raise CommandError("the first lead needs a password: pass --password-stdin")
        lead = accounts.create_first_lead(ws, args.name, password)
        info = accounts.update_user(ws, lead, args.name, domains=args.domains or [], locales=args.locales or [])
        if args.json:
            print_json(info.to_dict() | {"first_lead": True})
        else:
            console.print(f"created the first lead {args.name}")
        return
    info = accounts.add_user(ws, acting_user(ws, args), args.name, args.role, password, args.domains or (), args.locales or ())
    if args.json:
        print_json(info.to_dict())
    else:
        console.print(f"created {info.role} {info.name}" + (f" (domains {', '.join(info.domains)})" if info.domains else "")
                      + (f" (locales {', '.join(info.locales)})" if info.locales else ""))


def cmd_users_set(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    active = True if args.activate else False if args.deactivate else None
    info = accounts.update_user(ws, acting_user(ws, args), args.name, role=args.role, domains=args.domains,
                                locales=args.locales, active=active, password=_read_password(args))
    if args.json:
        print_json(info.to_dict())
    else:
        console.print(f"{info.name}: {info.role}, domains {list(info.domains)}, locales {list(info.locales)}, "
                      f"{'active' if info.active else 'inactive'}")


def cmd_users_list(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    users = accounts.list_users(ws, acting_user(ws, args))
    if args.json:
        print_json([u.to_dict() for u in users])
        return
    table = Table("user", "role", "domains", "locales", "active", "password")
    for u in users:
        table.add_row(u.name, u.role, ", ".join(u.domains), ", ".join(u.locales), "yes" if u.active else "no",
                      "set" if u.has_password else "-")
    out.print(table)


# --- assignment, routing, gold ----------------------------------------------------------------


def cmd_assign(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    given = tasks.assign(ws, acting_user(ws, args), args.project, args.assignee, args.count)
    if args.json:
        print_json({"user": args.assignee, "items": list(given)})
    else:
        console.print(f"assigned {len(given)} item(s) of {args.project} to {args.assignee}"
                      + ("" if len(given) == args.count else f" ({args.count} asked; no more open items fit)"))


def cmd_route(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    changed = tasks.route_items(ws, acting_user(ws, args), args.project, args.items, domain=args.domain,
                                locale=args.locale, from_meta=args.from_meta)
    if args.json:
        print_json({"project": args.project, "routed": changed})
    else:
        console.print(f"routed {changed} item(s) of {args.project}")


def cmd_gold(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    lead = acting_user(ws, args)
    answers: dict[str, dict[str, Any] | None] = {}
    if args.set:
        if not args.values:
            raise CommandError("--set UID needs --values JSON")
        answers[args.set] = _json_arg(args.values, "--values")
    for uid in args.clear or ():
        answers[uid] = None
    if args.file:
        for n, line in enumerate(Path(args.file).read_bytes().splitlines(), 1):
            if line.strip():
                row = orjson.loads(line)
                if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("values"), dict):
                    raise CommandError(f"{args.file}:{n}: each line is {{\"id\": UID, \"values\": {{question: answer}}}}")
                answers[str(row["id"])] = row["values"]
    if not answers and args.rate is None:
        raise CommandError("nothing to do: give --set UID --values JSON, --clear UID, --file FILE or --rate X")
    changed = quality.set_gold(ws, lead, args.project, answers) if answers else 0
    if args.rate is not None:
        quality.set_gold_rate(ws, lead, args.project, args.rate)
    if args.json:
        print_json({"project": args.project, "changed": changed, "rate": args.rate})
        return
    if answers:
        console.print(f"{changed} gold item(s) changed in {args.project}")
    if args.rate is not None:
        console.print(f"gold rate of {args.project} is now {args.rate:.0%}")


# --- review and adjudication ------------------------------------------------------------------


def cmd_review(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    who = acting_user(ws, args)
    done: review.ReviewInfo | None = None
    if args.accept is not None:
        done = review.accept(ws, who, args.accept, level=args.level, revision=args.revision)
    elif args.reject is not None:
        done = review.reject(ws, who, args.reject, args.reason or "", level=args.level, revision=args.revision)
    elif args.correct is not None:
        if not args.values:
            raise CommandError("--correct ID needs --values JSON (the corrected answers)")
        done = review.correct(ws, who, args.correct, _json_arg(args.values, "--values"), level=args.level,
                              reason=args.reason or "", revision=args.revision)
    if done is not None:
        if args.json:
            print_json({"annotation": done.annotation_id, "level": done.level, "revision": done.revision,
                        "decision": done.decision, "reason": done.reason, "changes": done.changes})
        else:
            changed = f", changed {', '.join(done.changes)}" if done.changes else ""
            console.print(f"{done.decision} submission {done.annotation_id} at level {done.level}{changed}")
        return
    entries = review.review_queue(ws, who, args.project, args.level, args.limit)
    if args.json:
        print_json([{"annotation": e.annotation_id, "item": e.uid, "annotator": e.annotator, "revision": e.revision,
                     "values": e.values, "original": e.original,
                     "submitted_at": e.submitted_at.isoformat() if e.submitted_at else None} for e in entries])
        return
    table = Table("id", "item", "annotator", "rev", "answers")
    for e in entries:
        table.add_row(str(e.annotation_id), e.uid, e.annotator, str(e.revision), _short(e.values))
    out.print(f"level {args.level} queue of {args.project}: {len(entries)} shown")
    out.print(table)


def cmd_adjudicate(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    lead = acting_user(ws, args)
    if args.item is not None:
        if not args.values:
            raise CommandError("--item needs --values JSON (the lead's answers)")
        item_id = quality.item_id_of(ws, args.project, args.item)
        values = _json_arg(args.values, "--values")
        quality.adjudicate(ws, lead, args.project, item_id, values, args.reason or "")
        if args.json:
            print_json({"item": args.item, "values": values, "adjudicated": True})
        else:
            console.print(f"adjudicated {args.item}")
        return
    queue = quality.adjudication_queue(ws, lead, args.project, args.threshold)
    if args.json:
        print_json([{"item": e.uid, "agreement": e.agreement, "annotators": list(e.annotators), "proposed": e.proposed}
                    for e in queue])
        return
    table = Table("item", "agreement", "annotators", "consensus (tie-broken)")
    for e in queue:
        table.add_row(e.uid, _fmt(e.agreement), ", ".join(e.annotators), _short(e.proposed))
    out.print(f"{len(queue)} item(s) of {args.project} wait for adjudication")
    out.print(table)


# --- agreement, aggregation, stats ------------------------------------------------------------


def cmd_agreement(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    report = quality.agreement_report(ws, acting_user(ws, args), args.project, args.question)
    if args.json:
        print_json(report.to_dict())
        return
    out.print(f"[bold]{report.project}[/bold]: {report.items} items, {report.submissions} submissions, "
              f"overall {_fmt(report.overall)}")
    table = Table("question", "type", "metric", "value", "items", "overlap items", "annotators")
    for q in report.questions:
        table.add_row(q.question, q.type, q.metric_name, _fmt(q.value), str(q.n_items),
                      str(q.extra.get("n_items_overlap", "")), str(q.n_annotators))
    out.print(table)
    people = Table("annotator", "submissions", "vs consensus", "shared items", "vs gold", "gold items")
    for a in report.annotators:
        people.add_row(a.annotator, str(a.submissions), _fmt(a.consensus_accuracy), str(a.consensus_items),
                       _fmt(a.gold_accuracy), str(a.gold_items))
    out.print(people)


def cmd_aggregate(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    lead = acting_user(ws, args)
    with progress_bar("aggregating", not args.json) as progress:
        summary = aggregate(ws, lead, args.project, Path(args.out) if args.out else None, args.threshold,
                            args.include_unreviewed, progress)
    if args.json:
        print_json(summary.to_dict())
        return
    where = f" to {', '.join(summary.files)}" if summary.files else " (counted only: pass --out FILE to write)"
    console.print(f"{summary.written} record(s){where}; statuses {summary.statuses}; "
                  f"threshold {summary.threshold}; {summary.to_adjudicate} to adjudicate, {summary.dropped} dropped")


def cmd_stats(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    figures = stats.team_figures(ws, acting_user(ws, args), args.project)
    if args.csv:
        rows = stats.write_csv(figures, Path(args.csv))
        console.print(f"wrote {rows} figure(s) to {args.csv}")
    if args.json:
        print_json(figures.to_dict())
        return
    if args.csv:
        return
    p = figures.progress
    out.print(f"[bold]{figures.project}[/bold]: {p.items} items ({p.gold_items} gold), {p.annotated} annotated, "
              f"{p.complete} complete ({p.progress:.0%}), {p.submissions} submissions, {p.drafts} drafts")
    table = Table("annotator", "submitted", "active h", "s / task", "items / h", "vs consensus", "vs gold",
                  "reviewed", "rejected", "corrected")
    for a in figures.annotators:
        table.add_row(a.annotator, str(a.submitted), f"{a.active_seconds / 3600:.2f}", _fmt(a.seconds_per_task, 1),
                      _fmt(a.items_per_hour, 1), _fmt(a.consensus_accuracy), _fmt(a.gold_accuracy),
                      str(a.reviewed), str(a.rejections), str(a.corrections))
    out.print(table)
    for name, counts in figures.labels.items():
        out.print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
