"""`labeldesk project list`: the catalogue, read without loading SQLAlchemy where it can be (storage.catalog)."""

from __future__ import annotations

import argparse

from rich.table import Table

from labeldesk.app.commands.common import out, print_json
from labeldesk.storage.catalog import read_personal_catalog


def cmd_project_list(args: argparse.Namespace) -> None:
    projects = read_personal_catalog(args.workspace)
    if projects is None:  # a server, or a workspace to upgrade: the full path explains or migrates
        from labeldesk.app.commands.access import open_workspace
        from labeldesk.app.workflow.projects import list_projects

        projects = list_projects(open_workspace(args))
    if args.json:
        print_json([p.to_dict() for p in projects])
        return
    table = Table("project", "slug", "kind", "items", "annotated", "submissions", "overlap", "guidelines")
    for p in projects:
        table.add_row(p.name, p.slug, p.kind, str(p.items), str(p.annotated), str(p.submissions), str(p.overlap),
                      f"v{p.guideline_version}")
    out.print(table)
