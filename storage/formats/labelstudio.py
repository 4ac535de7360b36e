"""Label Studio JSON: the labeling config, export of records as tasks, import of task exports.

Pure functions over plain dicts; no database, no Qt.

Layout of an exported project (`label_config` and `records_to_tasks` agree on it):

- a `conversation` project shows its messages as one ``<Paragraphs name="messages">``;
  every other kind shows the prompt (the last user message) as ``<Text name="prompt">``
  and any other message (a system prompt, earlier turns, a reference answer) as
  ``<Paragraphs name="context">``;
- projects that look at responses (preference, a ranking question, spans on responses)
  get one ``<Text name="response_a">`` … per response slot (``max_responses`` of them,
  filled by position; unused slots hold ``""``);
- per-item questions are bound to the main object (``messages`` or ``prompt``); span
  questions get one ``<Labels>`` (``<ParagraphLabels>`` on Paragraphs) per object they
  target, named ``<question>__<object>``, with an optional per-region ``<Choices>`` for
  the severity (``<question>__<object>__severity``); a span note is the region's
  ``meta.text``.
- ranking: Label Studio's ``<Ranker>`` orders items and cannot say "these two are equal",
  while our rankings allow ties (equal ranks). So a ranking is one single ``<Choices>``
  per response, ``ranking__a`` bound to ``response_a``, with choices "1".."N".
- time segments are not exported (they are labeled on media; use EAF/TextGrid).

Offsets: Label Studio offsets into text are JavaScript string offsets (UTF-16 code
units); record offsets are Unicode code points. Both directions are converted.

Round trip: `data.labeldesk` carries the record id, its content and the rest of the record,
so a task exported here comes back as the same record. Each annotation also leaves a small
patch there, keyed by a fingerprint of its results: its annotator, time, seconds and
guideline version, and whatever values Label Studio cannot express (segments, answers off
the declared options, responses beyond the slots …). An annotation that comes back
unchanged is restored exactly by its patch (even after Label Studio renumbered its user);
one edited in Label Studio is read from its results and Label Studio's fields.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from labeldesk.storage.record import KINDS, SCHEMA_ID, RecordError, content_of, stable_id, validate, values_to_answers

__all__ = ["label_config", "records_to_tasks", "tasks_to_records", "to_utf16", "from_utf16"]

# ---------------------------------------------------------------------------------------
# offsets

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def to_utf16(text: str, offset: int) -> int:
    """A code point offset into `text` as a UTF-16 code unit (JavaScript) offset."""
    if not 0 <= offset <= len(text):
        raise ValueError(f"offset {offset} is outside the {len(text)} code points of the text")
    return offset + len(_ASTRAL.findall(text, 0, offset))


def from_utf16(text: str, offset: int) -> int:
    """A UTF-16 code unit offset into `text` as a code point offset.

    Raises ValueError for an offset that falls inside a surrogate pair or past the end.
    """
    if not _ASTRAL.search(text):
        if not 0 <= offset <= len(text):
            raise ValueError(f"offset {offset} is outside the {len(text)} UTF-16 units of the text")
        return offset
    if offset < 0:
        raise ValueError(f"offset {offset} is negative")
    units = 0
    for index, char in enumerate(text):
        if units == offset:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
        if units > offset:
            raise ValueError(f"offset {offset} falls inside a surrogate pair (character {index})")
    if units == offset:
        return len(text)
    raise ValueError(f"offset {offset} is outside the {units} UTF-16 units of the text")


# ---------------------------------------------------------------------------------------
# the plan: objects and controls of a project's config


@dataclass(frozen=True)
class _Control:
    name: str  # from_name
    tag: str  # XML tag; the result type is tag.lower()
    to_name: str
    question: str
    qtype: str
    role: str  # value | span | severity | rank | verdict | categories | behavior
    options: tuple[str, ...] = ()
    attrs: tuple[tuple[str, str], ...] = ()

    @property
    def type(self) -> str:
        return self.tag.lower()


@dataclass
class _Plan:
    kind: str
    conversation: bool
    main: str  # the object per-item questions are bound to
    slots: tuple[str, ...]  # response object names, in slot order
    questions: list[dict[str, Any]]
    controls: dict[str, _Control] = field(default_factory=dict)
    by_role: dict[tuple[str, str, str], _Control] = field(default_factory=dict)  # (question, role, object)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add(self, control: _Control, obj: str = "") -> None:
        if control.name in self.controls:
            raise ValueError(f"questions: control name {control.name!r} is used twice")
        self.controls[control.name] = control
        self.by_role[(control.question, control.role, obj)] = control

    def control(self, question: str, role: str, obj: str = "") -> _Control | None:
        return self.by_role.get((question, role, obj))


SAFETY_VERDICTS = ("safe", "unsafe", "borderline")
SAFETY_BEHAVIORS = ("comply", "refuse", "safe-complete")
_SAFETY_PARTS = {"verdict": "verdict", "categories": "categories", "expected_behavior": "behavior"}


def _slot_name(index: int) -> str:
    return "response_" + string.ascii_lowercase[index]


def _span_targets(question: dict[str, Any]) -> set[str]:
    targets = question.get("targets", ("responses", "messages"))
    if isinstance(targets, str):
        targets = [targets]
    return set(targets)


def _has_responses(kind: str, questions: list[dict[str, Any]]) -> bool:
    return (
        kind == "preference"
        or any(q.get("type") == "ranking" for q in questions)
        or any(q.get("type") == "spans" and "responses" in _span_targets(q) for q in questions)
    )


def _plan(kind: str, questions: list[dict[str, Any]], max_responses: int) -> _Plan:
    if kind not in KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if not isinstance(questions, list) or not all(isinstance(q, dict) for q in questions):
        raise ValueError("questions: expected a list of question objects")
    conversation = kind == "conversation"
    slots: tuple[str, ...] = ()
    if _has_responses(kind, questions):
        if not 1 <= max_responses <= 26:
            raise ValueError(f"max_responses: {max_responses} is not between 1 and 26")
        slots = tuple(_slot_name(i) for i in range(max_responses))
    main = "messages" if conversation else "prompt"
    plan = _Plan(kind, conversation, main, slots, questions)
    seen: set[str] = set()
    for i, q in enumerate(questions):
        name, qtype = q.get("name"), q.get("type")
        if not isinstance(name, str) or not name:
            raise ValueError(f"questions[{i}].name: missing")
        if name in seen:
            raise ValueError(f"questions[{i}].name: {name!r} is used twice")
        seen.add(name)
        required = (("required", "true"),) if q.get("required") else ()
        if qtype == "text":
            attrs = (("rows", "4" if q.get("multiline") else "1"), ("maxSubmissions", "1"), ("editable", "true"))
            if q.get("placeholder"):
                attrs += (("placeholder", str(q["placeholder"])),)
            plan.add(_Control(name, "TextArea", main, name, qtype, "value", (), attrs + required))
        elif qtype in ("choice", "multi_choice"):
            choice = "single" if qtype == "choice" else "multiple"
            options = tuple(str(o) for o in q.get("options", ()))
            plan.add(_Control(name, "Choices", main, name, qtype, "value", options,
                              (("choice", choice), ("showInline", "true")) + required))
        elif qtype == "rating":
            low, high = int(q.get("min", 1)), int(q.get("max", 5))
            if low == 1:
                plan.add(_Control(name, "Rating", main, name, qtype, "value", (),
                                  (("maxRating", str(high)),) + required))
            else:
                plan.add(_Control(name, "Number", main, name, qtype, "value", (),
                                  (("min", str(low)), ("max", str(high))) + required))
        elif qtype == "ranking":
            if not slots:  # pragma: no cover - _has_responses makes slots for rankings
                continue
            ranks = tuple(str(r) for r in range(1, len(slots) + 1))
            for slot in slots:
                plan.add(_Control(f"{name}__{slot.removeprefix('response_')}", "Choices", slot, name, qtype,
                                  "rank", ranks, (("choice", "single"), ("showInline", "true"))), slot)
        elif qtype == "spans":
            labels = tuple(str(label) for label in q.get("labels", ()))
            severities = tuple(str(s) for s in q.get("severities", ()))
            targets = _span_targets(q)
            objects: list[tuple[str, str]] = []
            if "messages" in targets:
                objects += [("messages", "ParagraphLabels")] if conversation else [
                    ("prompt", "Labels"), ("context", "ParagraphLabels")]
            if "responses" in targets:
                objects += [(slot, "Labels") for slot in slots]
            for obj, tag in objects:
                plan.add(_Control(f"{name}__{obj}", tag, obj, name, qtype, "span", labels), obj)
                if severities:
                    plan.add(_Control(f"{name}__{obj}__severity", "Choices", obj, name, qtype, "severity",
                                      severities, (("choice", "single"), ("perRegion", "true"),
                                                   ("showInline", "true"))), obj)
        elif qtype == "safety":
            categories = tuple(str(c) for c in q.get("categories", ()))
            behaviors = tuple(str(b) for b in q.get("behaviors", SAFETY_BEHAVIORS))
            plan.add(_Control(f"{name}__verdict", "Choices", main, name, qtype, "verdict", SAFETY_VERDICTS,
                              (("choice", "single"), ("showInline", "true")) + required))
            if categories:
                plan.add(_Control(f"{name}__categories", "Choices", main, name, qtype, "categories", categories,
                                  (("choice", "multiple"), ("showInline", "true"))))
            if behaviors:
                plan.add(_Control(f"{name}__expected_behavior", "Choices", main, name, qtype, "behavior",
                                  behaviors, (("choice", "single"), ("showInline", "true"))))
        elif qtype == "segments":
            plan.skipped.append((name, "time segments are labeled on media; export them as EAF or TextGrid"))
        else:
            plan.skipped.append((name, f"question type {qtype!r} has no Label Studio control here"))
    return plan


# ---------------------------------------------------------------------------------------
# 1. the labeling config


def label_config(kind: str, questions: list[dict[str, Any]], max_responses: int = 4) -> str:
    """The Label Studio labeling config (XML) for a project of `kind` with `questions`.

    `max_responses` is the number of response slots (response_a …); pass the same number
    to `records_to_tasks`.
    """
    plan = _plan(kind, questions, max_responses)
    root = ET.Element("View")
    style = ET.SubElement(root, "Style")
    style.text = ".htx-text { white-space: pre-wrap; }"  # offsets count every space: show them all
    by_object: dict[str, list[_Control]] = {}
    for control in plan.controls.values():
        if control.role in ("span", "severity", "rank"):
            by_object.setdefault(control.to_name, []).append(control)

    def object_block(title: str, tag: str, name: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
        block = ET.SubElement(root, "View")
        ET.SubElement(block, "Header", {"value": title})
        attached = by_object.get(name, [])
        for control in attached:
            if control.role == "span":
                _control_element(block, control, plan)
        ET.SubElement(block, tag, {"name": name, "value": f"${name}", **dict(extra)})
        for control in attached:
            if control.role != "span":
                if control.role == "rank":
                    ET.SubElement(block, "Header", {"value": f"Rank of {title} (1 = best; equal ranks are ties)",
                                                    "size": "6"})
                _control_element(block, control, plan)

    dialogue = (("layout", "dialogue"), ("nameKey", "role"), ("textKey", "content"))
    if plan.conversation:
        object_block("Conversation", "Paragraphs", "messages", dialogue)
    else:
        object_block("Context", "Paragraphs", "context", dialogue)
        object_block("Prompt", "Text", "prompt")
    for slot in plan.slots:
        object_block(f"Response {slot.removeprefix('response_').upper()}", "Text", slot)

    for q in plan.questions:
        name = q["name"]
        controls = [c for c in plan.controls.values() if c.question == name and c.role not in ("span", "severity", "rank")]
        if not controls:
            continue
        block = ET.SubElement(root, "View")
        ET.SubElement(block, "Header", {"value": str(q.get("prompt") or name)})
        for control in controls:
            if control.role in ("verdict", "categories", "behavior"):
                label = {"verdict": "Verdict", "categories": "Categories", "behavior": "Expected behaviour"}
                ET.SubElement(block, "Header", {"value": label[control.role], "size": "6"})
            _control_element(block, control, plan)
    for name, reason in plan.skipped:
        root.append(ET.Comment(f" question {_comment_safe(name)} is not exported: {_comment_safe(reason)} "))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def _comment_safe(text: str) -> str:
    return text.replace("--", "- -")


def _control_element(parent: ET.Element, control: _Control, plan: _Plan) -> None:
    element = ET.SubElement(parent, control.tag, {"name": control.name, "toName": control.to_name,
                                                  **dict(control.attrs)})
    child = "Label" if control.tag in ("Labels", "ParagraphLabels") else "Choice"
    for option in control.options:
        ET.SubElement(element, child, {"value": option})


# ---------------------------------------------------------------------------------------
# layouts: which text each object shows, per record

# object name -> ("text", target, text) | ("paragraphs", [(target, text), ...])
_Layout = dict[str, tuple]


def _prompt_index(messages: list[dict[str, Any]]) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            return i
    return None


def _record_layout(plan: _Plan, content: dict[str, Any]) -> _Layout:
    messages = content.get("messages", [])
    layout: _Layout = {}
    if plan.conversation:
        layout["messages"] = ("paragraphs", [(f"messages.{i}", m["content"]) for i, m in enumerate(messages)])
    else:
        p = _prompt_index(messages)
        if p is not None:
            layout["prompt"] = ("text", f"messages.{p}", messages[p]["content"])
        layout["context"] = ("paragraphs", [(f"messages.{i}", m["content"]) for i, m in enumerate(messages) if i != p])
    for slot, response in zip(plan.slots, content.get("responses", [])):
        layout[slot] = ("text", f"responses.{response['id']}", response["content"])
    return layout


def _reverse_layout(layout: _Layout) -> dict[str, tuple[str, int | None, str]]:
    """target -> (object name, paragraph index or None, text)."""
    out: dict[str, tuple[str, int | None, str]] = {}
    for obj, entry in layout.items():
        if entry[0] == "text":
            out.setdefault(entry[1], (obj, None, entry[2]))
        else:
            for index, (target, text) in enumerate(entry[1]):
                out.setdefault(target, (obj, index, text))
    return out


def _task_data(plan: _Plan, content: dict[str, Any]) -> dict[str, Any]:
    messages = content.get("messages", [])
    data: dict[str, Any] = {}
    if plan.conversation:
        data["messages"] = [{"role": m["role"], "content": m["content"]} for m in messages]
    else:
        p = _prompt_index(messages)
        data["context"] = [{"role": m["role"], "content": m["content"]} for i, m in enumerate(messages) if i != p]
        data["prompt"] = messages[p]["content"] if p is not None else ""
    responses = content.get("responses", [])
    for i, slot in enumerate(plan.slots):
        data[slot] = responses[i]["content"] if i < len(responses) else ""
    return data


# ---------------------------------------------------------------------------------------
# values -> results


class _Ids:
    def __init__(self, seed: str):
        self.seed, self.count = seed, 0

    def __call__(self) -> str:
        self.count += 1
        return hashlib.sha1(f"{self.seed}/{self.count}".encode()).hexdigest()[:10]


def _result(rid: str, control: _Control, value: dict[str, Any], to_name: str | None = None) -> dict[str, Any]:
    return {"id": rid, "from_name": control.name, "to_name": to_name or control.to_name,
            "type": control.type, "value": value}


def _values_to_results(values: dict[str, Any], plan: _Plan, layout: _Layout, ids: _Ids) -> list[dict[str, Any]]:
    """The results that express `values`; what cannot be expressed is left out (see _patch)."""
    results: list[dict[str, Any]] = []
    targets = _reverse_layout(layout)
    for q in plan.questions:
        name, qtype = q["name"], q.get("type")
        if name not in values:
            continue
        value = values[name]
        if qtype in ("text", "choice", "multi_choice", "rating"):
            control = plan.control(name, "value")
            encoded = _encode_value(control, value) if control else None
            if encoded is not None:
                results.append(_result(ids(), control, encoded))
        elif qtype == "ranking" and isinstance(value, list):
            for rank in value:
                if not (isinstance(rank, dict) and isinstance(rank.get("response"), str)):
                    continue
                where = targets.get(f"responses.{rank['response']}")
                control = plan.control(name, "rank", where[0]) if where else None
                if control and _is_int(rank.get("rank")) and str(rank["rank"]) in control.options:
                    results.append(_result(ids(), control, {"choices": [str(rank["rank"])]}))
        elif qtype == "spans" and isinstance(value, list):
            for span in value:
                results.extend(_span_results(span, name, plan, targets, ids))
        elif qtype == "safety" and isinstance(value, dict):
            for part, role in _SAFETY_PARTS.items():
                control = plan.control(name, role)
                if control is None or part not in value:
                    continue
                chosen = value[part] if role == "categories" else [value[part]]
                if (isinstance(chosen, list) and chosen and all(isinstance(c, str) for c in chosen)
                        and set(chosen) <= set(control.options)):
                    results.append(_result(ids(), control, {"choices": list(chosen)}))
    return results


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _encode_value(control: _Control, value: Any) -> dict[str, Any] | None:
    if control.tag == "TextArea":
        return {"text": [value]} if isinstance(value, str) and value else None
    if control.tag == "Choices":
        chosen = [value] if control.qtype == "choice" else value
        if (isinstance(chosen, list) and chosen and all(isinstance(c, str) for c in chosen)
                and set(chosen) <= set(control.options)):
            return {"choices": list(chosen)}
        return None
    attrs = dict(control.attrs)
    if control.tag == "Rating":
        if _is_int(value) and 1 <= value <= int(attrs["maxRating"]):
            return {"rating": value}
        return None
    if control.tag == "Number":
        if _is_int(value) and int(attrs["min"]) <= value <= int(attrs["max"]):
            return {"number": value}
    return None


def _span_results(span: Any, question: str, plan: _Plan, targets: dict, ids: _Ids) -> list[dict[str, Any]]:
    if not (isinstance(span, dict) and isinstance(span.get("target"), str) and isinstance(span.get("label"), str)):
        return []
    where = targets.get(span["target"])
    if where is None:
        return []
    obj, paragraph, text = where
    control = plan.control(question, "span", obj)
    start, end = span.get("start"), span.get("end")
    if (control is None or span["label"] not in control.options or not _is_int(start) or not _is_int(end)
            or not 0 <= start <= end <= len(text)):
        return []
    start16, end16 = to_utf16(text, start), to_utf16(text, end)
    if paragraph is None:
        coords = {"start": start16, "end": end16, "text": text[start:end]}
    else:
        coords = {"start": paragraph, "end": paragraph, "startOffset": start16, "endOffset": end16,
                  "text": text[start:end]}
    rid = ids()
    region = _result(rid, control, {**coords, control.type: [span["label"]]}, obj)
    if isinstance(span.get("note"), str):
        region["meta"] = {"text": [span["note"]]}
    out = [region]
    severity = plan.control(question, "severity", obj)
    if severity and isinstance(span.get("severity"), str) and span["severity"] in severity.options:
        out.append(_result(rid, severity, {**coords, "choices": [span["severity"]]}, obj))
    return out


# ---------------------------------------------------------------------------------------
# results -> values


class _BadInput(ValueError):
    """A problem in a task; `field` is its path inside the task."""

    def __init__(self, field_path: str, problem: str):
        super().__init__(f"{field_path}: {problem}")
        self.field = field_path


def _results_to_values(results: Any, plan: _Plan, layout: _Layout, where: str) -> dict[str, Any]:
    if not isinstance(results, list):
        raise _BadInput(f"{where}.result", "expected a list of results")
    values: dict[str, Any] = {}
    regions: dict[str, list[dict[str, Any]]] = {}  # region id -> the spans it became
    later: list[tuple[int, dict[str, Any]]] = []
    for k, result in enumerate(results):
        path = f"{where}.result[{k}]"
        if not isinstance(result, dict):
            raise _BadInput(path, "expected an object")
        rtype = result.get("type")
        if rtype == "relation":
            values.setdefault("relations", []).append(
                {key: result[key] for key in ("from_id", "to_id", "direction", "labels") if key in result})
            continue
        for key in ("from_name", "type"):
            if not isinstance(result.get(key), str):
                raise _BadInput(f"{path}.{key}", "missing")
        if not isinstance(result.get("value"), dict):
            raise _BadInput(f"{path}.value", "expected an object")
        if rtype in ("labels", "paragraphlabels"):
            spans = _read_region(result, plan, layout, path)
            if spans is None:
                _keep_raw(values, result)
                continue
            question = _span_question(result["from_name"], plan)
            values.setdefault(question, []).extend(spans)
            if result.get("id") is not None:
                regions.setdefault(str(result["id"]), []).extend(spans)
        else:
            later.append((k, result))
    for k, result in later:
        path = f"{where}.result[{k}]"
        region = regions.get(str(result.get("id"))) if result.get("id") is not None else None
        if region is not None and _read_per_region(result, region, plan):
            continue
        _read_value(values, result, plan, layout, path)
    for q in plan.questions:
        # Label Studio cannot tell "no category" from "not answered": a verdict with no category is none
        if q.get("type") == "safety" and isinstance(values.get(q["name"]), dict) and plan.control(q["name"], "categories"):
            values[q["name"]].setdefault("categories", [])
    return values


def _keep_raw(values: dict[str, Any], result: dict[str, Any]) -> None:
    """Results of controls this project does not know stay under their from_name, as they are."""
    kept = {"type": result.get("type"), "to_name": result.get("to_name"), "value": result.get("value")}
    values.setdefault(str(result.get("from_name")), []).append(kept)


def _question_of(from_name: str, plan: _Plan) -> tuple[dict[str, Any] | None, str]:
    """The question a from_name belongs to, and the suffix after `__` if any."""
    control = plan.controls.get(from_name)
    names = {q["name"]: q for q in plan.questions}
    if control is not None:
        return names[control.question], from_name[len(control.question) + 2:]
    if from_name in names:
        return names[from_name], ""
    head, sep, tail = from_name.partition("__")
    if sep and head in names:
        return names[head], tail
    return None, ""


def _span_question(from_name: str, plan: _Plan) -> str:
    question, _ = _question_of(from_name, plan)
    return question["name"] if question and question.get("type") == "spans" else from_name


def _int(value: Any, path: str) -> int:
    if _is_int(value):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise _BadInput(path, f"expected a whole number, got {value!r}")


def _locate(text: str, start16: int, end16: int, expected: Any, path: str) -> tuple[int, int]:
    """Code point offsets of a Label Studio (UTF-16) range; tolerate exporters that wrote code points."""
    try:
        start, end = from_utf16(text, start16), from_utf16(text, end16)
    except ValueError as exc:
        if isinstance(expected, str) and 0 <= start16 <= end16 <= len(text) and text[start16:end16] == expected:
            return start16, end16
        raise _BadInput(path, str(exc)) from None
    if (isinstance(expected, str) and text[start:end] != expected and 0 <= start16 <= end16 <= len(text)
            and text[start16:end16] == expected):
        return start16, end16
    if end < start:
        raise _BadInput(path, f"end {end16} is before start {start16}")
    return start, end


def _resolve_text(result: dict[str, Any], layout: _Layout, paragraphs: bool) -> tuple | None:
    """The layout entry a region's to_name points at (or the one text its `text` fits)."""
    entry = layout.get(str(result.get("to_name")))
    if entry is not None:
        return entry if (entry[0] == "paragraphs") == paragraphs else None
    value = result["value"]
    expected = value.get("text")
    if paragraphs or not isinstance(expected, str) or not _is_int(value.get("start")) or not _is_int(value.get("end")):
        return None
    fits = []
    for candidate in layout.values():
        if candidate[0] != "text":
            continue
        try:
            start, end = from_utf16(candidate[2], value["start"]), from_utf16(candidate[2], value["end"])
        except ValueError:
            continue
        if candidate[2][start:end] == expected:
            fits.append(candidate)
    return fits[0] if len(fits) == 1 else None


