"""The `labeldesk/record@1` schema: typed shapes, validation, and where answers live in it.

The JSON Schema in resources/schema is the single source of truth; it is compiled once
by jsonschema-rs (about 1 µs a record, six times faster than generated Python code)
because every imported and exported record is validated and their speed matters.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any, Literal, NotRequired, TypedDict

import jsonschema_rs
import orjson

from labeldesk.storage.formats.errors import cut, shown

SCHEMA_ID = "labeldesk/record@1"


class MediaRange(TypedDict):
    ref: str
    start: NotRequired[float]
    end: NotRequired[float]


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str
    speaker: NotRequired[str]
    media: NotRequired[list[MediaRange]]


class Response(TypedDict):
    id: str
    content: str
    source: NotRequired[str]


class Rank(TypedDict):
    response: str
    rank: int


class Span(TypedDict):
    target: str
    start: int
    end: int
    label: str
    note: NotRequired[str]
    severity: NotRequired[str]


class Segment(TypedDict):
    media: str
    start: float
    end: float
    tier: NotRequired[str]
    label: NotRequired[str]
    text: NotRequired[str]


class Safety(TypedDict, total=False):
    verdict: Literal["safe", "unsafe", "borderline"]
    categories: list[str]
    expected_behavior: Literal["comply", "refuse", "safe-complete"]


class MediaRef(TypedDict):
    id: str
    type: Literal["audio", "video", "image"]
    sha256: str
    path: NotRequired[str]
    duration: NotRequired[float]


class Quality(TypedDict, total=False):
    status: str
    annotators: int
    agreement: float
    reviewed_by: list[str]
    corrections: int
    method: str


class AnnotationEntry(TypedDict):
    annotator: str
    values: dict[str, Any]
    submitted_at: NotRequired[str]
    seconds: NotRequired[float]
    guideline_version: NotRequired[int]


class Record(TypedDict):
    schema: str
    id: str
    kind: str
    messages: NotRequired[list[Message]]
    responses: NotRequired[list[Response]]
    ranking: NotRequired[list[Rank]]
    labels: NotRequired[dict[str, Any]]
    spans: NotRequired[list[Span]]
    segments: NotRequired[list[Segment]]
    safety: NotRequired[Safety]
    media: NotRequired[list[MediaRef]]
    quality: NotRequired[Quality]
    annotations: NotRequired[list[AnnotationEntry]]
    provenance: NotRequired[dict[str, Any]]
    meta: NotRequired[dict[str, Any]]


CONTENT_FIELDS = ("messages", "responses", "media")
"""The parts of a record that are the item itself, as opposed to answers about it."""

ANSWER_FIELDS = ("ranking", "labels", "spans", "segments", "safety")


class RecordError(ValueError):
    """A record that does not fit the schema; `field` is the JSON path of the problem."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


@cache
def schema() -> dict[str, Any]:
    text = resources.files("labeldesk.resources").joinpath("schema", "record@1.json").read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _compiled_validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(schema())


def _field_path(parts: list[str | int]) -> str:
    """['messages', 0, 'content'] -> 'messages[0].content'."""
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def validate(record: dict[str, Any]) -> None:
    """Raise RecordError naming the offending field when the record breaks the schema."""
    try:
        _compiled_validator().validate(record)
    except jsonschema_rs.ValidationError as exc:
        field = _field_path(list(exc.instance_path))
        # jsonschema-rs quotes the whole bad value; the cut keeps the head and what it says after it
        message = cut(exc.message, 120)
        if isinstance(exc.kind, jsonschema_rs.ValidationErrorKind.Enum):
            message = f"{shown(exc.instance)} is not one of {', '.join(map(str, exc.kind.options))}"
        raise RecordError(f"{field or 'record'}: {message}", field) from None
    _check_offsets(record)


