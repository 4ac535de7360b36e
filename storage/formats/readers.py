"""Reading the data people have into `labeldesk/record@1` records.

Every reader yields `Row`s: where the row came from (file and line, row or task) and
either the record or the error that names the field at fault. Nothing here touches the
database; the importer decides what a bad row means (abort, or skip with a report).
Each row of a file becomes exactly one Row, so a report that counts them is exact; a
file that cannot be read at all raises one InputError instead (it yields no rows).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import orjson

from labeldesk.storage.formats import labelstudio, parquet
from labeldesk.storage.formats.converters import CONVERTERS, Converter, Reading
from labeldesk.storage.formats.errors import Deviation, InputError, cut, shown
from labeldesk.storage.formats.nesting import MAX_NESTING, may_nest_deeper, too_deep
from labeldesk.storage.formats.zips import safe_extract
from labeldesk.storage.vocabulary import IMPORT_FORMATS
from labeldesk.storage.record import SCHEMA_ID, RecordError, validate

__all__ = ["InputError", "Deviation", "Row", "read_file", "input_files", "safe_extract", "sniff"]

MAX_CSV_FIELD = 256 * 1024**2
"""The longest CSV cell, in characters (the csv module's default, 128 KiB, is too small for long documents)."""

CSV_SUFFIXES = (".csv", ".tsv")
DATA_SUFFIXES = (".jsonl", ".json", *CSV_SUFFIXES, ".parquet")
# what a .csv may be separated by: Excel writes ";" where the decimal mark is a comma
CSV_DELIMITERS = (",", ";", "\t", "|")
_UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")


@dataclass(frozen=True)
class Row:
    location: str
    record: dict[str, Any] | None = None
    error: InputError | None = None
    deviations: tuple[Deviation, ...] = ()


# --- raw rows out of files ------------------------------------------------------------


def _decode_text(raw: bytes, path: Path, errors: str = "strict") -> str:
    """Decode a whole text file: UTF-8 (BOM allowed) or UTF-16 with its BOM.

    `errors="replace"` turns undecodable bytes into U+FFFD instead of refusing the file:
    the import then cleans the rows, and cleaning reports each item that has them.
    """
    if raw.startswith(_UTF32_BOMS):
        raise InputError(path.name, "", "UTF-32 text cannot be read; re-save the file as UTF-8")
    encoding = "UTF-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else "UTF-8"
    try:
        return raw.decode("utf-16" if encoding == "UTF-16" else "utf-8-sig", errors)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].decode(exc.encoding if encoding == "UTF-16" else "utf-8", "replace").count("\n") + 1
        what = f"byte {raw[exc.start]:#04x}" if encoding == "UTF-8" else exc.reason
        raise InputError(f"{path.name}:{line}", "", f"not valid {encoding} ({what} at offset {exc.start}); "
                         "re-save the file as UTF-8") from None


def _deep(location: str, top: str) -> InputError:
    return InputError(location, top, f"nested more than {MAX_NESTING} levels deep, the limit (nesting.MAX_NESTING)")


def _checked_depth(location: str, value: Any) -> Any:
    """The value, or the error that refuses it for nesting too deep for what stores it."""
    top = too_deep(value)
    return value if top is None else _deep(location, top)


def iter_jsonl(path: Path, errors: str = "strict") -> Iterator[tuple[str, Any]]:
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(0)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            # UTF-16 is rare enough to decode whole; split at \n only, as JSON strings may hold U+2028
            lines: Iterable[bytes] = (line.encode() for line in _decode_text(fh.read(), path, errors).split("\n"))
        else:
            lines = fh
        for number, line in enumerate(lines, 1):
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
            location = f"{path.name}:{number}"
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield location, _loads_lenient(line, location) if errors == "replace" else InputError(
                    location, "", f"malformed JSON ({_json_reason(exc, line)})")
                continue
            yield location, _checked_depth(location, value) if may_nest_deeper(line) else value


def _loads_lenient(line: bytes, location: str) -> Any:
    """Parse a line whose bytes may not be UTF-8: those bytes are read as U+FFFD."""
    try:
        return _checked_depth(location, orjson.loads(line.decode("utf-8", "replace")))
    except orjson.JSONDecodeError as exc:
        return InputError(location, "", f"malformed JSON ({str(exc).split(':')[0]})")


def _json_reason(exc: orjson.JSONDecodeError, line: bytes) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"not valid UTF-8 at byte {err.start}"
    return str(exc).split(":")[0]