def _read_region(result: dict[str, Any], plan: _Plan, layout: _Layout, path: str) -> list[dict[str, Any]] | None:
    """The spans of a labels / paragraphlabels region, or None when its text is unknown."""
    value, rtype = result["value"], result["type"]
    labels = value.get(rtype)
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise _BadInput(f"{path}.value.{rtype}", "expected a list of labels")
    entry = _resolve_text(result, layout, rtype == "paragraphlabels")
    if entry is None:
        return None
    pieces: list[tuple[str, int, int]] = []
    if rtype == "labels":
        start16 = _int(value.get("start"), f"{path}.value.start")
        end16 = _int(value.get("end"), f"{path}.value.end")
        start, end = _locate(entry[2], start16, end16, value.get("text"), f"{path}.value")
        pieces.append((entry[1], start, end))
    else:
        paragraphs = entry[1]
        first = _int(value.get("start"), f"{path}.value.start")
        last = _int(value.get("end"), f"{path}.value.end")
        if not 0 <= first <= last < len(paragraphs):
            raise _BadInput(f"{path}.value.start", f"paragraphs {first}..{last} are not among the {len(paragraphs)} shown")
        start16 = _int(value.get("startOffset", 0), f"{path}.value.startOffset")
        end16 = value.get("endOffset")
        for index in range(first, last + 1):
            target, text = paragraphs[index]
            a16 = start16 if index == first else 0
            b16 = _int(end16, f"{path}.value.endOffset") if index == last and end16 is not None else len(
                text.encode("utf-16-le")) // 2
            expected = value.get("text") if first == last else None
            start, end = _locate(text, a16, b16, expected, f"{path}.value")
            pieces.append((target, start, end))
    note = None
    meta = result.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("text"), list) and meta["text"]:
        note = "\n".join(str(t) for t in meta["text"])
    spans = []
    for label in labels:
        for target, start, end in pieces:
            span: dict[str, Any] = {"target": target, "start": start, "end": end, "label": label}
            if note is not None:
                span["note"] = note
            spans.append(span)
    return spans


