"""Label Studio task exports -> records: tasks written by `records_to_tasks`, and foreign ones."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from labeldesk.storage.formats.labelstudio.annotations import read_annotation, read_entries, read_prediction
from labeldesk.storage.formats.labelstudio.checks import BadInput
from labeldesk.storage.formats.labelstudio.config import config_objects
from labeldesk.storage.formats.labelstudio.layout import Layout, record_layout
from labeldesk.storage.formats.labelstudio.plan import Plan, build_plan
from labeldesk.storage.record import SCHEMA_ID, RecordError, stable_id, validate, values_to_answers

# the field order of the record schema, so that a record read back lists its fields as written
_RECORD_ORDER = ("schema", "id", "kind", "messages", "responses", "ranking", "labels", "spans", "segments",
                 "safety", "media", "quality", "annotations", "provenance", "meta")

# data keys foreign tasks keep their text under; the first one present wins
_CHAT_KEYS = ("messages", "dialogue", "conversation", "chat")
_PROMPT_KEYS = ("text", "prompt", "question", "instruction", "input")
_RESPONSE_KEYS = ("response", "answer", "output", "completion")
_NUMBERED_RESPONSE = re.compile(r"^(?:response|answer|output|completion)_(.+)$")
_ROLES = {
    "user": "user", "human": "user", "customer": "user", "client": "user", "prompter": "user", "question": "user",
    "assistant": "assistant", "bot": "assistant", "ai": "assistant", "model": "assistant", "gpt": "assistant",
    "agent": "assistant", "answer": "assistant", "system": "system",
}


def tasks_to_records(tasks: Iterable[dict[str, Any]], kind: str, questions: list[dict[str, Any]], source: str,
                     *, config: str | None = None, max_responses: int = 4,
                     first_index: int = 0) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, record) for every task of a Label Studio JSON export.

    Tasks exported by `records_to_tasks` come back as the records they were made from (with
    any edits made in Label Studio). Other exports are mapped by their data keys; pass the
    project's labeling `config` (XML) to resolve which data key each object shows when
    object names differ from data keys. Raises ValueError naming the task and field.
    `first_index` numbers the first task (for a caller that reads on after a bad task).
    """
    plan = build_plan(kind, questions, max_responses)
    objects = config_objects(config) if config else {}
    if isinstance(tasks, dict):
        tasks = [tasks]
    for i, task in enumerate(tasks, first_index):
        location = f"{source}#task[{i}]"
        try:
            record = _task_to_record(task, plan, objects, location)
            validate(record)
        except BadInput as exc:
            raise ValueError(f"{location}: {exc}") from None
        except RecordError as exc:
            raise ValueError(f"{location}: record {exc}") from None
        yield location, record


def _task_to_record(task: Any, plan: Plan, objects: dict[str, str], location: str) -> dict[str, Any]:
    if not isinstance(task, dict):
        raise BadInput("task", "expected an object")
    data = task.get("data")
    if not isinstance(data, dict):
        raise BadInput("data", "missing or not an object")
    ours = data.get("labeldesk")
    if ours is not None:
        return _own_record(task, ours, plan)
    return _foreign_record(task, data, plan, objects, location)


def _own_record(task: dict[str, Any], ours: Any, plan: Plan) -> dict[str, Any]:
    content, rest, patches = _own_parts(ours)
    layout = record_layout(plan, content)
    annotations = read_entries(task, "annotations", plan, layout, patches.get("annotations", []), read_annotation)
    predictions = read_entries(task, "predictions", plan, layout, patches.get("predictions", []), read_prediction)
    fields: dict[str, Any] = {"schema": SCHEMA_ID, "id": ours["id"], "kind": ours.get("kind", plan.kind),
                              **content, **rest}
    if annotations:
        fields["annotations"] = annotations
    if predictions:
        fields["meta"] = {**fields.get("meta", {}), "predictions": predictions}
    return _ordered(fields)


