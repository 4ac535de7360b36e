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


def _group(sub: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:
    """A command with actions of its own (`labeldesk project list`)."""
    return sub.add_parser(name, help=help).add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=Parser)


ACTING = ("--user", "--as")


def _command(sub: argparse._SubParsersAction, common: Parser, name: str, handler: str, help: str,
             project: bool = False, acting: tuple[str, ...] = ()) -> Parser:
    """One command: its handler, and the options many share (`--project`, the acting user's flags)."""
    p = sub.add_parser(name, parents=[common], help=help)
    p.set_defaults(handler=handler)
    if project:
        p.add_argument("--project", required=True, help="project name or its ASCII slug (see `labeldesk project list`)")
    if acting:
        p.add_argument(*acting, dest="acting", metavar="NAME",
                       help=f"act as this user (password from ${ENV_PASSWORD} or a prompt on a shared workspace; "
                            "default: the local lead of a personal workspace)")
    return p


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
    p = _command(sub, common, "init", "workspace:cmd_init", "create a workspace", acting=ACTING)
    p.add_argument("path", nargs="?", help="workspace folder or URL")
    p.add_argument("--demo", action="store_true", help="add demo projects with sample items (as --user on a shared workspace)")

    project = _group(sub, "project", "create, list and show projects")
    p = _command(project, common, "create", "projects:cmd_project_create", "create a project from a template", acting=ACTING)
    p.add_argument("name")
    p.add_argument("--kind", required=True, choices=TEMPLATE_NAMES)
    p.add_argument("--template", help="a template YAML file (copy one from resources/templates)")
    _command(project, common, "list", "catalog:cmd_project_list", "projects with their slugs and counts")
    p = _command(project, common, "show", "projects:cmd_project_show", "one project's counts and questions")
    p.add_argument("name", help="project name or slug")

    p = _command(sub, common, "guidelines", "projects:cmd_guidelines",
                 "show or publish a project's guidelines", project=True, acting=ACTING)
    p.add_argument("--publish", metavar="FILE.md", help="publish FILE.md (- for stdin) as the next version")
    p.add_argument("--note", help="what changed, for the annotators")
    p.add_argument("--version", type=int, help="show this version (default: the newest)")


def _data(sub: argparse._SubParsersAction, common: Parser) -> None:
    p = _command(sub, common, "import", "data:cmd_import",
                 "import data files (- for stdin) into a project", project=True, acting=ACTING)
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", default="auto", choices=("auto", *IMPORT_FORMATS))
    p.add_argument("--skip-invalid", action="store_true", help="import the valid rows and report the rest")
    p.add_argument("--report", help="where to write the report of skipped rows (default import-skipped.json)")
    p.add_argument("--annotator", default="imported", help="annotator name for answers that carry none")
    p.add_argument("--clean", action="store_true", help="clean the rows before they are stored (see `labeldesk clean`)")
    p.add_argument("--clean-config", metavar="FILE.yaml", help="cleaning configuration (implies --clean)")

    p = _command(sub, common, "export", "data:cmd_export",
                 "export records, training views or a dataset package", project=True, acting=ACTING)
    p.add_argument("--format", default="records", choices=EXPORT_FORMATS)
    p.add_argument("--out", help="output file (.jsonl, .json or .parquet; - for stdout as JSON lines); "
                                 "a folder for eaf, textgrid, vtt, srt")
    p.add_argument("--package", metavar="DIR|FILE.zip", help="write a dataset package instead of one file")
    p.add_argument("--views", nargs="*", choices=VIEWS, help="training views to add to the package")
    p.add_argument("--parquet", action="store_true", help="also write data/records.parquet in the package")
    p.add_argument("--clips", action="store_true", help="package media as clips cut to the labeled ranges, not whole files")
    p.add_argument("--include", default="all", choices=("all", "annotated", "accepted"))
    p.add_argument("--pairing", default="all", choices=PAIRINGS, help="DPO pairs: every pair a ranking implies, or best vs rest")


def _desktop(sub: argparse._SubParsersAction, common: Parser) -> None:
    p = _command(sub, common, "demo", "workspace:cmd_demo",
                 "create a demo workspace (default: in the user data folder) and open it")
    p.add_argument("--no-gui", action="store_true", help="only create the workspace")

    _command(sub, common, "gui", "workspace:cmd_gui", "open the window")


def _users(sub: argparse._SubParsersAction, common: Parser) -> None:
    users = _group(sub, "users", "accounts: add, change, list (a lead's commands)")
    p = _command(users, common, "add", "team:cmd_users_add", "create an account", acting=("--as",))
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--password-stdin", action="store_true", help="read the new password from the first line of stdin")
    p.add_argument("--domains", nargs="*", metavar="DOMAIN", help="domains they may label, e.g. medical legal code")
    p.add_argument("--locales", nargs="*", metavar="LOCALE", help="locales they may label, e.g. en de-AT")
    p = _command(users, common, "set", "team:cmd_users_set", "change an account", acting=("--as",))
    p.add_argument("name")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--password-stdin", action="store_true", help="read a new password from the first line of stdin")
    p.add_argument("--domains", nargs="*", metavar="DOMAIN")
    p.add_argument("--locales", nargs="*", metavar="LOCALE")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--activate", action="store_true")
    state.add_argument("--deactivate", action="store_true")
    _command(users, common, "list", "team:cmd_users_list", "list accounts", acting=ACTING)