def _read_per_region(result: dict[str, Any], spans: list[dict[str, Any]], plan: _Plan) -> bool:
    """Attach a per-region result (severity choice, note text area) to its spans."""
    value = result["value"]
    question, suffix = _question_of(result["from_name"], plan)
    if result["type"] == "choices" and isinstance(value.get("choices"), list) and value["choices"]:
        if question is not None and question.get("type") == "spans" and suffix.endswith("severity"):
            for span in spans:
                span["severity"] = str(value["choices"][0])
            return True
    if result["type"] == "textarea" and isinstance(value.get("text"), list) and question is None:
        for span in spans:
            span["note"] = "\n".join(str(t) for t in value["text"])
        return True
    return False


def _read_value(values: dict[str, Any], result: dict[str, Any], plan: _Plan, layout: _Layout, path: str) -> None:
    rtype, value, from_name = result["type"], result["value"], result["from_name"]
    question, suffix = _question_of(from_name, plan)
    qtype = question.get("type") if question else None
    choices = value.get("choices") if rtype == "choices" else None
    if rtype == "choices" and (not isinstance(choices, list) or not all(isinstance(c, str) for c in choices)):
        raise _BadInput(f"{path}.value.choices", "expected a list of strings")
    if question is not None:
        name = question["name"]
        if qtype == "ranking" and rtype == "choices":
            if not choices:
                return
            entry = layout.get(str(result.get("to_name")))
            if entry is None or entry[0] != "text" or not entry[1].startswith("responses."):
                raise _BadInput(f"{path}.to_name", f"{result.get('to_name')!r} is not a response of this task")
            rank = _int(choices[0], f"{path}.value.choices")
            values.setdefault(name, []).append({"response": entry[1].split(".", 1)[1], "rank": rank})
            return
        if qtype == "safety" and rtype == "choices" and not suffix:
            behaviors = question.get("behaviors", SAFETY_BEHAVIORS)
            suffix = ("verdict" if set(choices) <= set(SAFETY_VERDICTS) else
                      "expected_behavior" if set(choices) <= set(behaviors) else "categories")
        if qtype == "safety" and rtype == "choices" and suffix in _SAFETY_PARTS:
            answer = values.setdefault(name, {})
            answer[suffix] = list(choices) if suffix == "categories" else (choices[0] if choices else None)
            if answer[suffix] is None:
                del answer[suffix]
            return
        if not suffix and _read_plain(values, name, qtype, rtype, value, path):
            return
    if not _read_plain(values, from_name, None, rtype, value, path):
        _keep_raw(values, result)


