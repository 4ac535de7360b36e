"""Bad input found by fuzzing the importers: each case is a clear refusal or a faithful import.

One test per case the fuzzer found (tracebacks, silent changes, vague refusals, zip limits);
the property suites in test_fuzz_readers.py / test_fuzz_transcripts.py cover the rules in general.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labeldesk.app.workflow import importer
from labeldesk.app.workflow.projects import create_project, get_project
from labeldesk.app.workflow.records import iter_records
from labeldesk.storage.db import Workspace
from labeldesk.storage.formats import zips
from labeldesk.storage.formats.errors import InputError, cut
from labeldesk.storage.formats.readers import Row, input_files, read_file

# --- helpers ---------------------------------------------------------------------------------


def rows_of(path: Path, fmt: str = "auto", kind: str = "conversation") -> list[Row]:
    return list(read_file(path, fmt, kind, []))


def one(path: Path, data: bytes, fmt: str = "auto") -> Row:
    path.write_bytes(data)
    rows = rows_of(path, fmt)
    assert len(rows) == 1, rows
    return rows[0]


def error_of(path: Path, data: bytes, fmt: str = "auto") -> str:
    row = one(path, data, fmt)
    assert row.error is not None, row.record
    return str(row.error)


@pytest.fixture
def new_project(lead_args):
    def create(ws: Workspace, name: str, kind: str = "conversation") -> None:
        create_project(ws, *lead_args(ws), name, kind)
    return create


@pytest.fixture
def import_files(lead_args):
    def run(ws: Workspace, project: str, paths: list[Path], **options: Any) -> importer.ImportReport:
        return importer.import_files(ws, *lead_args(ws), project, paths, **options)
    return run


@pytest.fixture
def ws(tmp_path: Path):
    workspace = Workspace.open(tmp_path / "ws", create=True)
    yield workspace
    workspace.close()


# --- tracebacks that are refusals now ------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["jsonl", "json"])
def test_json_nested_255_levels_is_refused_by_the_reader_with_file_and_line(tmp_path: Path, suffix: str) -> None:
    deep = b'{"messages": [{"role": "user", "content": "x"}], "extra": ' + b"[" * 255 + b"]" * 255 + b"}\n"
    message = error_of(tmp_path / f"deep.{suffix}", deep)
    location = "deep.jsonl:1" if suffix == "jsonl" else "deep.json#[0]"
    assert message.startswith(f"{location}: extra: nested more than 100 levels deep")


def test_deep_json_never_reaches_the_import(ws: Workspace, new_project, import_files, tmp_path: Path) -> None:
    """It used to fail with a RecursionError / TypeError in prepare.has_nul, after reading."""
    new_project(ws, "chat")
    src = tmp_path / "deep.jsonl"
    src.write_bytes(b'{"messages": [{"role": "user", "content": "x"}], "extra": ' + b"[" * 255 + b"]" * 255 + b"}\n")
    with pytest.raises(importer.ImportFailed, match=r"deep\.jsonl:1: extra: nested more than"):
        import_files(ws, "chat", [src])


def test_a_csv_cell_over_131072_characters_is_read(tmp_path: Path) -> None:
    big = "x" * 200_000
    row = one(tmp_path / "big.csv", f"prompt,response\n{big},y\n".encode())
    assert row.record is not None and row.record["messages"][0]["content"] == big


def test_a_csv_cell_over_the_limit_is_refused_with_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import csv

    from labeldesk.storage.formats import readers
    monkeypatch.setattr(readers, "MAX_CSV_FIELD", 1000)
    previous = csv.field_size_limit(1000)
    try:
        (tmp_path / "big.csv").write_text("prompt\nok\n" + "x" * 2000 + "\n")
        with pytest.raises(InputError, match=r"^big\.csv:3: not readable as CSV \(field larger than field limit"):
            rows_of(tmp_path / "big.csv")
    finally:
        csv.field_size_limit(previous)


# --- silent changes that are errors or kept now -----------------------------------------------


@pytest.mark.parametrize("data, expected", [
    (b'{"instruction": true, "output": "x"}\n', "a.jsonl:1: instruction: expected text, got a boolean: True"),
    (b'{"instruction": "x", "output": 5}\n', "a.jsonl:1: output: expected text, got a number: 5"),
    (b'{"conversations": [{"from": "human", "value": 3}]}\n', "a.jsonl:1: conversations[0].value: expected text, got a number: 3"),
    (b'{"messages": [{"role": "user", "content": [1, 2]}]}\n', "a.jsonl:1: messages[0].content[0]: expected a content part object, got a number"),
    (b'{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}\n',
     "a.jsonl:1: messages[0].content[0].type: a content part of type 'image_url'; only text parts can be imported"),
    (b'{"messages": [{"role": "user", "content": {"text": "x"}}]}\n', "a.jsonl:1: messages[0].content: expected text, got an object"),
    (b'{"messages": [{"role": "user", "content": "x", "name": 7}]}\n', "a.jsonl:1: messages[0].name: expected text, got a number: 7"),
    (b'{"prompt": "p", "responses": [{"content": "a", "model": false}]}\n', "a.jsonl:1: responses[0].model: expected text, got a boolean"),
    (b'{"id": 1.5, "messages": [{"role": "user", "content": "x"}]}\n', "a.jsonl:1: id: expected text, got a number: 1.5"),
])
def test_a_number_boolean_or_list_where_text_belongs_is_an_error(tmp_path: Path, data: bytes, expected: str) -> None:
    assert error_of(tmp_path / "a.jsonl", data).startswith(expected)


def test_text_content_parts_are_read_and_joining_several_is_a_deviation(tmp_path: Path) -> None:
    row = one(tmp_path / "a.jsonl", b'{"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]}\n')
    assert row.record is not None and row.record["messages"][0]["content"] == "ab"
    assert [(d.field, d.change) for d in row.deviations] == [("messages[0].content", "content parts joined into one text")]


def test_a_numeric_id_is_read_as_its_digits_and_reported(tmp_path: Path) -> None:
    row = one(tmp_path / "a.jsonl", b'{"id": 12, "messages": [{"role": "user", "content": "x"}]}\n')
    assert row.record is not None and row.record["id"] == "12"
    assert [(d.location, d.field) for d in row.deviations] == [("a.jsonl:1", "id")]


def test_unknown_message_and_response_fields_are_kept_in_meta(tmp_path: Path) -> None:
    row = one(tmp_path / "a.jsonl", b'{"messages": [{"role": "user", "content": "hi", "weight": 0},'
              b' {"role": "assistant", "content": "yo", "tool_calls": [], "name": "bot"}], "note": null}\n')
    assert row.record is not None
    assert row.record["messages"][1] == {"role": "assistant", "content": "yo", "speaker": "bot"}
    assert row.record["meta"] == {"note": None, "extra_message_fields": {"messages[0]": {"weight": 0}, "messages[1]": {"tool_calls": []}}}
    share = one(tmp_path / "s.jsonl", b'{"conversations": [{"from": "human", "value": "q", "lang": "en"}]}\n')
    assert share.record is not None and share.record["meta"] == {"extra_message_fields": {"conversations[0]": {"lang": "en"}}}
    ranked = one(tmp_path / "r.jsonl", b'{"prompt": "p", "responses": [{"text": "a", "model": "m", "score": 3, "source": "s"}]}\n')
    assert ranked.record is not None and ranked.record["responses"] == [{"id": "a", "content": "a", "source": "s"}]
    assert ranked.record["meta"] == {"extra_response_fields": {"responses[0]": {"model": "m", "score": 3}}}


def test_a_csv_cell_under_a_blank_header_is_an_error_naming_the_column(tmp_path: Path) -> None:
    assert error_of(tmp_path / "b.csv", b"prompt,,response\nhi,lost,yo\n") == (
        "b.csv:2: column 2: a cell under a blank header; name the column or empty the cell")
    kept = one(tmp_path / "c.csv", b"prompt,response,\nhi,yo,\n")  # a trailing comma on every line loses nothing
    assert kept.record is not None and kept.record["messages"][1]["content"] == "yo"


def test_csv_columns_of_one_name_are_refused_and_other_columns_keep_their_names(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_bytes(b"prompt,Prompt \nx,y\n")
    with pytest.raises(InputError, match=r"^d\.csv:1: column 2: header 'Prompt ' repeats column 1"):
        rows_of(tmp_path / "d.csv")
    row = one(tmp_path / "e.csv", b"Prompt,Topic\nx,Maths\n")
    assert row.record is not None and row.record["meta"] == {"Topic": "Maths"}


def _zip(path: Path, entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


def _patch(path: Path, local: tuple[int, str, int] | None, central: tuple[int, str, int] | None) -> Path:
    """Overwrite one field of every local and central header (offset, struct format, value)."""
    data = bytearray(path.read_bytes())
    for signature, change in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        at = data.find(signature)
        while change and at >= 0:
            struct.pack_into(change[1], data, at + change[0], change[2])
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    return path


GOOD = [("data/a.jsonl", b'{"messages": [{"role": "user", "content": "hi"}]}\n' * 20)]


def test_two_zip_entries_of_one_name_are_refused(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        archive = _zip(tmp_path / "dup.zip", GOOD + [("data/a.jsonl", b"{}\n")])
    with pytest.raises(InputError, match=r"^dup\.zip: data/a\.jsonl: a second entry named 'data/a\.jsonl'"):
        zips.safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists(), "refused before anything was written"


# --- zips: every damage is an InputError naming the zip and the entry -------------------------


@pytest.mark.parametrize("change, expected", [
    (((8, "<H", 9), (10, "<H", 9)), "entry is compressed with deflate64, which cannot be read"),
    (((8, "<H", 99), (10, "<H", 99)), "entry is compressed with AES encryption, which cannot be read"),
    (((6, "<H", 1), (8, "<H", 1)), "entry is encrypted (password-protected)"),
    (((14, "<I", 1), (16, "<I", 1)), "entry cannot be unpacked (Bad CRC-32 for file 'data/a.jsonl')"),
    (((22, "<I", 5000), (24, "<I", 5000)), "entry unpacks to 1,000 bytes, but its header says 5,000"),
])
def test_damaged_zip_entries_are_refused_naming_zip_and_entry(tmp_path: Path, change, expected: str) -> None:
    archive = _patch(_zip(tmp_path / "bad.zip", GOOD), *change)
    with pytest.raises(InputError) as info:
        zips.safe_extract(archive, tmp_path / "out")
    assert str(info.value).startswith(f"bad.zip: data/a.jsonl: {expected}")


def test_garbage_deflate_data_and_stored_sizes_that_lie(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "garbage.zip", GOOD)
    data = bytearray(archive.read_bytes())
    data[30 + len("data/a.jsonl"): 38 + len("data/a.jsonl")] = b"\xff" * 8
    archive.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"^garbage\.zip: data/a\.jsonl: entry cannot be unpacked \(Error -3"):
        zips.safe_extract(archive, tmp_path / "out")
    stored = _zip(tmp_path / "short.zip", GOOD, zipfile.ZIP_STORED)
    for offsets in (((18, "<I", 9000), (20, "<I", 9000)), ((22, "<I", 9000), (24, "<I", 9000))):
        _patch(stored, *offsets)
    with pytest.raises(InputError, match=r"^short\.zip: data/a\.jsonl: entry cannot be unpacked \(EOFError\)"):
        zips.safe_extract(stored, tmp_path / "out2")


def test_a_thousand_folders_deep_and_over_long_names_are_refused(tmp_path: Path) -> None:
    deep = _zip(tmp_path / "deep.zip", [("data/" + "d/" * 1000 + "a.jsonl", b"{}\n")])
    with pytest.raises(InputError, match=r"^deep\.zip: data/d/d/.*….*: entry is nested 1001 folders deep; the limit is 64"):
        zips.safe_extract(deep, tmp_path / "out")
    long = _zip(tmp_path / "long.zip", [("data/" + "n" * 300 + ".jsonl", b"{}\n")])
    with pytest.raises(InputError) as info:
        zips.safe_extract(long, tmp_path / "out")
    assert str(info.value).startswith("long.zip: data/nnn") and "a folder or file name in it is longer than 255 bytes" in str(info.value)
    assert len(info.value.field) <= 80


def test_deep_folders_given_directly_are_walked_without_recursion(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    deep = folder.joinpath(*["d"] * 400)
    deep.mkdir(parents=True)
    (deep / "a.jsonl").write_bytes(b"{}\n")
    assert input_files([folder]) == [deep / "a.jsonl"]


@pytest.mark.parametrize("setting, value, entries, expected", [
    ("MAX_MEMBERS", 2, GOOD * 1 + [("data/b.jsonl", b"{}\n"), ("data/c.jsonl", b"{}\n")], "holds 3 entries; the limit is 2 (zips.MAX_MEMBERS)"),
    ("MAX_TOTAL_BYTES", 1500, GOOD + [("data/b.jsonl", b"x" * 1000)], "data/b.jsonl: the entries unpack to more than 1,500 bytes, the limit (zips.MAX_TOTAL_BYTES)"),
    ("MAX_RATIO", 200, [("data/zeros.jsonl", b" " * (2 * 1024**2))], "data/zeros.jsonl: entry claims to unpack to"),
])
def test_zip_limits_say_which_limit_was_hit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, value: int,
                                            entries: list[tuple[str, bytes]], expected: str) -> None:
    monkeypatch.setattr(zips, setting, value)
    archive = _zip(tmp_path / "big.zip", entries)
    with pytest.raises(InputError) as info:
        zips.safe_extract(archive, tmp_path / "out")
    assert str(info.value).startswith(f"big.zip: {expected}")
    assert setting in str(info.value)


def test_two_zips_of_one_name_do_not_unpack_over_each_other(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    first = _zip(tmp_path / "x" / "pkg.zip", [("data/a.jsonl", b"{}\n")])
    second = _zip(tmp_path / "y" / "pkg.zip", [("data/b.jsonl", b"{}\n")])
    assert [p.name for p in input_files([first, second], tmp_path / "unpack")] == ["a.jsonl", "b.jsonl"]


# --- vague refusals that name file, line and field now ----------------------------------------


@pytest.mark.parametrize("tail, expected", [
    (b"\x00\xd8" + "x".encode("utf-16-le"), "u.jsonl:2: not valid UTF-16 (illegal UTF-16 surrogate at offset"),
    (b"a", "u.jsonl:2: not valid UTF-16 (truncated data at offset"),
])
def test_utf16_with_a_lone_surrogate_or_an_odd_length(tmp_path: Path, tail: bytes, expected: str) -> None:
    (tmp_path / "u.jsonl").write_bytes(b"\xff\xfe" + '{"messages": [{"role": "user", "content": "a"}]}\n'.encode("utf-16-le") + tail)
    with pytest.raises(InputError) as info:
        rows_of(tmp_path / "u.jsonl")
    assert str(info.value).startswith(expected)


def test_parquet_cells_of_bad_json_name_row_and_column(tmp_path: Path) -> None:
    pq.write_table(pa.Table.from_pylist([{"schema": "labeldesk/record@1", "id": "p", "kind": "conversation", "meta": "{bad"}]),
                   tmp_path / "bad.parquet")
    [row] = rows_of(tmp_path / "bad.parquet")
    assert str(row.error).startswith("bad.parquet#row1: meta: expected an object or its JSON text; not valid JSON")


def test_provenance_given_as_a_list(tmp_path: Path) -> None:
    message = error_of(tmp_path / "p.jsonl", b'{"schema": "labeldesk/record@1", "id": "x", "kind": "conversation", "provenance": ["a"]}\n')
    assert message == "p.jsonl:1: provenance: expected an object, got a list: ['a']"


def test_a_megabyte_value_is_not_echoed_whole(tmp_path: Path) -> None:
    huge = "k" * 1_000_000
    for data in (f'{{"schema": "labeldesk/record@1", "id": "x", "kind": "{huge}"}}\n',
                 f'{{"instruction": "x", "output": [{{"v": "{huge}"}}]}}\n',
                 f'{{"schema": "labeldesk/record@1", "id": "x", "kind": "conversation", "meta": "{huge}"}}\n'):
        message = error_of(tmp_path / "m.jsonl", data.encode())
        assert len(message) < 300 and "k" * 81 not in message, message


def test_cut_keeps_head_and_tail_within_the_limit() -> None:
    text = "a" * 50 + "b" * 100 + "c" * 50
    assert cut(text) == "a" * 50 + "bb" + "…" + "c" * 27
    assert len(cut(text)) == 80 and cut("short") == "short"


# --- counting: --skip-invalid reports every row it left out --------------------------------------


def test_skip_invalid_counts_every_left_out_row(ws: Workspace, new_project, import_files, tmp_path: Path) -> None:
    new_project(ws, "chat")
    good = b'{"messages": [{"role": "user", "content": "%d"}]}\n'
    # rows before the first sniffable one used to end the file: one error for all of them
    src = tmp_path / "mixed.jsonl"
    src.write_bytes(b'{"what": 1}\n' + good % 1 + b"[1]\n" + good % 2 + good % 2 + b"{bad\n")
    report = import_files(ws, "chat", [src], skip_invalid=True)
    assert report.read == 6
    assert [e.location for e in report.skipped] == ["mixed.jsonl:1", "mixed.jsonl:3", "mixed.jsonl:6"]
    assert (report.imported, report.unchanged) == (2, 1)  # the repeated row 5 is row 4 again
    assert report.imported + report.unchanged + len(report.skipped) == report.read


def test_a_bad_label_studio_task_is_one_skipped_row_and_the_rest_are_read(ws: Workspace, new_project, import_files, tmp_path: Path) -> None:
    new_project(ws, "chat")
    src = tmp_path / "ls.json"
    src.write_text('[{"data": {"text": "one"}}, {"data": {"text": 5}}, {"data": {"text": "three"}}]')
    report = import_files(ws, "chat", [src], skip_invalid=True)
    assert [str(e) for e in report.skipped] == [
        "ls.json#task[1]: data: no prompt, messages or responses (looked for messages, dialogue, conversation, chat, text, "
        "prompt, question, instruction, input, response, answer, output, completion, response_*/answer_*)"]
    assert (report.read, report.imported) == (3, 2)
    sources = sorted(r["provenance"]["source"] for r in iter_records(ws, get_project(ws, "chat")))
    assert sources == ["ls.json#task[0]", "ls.json#task[2]"]


def test_a_repeated_row_with_other_meta_is_refused_not_dropped(ws: Workspace, new_project, import_files, tmp_path: Path) -> None:
    new_project(ws, "chat")
    src = tmp_path / "twice.csv"
    src.write_text("prompt,topic\nsame,maths\nsame,physics\n")
    with pytest.raises(importer.ImportFailed, match=r"twice\.csv:3: id: same id '.*' and content as twice\.csv:2, but other meta"):
        import_files(ws, "chat", [src])


def test_deviations_are_in_the_import_report(ws: Workspace, new_project, import_files, tmp_path: Path) -> None:
    new_project(ws, "chat")
    src = tmp_path / "ids.jsonl"
    src.write_bytes(b"".join(b'{"id": %d, "messages": [{"role": "user", "content": "q%d"}]}\n' % (i, i) for i in range(3)))
    report = import_files(ws, "chat", [src])
    assert report.to_dict()["deviations"] == [
        {"field": "id", "change": "a numeric id stored as its text", "rows": 3, "first": "ids.jsonl:1"}]


def test_a_bad_row_after_good_ones_leaves_nothing_half_written(ws: Workspace, new_project, import_files, tmp_path: Path) -> None:
    new_project(ws, "chat")
    src = tmp_path / "late.jsonl"
    src.write_bytes(b'{"messages": [{"role": "user", "content": "fine"}]}\n' + b'{"messages": [{"role": "user", "content": "ok"}]}\n'
                    + b'{"messages": [{"role": "user", "content": true}]}\n')
    with pytest.raises(importer.ImportFailed, match=r"late\.jsonl:3: messages\[0\]\.content: expected text, got a boolean"):
        import_files(ws, "chat", [src])
    assert get_project(ws, "chat", with_counts=True).items == 0


# --- transcripts -----------------------------------------------------------------------------------


def test_an_elan_reference_to_a_missing_time_slot_names_the_line(tmp_path: Path) -> None:
    from labeldesk.storage.formats.transcripts import Segment, read_transcript, write_transcript
    path = tmp_path / "t.eaf"
    write_transcript(path, [Segment(0.0, 1.0, "a", text="x")])
    text = path.read_text(encoding="utf-8")
    slot = text.split('TIME_SLOT_REF1="')[1].split('"')[0]
    path.write_text(text.replace(f'TIME_SLOT_REF1="{slot}"', 'TIME_SLOT_REF1="nope"'), encoding="utf-8")
    line = next(n for n, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if '"nope"' in t)
    with pytest.raises(ValueError, match=rf"t\.eaf:{line}: not a valid ELAN file: KeyError 'nope'"):
        read_transcript(path)


def test_subtitle_text_keeps_line_separators_other_than_newlines(tmp_path: Path) -> None:
    from labeldesk.storage.formats.transcripts import read_transcript
    path = tmp_path / "u.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nline\u2028same\x0cline\n", encoding="utf-8")
    assert [s.text for s in read_transcript(path)] == ["line\u2028same\x0cline"]


def test_parquet_nested_past_what_pyarrow_reads_is_refused_naming_the_file(tmp_path: Path) -> None:
    value: Any = 1
    for _ in range(120):
        value = [value]
    pq.write_table(pa.Table.from_pylist([{"messages": value}]), tmp_path / "deep.parquet")
    with pytest.raises(InputError, match=r"^deep\.parquet: not a readable Parquet file \(Parquet schema too deeply nested"):
        rows_of(tmp_path / "deep.parquet")
