"""Project commands: project create / show, and guidelines (`project list` is in catalog.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from labeldesk.app.commands.access import acting_user, open_workspace
from labeldesk.app.commands.common import STDIO, console, out, print_json
from labeldesk.app.workflow.projects import create_project, get_project, guidelines, publish_guidelines


def cmd_project_create(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    info = create_project(ws, acting_user(ws, args), args.name, args.kind, Path(args.template) if args.template else None)
    if args.json:
        print_json(info.to_dict())
    else:
        console.print(f"created project {info.name} ({info.kind}, {len(info.questions)} questions, overlap {info.overlap})")


def cmd_project_show(args: argparse.Namespace) -> None:
    info = get_project(open_workspace(args), args.name, with_counts=True)
    if args.json:
        print_json(info.to_dict() | {"config": info.config})
        return
    out.print(f"[bold]{info.name}[/bold] ({info.slug}) — {info.title} ({info.kind})")
    out.print(f"items {info.items}, annotated {info.annotated}, submissions {info.submissions}, overlap {info.overlap}, guidelines v{info.guideline_version}")
    for q in info.questions:
        out.print(f"  {q['name']:<16} {q['type']:<12} {q.get('prompt', '')}")


def _read_text(path: str) -> str:
    return sys.stdin.read() if path == STDIO else Path(path).read_text(encoding="utf-8")


def cmd_guidelines(args: argparse.Namespace) -> None:
    ws = open_workspace(args)
    if args.publish:
        lead = acting_user(ws, args)  # before reading: a refusal must not swallow standard input first
        version = publish_guidelines(ws, lead, args.project, _read_text(args.publish), args.note or "")
        if args.json:
            print_json({"project": args.project, "version": version, "published": True})
        else:
            console.print(f"published guideline version {version} of {args.project}")
        return
    version, text = guidelines(ws, args.project, args.version)
    if args.json:
        print_json({"project": args.project, "version": version, "text": text})
    else:
        out.print(f"# version {version}\n{text}", markup=False, highlight=False)