def _check_offsets(record: dict[str, Any]) -> None:
    """What JSON Schema cannot say: ranges are ordered and spans point at real text."""
    texts = span_targets(record)
    for i, span in enumerate(record.get("spans", ())):
        text = texts.get(span["target"])
        if text is None:
            raise RecordError(f"spans[{i}].target: no text named {shown(span['target'])}", f"spans[{i}].target")
        if not span["start"] <= span["end"] <= len(text):
            raise RecordError(
                f"spans[{i}]: range {span['start']}..{span['end']} is outside the {len(text)} code points of {span['target']}",
                f"spans[{i}]",
            )
    for i, seg in enumerate(record.get("segments", ())):
        if seg["end"] < seg["start"]:
            raise RecordError(f"segments[{i}]: end {seg['end']} is before start {seg['start']}", f"segments[{i}]")
    ids = {r["id"] for r in record.get("responses", ())}
    for i, rank in enumerate(record.get("ranking", ())):
        if rank["response"] not in ids:
            raise RecordError(f"ranking[{i}].response: no response with id {shown(rank['response'])}", f"ranking[{i}].response")


def span_targets(record: dict[str, Any]) -> dict[str, str]:
    """The texts that spans may point at, by their target name."""
    targets = {f"messages.{i}": m["content"] for i, m in enumerate(record.get("messages", ()))}
    targets.update({f"responses.{r['id']}": r["content"] for r in record.get("responses", ())})
    return targets


def content_of(record: dict[str, Any]) -> dict[str, Any]:
    """The item content of a record (what annotators look at), without answers."""
    return {key: record[key] for key in CONTENT_FIELDS if key in record}


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def stable_id(content: dict[str, Any]) -> str:
    """An id for input that has none: the same content always gets the same id."""
    return "h" + content_hash(content)[:20]


def answers_to_values(questions: list[dict[str, Any]], record: dict[str, Any]) -> dict[str, Any]:
    """Map the answer fields of a record onto the project's question names."""
    values: dict[str, Any] = {}
    by_type: dict[str, list[str]] = {}
    for q in questions:
        by_type.setdefault(q["type"], []).append(q["name"])
    for field, qtype in (("ranking", "ranking"), ("safety", "safety"), ("segments", "segments")):
        if field in record:
            values[by_type.get(qtype, [field])[0]] = record[field]
    if "spans" in record:
        _assign_spans(values, by_type.get("spans", ["spans"]), questions, record["spans"])
    values.update(record.get("labels", {}))
    return values


def _assign_spans(values: dict[str, Any], names: list[str], questions: list[dict[str, Any]], spans: list[dict]) -> None:
    """Spread record spans over span questions by label (the first question takes the rest)."""
    label_owner = {
        label: q["name"] for q in questions if q["type"] == "spans" for label in q.get("labels", ())
    }
    for span in spans:
        owner = label_owner.get(span["label"], names[0])
        values.setdefault(owner, []).append(span)


def values_to_answers(questions: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    """The inverse of answers_to_values: answer fields of a record from question values."""
    types = {q["name"]: q["type"] for q in questions}
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or value == "" or value == [] or value == {}:
            continue
        qtype = types.get(name) or _guess_type(name)
        if qtype == "ranking":
            out["ranking"] = value
        elif qtype == "spans":
            out.setdefault("spans", []).extend(value)
        elif qtype == "segments":
            out.setdefault("segments", []).extend(value)
        elif qtype == "safety":
            out["safety"] = value
        elif qtype == "dialogue":  # the conversation as the annotator edited or continued it
            out["messages"] = value
        else:
            out.setdefault("labels", {})[name] = value
    return out


def _guess_type(name: str) -> str:
    """Values under a name no question declares keep their record field, if it has one."""
    return name if name in ("ranking", "spans", "segments", "safety") else "labels"


def countable_labels(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """(question, value) pairs worth counting in a distribution: short scalars and the safety verdict."""
    pairs = [
        (name, str(value))
        for name, value in fields.get("labels", {}).items()
        if isinstance(value, (str, int, bool)) and len(str(value)) <= 40
    ]
    verdict = fields.get("safety", {}).get("verdict")
    if verdict:
        pairs.append(("safety.verdict", verdict))
    return pairs
