"""CSV as spreadsheets write it: comma, semicolon (Excel with a decimal comma), tab, and .tsv files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from labeldesk.app.workflow.importer import import_files
from labeldesk.app.workflow.permissions import Actor
from labeldesk.app.workflow.projects import create_project, get_project
from labeldesk.app.workflow.records import iter_records
from labeldesk.storage.db import Workspace

ROWS = [["id", "prompt", "response"], ["r1", "Is 1,5 more than 1; or less?", "More; 1,5 > 1"], ["r2", "Tabs\tinside?", "Yes, kept"]]


def _write(path: Path, delimiter: str) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(ROWS)
    return path


@pytest.mark.parametrize(("name", "delimiter"), [("comma.csv", ","), ("semicolon.csv", ";"), ("tab.csv", "\t"),
                                                 ("pipe.csv", "|"), ("sheet.tsv", "\t")])
def test_each_dialect_imports_every_cell_as_written(workspace: Workspace, lead: Actor, tmp_path: Path,
                                                    name: str, delimiter: str) -> None:
    create_project(workspace, lead, "chat", "conversation")
    report = import_files(workspace, lead, "chat", [_write(tmp_path / name, delimiter)])
    assert report.imported == 2
    records = {r["id"]: r for r in iter_records(workspace, get_project(workspace, "chat"))}
    assert [m["content"] for m in records["r1"]["messages"]] == ["Is 1,5 more than 1; or less?", "More; 1,5 > 1"]
    assert records["r2"]["messages"][0]["content"] == "Tabs\tinside?"