def _own_parts(ours: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The content, the rest of the record and the patches of `data.labeldesk`, checked."""
    if not isinstance(ours, dict):
        raise BadInput("data.labeldesk", "expected an object")
    if not isinstance(ours.get("id"), str) or not ours["id"]:
        raise BadInput("data.labeldesk.id", "missing")
    content = ours.get("content", {})
    if not isinstance(content, dict):
        raise BadInput("data.labeldesk.content", "expected an object")
    for key in ("messages", "responses", "media"):
        if key in content and not (isinstance(content[key], list) and all(isinstance(x, dict) for x in content[key])):
            raise BadInput(f"data.labeldesk.content.{key}", "expected a list of objects")
    for j, message in enumerate(content.get("messages", ())):
        if not isinstance(message.get("content"), str):
            raise BadInput(f"data.labeldesk.content.messages[{j}].content", "expected a string")
    for j, response in enumerate(content.get("responses", ())):
        if not isinstance(response.get("content"), str) or not isinstance(response.get("id"), str):
            raise BadInput(f"data.labeldesk.content.responses[{j}]", "expected an id and a content string")
    rest = ours.get("record", {})
    if not isinstance(rest, dict):
        raise BadInput("data.labeldesk.record", "expected an object")
    patches = ours.get("patches", {})
    if not isinstance(patches, dict):
        raise BadInput("data.labeldesk.patches", "expected an object")
    return content, rest, patches


def _ordered(fields: dict[str, Any]) -> dict[str, Any]:
    record = {k: fields[k] for k in _RECORD_ORDER if k in fields}
    record.update({k: v for k, v in fields.items() if k not in record})
    return record


def _natural(key: str) -> tuple:
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", key) if part)


def _foreign_content(data: dict[str, Any]) -> tuple[dict[str, Any], Layout, set[str]]:
    """Record content from the data of a task LabelDesk did not write; the layout by data key."""
    layout: Layout = {}
    used: set[str] = set()
    messages = _foreign_messages(data, layout, used)
    responses = _foreign_responses(data, layout, used)
    content = {k: v for k, v in (("messages", messages), ("responses", responses)) if v}
    if not content:
        keys = ", ".join(_CHAT_KEYS + _PROMPT_KEYS + _RESPONSE_KEYS)
        raise BadInput("data", f"no prompt, messages or responses (looked for {keys}, response_*/answer_*)")
    return content, layout, used


def _foreign_messages(data: dict[str, Any], layout: Layout, used: set[str]) -> list[dict[str, Any]]:
    """The messages of foreign task data; adds the data keys they came from to `layout` and `used`."""
    messages: list[dict[str, Any]] = []
    if isinstance(data.get("system"), str) and data["system"]:
        messages.append({"role": "system", "content": data["system"]})
        layout["system"] = ("text", "messages.0", data["system"])
        used.add("system")
    chat_key = next((k for k in _CHAT_KEYS if isinstance(data.get(k), list) and data[k]), None)
    prompt_key = next((k for k in _PROMPT_KEYS if isinstance(data.get(k), str) and data[k]), None)
    context = data.get("context") if prompt_key and not chat_key and isinstance(data.get("context"), list) else None
    for key in [k for k in (chat_key, "context" if context else None) if k]:
        layout[key] = ("paragraphs", _foreign_turns(data[key], key, messages))
        used.add(key)
    if prompt_key and not chat_key:
        prompt = data[prompt_key]
        index = len(messages)
        layout[prompt_key] = ("text", f"messages.{index}", prompt)
        used.add(prompt_key)
        if prompt_key == "instruction" and isinstance(data.get("input"), str) and data["input"]:
            prompt = f"{prompt}\n\n{data['input']}"  # Alpaca-style instruction + input
            used.add("input")
        messages.append({"role": "user", "content": prompt})
    return messages


def _foreign_turns(turns: list[Any], key: str, messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Appends the turns of a dialogue to `messages`; their paragraphs, as a layout shows them."""
    paragraphs = []
    for j, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise BadInput(f"data.{key}[{j}]", "expected an object with a role and a text")
        text = next((turn[k] for k in ("content", "text", "value", "utterance") if isinstance(turn.get(k), str)), None)
        if text is None:
            raise BadInput(f"data.{key}[{j}]", "no content/text string")
        who = next((turn[k] for k in ("role", "author", "speaker", "name") if isinstance(turn.get(k), str)), "")
        role = _ROLES.get(who.strip().lower())
        message: dict[str, Any] = {"role": role or "user", "content": text}
        if role is None and who:
            message["speaker"] = who
        paragraphs.append((f"messages.{len(messages)}", text))
        messages.append(message)
    return paragraphs


def _foreign_responses(data: dict[str, Any], layout: Layout, used: set[str]) -> list[dict[str, Any]]:
    """The responses of foreign task data: a single response key first, then numbered ones in natural order."""
    responses: list[dict[str, Any]] = []
    single = next((k for k in _RESPONSE_KEYS if isinstance(data.get(k), str) and data[k]), None)
    numbered = sorted((m.group(1), k) for k in data if (m := _NUMBERED_RESPONSE.match(k))
                      and isinstance(data[k], str) and data[k])
    numbered.sort(key=lambda item: _natural(item[0]))
    if single:
        numbered.insert(0, ("a" if all(suffix != "a" for suffix, _ in numbered) else single, single))
    seen_ids: set[str] = set()
    for suffix, key in numbered:
        rid = suffix if suffix not in seen_ids else key
        seen_ids.add(rid)
        responses.append({"id": rid, "content": data[key]})
        layout[key] = ("text", f"responses.{rid}", data[key])
        used.add(key)
    return responses


def _foreign_record(task: dict[str, Any], data: dict[str, Any], plan: Plan, objects: dict[str, str],
                    location: str) -> dict[str, Any]:
    content, by_key, used = _foreign_content(data)
    layout: Layout = dict(by_key)
    for obj, key in objects.items():
        if key in by_key:
            layout[obj] = by_key[key]
    annotations = read_entries(task, "annotations", plan, layout, [], read_annotation)
    predictions = read_entries(task, "predictions", plan, layout, [], read_prediction)
    record: dict[str, Any] = {"schema": SCHEMA_ID, "id": stable_id(content), "kind": plan.kind, **content}
    truth = next((read_annotation(a, plan, layout, f"annotations[{j}]")
                  for j, a in enumerate(task.get("annotations") or [])
                  if isinstance(a, dict) and a.get("ground_truth") and not a.get("was_cancelled")), None)
    if truth is not None:
        record.update(values_to_answers(plan.questions, truth["values"]))
    if annotations:
        record["annotations"] = annotations
    record["provenance"] = {"source": location}
    meta = {k: v for k, v in (("labelstudio", _task_fields(task, data, used)), ("predictions", predictions)) if v}
    if meta:
        record["meta"] = meta
    return _ordered(record)


def _task_fields(task: dict[str, Any], data: dict[str, Any], used: set[str]) -> dict[str, Any]:
    """What a foreign task says beyond the record: its id, unused data keys and its meta."""
    labelstudio: dict[str, Any] = {}
    if task.get("id") is not None:
        labelstudio["task_id"] = task["id"]
    extra = {k: v for k, v in data.items() if k not in used}
    if extra:
        labelstudio["data"] = extra
    if isinstance(task.get("meta"), dict) and task["meta"]:
        labelstudio["task_meta"] = task["meta"]
    return labelstudio
