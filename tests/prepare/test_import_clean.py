"""Cleaning on import, and bad input files: each bad item reported, the rest imported as it is."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from labeldesk.app.workflow.accounts import local_actor
from labeldesk.app.workflow.clean import CleanConfig
from labeldesk.app.workflow.importer import ImportFailed, import_files
from labeldesk.app.workflow.permissions import Actor
from labeldesk.app.workflow.prepare import REMOVED, REVIEW, clean_project
from labeldesk.app.workflow.projects import create_project
from labeldesk.storage.db import Workspace

from .conftest import EVAL_TEXT, PLANTED, chat, comparable, rules_of, stored, text_of, write_jsonl

CLEAN = CleanConfig.default()


def two_projects(ws: Workspace, lead: Actor, tmp_path: Path) -> None:
    create_project(ws, lead, "evalset", "conversation")
    create_project(ws, lead, "train", "conversation")
    import_files(ws, lead, "evalset", [write_jsonl(tmp_path / "eval.jsonl", [chat("e1", EVAL_TEXT)])])


def test_import_with_cleaning_stores_what_cleaning_the_project_would(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    two_projects(workspace, lead, tmp_path)
    src = write_jsonl(tmp_path / "train.jsonl", PLANTED)
    report = import_files(workspace, lead, "train", [src], clean=CLEAN)
    other = Workspace.open(tmp_path / "other", create=True)  # the long way, in a workspace of its own
    its_lead = local_actor(other)
    two_projects(other, its_lead, tmp_path)
    import_files(other, its_lead, "train", [src])
    clean_project(other, its_lead, "train", CLEAN)
    assert comparable(stored(workspace, "train")) == comparable(stored(other, "train"))
    other.close()
    assert report.imported == len(PLANTED) and report.cleaning is not None and report.cleaning.applied
    assert report.cleaning.decisions() == {"removed": 3, "review": 1, "changed": 2}
    assert report.to_dict()["clean"]["decisions"]["removed"] == 3


def test_reimport_recognises_cleaned_items(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    two_projects(workspace, lead, tmp_path)
    src = write_jsonl(tmp_path / "train.jsonl", PLANTED)
    import_files(workspace, lead, "train", [src], clean=CLEAN)
    before = stored(workspace, "train")
    again = import_files(workspace, lead, "train", [src], clean=CLEAN)
    raw = import_files(workspace, lead, "train", [src])  # the original file, not cleaned: same items
    assert (again.imported, again.unchanged, raw.imported, raw.unchanged) == (0, len(PLANTED), 0, len(PLANTED))
    assert again.cleaning.items == () and again.cleaning.skipped == {"already stored": len(PLANTED)}
    assert stored(workspace, "train") == before


def test_bad_input_files_are_reported_per_item(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    two_projects(workspace, lead, tmp_path)
    other_before = stored(workspace, "evalset")
    garbage = "".join(chr(c) for c in random.Random(3).choices(range(0, 32), k=300))  # NULs and controls
    big = " ".join(f"{w}{i % 97}" for i, w in enumerate(
        random.Random(4).choices(["alpha", "beta", "gamma", "delta", "omega", "sigma"], k=1_500_000)))[:10_000_000]
    files = [
        write_jsonl(tmp_path / "good.jsonl", [chat("good1", "How do tides work on the open ocean?"),
                                              chat("good2", "Which houseplants tolerate low light well?")]),
        write_jsonl(tmp_path / "binary.jsonl", [chat("binary", garbage)]),
        write_jsonl(tmp_path / "empty.jsonl", [chat("empty", ""), chat("blank", "   \n\t ")]),
        write_jsonl(tmp_path / "utf16.jsonl", [chat("utf16", "CafÃ© owner: reach me at owner@example.com")], "utf-16"),
        write_jsonl(tmp_path / "big.jsonl", [chat("big", big)]),
    ]
    invalid = tmp_path / "invalid.jsonl"
    invalid.write_bytes(b'{"id": "invalid", "messages": [{"role": "user", "content": "caf\xe9 au lait with two spoons of sugar and cinnamon on top \xff please"}]}\n'
                        + json.dumps(chat("valid", "A row after the broken one is fine.")).encode() + b"\n")
    table = tmp_path / "table.csv"
    table.write_bytes(b"id,prompt\ncsv1,Plain row of text here\ncsv2,\"Broken \x89PNG\r\x1a bytes in a cell\"\n")
    noise = tmp_path / "noise.jsonl"
    noise.write_bytes(random.Random(5).randbytes(4000))

    with pytest.raises(ImportFailed):  # a file that is not JSON at all is refused unless told to skip
        import_files(workspace, lead, "train", [files[0], noise], clean=CLEAN)
    assert stored(workspace, "train") == {}
    report = import_files(workspace, lead, "train", [*files, invalid, noise], skip_invalid=True, clean=CLEAN)
    import_files(workspace, lead, "train", [table], clean=CLEAN)  # CSV goes to "instruction"-like prompts
    items = stored(workspace, "train")

    assert report.skipped and all(e.location.startswith("noise.jsonl") for e in report.skipped)
    assert items["binary"]["status"] == REMOVED and "input.binary" in rules_of(items["binary"])
    assert "\x00" not in text_of(items["binary"])  # stored (PostgreSQL cannot hold U+0000), never shown
    assert items["empty"]["status"] == items["blank"]["status"] == REMOVED
    assert rules_of(items["empty"]) == rules_of(items["blank"]) == ["input.empty"]
    assert text_of(items["utf16"]) == "Café owner: reach me at [EMAIL]"
    assert items["invalid"]["status"] == "open"
    assert text_of(items["invalid"]) == "caf\ufffd au lait with two spoons of sugar and cinnamon on top \ufffd please"
    assert rules_of(items["invalid"]) == ["input.replacement_char"]
    assert {"input.replacement_char", "encoding.control_chars"} <= set(rules_of(items["csv2"]))
    assert items["big"]["status"] == REVIEW and "filter.length_max" in rules_of(items["big"])
    assert len(text_of(items["big"])) == len(big)
    assert len(report.cleaning.to_markdown()) < 20_000  # examples are snippets, never the item
    for uid in ("good1", "good2", "valid", "csv1"):
        assert items[uid]["status"] == "open" and "cleaning" not in items[uid]["provenance"]
    assert stored(workspace, "evalset") == other_before


def test_without_cleaning_bad_text_is_refused_with_a_reason(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    create_project(workspace, lead, "train", "conversation")
    nul = write_jsonl(tmp_path / "nul.jsonl", [chat("nul", "before\x00after"), chat("ok", "fine")])
    with pytest.raises(ImportFailed, match=r"nul.jsonl:1: contains U\+0000 .* import with --clean"):
        import_files(workspace, lead, "train", [nul])
    report = import_files(workspace, lead, "train", [nul], skip_invalid=True)
    assert report.imported == 1 and [e.location for e in report.skipped] == ["nul.jsonl:1"]
    cleaned = import_files(workspace, lead, "train", [nul], clean=CLEAN)
    assert cleaned.imported == 1 and text_of(stored(workspace, "train")["nul"]) == "beforeafter"


def test_cleaning_config_changes_what_import_does(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    create_project(workspace, lead, "train", "conversation")
    config = CleanConfig.from_dict({"actions": {"pii.email": "review", "duplicate.exact": "flag"}})
    src = write_jsonl(tmp_path / "t.jsonl", [chat("a", "write to a@example.com please"), chat("b", "same text"),
                                             chat("c", "Same  text")])
    import_files(workspace, lead, "train", [src], clean=config)
    items = stored(workspace, "train")
    assert items["a"]["status"] == REVIEW and text_of(items["a"]) == "write to a@example.com please"
    assert items["c"]["status"] == "open" and rules_of(items["c"]) == ["duplicate.exact"]
