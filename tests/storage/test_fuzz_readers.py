"""Property suites over every import format, the zip reader and the import itself.

The rules (examples bounded by the "ci" profile of conftest.py):
1. No traceback escapes: a reader yields Rows or raises InputError, and every message names
   the file and the line / row / task / entry, with quoted values cut to about 80 characters.
2. An accepted row is stored exactly as given (or the change is a Deviation in the report);
   fields with no place in the record are kept in meta; a value of the wrong type is an error.
3. Nothing is half-written: a bad row after good ones leaves the project empty, and with
   --skip-invalid every row read is counted once (imported, unchanged or skipped).
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeldesk.app.workflow import importer
from labeldesk.app.workflow.projects import create_project, get_project
from labeldesk.storage.db import Workspace
from labeldesk.storage.formats import parquet
from labeldesk.storage.formats.errors import InputError
from labeldesk.storage.formats.readers import Row, input_files, read_file

MARK = "Ж"  # long runs of it stand for a huge bad value: no message may quote more than ~80 of them
LONG = MARK * 5000

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=8)
wrong_types = (st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
               | st.lists(st.integers(-9, 9), min_size=1, max_size=2) | st.just({"text": LONG}))
texts = st.text(max_size=40)
roles = st.sampled_from(["user", "assistant", "system"])


def check_message(message: str, name: str) -> None:
    """Rule 1 for one message: it starts with the file (and a place in it) and quotes little."""
    assert message.startswith(name), message[:200]
    assert MARK * 100 not in message, message[:200]
    assert len(message) < 700, message[:200]


def read_all(path: Path, fmt: str = "auto", kind: str = "conversation") -> list[Row]:
    """Every row of a file; an InputError for the whole file is checked and gives no rows."""
    try:
        rows = list(read_file(path, fmt, kind, []))
    except InputError as exc:
        check_message(str(exc), path.name)
        return []
    for row in rows:
        assert (row.record is None) != (row.error is None)
        assert row.location.startswith(path.name)
        if row.error is not None:
            check_message(str(row.error), row.location)
    return rows


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def jsonl(*rows: Any) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


# --- mutated files of every format: rule 1 -----------------------------------------------------

SEEDS: dict[str, tuple[str, bytes]] = {
    "records": ("r.jsonl", jsonl({"schema": "labeldesk/record@1", "id": "r1", "kind": "preference",
                                  "messages": [{"role": "user", "content": "q"}],
                                  "responses": [{"id": "a", "content": "x"}, {"id": "b", "content": "y"}],
                                  "ranking": [{"response": "a", "rank": 1}, {"response": "b", "rank": 2}],
                                  "labels": {"q": 1}, "provenance": {"source": "s"}, "meta": {"m": [1]}})),
    "records-json": ("r.json", orjson.dumps([{"schema": "labeldesk/record@1", "id": "r1", "kind": "conversation",
                                              "messages": [{"role": "user", "content": "q"}]}])),
    "openai": ("o.jsonl", jsonl({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                                              {"role": "assistant", "content": "yo", "name": "bot"}], "topic": "t"})),
    "alpaca": ("a.jsonl", jsonl({"instruction": "Add", "input": "2 and 3", "output": "5", "system": "be brief"})),
    "sharegpt": ("s.jsonl", jsonl({"id": "s1", "conversations": [{"from": "human", "value": "Name a color"}, {"from": "gpt", "value": "Blue"}]})),
    "preference": ("p.jsonl", jsonl({"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "a"}],
                                     "rejected": "b"})),
    "responses": ("m.jsonl", jsonl({"id": "m1", "prompt": "Pick", "responses": ["A", {"text": "B", "model": "x"}]})),
    "csv": ("c.csv", b'id,prompt,response_a,response_b,source\nr1,"Which, ""x"" or y?",x,y,forum\nr2,q,,b,\n'),
    "labelstudio": ("l.json", orjson.dumps([{"id": 1, "data": {"text": "hello", "response_a": "x"},
                                              "annotations": [{"completed_by": 1, "lead_time": 2.5, "result": [
                                                  {"from_name": "q", "to_name": "prompt", "type": "choices", "value": {"choices": ["yes"]}}]}]}])),
    "utf16-csv": ("u.csv", "prompt,response\nÇa va ?,Oui\n".encode("utf-16")),
}
INSERTS = [b"[" * 300, b"]", b"{", b'"', b"\\", b",", b"\n", b"\r", b"\x00", b"\xff", b"\xed\xa0\x80", b"\xef\xbb\xbf",
           b"\xff\xfe", b"true", b"1e999", b"-0", b"null", b"99999999999999999999999", b'"\\ud800"', b'"' + LONG.encode() + b'"',
           LONG.encode(), b'{"schema": "labeldesk/record@1"}', b'"x": []', b",,,", b'"""']


