"""One raw row of a known format -> one `labeldesk/record@1` record, stored as given.

What a row holds goes into the record as it is, or the row is refused: text fields take
text only (a number or boolean is an error, not its repr), and fields the record has no
place for are kept in `meta` — top-level ones under their own names, those of a message
or response under meta.extra_message_fields / meta.extra_response_fields, keyed by where
they were in the row ("conversations[1]"). The few changes a format needs to fit the
schema (a numeric id read as text, OpenAI text parts joined) are noted as Deviations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from labeldesk.storage.formats import parquet
from labeldesk.storage.formats.errors import Deviation, InputError, shown
from labeldesk.storage.formats.nesting import MAX_NESTING, may_nest_deeper, too_deep
from labeldesk.storage.record import SCHEMA_ID, stable_id

PROMPT_KEYS = ("prompt", "instruction", "query", "question", "input", "text")
ANSWER_KEYS = ("response", "output", "answer", "completion", "reference")
ROLE_ALIASES = {
    "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "bot": "assistant",
    "model": "assistant", "chatgpt": "assistant", "system": "system",
}
RESPONSE_IDS = "abcdefghijklmnopqrstuvwxyz"
TEXT_PART_TYPES = ("text", "input_text", "output_text")
EXTRA_MESSAGE_FIELDS = "extra_message_fields"
EXTRA_RESPONSE_FIELDS = "extra_response_fields"
_RESPONSE_TEXT_KEYS = ("content", "text", "response", "output")
_RESPONSE_SOURCE_KEYS = ("source", "model")


@dataclass
class Reading:
    """One row being converted: where it is, and what it has to say besides the record."""

    location: str
    extra_messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra_responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    deviations: list[Deviation] = field(default_factory=list)

    def error(self, field_name: str, message: str) -> InputError:
        return InputError(self.location, field_name, message)

    def deviate(self, field_name: str, change: str) -> None:
        self.deviations.append(Deviation(self.location, field_name, change))


Converter = Callable[[dict[str, Any], str, Reading], dict[str, Any]]


def json_type(value: Any) -> str:
    """The JSON name of a value's type, as messages say it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _text(value: Any, at: Reading, name: str) -> str:
    if type(value) is str:  # the common case first: this runs for every text of every row
        return value
    if value is None:
        raise at.error(name, "missing")
    raise at.error(name, f"expected text, got {json_type(value)}: {shown(value)}")


def _optional_text(row: dict[str, Any], key: str, at: Reading) -> str:
    """A text field the format may leave out; absent, null and "" all mean none."""
    value = row.get(key)
    return "" if value is None else _text(value, at, key)


def _content(value: Any, at: Reading, name: str) -> str:
    """A message content: text, or OpenAI content parts that are all text."""
    if not isinstance(value, list):
        return _text(value, at, name)
    texts = []
    for i, part in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(part, dict):
            raise at.error(where, f"expected a content part object, got {json_type(part)}")
        if part.get("type", "text") not in TEXT_PART_TYPES:
            raise at.error(f"{where}.type", f"a content part of type {shown(part.get('type'))}; only text parts can be imported")
        unknown = sorted(set(part) - {"type", "text"})
        if unknown:
            raise at.error(f"{where}.{unknown[0]}", "content parts can hold only type and text")
        texts.append(_text(part.get("text"), at, f"{where}.text"))
    if len(texts) != 1:
        at.deviate(name, "content parts joined into one text")
    return "".join(texts)


def _id(value: Any, at: Reading, name: str) -> str | None:
    """A given id as text; None when there is none. A whole number is read as its digits."""
    if value is None or value == "":
        return None
    if type(value) is str:
        return value
    if type(value) is int:
        at.deviate(name, "a numeric id stored as its text")
        return str(value)
    raise at.error(name, f"expected text, got {json_type(value)}: {shown(value)}")


def _require(row: dict[str, Any], key: str, at: Reading) -> Any:
    if key not in row or row[key] is None:
        raise at.error(key, "required field is missing")
    return row[key]


def _message(raw: Any, at: Reading, name: str, role_key: str = "role", content_key: str = "content") -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise at.error(name, f"expected a message object, got {json_type(raw)}")
    given_role = raw.get(role_key)
    if given_role is None:
        raise at.error(f"{name}.{role_key}", "missing")
    role = ROLE_ALIASES.get(given_role.lower()) if isinstance(given_role, str) else None
    if role is None:
        raise at.error(f"{name}.{role_key}", f"unknown role {shown(given_role)}")
    content = _content(raw.get(content_key), at, f"{name}.{content_key}") if role_key == "role" else _text(
        raw.get(content_key), at, f"{name}.{content_key}")
    message: dict[str, Any] = {"role": role, "content": content}
    if raw.get("name") is not None:
        message["speaker"] = _text(raw["name"], at, f"{name}.name")
    extra = {k: v for k, v in raw.items() if k not in (role_key, content_key, "name")}
    if extra:
        at.extra_messages[name] = extra
    return message