def _read_plain(values: dict[str, Any], name: str, qtype: str | None, rtype: str, value: dict, path: str) -> bool:
    """Per-item answers: text, choices, rating, number. False when the type is something else."""
    if rtype == "textarea":
        text = value.get("text")
        if isinstance(text, str):
            text = [text]
        if not isinstance(text, list):
            raise _BadInput(f"{path}.value.text", "expected a list of strings")
        values[name] = "\n".join(str(t) for t in text)
        return qtype in (None, "text")
    if rtype == "choices":
        choices = list(value["choices"])
        if qtype == "multi_choice":
            values[name] = choices
        elif qtype == "choice" or len(choices) == 1:
            values[name] = choices[0] if len(choices) == 1 else choices
        else:
            values[name] = choices
        return qtype in (None, "choice", "multi_choice")
    if rtype == "rating":
        values[name] = _int(value.get("rating"), f"{path}.value.rating")
        return qtype in (None, "rating")
    if rtype == "number":
        number = value.get("number")
        if not isinstance(number, (int, float)) or isinstance(number, bool):
            raise _BadInput(f"{path}.value.number", f"expected a number, got {number!r}")
        values[name] = int(number) if isinstance(number, float) and number.is_integer() else number
        return qtype in (None, "rating")
    return False


# ---------------------------------------------------------------------------------------
# annotations and predictions