def _assignment(sub: argparse._SubParsersAction, common: Parser) -> None:
    p = _command(sub, common, "assign", "team:cmd_assign",
                 "a lead hands items to a user", project=True, acting=("--as",))
    p.add_argument("--user", dest="assignee", required=True, help="who gets the items")
    p.add_argument("--count", type=int, default=1)

    p = _command(sub, common, "route", "team:cmd_route",
                 "set the domain / locale items require", project=True, acting=ACTING)
    p.add_argument("--items", nargs="*", metavar="UID", help="these items (default: all)")
    p.add_argument("--domain", help='required domain ("" clears)')
    p.add_argument("--locale", help='required locale ("" clears)')
    p.add_argument("--from-meta", action="store_true", help="take domain / locale from each item's meta")

    p = _command(sub, common, "gold", "team:cmd_gold",
                 "gold items with known answers, and how often they are mixed in", project=True, acting=ACTING)
    p.add_argument("--set", metavar="UID", help="make this item gold (with --values)")
    p.add_argument("--values", metavar="JSON", help="the known answers, {question: answer}")
    p.add_argument("--clear", nargs="*", metavar="UID", help="make these items regular again")
    p.add_argument("--file", metavar="FILE.jsonl", help='lines of {"id": UID, "values": {...}}')
    p.add_argument("--rate", type=float, help="share of each annotator's tasks that are gold (0..1)")


def _review(sub: argparse._SubParsersAction, common: Parser) -> None:
    p = _command(sub, common, "review", "team:cmd_review",
                 "list a review queue, or accept / reject / correct a submission", project=True, acting=ACTING)
    p.add_argument("--level", type=int, default=1)
    action = p.add_mutually_exclusive_group()
    action.add_argument("--accept", type=int, metavar="ID", help="accept submission ID")
    action.add_argument("--reject", type=int, metavar="ID", help="send submission ID back for rework (needs --reason)")
    action.add_argument("--correct", type=int, metavar="ID", help="correct submission ID (needs --values)")
    p.add_argument("--reason", help="why (shown to the annotator)")
    p.add_argument("--values", metavar="JSON", help="corrected answers, {question: answer}")
    p.add_argument("--revision", type=int, help="refuse if the submission changed since this revision")
    p.add_argument("--limit", type=int, default=100, help="queue entries to list")

    p = _command(sub, common, "adjudicate", "team:cmd_adjudicate",
                 "list items escalated by disagreement, or decide one", project=True, acting=ACTING)
    p.add_argument("--item", metavar="UID", help="decide this item (with --values)")
    p.add_argument("--values", metavar="JSON", help="the lead's answers, {question: answer}")
    p.add_argument("--reason")
    p.add_argument("--threshold", type=float, help="agreement threshold (default: the project's)")


def _figures(sub: argparse._SubParsersAction, common: Parser) -> None:
    p = _command(sub, common, "agreement", "team:cmd_agreement",
                 "inter-annotator agreement per question, annotator and gold", project=True, acting=ACTING)
    p.add_argument("--question", help="only this question")

    p = _command(sub, common, "aggregate", "team:cmd_aggregate",
                 "one record per decided item, below-threshold items escalated or dropped", project=True, acting=ACTING)
    p.add_argument("--threshold", type=float, help="agreement threshold (default: the project's agreement_threshold)")
    p.add_argument("--out", help="write the records here (.jsonl or .parquet)")
    p.add_argument("--include-unreviewed", action="store_true", help="also keep single submissions nobody reviewed")

    p = _command(sub, common, "stats", "team:cmd_stats",
                 "team figures: progress, throughput, time, agreement, gold, corrections", project=True, acting=ACTING)
    p.add_argument("--csv", metavar="FILE", help="also write every figure to FILE as CSV")


def _prepare(sub: argparse._SubParsersAction, common: Parser) -> None:
    p = _command(sub, common, "clean", "prepare:cmd_clean",
                 "clean a project's items: encoding, duplicates, private data, filters", project=True, acting=ACTING)
    p.add_argument("--config", metavar="FILE.yaml", help="cleaning configuration merged over the defaults "
                                                          "(copy resources/clean/default.yaml)")
    p.add_argument("--dry-run", action="store_true", help="report what would change; write nothing to the workspace")
    p.add_argument("--report", metavar="FILE.json", help="write the full report (every item it found something about)")
    p.add_argument("--markdown", metavar="FILE.md", help="write the report as Markdown")
    p.add_argument("--html", metavar="FILE.html", help="write the report as a standalone HTML page")

    p = _command(sub, common, "clean-review", "prepare:cmd_clean_review",
                 "list the items cleaning holds for review, or keep / remove them", project=True, acting=ACTING)
    p.add_argument("--keep", nargs="+", metavar="ID", help="send these items back to labeling")
    p.add_argument("--remove", nargs="+", metavar="ID", help="take these items out")


def _media(sub: argparse._SubParsersAction, common: Parser) -> None:
    media = _group(sub, "media", "probe media files, extract frames")
    p = _command(media, common, "probe", "media:cmd_probe", "duration, streams, sample rate, fps, rotation")
    p.add_argument("file")
    p = _command(media, common, "frame", "media:cmd_frame", "write the exact frame shown at a time as PNG")
    p.add_argument("video")
    p.add_argument("--at", type=float, required=True, metavar="SECONDS")
    p.add_argument("--out", required=True, metavar="FILE.png")
