"""The `labeldesk` command line: the same operations the window uses, for scripts and servers.

Every command takes `--workspace PATH|URL` (or LABELDESK_WORKSPACE), prints a one-line
reason and exits non-zero on error, and offers `--json` where its output is data.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from labeldesk.app.commands import COMMAND_GROUPS
from labeldesk.app.commands.common import CommandError, console, open_workspace, out, print_json, progress_bar
from labeldesk.app.commands.prepare import clean_config, summary_line
from labeldesk.app.commands.team import acting_user, add_acting_user  # `stats` lives in the team group
from labeldesk.app.workflow import demo
from labeldesk.app.workflow.export import FORMATS as EXPORT_FORMATS, ExportError, export, write_package
from labeldesk.app.workflow.importer import ImportFailed, import_files, write_skip_report
from labeldesk.app.workflow.projects import ProjectError, TEMPLATE_NAMES, create_project, get_project, guidelines, list_projects, publish_guidelines
from labeldesk.media.errors import MediaError
from labeldesk.storage.db import Workspace, WorkspaceError
from labeldesk.storage.formats.readers import FORMATS as IMPORT_FORMATS, InputError
from labeldesk.storage.formats.views import PAIRINGS

# --- commands -------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> None:
    target = args.path or args.workspace
    if not target:
        raise CommandError("init needs a WORKSPACE path or URL")
    ws = Workspace.open(target, create=True)
    demo.ensure_local_lead(ws)
    if args.demo:
        demo.populate(ws)
    console.print(f"workspace ready at {ws.location.folder or ws.location.url}" + (" with demo projects" if args.demo else ""))


def cmd_project_create(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    info = create_project(ws, args.name, args.kind, Path(args.template) if args.template else None)
    if args.json:
        print_json(info.to_dict())
    else:
        console.print(f"created project {info.name} ({info.kind}, {len(info.questions)} questions, overlap {info.overlap})")


def cmd_project_list(args: argparse.Namespace) -> None:
    projects = list_projects(open_workspace(args))
    if args.json:
        print_json([p.to_dict() for p in projects])
        return
    table = Table("project", "kind", "items", "annotated", "submissions", "overlap", "guidelines")
    for p in projects:
        table.add_row(p.name, p.kind, str(p.items), str(p.annotated), str(p.submissions), str(p.overlap), f"v{p.guideline_version}")
    out.print(table)


def cmd_project_show(args: argparse.Namespace) -> None:
    info = get_project(open_workspace(args), args.name, with_counts=True)
    if args.json:
        print_json(info.to_dict() | {"config": info.config})
        return
    out.print(f"[bold]{info.name}[/bold] — {info.title} ({info.kind})")
    out.print(f"items {info.items}, annotated {info.annotated}, submissions {info.submissions}, overlap {info.overlap}, guidelines v{info.guideline_version}")
    for q in info.questions:
        out.print(f"  {q['name']:<16} {q['type']:<12} {q.get('prompt', '')}")


def cmd_guidelines(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    if args.publish:
        text = Path(args.publish).read_text(encoding="utf-8")
        version = publish_guidelines(ws, args.project, text, args.note or "")
        console.print(f"published guideline version {version} of {args.project}")
    else:
        version, text = guidelines(ws, args.project, args.version)
        out.print(f"# version {version}\n{text}", markup=False, highlight=False)


def cmd_import(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    clean = clean_config(args.clean_config) if args.clean or args.clean_config else None
    with progress_bar("reading" if clean is None else "reading and cleaning", not args.json) as progress:
        try:
            report = import_files(ws, args.project, args.files, args.format, args.skip_invalid, args.annotator, progress, clean)
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
        if report.cleaning is not None:
            console.print(summary_line(report.cleaning), markup=False, highlight=False)


def cmd_export(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    actor = acting_user(ws, args)
    with progress_bar("exporting", not args.json) as progress:
        if args.package:
            views = [args.format] if args.format != "records" else []
            manifest = write_package(ws, args.project, Path(args.package), views + (args.views or []), args.include,
                                     args.pairing, args.parquet, progress, actor=actor, clips=args.clips)
            result: dict[str, Any] = {"package": args.package, "files": len(manifest["files"]), "counts": manifest["counts"]}
        else:
            summary = export(ws, args.project, args.format, Path(args.out) if args.out else None, args.include, args.pairing,
                             progress, actor=actor)
            result = summary.to_dict()
    if args.json:
        print_json(result)
    elif args.package:
        console.print(f"wrote package {args.package}: {result['files']} files, {result['counts']}")
    else:
        console.print(f"wrote {result['rows']} {args.format} row(s) from {result['records']} record(s) to {', '.join(result['files'])}")


def cmd_demo(args: argparse.Namespace) -> None:
    """Create (once) a demo workspace and open the window on it."""
    target = Path(args.workspace or Path.home() / "LabelDesk" / "demo")
    ws = Workspace.open(target, create=True)
    demo.ensure_local_lead(ws)
    made = demo.populate(ws)
    console.print(f"demo workspace at {target}" + (f" (created {len(made)} projects)" if made else ""))
    ws.close()
    if not args.no_gui:
        args.workspace = str(target)
        cmd_gui(args)


def cmd_gui(args: argparse.Namespace) -> None:
    from labeldesk.app.ui.main import run  # Qt loads only for the window

    sys.exit(run(args.workspace))


# --- the parser -----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workspace", "-w", help="workspace folder, .db file or postgresql:// URL (default: $LABELDESK_WORKSPACE)")
    common.add_argument("--json", action="store_true", help="print machine-readable JSON")

    parser = argparse.ArgumentParser(prog="labeldesk", description="Build LLM training data: label, review, measure, export.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", parents=[common], help="create a workspace")
    p.add_argument("path", nargs="?", help="workspace folder or URL")
    p.add_argument("--demo", action="store_true", help="add demo projects with sample items")
    p.set_defaults(func=cmd_init)

    project = sub.add_parser("project", help="create, list and show projects").add_subparsers(dest="action", required=True)
    p = project.add_parser("create", parents=[common])
    p.add_argument("name")
    p.add_argument("--kind", required=True, choices=TEMPLATE_NAMES)
    p.add_argument("--template", help="a template YAML file (copy one from resources/templates)")
    p.set_defaults(func=cmd_project_create)
    p = project.add_parser("list", parents=[common])
    p.set_defaults(func=cmd_project_list)
    p = project.add_parser("show", parents=[common])
    p.add_argument("name")
    p.set_defaults(func=cmd_project_show)

    p = sub.add_parser("guidelines", parents=[common], help="show or publish a project's guidelines")
    p.add_argument("--project", required=True)
    p.add_argument("--publish", metavar="FILE.md", help="publish FILE.md as the next version")
    p.add_argument("--note", help="what changed, for the annotators")
    p.add_argument("--version", type=int, help="show this version (default: the newest)")
    p.set_defaults(func=cmd_guidelines)

    p = sub.add_parser("import", parents=[common], help="import data files into a project")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--project", required=True)
    p.add_argument("--format", default="auto", choices=("auto", *IMPORT_FORMATS))
    p.add_argument("--skip-invalid", action="store_true", help="import the valid rows and report the rest")
    p.add_argument("--report", help="where to write the report of skipped rows (default import-skipped.json)")
    p.add_argument("--annotator", default="imported", help="annotator name for answers that carry none")
    p.add_argument("--clean", action="store_true", help="clean the rows before they are stored (see `labeldesk clean`)")
    p.add_argument("--clean-config", metavar="FILE.yaml", help="cleaning configuration (implies --clean)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", parents=[common], help="export records, training views or a dataset package")
    p.add_argument("--project", required=True)
    p.add_argument("--format", default="records", choices=EXPORT_FORMATS)
    p.add_argument("--out", help="output file (.jsonl, .json or .parquet); a folder for eaf, textgrid, vtt, srt")
    p.add_argument("--package", metavar="DIR|FILE.zip", help="write a dataset package instead of one file")
    p.add_argument("--views", nargs="*", choices=("sft", "dpo", "safety", "eval"), help="training views to add to the package")
    p.add_argument("--parquet", action="store_true", help="also write data/records.parquet in the package")
    p.add_argument("--clips", action="store_true", help="package media as clips cut to the labeled ranges, not whole files")
    p.add_argument("--include", default="all", choices=("all", "annotated", "accepted"))
    p.add_argument("--pairing", default="all", choices=PAIRINGS, help="DPO pairs: every pair a ranking implies, or best vs rest")
    add_acting_user(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("demo", parents=[common], help="create a demo workspace (default ~/LabelDesk/demo) and open it")
    p.add_argument("--no-gui", action="store_true", help="only create the workspace")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("gui", parents=[common], help="open the window")
    p.set_defaults(func=cmd_gui)
    for register in COMMAND_GROUPS:
        register(sub, common)
    return parser


EXPECTED = (CommandError, WorkspaceError, ProjectError, ExportError, InputError, MediaError, ValueError, OSError)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except EXPECTED as exc:
        console.print(f"labeldesk: error: {exc}", markup=False, highlight=False)
        return 1
    except KeyboardInterrupt:
        console.print("labeldesk: interrupted; nothing half-written was kept")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