def _annotator(annotation: dict[str, Any], path: str) -> str:
    by = annotation.get("completed_by")
    if isinstance(by, dict):
        if isinstance(by.get("email"), str) and by["email"]:
            return by["email"]
        if by.get("id") is not None:
            return f"ls-user-{by['id']}"
    elif _is_int(by) or (isinstance(by, str) and by.isdigit()):
        return f"ls-user-{by}"
    elif isinstance(by, str) and by:
        return by
    elif by is not None:
        raise _BadInput(f"{path}.completed_by", f"expected a user id or object, got {by!r}")
    username = annotation.get("created_username")
    if isinstance(username, str) and username.strip():
        return username.split(",")[0].strip()
    return "ls-user-unknown"


def _read_annotation(annotation: Any, plan: _Plan, layout: _Layout, path: str) -> dict[str, Any]:
    if not isinstance(annotation, dict):
        raise _BadInput(path, "expected an object")
    entry: dict[str, Any] = {"annotator": _annotator(annotation, path)}
    for key in ("updated_at", "created_at"):
        stamp = annotation.get(key)
        if stamp is not None:
            if not isinstance(stamp, str):
                raise _BadInput(f"{path}.{key}", f"expected a timestamp string, got {stamp!r}")
            entry["submitted_at"] = stamp
            break
    lead = annotation.get("lead_time")
    if lead is not None:
        if not isinstance(lead, (int, float)) or isinstance(lead, bool) or lead < 0:
            raise _BadInput(f"{path}.lead_time", f"expected a number of seconds, got {lead!r}")
        entry["seconds"] = lead
    entry["values"] = _results_to_values(annotation.get("result", []), plan, layout, path)
    return entry