def iter_json(path: Path, errors: str = "strict") -> Iterator[tuple[str, Any]]:
    text = _decode_text(path.read_bytes(), path, errors)
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path.name}:{exc.lineno}", "", f"malformed JSON ({exc.msg} at column {exc.colno})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError(path.name, "", "expected a JSON object or a list of objects")
    deep = may_nest_deeper(text, MAX_NESTING + 1)  # the list around the rows is one level more
    for index, row in enumerate(data):
        location = f"{path.name}#[{index}]"
        yield location, _checked_depth(location, row) if deep else row


def iter_csv(path: Path, errors: str = "strict") -> Iterator[tuple[str, Any]]:
    text = _decode_text(path.read_bytes(), path, errors)
    if csv.field_size_limit() < MAX_CSV_FIELD:
        csv.field_size_limit(MAX_CSV_FIELD)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=csv_delimiter(path, text))
    try:
        # parsed whole before the first row is given out: an error later on refuses the file,
        # instead of leaving the rows after it out uncounted; each row with the line it ends on
        parsed = [(reader.line_num, cells) for cells in reader]
    except csv.Error as exc:
        raise InputError(f"{path.name}:{reader.line_num}", "", f"not readable as CSV ({cut(str(exc))})") from None
    header = parsed[0][1] if parsed else []
    if not any(name.strip() for name in header):
        raise InputError(path.name, "", "CSV file has no header row")
    _check_header(path, header)
    for line, cells in parsed[1:]:
        if cells:  # a blank line is no row
            location = f"{path.name}:{line}"
            yield location, _csv_row(location, header, cells)


def csv_delimiter(path: Path, text: str) -> str:
    """Tab for .tsv; for .csv the candidate the header line holds most of (column names seldom hold one)."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: header.count(d) for d in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda d: counts[d])  # ties keep the earlier, "," first
    return best if counts[best] else ","


def _check_header(path: Path, header: list[str]) -> None:
    """Two columns of one name would keep only one cell: refuse the file instead."""
    first: dict[str, int] = {}
    for column, name in enumerate(header, 1):
        key = name.strip().lower()
        if not key:
            continue
        if key in first:
            raise InputError(f"{path.name}:1", f"column {column}", f"header {shown(name)} repeats column {first[key]}; "
                             "name the columns apart")
        first[key] = column


def _csv_row(location: str, header: list[str], cells: list[str]) -> dict[str, str] | InputError:
    if len(cells) > len(header):
        return InputError(location, "", f"row has {len(cells)} cells, the header has {len(header)}")
    row: dict[str, str] = {}
    for column, (name, cell) in enumerate(zip(header, cells), 1):
        if name.strip():
            row[name] = cell
        elif cell:
            return InputError(location, f"column {column}", "a cell under a blank header; name the column or empty the cell")
    return row


def iter_parquet(path: Path) -> Iterator[tuple[str, Any]]:
    # no depth check: pyarrow refuses schemas nested past 100 schema levels, fewer than MAX_NESTING lists
    try:
        rows = parquet.iter_file(path)
        for number, row in enumerate(rows, 1):
            yield f"{path.name}#row{number}", _drop_nulls(row)
    except (OSError, ValueError) as exc:  # pyarrow's errors for truncated or foreign files derive from these
        raise InputError(path.name, "", f"not a readable Parquet file ({cut(str(exc), 200)})") from None


def _drop_nulls(value: Any) -> Any:
    """Parquet writes every column of every row; the record schema leaves unused fields out."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def raw_rows(path: Path, errors: str = "strict") -> Iterator[tuple[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return iter_parquet(path)
    if suffix in CSV_SUFFIXES:
        return iter_csv(path, errors)
    if suffix == ".json":
        return iter_json(path, errors)
    return iter_jsonl(path, errors)


# --- sniffing -------------------------------------------------------------------------


def sniff(path: Path, first: dict[str, Any]) -> str:
    """Guess the format from the file's extension and its first row's keys."""
    keys = set(first)
    if first.get("schema") == SCHEMA_ID:
        return "records"
    if "data" in keys and ("annotations" in keys or "predictions" in keys or isinstance(first.get("data"), dict)):
        return "labelstudio"
    if "conversations" in keys:
        return "sharegpt"
    if "chosen" in keys and "rejected" in keys:
        return "preference"
    if "instruction" in keys:
        return "alpaca"
    if "messages" in keys and "kind" not in keys:
        return "openai"
    if "responses" in keys and "kind" not in keys:
        return "responses"
    if "kind" in keys and "id" in keys:
        return "records"
    if path.suffix.lower() in CSV_SUFFIXES:
        return "csv"
    raise InputError(path.name, "", f"cannot tell the format from keys {shown(sorted(keys))}: pass --format")


# --- the entry point ------------------------------------------------------------------


