"""Reading the data people have into `labeldesk/record@1` records.

Every reader yields `Row`s: where the row came from (file and line, row or task) and
either the record or the error that names the field at fault. Nothing here touches the
database; the importer decides what a bad row means (abort, or skip with a report).
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from labeldesk.storage.formats import labelstudio, parquet
from labeldesk.storage.vocabulary import IMPORT_FORMATS
from labeldesk.storage.record import SCHEMA_ID, RecordError, stable_id, validate

FORMATS = IMPORT_FORMATS
PROMPT_KEYS = ("prompt", "instruction", "query", "question", "input", "text")
ANSWER_KEYS = ("response", "output", "answer", "completion", "reference")
ROLE_ALIASES = {
    "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "bot": "assistant",
    "model": "assistant", "chatgpt": "assistant", "system": "system",
}
RESPONSE_IDS = "abcdefghijklmnopqrstuvwxyz"


class InputError(ValueError):
    """A row that cannot be imported; the message names file, line and field."""

    def __init__(self, location: str, field: str, message: str):
        super().__init__(f"{location}: {field}: {message}" if field else f"{location}: {message}")
        self.location = location
        self.field = field
        self.reason = message


@dataclass(frozen=True)
class Row:
    location: str
    record: dict[str, Any] | None = None
    error: InputError | None = None


Converter = Callable[[dict[str, Any], str, str], dict[str, Any]]


# --- raw rows out of files ------------------------------------------------------------


def _decode_text(raw: bytes, path: Path, errors: str = "strict") -> str:
    """Decode a whole text file: UTF-8 (BOM allowed) or UTF-16 with its BOM.

    `errors="replace"` turns undecodable bytes into U+FFFD instead of refusing the file:
    the import then cleans the rows, and cleaning reports each item that has them.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors)
    try:
        return raw.decode("utf-8-sig", errors)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{path.name}:{line}", "", f"not valid UTF-8 (byte {raw[exc.start]:#04x} at offset {exc.start}); re-save the file as UTF-8") from None


def iter_jsonl(path: Path, errors: str = "strict") -> Iterator[tuple[str, Any]]:
    with path.open("rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        if head in (b"\xff\xfe", b"\xfe\xff"):
            lines: Iterable[bytes] = (line.encode() for line in io.TextIOWrapper(fh, encoding="utf-16", errors=errors))
        else:
            lines = fh
        for number, line in enumerate(lines, 1):
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
            location = f"{path.name}:{number}"
            try:
                yield location, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield location, _loads_lenient(line, location) if errors == "replace" else InputError(
                    location, "", f"malformed JSON ({_json_reason(exc, line)})")


def _loads_lenient(line: bytes, location: str) -> Any:
    """Parse a line whose bytes may not be UTF-8: those bytes are read as U+FFFD."""
    try:
        return orjson.loads(line.decode("utf-8", "replace"))
    except orjson.JSONDecodeError as exc:
        return InputError(location, "", f"malformed JSON ({str(exc).split(':')[0]})")


def _json_reason(exc: orjson.JSONDecodeError, line: bytes) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"not valid UTF-8 at byte {err.start}"
    return str(exc).split(":")[0]


def iter_json(path: Path, errors: str = "strict") -> Iterator[tuple[str, Any]]:
    try:
        data = orjson.loads(_decode_text(path.read_bytes(), path, errors))
    except orjson.JSONDecodeError as exc:
        raise InputError(path.name, "", f"malformed JSON: {exc}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError(path.name, "", "expected a JSON object or a list of objects")
    for index, row in enumerate(data):
        yield f"{path.name}#[{index}]", row


def iter_csv(path: Path, errors: str = "strict") -> Iterator[tuple[str, Any]]:
    text = _decode_text(path.read_bytes(), path, errors)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise InputError(path.name, "", "CSV file has no header row")
    for row in reader:
        # DictReader puts surplus cells under None: a row wider than the header is an error.
        location = f"{path.name}:{reader.line_num}"
        if None in row:
            yield location, InputError(location, "", f"row has {len(reader.fieldnames) + len(row[None])} cells, the header has {len(reader.fieldnames)}")
        else:
            yield location, row


def iter_parquet(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        rows = parquet.iter_file(path)
        for number, row in enumerate(rows, 1):
            yield f"{path.name}#row{number}", _drop_nulls(row)
    except (OSError, ValueError) as exc:  # pyarrow's errors for truncated or foreign files derive from these
        raise InputError(path.name, "", f"not a readable Parquet file ({exc})") from None


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
    if suffix == ".csv":
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
    if path.suffix.lower() == ".csv":
        return "csv"
    raise InputError(path.name, "", f"cannot tell the format from keys {sorted(keys)}: pass --format")


# --- converters: one raw row to one record ---------------------------------------------


def _text(value: Any, location: str, field: str) -> str:
    if type(value) is str:  # the common case first: this runs for every text of every row
        return value
    if isinstance(value, list):  # OpenAI content parts
        parts = [p.get("text", "") for p in value if isinstance(p, dict) and p.get("type") in ("text", "input_text", None)]
        return "".join(parts)
    if value is None:
        raise InputError(location, field, "missing")
    if isinstance(value, (int, float)):
        return str(value)
    raise InputError(location, field, f"expected text, got {type(value).__name__}")


def _require(row: dict[str, Any], key: str, location: str) -> Any:
    if key not in row or row[key] is None:
        raise InputError(location, key, "required field is missing")
    return row[key]


def _message(raw: Any, location: str, field: str, role_key: str = "role", content_key: str = "content") -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InputError(location, field, "expected a message object")
    role = ROLE_ALIASES.get(str(raw.get(role_key, "")).lower())
    if role is None:
        raise InputError(location, f"{field}.{role_key}", f"unknown role {raw.get(role_key)!r}")
    message: dict[str, Any] = {"role": role, "content": _text(raw.get(content_key), location, f"{field}.{content_key}")}
    if raw.get("name"):
        message["speaker"] = str(raw["name"])
    return message


def _messages(raw: Any, location: str, field: str, **keys: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise InputError(location, field, "expected a list of messages")
    return [_message(m, location, f"{field}[{i}]", **keys) for i, m in enumerate(raw)]


def _finish(record: dict[str, Any], row: dict[str, Any], kind: str, source: str, used: set[str]) -> dict[str, Any]:
    """Add schema, id, kind and provenance; keep unrecognised columns in meta."""
    record = {"schema": SCHEMA_ID, "id": "", "kind": str(row.get("kind") or kind), **record}
    rest = {k: v for k, v in row.items() if k not in used and k not in ("id", "kind") and v not in (None, "")}
    if rest:
        record["meta"] = rest
    record["provenance"] = {"source": source}
    given = row.get("id")
    record["id"] = str(given) if given not in (None, "") else stable_id({k: record[k] for k in ("messages", "responses") if k in record})
    return record


def from_record(row: dict[str, Any], kind: str, location: str) -> dict[str, Any]:
    record = parquet.decode_json_columns(row)
    record.setdefault("schema", SCHEMA_ID)
    record.setdefault("kind", kind)
    if not record.get("id"):
        record["id"] = stable_id({k: record[k] for k in ("messages", "responses") if k in record})
    provenance = dict(record.get("provenance", {}))
    provenance.setdefault("source", location)
    record["provenance"] = provenance
    return record


def from_openai(row: dict[str, Any], kind: str, location: str) -> dict[str, Any]:
    messages = _messages(_require(row, "messages", location), location, "messages")
    return _finish({"messages": messages}, row, kind, location, {"messages"})


def from_sharegpt(row: dict[str, Any], kind: str, location: str) -> dict[str, Any]:
    raw = _require(row, "conversations", location)
    messages = _messages(raw, location, "conversations", role_key="from", content_key="value")
    if row.get("system"):
        messages.insert(0, {"role": "system", "content": _text(row["system"], location, "system")})
    return _finish({"messages": messages}, row, kind, location, {"conversations", "system"})


def from_alpaca(row: dict[str, Any], kind: str, location: str) -> dict[str, Any]:
    instruction = _text(_require(row, "instruction", location), location, "instruction")
    extra = _text(row.get("input") or "", location, "input")
    prompt = f"{instruction}\n\n{extra}" if extra else instruction
    messages = [{"role": "user", "content": prompt}]
    output = row.get("output")
    if output not in (None, ""):
        messages.append({"role": "assistant", "content": _text(output, location, "output")})
    if row.get("system"):
        messages.insert(0, {"role": "system", "content": _text(row["system"], location, "system")})
    return _finish({"messages": messages}, row, kind, location, {"instruction", "input", "output", "system"})


def _prompt_messages(value: Any, location: str, field: str) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return _messages(value, location, field)
    return [{"role": "user", "content": _text(value, location, field)}]


def _reply(value: Any, location: str, field: str) -> str:
    """A chosen/rejected side: a string, or the assistant turn(s) of a conversational form."""
    if isinstance(value, list):
        turns = [m for m in _messages(value, location, field) if m["role"] == "assistant"]
        if not turns:
            raise InputError(location, field, "conversation has no assistant message")
        return turns[-1]["content"]
    return _text(value, location, field)


def from_preference(row: dict[str, Any], kind: str, location: str) -> dict[str, Any]:
    chosen, rejected = _require(row, "chosen", location), _require(row, "rejected", location)
    if "prompt" in row and row["prompt"] is not None:
        messages = _prompt_messages(row["prompt"], location, "prompt")
    elif isinstance(chosen, list):  # implicit prompt: the turns before the final answer
        messages = _messages(chosen, location, "chosen")[:-1]
    else:
        raise InputError(location, "prompt", "required field is missing")
    record = {
        "messages": messages,
        "responses": [
            {"id": "a", "content": _reply(chosen, location, "chosen")},
            {"id": "b", "content": _reply(rejected, location, "rejected")},
        ],
        "ranking": [{"response": "a", "rank": 1}, {"response": "b", "rank": 2}],
    }
    return _finish(record, row, "preference" if kind == "instruction" else kind, location, {"prompt", "chosen", "rejected"})


def from_responses(row: dict[str, Any], kind: str, location: str) -> dict[str, Any]:
    raw = _require(row, "responses", location)
    if not isinstance(raw, list) or not raw:
        raise InputError(location, "responses", "expected a non-empty list")
    if len(raw) > len(RESPONSE_IDS):
        raise InputError(location, "responses", f"{len(raw)} responses; at most {len(RESPONSE_IDS)}")
    responses = [_response(r, RESPONSE_IDS[i], location, f"responses[{i}]") for i, r in enumerate(raw)]
    prompt_key = next((k for k in PROMPT_KEYS if k in row), None)
    if prompt_key is None:
        raise InputError(location, "prompt", "required field is missing")
    record = {"messages": _prompt_messages(row[prompt_key], location, prompt_key), "responses": responses}
    return _finish(record, row, kind, location, {"responses", prompt_key})


def _response(raw: Any, default_id: str, location: str, field: str) -> dict[str, Any]:
    if isinstance(raw, str):
        return {"id": default_id, "content": raw}
    if not isinstance(raw, dict):
        raise InputError(location, field, "expected text or an object")
    content = raw.get("content")
    if content is None:
        content = next((raw[k] for k in ("text", "response", "output") if k in raw), None)
    response = {"id": str(raw.get("id", default_id)), "content": _text(content, location, f"{field}.content")}
    source = raw.get("source") or raw.get("model")
    if source:
        response["source"] = str(source)
    return response


def from_csv(row: dict[str, Any], kind: str, location: str) -> dict[str, Any]:
    row = {k.strip().lower(): v for k, v in row.items() if k}
    if "chosen" in row and "rejected" in row:
        return from_preference(row, kind, location)
    prompt_key = next((k for k in PROMPT_KEYS if row.get(k)), None)
    if prompt_key is None:
        raise InputError(location, "prompt", f"no prompt column (one of {', '.join(PROMPT_KEYS)})")
    messages = [{"role": "user", "content": row[prompt_key]}]
    if row.get("system"):
        messages.insert(0, {"role": "system", "content": row["system"]})
    used = {prompt_key, "system"}
    record: dict[str, Any] = {"messages": messages}
    multi = sorted(k for k in row if k.startswith(("response_", "answer_")) and row[k])
    if multi:
        record["responses"] = [{"id": k.split("_", 1)[1], "content": row[k]} for k in multi]
        used.update(multi)
    else:
        answer_key = next((k for k in ANSWER_KEYS if row.get(k)), None)
        if answer_key:
            messages.append({"role": "assistant", "content": row[answer_key]})
            used.add(answer_key)
    return _finish(record, row, kind, location, used)


CONVERTERS: dict[str, Converter] = {
    "records": from_record,
    "parquet": from_record,
    "openai": from_openai,
    "sharegpt": from_sharegpt,
    "alpaca": from_alpaca,
    "preference": from_preference,
    "responses": from_responses,
    "csv": from_csv,
}


# --- the entry point ------------------------------------------------------------------


def read_file(path: Path, fmt: str, kind: str, questions: list[dict[str, Any]], errors: str = "strict") -> Iterator[Row]:
    """Yield every row of a file as a validated record or as the error that stops it.

    `errors` is how text that is not valid in the file's encoding is decoded: "strict"
    refuses it, "replace" reads it as U+FFFD (for imports that clean what they read).
    """
    if fmt not in ("auto", *FORMATS):
        raise InputError(path.name, "--format", f"unknown format {fmt!r}; one of auto, {', '.join(FORMATS)}")
    if not path.is_file():
        raise InputError(str(path), "", "no such file")
    if path.stat().st_size == 0:
        raise InputError(path.name, "", "file is empty")
    rows = raw_rows(path, errors)
    if fmt == "labelstudio" or (fmt == "auto" and path.suffix.lower() == ".json" and _is_labelstudio(path, errors)):
        yield from _labelstudio_rows(path, kind, questions, errors)
        return
    converter: Converter | None = CONVERTERS.get(fmt)
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
                yield Row(location, error=exc)
                return
            if detected == "labelstudio":
                yield from _labelstudio_rows(path, kind, questions, errors)
                return
            converter = CONVERTERS[detected]
        yield _convert(converter, raw, kind, location)


def _convert(converter: Converter, raw: dict[str, Any], kind: str, location: str) -> Row:
    try:
        record = converter(raw, kind, location)
        validate(record)
    except InputError as exc:
        return Row(location, error=exc)
    except RecordError as exc:
        return Row(location, error=InputError(location, exc.field, str(exc).split(": ", 1)[-1]))
    return Row(location, record=record)


def _is_labelstudio(path: Path, errors: str = "strict") -> bool:
    for _, first in iter_json(path, errors):
        return isinstance(first, dict) and isinstance(first.get("data"), dict)
    return False


def _labelstudio_rows(path: Path, kind: str, questions: list[dict[str, Any]], errors: str = "strict") -> Iterator[Row]:
    tasks = [task for _, task in (iter_json(path, errors) if path.suffix.lower() == ".json" else iter_jsonl(path, errors))]
    try:
        for location, record in labelstudio.tasks_to_records(tasks, kind, questions, path.name):
            try:
                validate(record)
            except RecordError as exc:
                yield Row(location, error=InputError(location, exc.field, str(exc).split(": ", 1)[-1]))
                continue
            yield Row(location, record=record)
    except ValueError as exc:
        yield Row(path.name, error=InputError(path.name, "", str(exc)))


def safe_extract(archive: Path, target: Path) -> Path:
    """Extract a zip, refusing any entry that would land outside `target` (zip slip) or is a link."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise InputError(archive.name, "", f"not a readable zip file ({exc})") from None
    root = target.resolve()
    with zf:
        for info in zf.infolist():
            dest = (root / info.filename).resolve()
            is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
            if is_link or info.filename.startswith(("/", "\\")) or (dest != root and root not in dest.parents):
                raise InputError(archive.name, info.filename, "entry would be written outside the target folder; nothing was extracted")
        zf.extractall(root)
    return root


def input_files(paths: Iterable[str | os.PathLike], unpack_dir: Path | None = None) -> list[Path]:
    """Expand folders (and zipped packages, into `unpack_dir`) into the data files they hold."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.suffix.lower() == ".zip" and unpack_dir is not None:
            files.extend(input_files([safe_extract(path, unpack_dir / path.stem) / "data"]))
            continue
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in (".jsonl", ".json", ".csv", ".parquet")))
        else:
            files.append(path)
    return files