def _read_prediction(prediction: Any, plan: _Plan, layout: _Layout, path: str) -> dict[str, Any]:
    if not isinstance(prediction, dict):
        raise _BadInput(path, "expected an object")
    out: dict[str, Any] = {}
    if prediction.get("model_version") is not None:
        out["model_version"] = str(prediction["model_version"])
    score = prediction.get("score")
    if score is not None:
        if not isinstance(score, (int, float)) or isinstance(score, bool):
            raise _BadInput(f"{path}.score", f"expected a number, got {score!r}")
        out["score"] = score
    out["values"] = _results_to_values(prediction.get("result", []), plan, layout, path)
    return out


def _fingerprint(results: list[dict[str, Any]]) -> str:
    parts = sorted(
        json.dumps([r.get("from_name"), r.get("to_name"), r.get("type"), r.get("value")], sort_keys=True,
                   ensure_ascii=False)
        for r in results if isinstance(r, dict)
    )
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]


_MISSING = object()


def _patch(original: dict[str, Any], derived: dict[str, Any]) -> dict[str, Any]:
    """What turns `derived` (read back from Label Studio) into `original`.

    Every field but the values is kept: Label Studio rewrites annotators to its own user
    ids and timestamps to the time of import, and an unchanged annotation should come back
    as it was. Values are kept only where the results do not already say them.
    """
    patch: dict[str, Any] = {}
    put = {k: v for k, v in original.items() if k != "values"}
    drop = [k for k in derived if k != "values" and k not in original]
    ovalues, dvalues = original.get("values", {}), derived.get("values", {})
    vput = {k: v for k, v in ovalues.items() if dvalues.get(k, _MISSING) != v}
    vdrop = [k for k in dvalues if k not in ovalues]
    for key, item in (("set", put), ("drop", drop), ("values_set", vput), ("values_drop", vdrop)):
        if item:
            patch[key] = item
    return patch


