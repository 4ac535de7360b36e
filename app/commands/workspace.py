"""Workspace commands: init, demo, gui."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from labeldesk.app.commands.access import acting_user
from labeldesk.app.commands.common import CommandError, console, print_json
from labeldesk.app.workflow import accounts, demo
from labeldesk.storage.db import Workspace


def cmd_init(args: argparse.Namespace) -> None:
    target = args.path or args.workspace
    if not target:
        raise CommandError("init needs a WORKSPACE path or URL")
    ws = Workspace.open(target, create=True)
    made = demo.populate(ws, acting_user(ws, args)) if args.demo else []
    where = str(ws.location.folder or ws.location.url_for_display)
    if args.json:
        print_json({"workspace": where, "projects": made})
    else:
        console.print(f"workspace ready at {where}" + (" with demo projects" if args.demo else ""))


def cmd_demo(args: argparse.Namespace) -> None:
    """Create (once) a demo workspace and open the window on it."""
    target = Path(args.workspace) if args.workspace else demo.default_workspace()
    ws = Workspace.open(target, create=True)
    made = demo.populate(ws, accounts.local_actor(ws))
    ws.close()
    if args.json:
        print_json({"workspace": str(target), "created": made})
    else:
        console.print(f"demo workspace at {target}" + (f" (created {len(made)} projects)" if made else ""))
    if not args.no_gui:
        args.workspace = str(target)
        cmd_gui(args)


def cmd_gui(args: argparse.Namespace) -> None:
    from labeldesk.app.ui.main import run  # Qt loads only for the window

    sys.exit(run(args.workspace))