@pytest.mark.parametrize("seed", sorted(SEEDS))
@given(data=st.data())
def test_mutated_files_of_every_format_give_rows_or_input_errors(tmp_path_factory, mutated, seed: str, data: st.DataObject) -> None:
    name, content = SEEDS[seed]
    folder = tmp_path_factory.mktemp("mut")
    path = write(folder, name, data.draw(mutated(content, INSERTS)))
    fmt = data.draw(st.sampled_from(["auto", "labelstudio" if seed == "labelstudio" else "auto",
                                     {"records-json": "records", "utf16-csv": "csv"}.get(seed, seed)]))
    read_all(path, fmt)


@given(rows=st.lists(st.dictionaries(st.sampled_from(["schema", "id", "kind", "messages", "meta", "labels", "provenance", "prompt", "x"]),
                                     st.none() | st.text(max_size=20) | st.just("{bad") | st.just(LONG) | st.just('["a"]'), max_size=6),
                     min_size=1, max_size=4))
def test_parquet_files_of_any_string_columns(tmp_path_factory, rows: list[dict[str, Any]]) -> None:
    path = tmp_path_factory.mktemp("pq") / "t.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    read_all(path)


@given(data=st.data())
def test_mutated_parquet_bytes(tmp_path_factory, mutated, data: st.DataObject) -> None:
    folder = tmp_path_factory.mktemp("pqm")
    record = {"schema": "labeldesk/record@1", "id": "p", "kind": "conversation", "messages": [{"role": "user", "content": "q"}]}
    parquet.write_records(folder / "seed.parquet", [record])
    path = write(folder, "m.parquet", data.draw(mutated((folder / "seed.parquet").read_bytes(), INSERTS)))
    read_all(path)


# --- structured rows: rule 2 (stored as given, unknown fields kept, wrong types refused) ----------

MESSAGE_KEYS = ("role", "content", "name")
TOP_KNOWN = ("id", "kind", "messages", "conversations", "system", "instruction", "input", "output", "prompt", "chosen", "rejected",
             "responses", "schema", "data", "annotations", "predictions", "query", "question", "text")
extras = st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k not in TOP_KNOWN and not k.startswith("extra_")),
                         json_values, max_size=3)
message_extras = st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k not in MESSAGE_KEYS + ("from", "value")),
                                 json_values, max_size=2)