def _apply(entry: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    entry = {**entry, **patch.get("set", {})}
    for key in patch.get("drop", ()):
        entry.pop(key, None)
    values = {**entry.get("values", {}), **patch.get("values_set", {})}
    for key in patch.get("values_drop", ()):
        values.pop(key, None)
    entry["values"] = values
    return entry


def _take_patch(patches: list[dict[str, Any]], used: set[int], fingerprint: str, annotator: str | None):
    """The first unused patch for these results (preferring one made for the same annotator)."""
    candidates = [i for i, p in enumerate(patches) if i not in used and p.get("fingerprint") == fingerprint]
    for i in candidates:
        if annotator is None or patches[i].get("annotator") == annotator:
            used.add(i)
            return patches[i]
    if candidates:
        used.add(candidates[0])
        return patches[candidates[0]]
    return None


# ---------------------------------------------------------------------------------------
# 2. records -> tasks

_RECORD_ORDER = ("schema", "id", "kind", "messages", "responses", "ranking", "labels", "spans", "segments",
                 "safety", "media", "quality", "annotations", "provenance", "meta")


def records_to_tasks(records: Iterable[dict[str, Any]], kind: str, questions: list[dict[str, Any]],
                     max_responses: int = 4) -> Iterator[dict[str, Any]]:
    """Label Studio tasks (import format) for `records`, matching `label_config(kind, questions, max_responses)`."""
    plan = _plan(kind, questions, max_responses)
    for record in records:
        try:
            validate(record)
        except RecordError as exc:
            raise ValueError(f"record {record.get('id')!r}: {exc}") from None
        yield _record_to_task(record, plan)


def _record_to_task(record: dict[str, Any], plan: _Plan) -> dict[str, Any]:
    content = content_of(record)
    layout = _record_layout(plan, content)
    rest = {k: v for k, v in record.items()
            if k not in ("schema", "id", "kind", "annotations") and k not in content}
    predictions_out, prediction_patches = [], []
    meta = rest.get("meta")
    if isinstance(meta, dict) and _exportable_predictions(meta.get("predictions")):
        for j, prediction in enumerate(meta["predictions"]):
            ids = _Ids(f"{record['id']}/p{j}")
            task_prediction: dict[str, Any] = {}
            if isinstance(prediction.get("model_version"), str):
                task_prediction["model_version"] = prediction["model_version"]
            score = prediction.get("score")
            if isinstance(score, (int, float)) and not isinstance(score, bool) and 0 <= score <= 1:
                task_prediction["score"] = score
            task_prediction["result"] = _values_to_results(prediction["values"], plan, layout, ids)
            derived = _read_prediction(task_prediction, plan, layout, "predictions")
            prediction_patches.append({"fingerprint": _fingerprint(task_prediction["result"]),
                                       **_patch(prediction, derived)})
            predictions_out.append(task_prediction)
        rest["meta"] = {k: v for k, v in meta.items() if k != "predictions"}
        if not rest["meta"]:
            del rest["meta"]
    annotations_out, annotation_patches = [], []
    for j, entry in enumerate(record.get("annotations", ())):
        ids = _Ids(f"{record['id']}/a{j}")
        results = _values_to_results(entry.get("values", {}), plan, layout, ids)
        annotation: dict[str, Any] = {"completed_by": {"email": entry["annotator"]}, "result": results,
                                      "was_cancelled": False, "ground_truth": False}
        if isinstance(entry.get("submitted_at"), str):
            annotation["created_at"] = annotation["updated_at"] = entry["submitted_at"]
        if entry.get("seconds") is not None:
            annotation["lead_time"] = entry["seconds"]
        derived = _read_annotation(annotation, plan, layout, "annotations")
        annotation_patches.append({"fingerprint": _fingerprint(results), "annotator": entry["annotator"],
                                   **_patch(entry, derived)})
        annotations_out.append(annotation)

    labeldesk: dict[str, Any] = {"id": record["id"], "kind": record.get("kind", plan.kind), "content": content}
    if rest:
        labeldesk["record"] = rest
    if annotation_patches or prediction_patches:
        labeldesk["patches"] = {k: v for k, v in (("annotations", annotation_patches),
                                                  ("predictions", prediction_patches)) if v}
    task: dict[str, Any] = {"data": {**_task_data(plan, content), "labeldesk": labeldesk}}
    if annotations_out:
        task["annotations"] = annotations_out
    if predictions_out:
        task["predictions"] = predictions_out
    return task


def _exportable_predictions(predictions: Any) -> bool:
    return isinstance(predictions, list) and bool(predictions) and all(
        isinstance(p, dict) and isinstance(p.get("values"), dict) for p in predictions)


# ---------------------------------------------------------------------------------------
# 3. tasks -> records

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
                     *, config: str | None = None, max_responses: int = 4) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, record) for every task of a Label Studio JSON export.

    Tasks exported by `records_to_tasks` come back as the records they were made from (with
    any edits made in Label Studio). Other exports are mapped by their data keys; pass the
    project's labeling `config` (XML) to resolve which data key each object shows when
    object names differ from data keys. Raises ValueError naming the task and field.
    """
    plan = _plan(kind, questions, max_responses)
    objects = _config_objects(config) if config else {}
    if isinstance(tasks, dict):
        tasks = [tasks]
    for i, task in enumerate(tasks):
        location = f"{source}#task[{i}]"
        try:
            record = _task_to_record(task, plan, objects, location)
            validate(record)
        except _BadInput as exc:
            raise ValueError(f"{location}: {exc}") from None
        except RecordError as exc:
            raise ValueError(f"{location}: record {exc}") from None
        yield location, record


def _config_objects(config: str) -> dict[str, str]:
    """Object name -> data key, from a labeling config."""
    try:
        root = ET.fromstring(config)
    except ET.ParseError as exc:
        raise ValueError(f"config: not valid XML ({exc})") from None
    objects = {}
    for element in root.iter():
        value = element.get("value", "")
        if element.get("name") and value.startswith("$") and element.get("toName") is None:
            objects[element.get("name")] = value[1:]
    return objects


def _task_to_record(task: Any, plan: _Plan, objects: dict[str, str], location: str) -> dict[str, Any]:
    if not isinstance(task, dict):
        raise _BadInput("task", "expected an object")
    data = task.get("data")
    if not isinstance(data, dict):
        raise _BadInput("data", "missing or not an object")
    ours = data.get("labeldesk")
    if ours is not None:
        return _own_record(task, ours, plan)
    return _foreign_record(task, data, plan, objects, location)


def _read_entries(task: dict[str, Any], key: str, plan: _Plan, layout: _Layout, patches: list[dict[str, Any]],
                  reader) -> list[dict[str, Any]]:
    items = task.get(key) or []
    if not isinstance(items, list):
        raise _BadInput(key, "expected a list")
    out, used = [], set()
    for j, item in enumerate(items):
        if key == "annotations" and isinstance(item, dict) and item.get("was_cancelled"):
            continue
        entry = reader(item, plan, layout, f"{key}[{j}]")
        if patches:
            who = entry.get("annotator")
            patch = _take_patch(patches, used, _fingerprint(item.get("result") or []), who)
            if patch is not None:
                entry = _apply(entry, patch)
        out.append(entry)
    return out


def _own_record(task: dict[str, Any], ours: Any, plan: _Plan) -> dict[str, Any]:
    if not isinstance(ours, dict):
        raise _BadInput("data.labeldesk", "expected an object")
    if not isinstance(ours.get("id"), str) or not ours["id"]:
        raise _BadInput("data.labeldesk.id", "missing")
    content = ours.get("content", {})
    if not isinstance(content, dict):
        raise _BadInput("data.labeldesk.content", "expected an object")
    for key in ("messages", "responses", "media"):
        if key in content and not (isinstance(content[key], list) and all(isinstance(x, dict) for x in content[key])):
            raise _BadInput(f"data.labeldesk.content.{key}", "expected a list of objects")
    for j, message in enumerate(content.get("messages", ())):
        if not isinstance(message.get("content"), str):
            raise _BadInput(f"data.labeldesk.content.messages[{j}].content", "expected a string")
    for j, response in enumerate(content.get("responses", ())):
        if not isinstance(response.get("content"), str) or not isinstance(response.get("id"), str):
            raise _BadInput(f"data.labeldesk.content.responses[{j}]", "expected an id and a content string")
    rest = ours.get("record", {})
    if not isinstance(rest, dict):
        raise _BadInput("data.labeldesk.record", "expected an object")
    patches = ours.get("patches", {})
    if not isinstance(patches, dict):
        raise _BadInput("data.labeldesk.patches", "expected an object")
    layout = _record_layout(plan, content)
    annotations = _read_entries(task, "annotations", plan, layout, patches.get("annotations", []), _read_annotation)
    predictions = _read_entries(task, "predictions", plan, layout, patches.get("predictions", []), _read_prediction)
    fields: dict[str, Any] = {"schema": SCHEMA_ID, "id": ours["id"], "kind": ours.get("kind", plan.kind),
                              **content, **rest}
    if annotations:
        fields["annotations"] = annotations
    if predictions:
        fields["meta"] = {**fields.get("meta", {}), "predictions": predictions}
    return _ordered(fields)


def _ordered(fields: dict[str, Any]) -> dict[str, Any]:
    record = {k: fields[k] for k in _RECORD_ORDER if k in fields}
    record.update({k: v for k, v in fields.items() if k not in record})
    return record


def _natural(key: str) -> tuple:
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", key) if part)


def _foreign_content(data: dict[str, Any]) -> tuple[dict[str, Any], _Layout, set[str]]:
    """Record content from the data of a task LabelDesk did not write; the layout by data key."""
    messages: list[dict[str, Any]] = []
    layout: _Layout = {}
    used: set[str] = set()
    if isinstance(data.get("system"), str) and data["system"]:
        messages.append({"role": "system", "content": data["system"]})
        layout["system"] = ("text", "messages.0", data["system"])
        used.add("system")
    chat_key = next((k for k in _CHAT_KEYS if isinstance(data.get(k), list) and data[k]), None)
    prompt_key = next((k for k in _PROMPT_KEYS if isinstance(data.get(k), str) and data[k]), None)
    context = data.get("context") if prompt_key and not chat_key and isinstance(data.get("context"), list) else None
    for key in [k for k in (chat_key, "context" if context else None) if k]:
        paragraphs = []
        for j, turn in enumerate(data[key]):
            if not isinstance(turn, dict):
                raise _BadInput(f"data.{key}[{j}]", "expected an object with a role and a text")
            text = next((turn[k] for k in ("content", "text", "value", "utterance") if isinstance(turn.get(k), str)), None)
            if text is None:
                raise _BadInput(f"data.{key}[{j}]", "no content/text string")
            who = next((turn[k] for k in ("role", "author", "speaker", "name") if isinstance(turn.get(k), str)), "")
            role = _ROLES.get(who.strip().lower())
            message: dict[str, Any] = {"role": role or "user", "content": text}
            if role is None and who:
                message["speaker"] = who
            paragraphs.append((f"messages.{len(messages)}", text))
            messages.append(message)
        layout[key] = ("paragraphs", paragraphs)
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
    content: dict[str, Any] = {}
    if messages:
        content["messages"] = messages
    if responses:
        content["responses"] = responses
    if not content:
        keys = ", ".join(_CHAT_KEYS + _PROMPT_KEYS + _RESPONSE_KEYS)
        raise _BadInput("data", f"no prompt, messages or responses (looked for {keys}, response_*/answer_*)")
    return content, layout, used


def _foreign_record(task: dict[str, Any], data: dict[str, Any], plan: _Plan, objects: dict[str, str],
                    location: str) -> dict[str, Any]:
    content, by_key, used = _foreign_content(data)
    layout: _Layout = dict(by_key)
    for obj, key in objects.items():
        if key in by_key:
            layout[obj] = by_key[key]
    annotations = _read_entries(task, "annotations", plan, layout, [], _read_annotation)
    predictions = _read_entries(task, "predictions", plan, layout, [], _read_prediction)
    record: dict[str, Any] = {"schema": SCHEMA_ID, "id": stable_id(content), "kind": plan.kind, **content}
    truth = next((_read_annotation(a, plan, layout, f"annotations[{j}]")
                  for j, a in enumerate(task.get("annotations") or [])
                  if isinstance(a, dict) and a.get("ground_truth") and not a.get("was_cancelled")), None)
    if truth is not None:
        record.update(values_to_answers(plan.questions, truth["values"]))
    if annotations:
        record["annotations"] = annotations
    record["provenance"] = {"source": location}
    labelstudio: dict[str, Any] = {}
    if task.get("id") is not None:
        labelstudio["task_id"] = task["id"]
    extra = {k: v for k, v in data.items() if k not in used}
    if extra:
        labelstudio["data"] = extra
    if isinstance(task.get("meta"), dict) and task["meta"]:
        labelstudio["task_meta"] = task["meta"]
    meta: dict[str, Any] = {}
    if labelstudio:
        meta["labelstudio"] = labelstudio
    if predictions:
        meta["predictions"] = predictions
    if meta:
        record["meta"] = meta
    return _ordered(record)
