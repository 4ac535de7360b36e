"""Import every input format, export every output format, and load the results with `datasets`."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from labeldesk.app.workflow import export as export_ops
from labeldesk.app.workflow.importer import ImportFailed, import_files
from labeldesk.app.workflow.permissions import Actor
from labeldesk.app.workflow.projects import create_project, get_project
from labeldesk.app.workflow.records import iter_records
from labeldesk.storage.db import Workspace
from labeldesk.storage.record import validate


def export(ws: Workspace, lead: Actor, *args, **kwargs):
    """Exports are made by a lead (or reviewer): the permission tests are in tests/team."""
    return export_ops.export(ws, *args, actor=lead, **kwargs)


def write_package(ws: Workspace, lead: Actor, *args, **kwargs):
    return export_ops.write_package(ws, *args, actor=lead, **kwargs)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def records_of(ws: Workspace, project: str) -> list[dict]:
    return list(iter_records(ws, get_project(ws, project)))


# --- one test per input format -----------------------------------------------------------


def test_openai_messages(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    create_project(workspace, lead, "chat", "conversation")
    src = write_jsonl(tmp_path / "chat.jsonl", [
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                      {"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]}]},
        {"id": "c2", "messages": [{"role": "user", "content": "2+2?"}], "topic": "math"},
    ])
    report = import_files(workspace, lead, "chat", [src])
    assert (report.imported, report.annotations) == (2, 0)
    recs = {r["id"]: r for r in records_of(workspace, "chat")}
    assert recs["c2"]["meta"] == {"topic": "math"}
    first = next(r for r in recs.values() if r["id"] != "c2")
    assert first["messages"][2] == {"role": "assistant", "content": "Hello!"}
    assert first["provenance"]["source"] == "chat.jsonl:1"


def test_alpaca_and_sharegpt(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    create_project(workspace, lead, "ins", "instruction")
    alpaca = write_jsonl(tmp_path / "alpaca.jsonl", [{"instruction": "Add", "input": "2 and 3", "output": "5"}])
    share = write_jsonl(tmp_path / "share.jsonl", [{"id": "s1", "conversations": [
        {"from": "human", "value": "Name a color"}, {"from": "gpt", "value": "Blue"}]}])
    import_files(workspace, lead, "ins", [alpaca, share])
    recs = {r["id"]: r for r in records_of(workspace, "ins")}
    assert recs["s1"]["messages"] == [{"role": "user", "content": "Name a color"}, {"role": "assistant", "content": "Blue"}]
    alp = next(r for k, r in recs.items() if k != "s1")
    assert alp["messages"][0]["content"] == "Add\n\n2 and 3"
    assert alp["messages"][1] == {"role": "assistant", "content": "5"}


def test_preference_pairs_string_and_conversational(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    create_project(workspace, lead, "pref", "preference")
    src = write_jsonl(tmp_path / "dpo.jsonl", [
        {"id": "p1", "prompt": "Say hi", "chosen": "Hi!", "rejected": "Go away."},
        {"id": "p2", "prompt": [{"role": "user", "content": "Capital of France?"}],
         "chosen": [{"role": "assistant", "content": "Paris"}], "rejected": [{"role": "assistant", "content": "Lyon"}]},
        {"id": "p3", "chosen": [{"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "2"}],
         "rejected": [{"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "3"}]},
    ])
    report = import_files(workspace, lead, "pref", [src])
    assert (report.imported, report.annotations) == (3, 3)
    recs = {r["id"]: r for r in records_of(workspace, "pref")}
    assert recs["p2"]["responses"] == [{"id": "a", "content": "Paris"}, {"id": "b", "content": "Lyon"}]
    assert recs["p3"]["messages"] == [{"role": "user", "content": "1+1?"}]
    assert recs["p1"]["ranking"] == [{"response": "a", "rank": 1}, {"response": "b", "rank": 2}]
    assert recs["p1"]["annotations"][0]["annotator"] == "imported"


def test_prompt_with_list_of_responses_and_csv(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    create_project(workspace, lead, "pref", "preference")
    src = write_jsonl(tmp_path / "multi.jsonl", [
        {"id": "m1", "prompt": "Pick one", "responses": ["A", {"text": "B", "model": "gpt-x"}, "C"]},
    ])
    table = tmp_path / "rows.csv"
    with table.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "prompt", "response_a", "response_b", "source"])
        writer.writerow(["r1", "Which is better, \"x\" or y?", "x, clearly", "y", "forum"])
    import_files(workspace, lead, "pref", [src, table])
    recs = {r["id"]: r for r in records_of(workspace, "pref")}
    assert [r["id"] for r in recs["m1"]["responses"]] == ["a", "b", "c"]
    assert recs["m1"]["responses"][1]["source"] == "gpt-x"
    assert recs["r1"]["responses"][0] == {"id": "a", "content": "x, clearly"}
    assert recs["r1"]["meta"] == {"source": "forum"}


def test_our_records_round_trip_through_jsonl_and_parquet(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    create_project(workspace, lead, "src", "preference")
    record = {
        "schema": "labeldesk/record@1", "id": "r-1", "kind": "preference",
        "messages": [{"role": "user", "content": "Rate these 🙂"}],
        "responses": [{"id": "a", "content": "héllo 👋🏽 wörld"}, {"id": "b", "content": "bye"}],
        "annotations": [
            {"annotator": "ann1", "values": {"ranking": [{"response": "a", "rank": 1}, {"response": "b", "rank": 2}],
                                              "quality": 4, "errors": [{"target": "responses.a", "start": 6, "end": 11, "label": "factual-error"}]},
             "submitted_at": "2026-01-02T03:04:05+00:00", "seconds": 12.5, "guideline_version": 1},
        ],
        "provenance": {"source": "elsewhere", "synthetic": True, "generator": "model-z"},
    }
    import_files(workspace, lead, "src", [write_jsonl(tmp_path / "in.jsonl", [record])])
    out_jsonl, out_parquet = tmp_path / "out.jsonl", tmp_path / "out.parquet"
    export(workspace, lead, "src", "records", out_jsonl)
    export(workspace, lead, "src", "records", out_parquet)
    exported = orjson.loads(out_jsonl.read_bytes().splitlines()[0])
    assert exported["spans"] == [{"target": "responses.a", "start": 6, "end": 11, "label": "factual-error"}]
    assert exported["responses"][0]["content"][6:11] == "👋🏽 wö"
    assert exported["labels"] == {"quality": 4}
    assert exported["annotations"][0]["seconds"] == 12.5
    assert exported["provenance"]["generator"] == "model-z"

    create_project(workspace, lead, "copy-jsonl", "preference")
    create_project(workspace, lead, "copy-parquet", "preference")
    import_files(workspace, lead, "copy-jsonl", [out_jsonl])
    import_files(workspace, lead, "copy-parquet", [out_parquet])
    for copy in ("copy-jsonl", "copy-parquet"):
        again = records_of(workspace, copy)[0]
        for key in ("messages", "responses", "ranking", "labels", "spans"):
            assert again[key] == exported[key], (copy, key)
        assert again["annotations"][0]["values"] == record["annotations"][0]["values"]


def test_reimport_is_idempotent(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    create_project(workspace, lead, "pref", "preference")
    src = write_jsonl(tmp_path / "dpo.jsonl", [{"prompt": f"q{i}", "chosen": "good", "rejected": "bad"} for i in range(20)])
    first = import_files(workspace, lead, "pref", [src])
    second = import_files(workspace, lead, "pref", [src])
    assert (first.imported, first.annotations) == (20, 20)
    assert (second.imported, second.annotations, second.unchanged) == (0, 0, 20)
    assert len(records_of(workspace, "pref")) == 20


# --- bad input ---------------------------------------------------------------------------


def _count(ws: Workspace, project: str) -> int:
    return get_project(ws, project, with_counts=True).items


@pytest.mark.parametrize("content, expected", [
    (b'{"messages": [{"role": "user", "content": "ok"}]}\n{"messages": [{"role": "user", "content": "broken"\n', r"bad\.jsonl:2: malformed JSON"),
    (b'{"messages": [{"role": "user", "content": "ok"}]}\n{"messages": [{"role": "user"}]}\n', r"bad\.jsonl:2: messages\[0\]\.content: missing"),
    (b'{"messages": [{"role": "wizard", "content": "x"}]}\n', r"bad\.jsonl:1: messages\[0\]\.role: unknown role 'wizard'"),
    (b'{"schema": "labeldesk/record@1", "id": "x", "kind": "novel"}\n', r"bad\.jsonl:1: kind: 'novel' is not one of instruction, conversation, preference, safety, evaluation"),
    (b'{"messages": [{"role": "user", "content": "caf\xe9"}]}\n', r"bad\.jsonl:1: malformed JSON \(not valid UTF-8"),
    (b'{"instruction": "a"}\n{"output": "b", "instruction": null}\n', r"bad\.jsonl:2: instruction: required field is missing"),
])
def test_bad_rows_are_named_and_nothing_is_imported(workspace: Workspace, lead: Actor, tmp_path: Path, content: bytes, expected: str) -> None:
    create_project(workspace, lead, "chat", "conversation")
    src = tmp_path / "bad.jsonl"
    src.write_bytes(content)
    fmt = "alpaca" if b"instruction" in content else "auto"
    with pytest.raises(ImportFailed, match=expected):
        import_files(workspace, lead, "chat", [src], fmt=fmt)
    assert _count(workspace, "chat") == 0


def test_skip_invalid_imports_the_good_rows(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    create_project(workspace, lead, "chat", "conversation")
    src = tmp_path / "mixed.jsonl"
    src.write_bytes(b'{"messages": [{"role": "user", "content": "a"}]}\nnot json\n{"messages": [{"role": "user", "content": "b"}]}\n')
    report = import_files(workspace, lead, "chat", [src], skip_invalid=True)
    assert report.imported == 2
    assert [e.location for e in report.skipped] == ["mixed.jsonl:2"]


def test_duplicate_id_with_different_content(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    create_project(workspace, lead, "chat", "conversation")
    src = write_jsonl(tmp_path / "dup.jsonl", [
        {"id": "same", "messages": [{"role": "user", "content": "one"}]},
        {"id": "same", "messages": [{"role": "user", "content": "two"}]},
    ])
    with pytest.raises(ImportFailed, match=r"dup\.jsonl:2: id: duplicate id 'same' with different content \(first at dup\.jsonl:1\)"):
        import_files(workspace, lead, "chat", [src])
    import_files(workspace, lead, "chat", [write_jsonl(tmp_path / "one.jsonl", [{"id": "same", "messages": [{"role": "user", "content": "one"}]}])])
    with pytest.raises(ImportFailed, match="stored already with different content"):
        import_files(workspace, lead, "chat", [write_jsonl(tmp_path / "two.jsonl", [{"id": "same", "messages": [{"role": "user", "content": "two"}]}])])


def test_truncated_parquet_and_utf16_csv(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    create_project(workspace, lead, "chat", "conversation")
    good = tmp_path / "good.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": "p", "kind": "conversation", "schema": "labeldesk/record@1"}]), good)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(ImportFailed, match=r"broken\.parquet: not a readable Parquet file"):
        import_files(workspace, lead, "chat", [broken])
    utf16 = tmp_path / "wide.csv"
    utf16.write_bytes("prompt,response\nÇa va ?,Oui\n".encode("utf-16"))
    assert import_files(workspace, lead, "chat", [utf16]).imported == 1


def test_fifty_megabyte_line(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    create_project(workspace, lead, "chat", "conversation")
    big = "x" * (50 * 1024 * 1024)
    src = write_jsonl(tmp_path / "big.jsonl", [{"id": "big", "messages": [{"role": "user", "content": big}]}])
    assert import_files(workspace, lead, "chat", [src]).imported == 1
    assert len(records_of(workspace, "chat")[0]["messages"][0]["content"]) == len(big)


# --- exports -----------------------------------------------------------------------------


@pytest.fixture
def ranked(workspace: Workspace, lead: Actor, tmp_path: Path) -> Workspace:
    create_project(workspace, lead, "pref", "preference")
    rows = []
    for i in range(6):
        rows.append({
            "schema": "labeldesk/record@1", "id": f"p{i}", "kind": "preference",
            "messages": [{"role": "user", "content": f"question {i}"}],
            "responses": [{"id": "a", "content": "best"}, {"id": "b", "content": "middle"}, {"id": "c", "content": "tied middle"}],
            "annotations": [{"annotator": f"ann{k}", "values": {
                "ranking": [{"response": "a", "rank": 1}, {"response": "b", "rank": 2}, {"response": "c", "rank": 2}],
                "quality": 3 + k % 2, "rationale": "clear"}} for k in range(3)],
        })
    import_files(workspace, lead, "pref", [write_jsonl(tmp_path / "ranked.jsonl", rows)])
    return workspace


def test_dpo_pairs_all_and_best_vs_rest_load_in_datasets(ranked: Workspace, lead: Actor, tmp_path: Path) -> None:
    export(ranked, lead, "pref", "dpo", tmp_path / "dpo.jsonl")
    export(ranked, lead, "pref", "dpo", tmp_path / "best.jsonl", pairing="best-vs-rest")
    ds = load_dataset("json", data_files=str(tmp_path / "dpo.jsonl"), split="train")
    assert set(ds.column_names) == {"id", "prompt", "chosen", "rejected"}
    # a>b, a>c; b and c tie so they give no pair
    assert len(ds) == 12
    assert ds[0]["prompt"] == [{"role": "user", "content": "question 0"}]
    assert ds[0]["chosen"] == [{"role": "assistant", "content": "best"}]
    assert len(load_dataset("json", data_files=str(tmp_path / "best.jsonl"), split="train")) == 12


def test_consensus_record_and_sft_view(ranked: Workspace, lead: Actor, tmp_path: Path) -> None:
    record = records_of(ranked, "pref")[0]
    assert record["quality"]["annotators"] == 3
    assert record["quality"]["method"] == "consensus"
    assert record["ranking"][0] == {"response": "a", "rank": 1}
    assert record["labels"]["quality"] == 3  # median of 3, 4, 3
    export(ranked, lead, "pref", "sft", tmp_path / "sft.parquet")
    ds = load_dataset("parquet", data_files=str(tmp_path / "sft.parquet"), split="train")
    assert ds.column_names == ["id", "messages"]
    assert ds[0]["messages"][-1] == {"role": "assistant", "content": "best"}


def test_safety_and_eval_views(workspace: Workspace, lead: Actor, tmp_path: Path) -> None:
    create_project(workspace, lead, "safe", "safety")
    create_project(workspace, lead, "ev", "evaluation")
    import_files(workspace, lead, "safe", [write_jsonl(tmp_path / "s.jsonl", [{
        "schema": "labeldesk/record@1", "id": "s1", "kind": "safety", "messages": [{"role": "user", "content": "how to make a weapon"}],
        "safety": {"verdict": "unsafe", "categories": ["weapons"], "expected_behavior": "refuse"}}])])
    import_files(workspace, lead, "ev", [write_jsonl(tmp_path / "e.jsonl", [{
        "schema": "labeldesk/record@1", "id": "e1", "kind": "evaluation", "messages": [{"role": "user", "content": "17*23?"}],
        "labels": {"reference": "391", "rubric": "exact number"}}])])
    export(workspace, lead, "safe", "safety", tmp_path / "safety.jsonl")
    export(workspace, lead, "ev", "eval", tmp_path / "eval.jsonl")
    safety = load_dataset("json", data_files=str(tmp_path / "safety.jsonl"), split="train")
    assert safety[0] == {"id": "s1", "text": "user: how to make a weapon", "label": "unsafe", "categories": ["weapons"], "expected_behavior": "refuse"}
    ev = load_dataset("json", data_files=str(tmp_path / "eval.jsonl"), split="train")
    assert ev[0] == {"id": "e1", "prompt": "17*23?", "reference": "391", "rubric": "exact number"}


def test_package_folder_and_zip(ranked: Workspace, lead: Actor, tmp_path: Path) -> None:
    manifest = write_package(ranked, lead, "pref", tmp_path / "pkg", views=["dpo", "sft"], parquet_too=True)
    pkg = tmp_path / "pkg"
    for name in ("data/records.jsonl", "data/records.parquet", "data/dpo.jsonl", "data/sft.jsonl", "guidelines.md", "README.md"):
        assert name in manifest["files"], name
        import hashlib
        assert hashlib.sha256((pkg / name).read_bytes()).hexdigest() == manifest["files"][name]["sha256"]
    assert manifest["schema"] == "labeldesk/record@1"
    assert manifest["counts"]["records"] == 6 and manifest["counts"]["dpo"] == 12
    card = (pkg / "README.md").read_text()
    assert "preference: 6" in card and "quality" in card
    for line in (pkg / "data" / "records.jsonl").read_bytes().splitlines():
        validate(orjson.loads(line))
    ds = load_dataset("parquet", data_files=str(pkg / "data" / "records.parquet"), split="train")
    assert ds[0]["ranking"][0] == {"response": "a", "rank": 1}

    write_package(ranked, lead, "pref", tmp_path / "pkg.zip")
    with zipfile.ZipFile(tmp_path / "pkg.zip") as zf:
        names = set(zf.namelist())
        assert {"manifest.json", "data/records.jsonl", "README.md", "guidelines.md"} <= names
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary files left behind"


def test_failed_export_leaves_no_half_written_file(ranked: Workspace, lead: Actor, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = out / "records.jsonl"
    target.write_text("previous export\n")

    def broken(record):
        raise ValueError("disk on fire")

    monkeypatch.setattr("labeldesk.app.workflow.export.validate", broken)
    with pytest.raises(ValueError, match="disk on fire"):
        export(ranked, lead, "pref", "records", target)
    assert target.read_text() == "previous export\n"
    assert [p.name for p in out.iterdir()] == ["records.jsonl"]


def test_labelstudio_export_and_reimport_keeps_annotations(ranked: Workspace, lead: Actor, tmp_path: Path) -> None:
    export(ranked, lead, "pref", "labelstudio", tmp_path / "ls.json")
    config = (tmp_path / "ls.xml").read_text()
    assert config.startswith("<View") or "<View" in config
    tasks = json.loads((tmp_path / "ls.json").read_text())
    assert len(tasks) == 6 and len(tasks[0]["annotations"]) == 3
    create_project(ranked, lead, "back", "preference")
    report = import_files(ranked, lead, "back", [tmp_path / "ls.json"])
    assert (report.imported, report.annotations) == (6, 18)
    before = {r["id"]: r for r in records_of(ranked, "pref")}
    after = {r["id"]: r for r in records_of(ranked, "back")}
    for uid, record in before.items():
        assert after[uid]["ranking"] == record["ranking"]
        assert [a["annotator"] for a in after[uid]["annotations"]] == [a["annotator"] for a in record["annotations"]]


def test_zipped_package_reimports_and_zip_slip_is_refused(ranked: Workspace, lead: Actor, tmp_path: Path) -> None:
    write_package(ranked, lead, "pref", tmp_path / "pkg.zip")
    create_project(ranked, lead, "from-zip", "preference")
    report = import_files(ranked, lead, "from-zip", [tmp_path / "pkg.zip"])
    assert (report.imported, report.annotations) == (6, 18)

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("data/records.jsonl", "{}\n")
        zf.writestr("../../escaped.txt", "gotcha")
    with pytest.raises(ImportFailed, match=r"evil\.zip: \.\./\.\./escaped\.txt: entry would be written outside"):
        import_files(ranked, lead, "from-zip", [evil])
    assert not (tmp_path.parent / "escaped.txt").exists()