def read_file(path: Path, fmt: str, kind: str, questions: list[dict[str, Any]], errors: str = "strict") -> Iterator[Row]:
    """Yield every row of a file as a validated record or as the error that stops it.

    `errors` is how text that is not valid in the file's encoding is decoded: "strict"
    refuses it, "replace" reads it as U+FFFD (for imports that clean what they read).
    The format of a file is sniffed from its first row whose keys tell it; rows before
    that one are errors.
    """
    if fmt not in ("auto", *IMPORT_FORMATS):
        raise InputError(path.name, "--format", f"unknown format {shown(fmt)}; one of auto, {', '.join(IMPORT_FORMATS)}")
    if not path.is_file():
        raise InputError(str(path), "", "no such file")
    if path.stat().st_size == 0:
        raise InputError(path.name, "", "file is empty")
    if fmt == "labelstudio" or (fmt == "auto" and path.suffix.lower() == ".json" and _is_labelstudio(path, errors)):
        yield from _labelstudio_rows(raw_rows(path, errors), path.name, kind, questions)
        return
    converter: Converter | None = CONVERTERS.get(fmt)
    rows = raw_rows(path, errors)
    for location, raw in rows:
        if isinstance(raw, InputError):
            yield Row(location, error=raw)
            continue
        if not isinstance(raw, dict):
            yield Row(location, error=InputError(location, "", f"expected an object, got {type(raw).__name__}"))
            continue
        if converter is None:
            try:
                detected = sniff(path, raw)
            except InputError as exc:
                yield Row(location, error=InputError(location, "", exc.reason))
                continue
            if detected == "labelstudio":
                yield from _labelstudio_rows(chain([(location, raw)], rows), path.name, kind, questions)
                return
            converter = CONVERTERS[detected]
        yield _convert(converter, raw, kind, location)


def _convert(converter: Converter, raw: dict[str, Any], kind: str, location: str) -> Row:
    at = Reading(location)
    try:
        record = converter(raw, kind, at)
        validate(record)
    except InputError as exc:
        return Row(location, error=exc)
    except RecordError as exc:
        return Row(location, error=InputError(location, exc.field, str(exc).split(": ", 1)[-1]))
    return Row(location, record=record, deviations=tuple(at.deviations))


def _is_labelstudio(path: Path, errors: str = "strict") -> bool:
    for _, first in iter_json(path, errors):
        return isinstance(first, dict) and isinstance(first.get("data"), dict)
    return False


def _labelstudio_rows(rows: Iterable[tuple[str, Any]], name: str, kind: str, questions: list[dict[str, Any]]) -> Iterator[Row]:
    """One Row per task. A bad task is one error row: the tasks after it are read on."""
    tasks = list(rows)
    start = 0
    while start < len(tasks):
        location, task = tasks[start]
        if isinstance(task, InputError):
            yield Row(location, error=task)
            start += 1
            continue
        done = start
        try:
            for where, record in labelstudio.tasks_to_records(_task_run(tasks, start), kind, questions, name, first_index=start):
                yield Row(where, record=record)
                done += 1
        except ValueError as exc:  # the task at `done` is bad; tasks_to_records stops there
            where = f"{name}#task[{done}]"
            yield Row(where, error=InputError(where, "", str(exc).removeprefix(f"{where}: ")))
            done += 1
        start = done


def _task_run(tasks: list[tuple[str, Any]], start: int) -> Iterator[Any]:
    """The tasks from `start` up to the next row that was no JSON."""
    for j in range(start, len(tasks)):
        task = tasks[j][1]
        if isinstance(task, InputError):
            return
        yield task


def input_files(paths: Iterable[str | os.PathLike], unpack_dir: Path | None = None) -> list[Path]:
    """Expand folders (and zipped packages, into `unpack_dir`) into the data files they hold."""
    files: list[Path] = []
    for number, raw in enumerate(paths):
        path = Path(raw)
        if path.suffix.lower() == ".zip" and unpack_dir is not None:
            # numbered: two zips of one name must not unpack over each other
            data = safe_extract(path, unpack_dir / f"{number}-{path.stem}") / "data"
            if not data.is_dir():
                raise InputError(path.name, "data/", "no data/ folder; a LabelDesk package keeps its records there")
            files.extend(_data_files(data))
        elif path.is_dir():
            files.extend(_data_files(path))
        else:
            files.append(path)
    return files


def _data_files(folder: Path) -> list[Path]:
    """The data files anywhere under `folder`, sorted; a loop, not recursion, so any depth is fine."""
    found: list[Path] = []
    stack = [folder]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif Path(entry.name).suffix.lower() in DATA_SUFFIXES and entry.is_file():
                    found.append(Path(entry.path))
    return sorted(found)
