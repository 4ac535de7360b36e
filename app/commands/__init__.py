"""Command groups of the `labeldesk` command line, each registering its own subcommands.

A group is a module with `register(subparsers, common_parser)`; list it here.
"""

from __future__ import annotations

from labeldesk.app.commands import media, prepare, team

COMMAND_GROUPS: tuple = (team.register, prepare.register, media.register)
