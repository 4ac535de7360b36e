"""The `labeldesk` argument parser: every command, its options and where its handler lives.

Handlers are named, not imported ("team:cmd_assign" is `cmd_assign` in
labeldesk.app.commands.team), so that `labeldesk --help` or `project list` load only what
they use: building the parser needs nothing beyond argparse and the shared vocabulary.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

from labeldesk.storage.vocabulary import EXPORT_FORMATS, IMPORT_FORMATS, PAIRINGS, ROLES, TEMPLATE_NAMES, VIEWS

ENV_PASSWORD = "LABELDESK_PASSWORD"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that never repeats what it did not understand.

    argparse echoes unknown arguments whole ("unrecognized arguments: --password SECRET");
    a secret typed after a misspelt option must not land in a terminal log or a CI page.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)  # `--pass X` must not silently mean `--password-stdin X`
        super().__init__(*args, **kwargs)

    def parse_args(self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(unrecognized(extras))
        return parsed

    def error(self, message: str) -> NoReturn:
        self.print_usage()
        self.exit(2, f"{self.prog}: error: {message}\n")


def unrecognized(extras: Sequence[str]) -> str:
    """Name the unknown options (up to any `=`), and only count the values that followed them."""
    options = [a.split("=", 1)[0] for a in extras if a.startswith("-") and a != "-"]
    values = len(extras) - len(options)
    hidden = f" ({values} value(s) not shown)" if values or any("=" in a for a in extras if a.startswith("-")) else ""
    return f"unrecognized option(s): {' '.join(options) or '(none)'}{hidden}"


def _handler(parser: argparse.ArgumentParser, name: str) -> None:
    parser.set_defaults(handler=name)


def add_acting_user(parser: argparse.ArgumentParser, flags: tuple[str, ...] = ("--user", "--as")) -> None:
    parser.add_argument(*flags, dest="acting", metavar="NAME",
                        help=f"act as this user (password from ${ENV_PASSWORD} or a prompt on a shared workspace; "
                             "default: the local lead of a personal workspace)")


def _project(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", required=True, help="project name or its ASCII slug (see `labeldesk project list`)")


def build_parser(version: str) -> Parser:
    common = Parser(add_help=False)
    common.add_argument("--workspace", "-w", help="workspace folder, .db file or postgresql:// URL (default: $LABELDESK_WORKSPACE)")
    common.add_argument("--json", action="store_true", help="print machine-readable JSON")

    parser = Parser(prog="labeldesk", description="Build LLM training data: label, review, measure, export.")
    parser.add_argument("--version", action="version", version=f"labeldesk {version}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    _core(sub, common)
    _data(sub, common)
    _desktop(sub, common)
    _users(sub, common)
    _assignment(sub, common)
    _review(sub, common)
    _figures(sub, common)
    _prepare(sub, common)
    _media(sub, common)
    return parser


def _core(sub: argparse._SubParsersAction, common: Parser) -> None:
    p = sub.add_parser("init", parents=[common], help="create a workspace")
    p.add_argument("path", nargs="?", help="workspace folder or URL")
    p.add_argument("--demo", action="store_true", help="add demo projects with sample items")
    _handler(p, "workspace:cmd_init")

    project = sub.add_parser("project", help="create, list and show projects").add_subparsers(
        dest="action", required=True, metavar="ACTION", parser_class=Parser)
    p = project.add_parser("create", parents=[common], help="create a project from a template")
    p.add_argument("name")
    p.add_argument("--kind", required=True, choices=TEMPLATE_NAMES)
    p.add_argument("--template", help="a template YAML file (copy one from resources/templates)")
    _handler(p, "projects:cmd_project_create")
    p = project.add_parser("list", parents=[common], help="projects with their slugs and counts")
    _handler(p, "catalog:cmd_project_list")
    p = project.add_parser("show", parents=[common], help="one project's counts and questions")
    p.add_argument("name", help="project name or slug")
    _handler(p, "projects:cmd_project_show")

    p = sub.add_parser("guidelines", parents=[common], help="show or publish a project's guidelines")
    _project(p)
    p.add_argument("--publish", metavar="FILE.md", help="publish FILE.md (- for stdin) as the next version")
    p.add_argument("--note", help="what changed, for the annotators")
    p.add_argument("--version", type=int, help="show this version (default: the newest)")
    _handler(p, "projects:cmd_guidelines")


def _data(sub: argparse._SubParsersAction, common: Parser) -> None:
    p = sub.add_parser("import", parents=[common], help="import data files (- for stdin) into a project")
    p.add_argument("files", nargs="+", metavar="FILE")
    _project(p)
    p.add_argument("--format", default="auto", choices=("auto", *IMPORT_FORMATS))
    p.add_argument("--skip-invalid", action="store_true", help="import the valid rows and report the rest")
    p.add_argument("--report", help="where to write the report of skipped rows (default import-skipped.json)")
    p.add_argument("--annotator", default="imported", help="annotator name for answers that carry none")
    p.add_argument("--clean", action="store_true", help="clean the rows before they are stored (see `labeldesk clean`)")
    p.add_argument("--clean-config", metavar="FILE.yaml", help="cleaning configuration (implies --clean)")
    _handler(p, "data:cmd_import")

    p = sub.add_parser("export", parents=[common], help="export records, training views or a dataset package")
    _project(p)
    p.add_argument("--format", default="records", choices=EXPORT_FORMATS)
    p.add_argument("--out", help="output file (.jsonl, .json or .parquet; - for stdout as JSON lines); "
                                 "a folder for eaf, textgrid, vtt, srt")
    p.add_argument("--package", metavar="DIR|FILE.zip", help="write a dataset package instead of one file")
    p.add_argument("--views", nargs="*", choices=VIEWS, help="training views to add to the package")
    p.add_argument("--parquet", action="store_true", help="also write data/records.parquet in the package")
    p.add_argument("--clips", action="store_true", help="package media as clips cut to the labeled ranges, not whole files")
    p.add_argument("--include", default="all", choices=("all", "annotated", "accepted"))
    p.add_argument("--pairing", default="all", choices=PAIRINGS, help="DPO pairs: every pair a ranking implies, or best vs rest")
    add_acting_user(p)
    _handler(p, "data:cmd_export")


def _desktop(sub: argparse._SubParsersAction, common: Parser) -> None:
    p = sub.add_parser("demo", parents=[common], help="create a demo workspace (default: in the user data folder) and open it")
    p.add_argument("--no-gui", action="store_true", help="only create the workspace")
    _handler(p, "workspace:cmd_demo")

    p = sub.add_parser("gui", parents=[common], help="open the window")
    _handler(p, "workspace:cmd_gui")


def _users(sub: argparse._SubParsersAction, common: Parser) -> None:
    users = sub.add_parser("users", help="accounts: add, change, list (a lead's commands)").add_subparsers(
        dest="action", required=True, metavar="ACTION", parser_class=Parser)
    p = users.add_parser("add", parents=[common], help="create an account")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--password-stdin", action="store_true", help="read the new password from the first line of stdin")
    p.add_argument("--domains", nargs="*", metavar="DOMAIN", help="domains they may label, e.g. medical legal code")
    p.add_argument("--locales", nargs="*", metavar="LOCALE", help="locales they may label, e.g. en de-AT")
    add_acting_user(p, ("--as",))
    _handler(p, "team:cmd_users_add")
    p = users.add_parser("set", parents=[common], help="change an account")
    p.add_argument("name")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--password-stdin", action="store_true", help="read a new password from the first line of stdin")
    p.add_argument("--domains", nargs="*", metavar="DOMAIN")
    p.add_argument("--locales", nargs="*", metavar="LOCALE")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--activate", action="store_true")
    state.add_argument("--deactivate", action="store_true")
    add_acting_user(p, ("--as",))
    _handler(p, "team:cmd_users_set")
    p = users.add_parser("list", parents=[common], help="list accounts")
    add_acting_user(p)
    _handler(p, "team:cmd_users_list")


def _assignment(sub: argparse._SubParsersAction, common: Parser) -> None:
    p = sub.add_parser("assign", parents=[common], help="a lead hands items to a user")
    _project(p)
    p.add_argument("--user", dest="assignee", required=True, help="who gets the items")
    p.add_argument("--count", type=int, default=1)
    add_acting_user(p, ("--as",))
    _handler(p, "team:cmd_assign")

    p = sub.add_parser("route", parents=[common], help="set the domain / locale items require")
    _project(p)
    p.add_argument("--items", nargs="*", metavar="UID", help="these items (default: all)")
    p.add_argument("--domain", help='required domain ("" clears)')
    p.add_argument("--locale", help='required locale ("" clears)')
    p.add_argument("--from-meta", action="store_true", help="take domain / locale from each item's meta")
    add_acting_user(p)
    _handler(p, "team:cmd_route")

    p = sub.add_parser("gold", parents=[common], help="gold items with known answers, and how often they are mixed in")
    _project(p)
    p.add_argument("--set", metavar="UID", help="make this item gold (with --values)")
    p.add_argument("--values", metavar="JSON", help="the known answers, {question: answer}")
    p.add_argument("--clear", nargs="*", metavar="UID", help="make these items regular again")
    p.add_argument("--file", metavar="FILE.jsonl", help='lines of {"id": UID, "values": {...}}')
    p.add_argument("--rate", type=float, help="share of each annotator's tasks that are gold (0..1)")
    add_acting_user(p)
    _handler(p, "team:cmd_gold")


def _review(sub: argparse._SubParsersAction, common: Parser) -> None:
    p = sub.add_parser("review", parents=[common], help="list a review queue, or accept / reject / correct a submission")
    _project(p)
    p.add_argument("--level", type=int, default=1)
    action = p.add_mutually_exclusive_group()
    action.add_argument("--accept", type=int, metavar="ID", help="accept submission ID")
    action.add_argument("--reject", type=int, metavar="ID", help="send submission ID back for rework (needs --reason)")
    action.add_argument("--correct", type=int, metavar="ID", help="correct submission ID (needs --values)")
    p.add_argument("--reason", help="why (shown to the annotator)")
    p.add_argument("--values", metavar="JSON", help="corrected answers, {question: answer}")
    p.add_argument("--revision", type=int, help="refuse if the submission changed since this revision")
    p.add_argument("--limit", type=int, default=100, help="queue entries to list")
    add_acting_user(p)
    _handler(p, "team:cmd_review")

    p = sub.add_parser("adjudicate", parents=[common], help="list items escalated by disagreement, or decide one")
    _project(p)
    p.add_argument("--item", metavar="UID", help="decide this item (with --values)")
    p.add_argument("--values", metavar="JSON", help="the lead's answers, {question: answer}")
    p.add_argument("--reason")
    p.add_argument("--threshold", type=float, help="agreement threshold (default: the project's)")
    add_acting_user(p)
    _handler(p, "team:cmd_adjudicate")


def _figures(sub: argparse._SubParsersAction, common: Parser) -> None:
    p = sub.add_parser("agreement", parents=[common], help="inter-annotator agreement per question, annotator and gold")
    _project(p)
    p.add_argument("--question", help="only this question")
    add_acting_user(p)
    _handler(p, "team:cmd_agreement")

    p = sub.add_parser("aggregate", parents=[common], help="one record per decided item, below-threshold items escalated or dropped")
    _project(p)
    p.add_argument("--threshold", type=float, help="agreement threshold (default: the project's agreement_threshold)")
    p.add_argument("--out", help="write the records here (.jsonl or .parquet)")
    p.add_argument("--include-unreviewed", action="store_true", help="also keep single submissions nobody reviewed")
    add_acting_user(p)
    _handler(p, "team:cmd_aggregate")

    p = sub.add_parser("stats", parents=[common], help="team figures: progress, throughput, time, agreement, gold, corrections")
    _project(p)
    p.add_argument("--csv", metavar="FILE", help="also write every figure to FILE as CSV")
    add_acting_user(p)
    _handler(p, "team:cmd_stats")


def _prepare(sub: argparse._SubParsersAction, common: Parser) -> None:
    p = sub.add_parser("clean", parents=[common], help="clean a project's items: encoding, duplicates, private data, filters")
    _project(p)
    p.add_argument("--config", metavar="FILE.yaml", help="cleaning configuration merged over the defaults "
                                                          "(copy resources/clean/default.yaml)")
    p.add_argument("--dry-run", action="store_true", help="report what would change; write nothing to the workspace")
    p.add_argument("--report", metavar="FILE.json", help="write the full report (every item it found something about)")
    p.add_argument("--markdown", metavar="FILE.md", help="write the report as Markdown")
    p.add_argument("--html", metavar="FILE.html", help="write the report as a standalone HTML page")
    _handler(p, "prepare:cmd_clean")

    p = sub.add_parser("clean-review", parents=[common], help="list the items cleaning holds for review, or keep / remove them")
    _project(p)
    p.add_argument("--keep", nargs="+", metavar="ID", help="send these items back to labeling")
    p.add_argument("--remove", nargs="+", metavar="ID", help="take these items out")
    _handler(p, "prepare:cmd_clean_review")


def _media(sub: argparse._SubParsersAction, common: Parser) -> None:
    media = sub.add_parser("media", help="probe media files, extract frames").add_subparsers(
        dest="action", required=True, metavar="ACTION", parser_class=Parser)
    p = media.add_parser("probe", parents=[common], help="duration, streams, sample rate, fps, rotation")
    p.add_argument("file")
    _handler(p, "media:cmd_probe")
    p = media.add_parser("frame", parents=[common], help="write the exact frame shown at a time as PNG")
    p.add_argument("video")
    p.add_argument("--at", type=float, required=True, metavar="SECONDS")
    p.add_argument("--out", required=True, metavar="FILE.png")
    _handler(p, "media:cmd_frame")