@st.composite
def openai_message(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(input message, the record message it must become, its fields kept in meta)."""
    role, content, extra = draw(roles), draw(texts), draw(message_extras)
    given_message: dict[str, Any] = {"role": role, "content": content, **extra}
    expected: dict[str, Any] = {"role": role, "content": content}
    if draw(st.booleans()):
        given_message["name"] = expected["speaker"] = draw(texts)
    return given_message, expected, extra


def only(path: Path, fmt: str, kind: str = "conversation") -> Row:
    rows = read_all(path, fmt, kind)
    assert len(rows) == 1
    return rows[0]


@given(parts=st.lists(openai_message(), min_size=1, max_size=4), top=extras)
def test_openai_rows_are_stored_as_given(tmp_path_factory, parts, top: dict[str, Any]) -> None:
    path = write(tmp_path_factory.mktemp("oa"), "o.jsonl", jsonl({"messages": [p[0] for p in parts], **top}))
    row = only(path, "openai")
    assert row.error is None, str(row.error)
    assert row.record["messages"] == [p[1] for p in parts]
    meta = dict(top)
    kept = {f"messages[{i}]": p[2] for i, p in enumerate(parts) if p[2]}
    if kept:
        meta["extra_message_fields"] = kept
    assert row.record.get("meta", {}) == meta
    assert row.deviations == ()


@given(turns=st.lists(st.tuples(st.sampled_from(["human", "gpt", "system"]), texts, message_extras), min_size=1, max_size=4),
       system=texts, top=extras)
def test_sharegpt_rows_are_stored_as_given(tmp_path_factory, turns, system: str, top: dict[str, Any]) -> None:
    conversations = [{"from": who, "value": value, **extra} for who, value, extra in turns]
    path = write(tmp_path_factory.mktemp("sg"), "s.jsonl", jsonl({"conversations": conversations, "system": system, **top}))
    row = only(path, "sharegpt")
    assert row.error is None, str(row.error)
    role = {"human": "user", "gpt": "assistant", "system": "system"}
    expected = [{"role": "system", "content": system}] if system else []
    assert row.record["messages"] == expected + [{"role": role[w], "content": v} for w, v, _ in turns]
    kept = {f"conversations[{i}]": t[2] for i, t in enumerate(turns) if t[2]}
    assert row.record.get("meta", {}) == {**top, **({"extra_message_fields": kept} if kept else {})}


@given(instruction=texts, extra=texts, output=texts, top=extras)
def test_alpaca_rows_are_stored_as_given(tmp_path_factory, instruction: str, extra: str, output: str, top: dict[str, Any]) -> None:
    path = write(tmp_path_factory.mktemp("al"), "a.jsonl", jsonl({"instruction": instruction, "input": extra, "output": output, **top}))
    row = only(path, "alpaca", "instruction")
    assert row.error is None, str(row.error)
    expected = [{"role": "user", "content": f"{instruction}\n\n{extra}" if extra else instruction}]
    if output:
        expected.append({"role": "assistant", "content": output})
    assert row.record["messages"] == expected
    assert row.record.get("meta", {}) == top


@given(prompt=texts, chosen=texts, rejected=texts, conversational=st.booleans(), top=extras)
def test_preference_rows_are_stored_as_given(tmp_path_factory, prompt: str, chosen: str, rejected: str, conversational: bool,
                                             top: dict[str, Any]) -> None:
    def side(text: str) -> Any:
        return [{"role": "assistant", "content": text}] if conversational else text
    path = write(tmp_path_factory.mktemp("pr"), "p.jsonl", jsonl({"prompt": prompt, "chosen": side(chosen), "rejected": side(rejected), **top}))
    row = only(path, "preference", "preference")
    assert row.error is None, str(row.error)
    assert row.record["messages"] == [{"role": "user", "content": prompt}]
    assert row.record["responses"] == [{"id": "a", "content": chosen}, {"id": "b", "content": rejected}]
    assert row.record.get("meta", {}) == top


@given(prompt=texts, answers=st.lists(st.tuples(texts, st.none() | texts, message_extras.filter(
    lambda e: not {"id", "text", "response", "output", "source", "model"} & set(e))), min_size=1, max_size=5), top=extras)
def test_responses_rows_are_stored_as_given(tmp_path_factory, prompt: str, answers, top: dict[str, Any]) -> None:
    given_responses = [{"content": c, **({"source": s} if s is not None else {}), **e} for c, s, e in answers]
    path = write(tmp_path_factory.mktemp("rs"), "m.jsonl", jsonl({"prompt": prompt, "responses": given_responses, **top}))
    row = only(path, "responses", "preference")
    assert row.error is None, str(row.error)
    expected = [{"id": "abcde"[i], "content": c, **({"source": s} if s else {})} for i, (c, s, _) in enumerate(answers)]
    assert row.record["responses"] == expected
    kept = {f"responses[{i}]": {**({"source": s} if s == "" else {}), **e} for i, (_, s, e) in enumerate(answers) if e or s == ""}
    assert row.record.get("meta", {}) == {**top, **({"extra_response_fields": kept} if kept else {})}


csv_cell = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(prompt=csv_cell.filter(bool), answer=csv_cell, others=st.dictionaries(
    st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd")), min_size=1, max_size=6).filter(
        lambda k: k.strip().lower() not in ("prompt", "response", "id", "kind", "system", "chosen", "rejected", "instruction",
                                            "query", "question", "input", "text", "output", "answer", "completion", "reference")
        and not k.lower().startswith(("response_", "answer_"))),
    csv_cell, max_size=3).filter(lambda d: len({k.lower() for k in d}) == len(d)))
def test_csv_rows_are_stored_as_given(tmp_path_factory, prompt: str, answer: str, others: dict[str, str]) -> None:
    import csv
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["Prompt", "response", *others])
    writer.writerow([prompt, answer, *others.values()])
    path = write(tmp_path_factory.mktemp("csv"), "c.csv", buffer.getvalue().encode())
    row = only(path, "csv")
    assert row.error is None, str(row.error)
    expected = [{"role": "user", "content": prompt}] + ([{"role": "assistant", "content": answer}] if answer else [])
    assert row.record["messages"] == expected
    assert row.record.get("meta", {}) == {k: v for k, v in others.items() if v}


@given(record=st.fixed_dictionaries({
    "messages": st.lists(st.fixed_dictionaries({"role": roles, "content": texts}), max_size=3),
    "labels": st.dictionaries(st.text(max_size=5), json_values, max_size=3),
    "meta": st.dictionaries(st.text(max_size=5), json_values, max_size=3),
}), as_parquet=st.booleans())
def test_records_round_trip_through_jsonl_and_parquet(tmp_path_factory, record: dict[str, Any], as_parquet: bool) -> None:
    full = {"schema": "labeldesk/record@1", "id": "r", "kind": "conversation", **record, "provenance": {"source": "elsewhere"}}
    folder = tmp_path_factory.mktemp("rec")
    if as_parquet:
        parquet.write_records(folder / "r.parquet", [full])
        path = folder / "r.parquet"
    else:
        path = write(folder, "r.jsonl", jsonl(full))
    row = only(path, "auto")
    assert row.error is None, str(row.error)
    if as_parquet:  # Parquet stores no nulls: a null in a free-form map is what reads back, absent fields are left out
        full = {k: v for k, v in full.items() if v not in ([], {})} | {k: record[k] for k in ("labels", "meta") if record[k] == {}}
        row_record = {k: v for k, v in row.record.items() if v not in ([], {})}
        assert row_record == {k: v for k, v in full.items() if v not in ([], {})}
    else:
        assert row.record == full


TEXT_FIELDS = {
    "openai": ({"messages": [{"role": "user", "content": "x"}]}, ("messages", 0, "content")),
    "openai-name": ({"messages": [{"role": "user", "content": "x", "name": "n"}]}, ("messages", 0, "name")),
    "sharegpt": ({"conversations": [{"from": "human", "value": "x"}]}, ("conversations", 0, "value")),
    "sharegpt-system": ({"conversations": [{"from": "human", "value": "x"}], "system": "s"}, ("system",)),
    "alpaca": ({"instruction": "x", "output": "y"}, ("instruction",)),
    "alpaca-output": ({"instruction": "x", "output": "y"}, ("output",)),
    "alpaca-input": ({"instruction": "x", "input": "y"}, ("input",)),
    "preference": ({"prompt": "p", "chosen": "a", "rejected": "b"}, ("rejected",)),
    "preference-prompt": ({"prompt": "p", "chosen": "a", "rejected": "b"}, ("prompt",)),
    "responses": ({"prompt": "p", "responses": [{"content": "a", "source": "s"}]}, ("responses", 0, "source")),
    "responses-content": ({"prompt": "p", "responses": [{"content": "a"}]}, ("responses", 0, "content")),
}


def _put(row: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target: Any = row
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


@pytest.mark.parametrize("case", sorted(TEXT_FIELDS))
@given(value=wrong_types)
def test_a_value_of_another_type_where_text_belongs_is_an_error_naming_the_field(tmp_path_factory, case: str, value: Any) -> None:
    base, field_path = TEXT_FIELDS[case]
    row = orjson.loads(orjson.dumps(base))
    _put(row, field_path, value)
    fmt = case.split("-")[0]
    path = write(tmp_path_factory.mktemp("tm"), "t.jsonl", jsonl(row))
    result = only(path, fmt, "preference" if fmt in ("preference", "responses") else "conversation")
    assert result.error is not None, result.record
    name = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(field_path))
    assert str(result.error).startswith(f"t.jsonl:1: {name}"), str(result.error)


@given(tasks=st.lists(st.fixed_dictionaries({"data": st.fixed_dictionaries({"text": texts.filter(bool)}, optional={"response_a": texts, "other": json_values})},
                                            optional={"id": st.integers(0, 100), "annotations": st.lists(json_values, max_size=2),
                                                      "meta": json_values}), min_size=1, max_size=4))
def test_labelstudio_tasks_are_read_or_refused_one_by_one(tmp_path_factory, tasks: list[dict[str, Any]]) -> None:
    path = write(tmp_path_factory.mktemp("ls"), "l.json", orjson.dumps(tasks))
    rows = read_all(path, "labelstudio")
    assert [r.location for r in rows] == [f"l.json#task[{i}]" for i in range(len(tasks))]
    for task, row in zip(tasks, rows):
        if row.record is not None:
            assert row.record["messages"][0]["content"] == task["data"]["text"]


# --- zips: rule 1 for the zip reader ------------------------------------------------------------

entry_names = st.lists(st.sampled_from(["data", "d", "..", ".", "", "a" * 300, "C:", "x.jsonl", "ß", "data\\x"]), min_size=1, max_size=6).map("/".join)


@given(names=st.lists(entry_names | st.just("data/a.jsonl"), min_size=1, max_size=5), data=st.data(),
       method=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]))
def test_zips_of_any_names_and_damage_give_files_or_input_errors(tmp_path_factory, mutated, names: list[str], data: st.DataObject,
                                                                   method: int) -> None:
    import warnings
    folder = tmp_path_factory.mktemp("zip")
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", method) as zf:
        warnings.simplefilter("ignore")  # duplicate names are part of what is tried
        for name in names:
            zf.writestr(name or "empty", b'{"messages": [{"role": "user", "content": "hi"}]}\n' * 30)
    raw = buffer.getvalue()
    if data.draw(st.booleans()):
        raw = data.draw(mutated(raw, INSERTS))
    archive = write(folder, "t.zip", raw)
    try:
        files = input_files([archive], folder / "unpack")
    except InputError as exc:
        check_message(str(exc), "t.zip")
        return
    unpacked = (folder / "unpack").resolve()
    for path in files:
        assert unpacked in path.resolve().parents, path


# --- the import: rule 3 and the skip count --------------------------------------------------------


@pytest.fixture(scope="module")
def shared_ws(tmp_path_factory):
    ws = Workspace.open(tmp_path_factory.mktemp("ws") / "ws", create=True)
    yield ws
    ws.close()


good_rows = st.builds(lambda text: {"messages": [{"role": "user", "content": text}]}, texts)
bad_rows = st.sampled_from([b"{bad", b"[1]", b'{"what": 1}', b'{"messages": [{"role": "user", "content": true}]}',
                            b'{"messages": "x"}', b'{"messages": [{"role": "wizard", "content": "x"}]}'])


@settings(max_examples=20)
@given(lines=st.lists(st.one_of(good_rows.map(orjson.dumps), bad_rows), min_size=1, max_size=12), skip=st.booleans())
def test_an_import_counts_every_row_once_and_is_all_or_nothing(shared_ws: Workspace, lead_args, tmp_path_factory, lines: list[bytes],
                                                              skip: bool) -> None:
    name = f"p-{uuid.uuid4().hex[:8]}"
    create_project(shared_ws, *lead_args(shared_ws), name, "conversation")
    path = write(tmp_path_factory.mktemp("imp"), "in.jsonl", b"\n".join(lines) + b"\n")
    try:
        report = importer.import_files(shared_ws, *lead_args(shared_ws), name, [path], skip_invalid=skip)
    except importer.ImportFailed as failed:
        assert not skip
        assert failed.errors and all(re.match(r"in\.jsonl:\d+: ", str(e)) for e in failed.errors)
        assert get_project(shared_ws, name, with_counts=True).items == 0
        return
    assert report.read == len(lines)
    assert report.imported + report.unchanged + len(report.skipped) == report.read
    assert get_project(shared_ws, name, with_counts=True).items == report.imported