def _messages(raw: Any, at: Reading, name: str, **keys: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise at.error(name, f"expected a list of messages, got {json_type(raw)}")
    return [_message(m, at, f"{name}[{i}]", **keys) for i, m in enumerate(raw)]


def _finish(record: dict[str, Any], row: dict[str, Any], kind: str, at: Reading, used: set[str]) -> dict[str, Any]:
    """Add schema, id, kind and provenance; keep the fields no part of the record took in meta."""
    given_kind = row.get("kind")
    if given_kind not in (None, "") and not isinstance(given_kind, str):
        raise at.error("kind", f"expected text, got {json_type(given_kind)}: {shown(given_kind)}")
    record = {"schema": SCHEMA_ID, "id": "", "kind": given_kind or kind, **record}
    meta = {k: v for k, v in row.items() if k not in used and k not in ("id", "kind")}
    for key, extra in ((EXTRA_MESSAGE_FIELDS, at.extra_messages), (EXTRA_RESPONSE_FIELDS, at.extra_responses)):
        if key in meta:
            raise at.error(key, "LabelDesk keeps the unknown fields of messages and responses under this name in meta; rename it")
        if extra:
            meta[key] = extra
    if meta:
        record["meta"] = meta
    record["provenance"] = {"source": at.location}
    given = _id(row.get("id"), at, "id")
    record["id"] = given if given is not None else stable_id({k: record[k] for k in ("messages", "responses") if k in record})
    return record


def _json_object(value: Any, at: Reading, name: str) -> Any:
    """A free-form field as Parquet stores it (JSON text) back as its value; others as they are."""
    if not isinstance(value, str):
        return value
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise at.error(name, f"expected an object or its JSON text; not valid JSON ({str(exc).split(':')[0]})") from None
    if may_nest_deeper(value, MAX_NESTING - 1) and too_deep(decoded, MAX_NESTING - 1) is not None:
        raise at.error(name, f"its JSON text nests more than {MAX_NESTING} levels deep, the limit (nesting.MAX_NESTING)")
    return decoded


def from_record(row: dict[str, Any], kind: str, at: Reading) -> dict[str, Any]:
    record = dict(row)
    for key in parquet.JSON_TEXT_FIELDS:
        if key in record:
            record[key] = _json_object(record[key], at, key)
    if isinstance(record.get("annotations"), list):
        record["annotations"] = [
            {**a, "values": _json_object(a["values"], at, f"annotations[{i}].values")} if isinstance(a, dict) and "values" in a else a
            for i, a in enumerate(record["annotations"])
        ]
    record.setdefault("schema", SCHEMA_ID)
    record.setdefault("kind", kind)
    given = _id(record.get("id"), at, "id")
    record["id"] = given if given is not None else stable_id({k: record[k] for k in ("messages", "responses") if k in record})
    provenance = record.get("provenance", {})
    if not isinstance(provenance, dict):
        raise at.error("provenance", f"expected an object, got {json_type(provenance)}: {shown(provenance)}")
    record["provenance"] = {**provenance, "source": provenance.get("source", at.location)}
    return record


def from_openai(row: dict[str, Any], kind: str, at: Reading) -> dict[str, Any]:
    messages = _messages(_require(row, "messages", at), at, "messages")
    return _finish({"messages": messages}, row, kind, at, {"messages"})


def from_sharegpt(row: dict[str, Any], kind: str, at: Reading) -> dict[str, Any]:
    raw = _require(row, "conversations", at)
    messages = _messages(raw, at, "conversations", role_key="from", content_key="value")
    system = _optional_text(row, "system", at)
    if system:
        messages.insert(0, {"role": "system", "content": system})
    return _finish({"messages": messages}, row, kind, at, {"conversations", "system"})


def from_alpaca(row: dict[str, Any], kind: str, at: Reading) -> dict[str, Any]:
    instruction = _text(_require(row, "instruction", at), at, "instruction")
    extra = _optional_text(row, "input", at)
    prompt = f"{instruction}\n\n{extra}" if extra else instruction
    messages = [{"role": "user", "content": prompt}]
    output = _optional_text(row, "output", at)
    if output:
        messages.append({"role": "assistant", "content": output})
    system = _optional_text(row, "system", at)
    if system:
        messages.insert(0, {"role": "system", "content": system})
    return _finish({"messages": messages}, row, kind, at, {"instruction", "input", "output", "system"})


def _prompt_messages(value: Any, at: Reading, name: str) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return _messages(value, at, name)
    return [{"role": "user", "content": _text(value, at, name)}]


def _reply(value: Any, prompt: list[dict[str, Any]], at: Reading, name: str) -> str:
    """A chosen/rejected side: a string, or a conversation whose last turn is the answer.

    The turns before that answer must be the prompt (or absent): they would be lost otherwise.
    """
    if not isinstance(value, list):
        return _text(value, at, name)
    turns = _messages(value, at, name)
    if not turns or turns[-1]["role"] != "assistant":
        raise at.error(name, "conversation does not end with an assistant message")
    if turns[:-1] and turns[:-1] != prompt:
        raise at.error(name, "the turns before its answer differ from the prompt; only one prompt can be kept")
    return turns[-1]["content"]


def from_preference(row: dict[str, Any], kind: str, at: Reading) -> dict[str, Any]:
    chosen, rejected = _require(row, "chosen", at), _require(row, "rejected", at)
    if row.get("prompt") is not None:
        messages = _prompt_messages(row["prompt"], at, "prompt")
    elif isinstance(chosen, list):  # implicit prompt: the turns before the final answer
        messages = _messages(chosen, at, "chosen")[:-1]
    else:
        raise at.error("prompt", "required field is missing")
    record = {
        "messages": messages,
        "responses": [
            {"id": "a", "content": _reply(chosen, messages, at, "chosen")},
            {"id": "b", "content": _reply(rejected, messages, at, "rejected")},
        ],
        "ranking": [{"response": "a", "rank": 1}, {"response": "b", "rank": 2}],
    }
    return _finish(record, row, "preference" if kind == "instruction" else kind, at, {"prompt", "chosen", "rejected"})


def from_responses(row: dict[str, Any], kind: str, at: Reading) -> dict[str, Any]:
    raw = _require(row, "responses", at)
    if not isinstance(raw, list) or not raw:
        raise at.error("responses", "expected a non-empty list")
    if len(raw) > len(RESPONSE_IDS):
        raise at.error("responses", f"{len(raw)} responses; at most {len(RESPONSE_IDS)}")
    responses = [_response(r, RESPONSE_IDS[i], at, f"responses[{i}]") for i, r in enumerate(raw)]
    _check_unique_ids(responses, at)
    prompt_key = next((k for k in PROMPT_KEYS if k in row), None)
    if prompt_key is None:
        raise at.error("prompt", "required field is missing")
    record = {"messages": _prompt_messages(row[prompt_key], at, prompt_key), "responses": responses}
    return _finish(record, row, kind, at, {"responses", prompt_key})


def _check_unique_ids(responses: list[dict[str, Any]], at: Reading) -> None:
    seen: set[str] = set()
    for i, response in enumerate(responses):
        if response["id"] in seen:
            raise at.error(f"responses[{i}].id", f"{shown(response['id'])} is the id of an earlier response")
        seen.add(response["id"])


def _response(raw: Any, default_id: str, at: Reading, name: str) -> dict[str, Any]:
    if isinstance(raw, str):
        return {"id": default_id, "content": raw}
    if not isinstance(raw, dict):
        raise at.error(name, f"expected text or an object, got {json_type(raw)}")
    content_key = next((k for k in _RESPONSE_TEXT_KEYS if raw.get(k) is not None), "content")
    rid = _id(raw.get("id"), at, f"{name}.id")
    response = {"id": rid if rid is not None else default_id, "content": _text(raw.get(content_key), at, f"{name}.{content_key}")}
    source_key = next((k for k in _RESPONSE_SOURCE_KEYS if raw.get(k) not in (None, "")), None)
    if source_key:
        response["source"] = _text(raw[source_key], at, f"{name}.{source_key}")
    extra = {k: v for k, v in raw.items() if k not in ("id", content_key, source_key)}
    if extra:
        at.extra_responses[name] = extra
    return response


# CSV columns the format knows, whatever case and spaces their header has
_CSV_KNOWN = frozenset((*PROMPT_KEYS, *ANSWER_KEYS, "system", "chosen", "rejected", "id", "kind"))
_CSV_NUMBERED = ("response_", "answer_")


def _csv_key(header: str) -> str:
    """The name a CSV column goes by: known columns case- and space-free, others as written."""
    name = header.strip().lower()
    return name if name in _CSV_KNOWN or name.startswith(_CSV_NUMBERED) else header


def from_csv(row: dict[str, Any], kind: str, at: Reading) -> dict[str, Any]:
    row = {_csv_key(k): v for k, v in row.items() if v != ""}  # an empty cell is no value
    if "chosen" in row and "rejected" in row:
        return from_preference(row, kind, at)
    prompt_key = next((k for k in PROMPT_KEYS if k in row), None)
    if prompt_key is None:
        raise at.error("prompt", f"no prompt column (one of {', '.join(PROMPT_KEYS)})")
    messages = [{"role": "user", "content": row[prompt_key]}]
    if "system" in row:
        messages.insert(0, {"role": "system", "content": row["system"]})
    used = {prompt_key, "system"}
    record: dict[str, Any] = {"messages": messages}
    multi = sorted(k for k in row if k.startswith(_CSV_NUMBERED))
    if multi:
        record["responses"] = [{"id": k.split("_", 1)[1], "content": row[k]} for k in multi]
        _check_unique_ids(record["responses"], at)
        used.update(multi)
    else:
        answer_key = next((k for k in ANSWER_KEYS if k in row), None)
        if answer_key:
            messages.append({"role": "assistant", "content": row[answer_key]})
            used.add(answer_key)
    return _finish(record, row, kind, at, used)


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
