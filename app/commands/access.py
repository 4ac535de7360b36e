"""Which workspace a command opens, and who runs it: `--user/--as NAME` signed in, or the local lead
of a personal workspace.

Every permission is checked by the workflow operation itself, never here.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from labeldesk.app.commands.common import CommandError
from labeldesk.app.commands.parser import ENV_PASSWORD
from labeldesk.app.workflow import accounts
from labeldesk.app.workflow.permissions import Actor
from labeldesk.storage.db import Workspace


def open_workspace(args: argparse.Namespace) -> Workspace:
    return Workspace.open(args.workspace)


def _password(ws: Workspace, name: str) -> str | None:
    password = os.environ.get(ENV_PASSWORD)
    if password is None and not ws.location.is_sqlite:
        if not sys.stdin.isatty():
            raise CommandError(f"signing in as {name!r} needs a password: set ${ENV_PASSWORD} or run in a terminal")
        password = getpass.getpass(f"password for {name}: ")
    return password


def acting_user(ws: Workspace, args: argparse.Namespace) -> Actor:
    """`--user/--as NAME` signed in, or the local lead of a personal workspace."""
    name = getattr(args, "acting", None)
    if not name:
        return accounts.local_actor(ws)
    return accounts.sign_in(ws, name, _password(ws, name))
