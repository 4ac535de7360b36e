"""Label Studio results -> answer values, with the region offsets converted to code points."""

from __future__ import annotations

from typing import Any

from labeldesk.storage.formats.labelstudio.checks import BadInput, is_int
from labeldesk.storage.formats.labelstudio.layout import Layout
from labeldesk.storage.formats.labelstudio.offsets import from_utf16
from labeldesk.storage.formats.labelstudio.plan import SAFETY_BEHAVIORS, SAFETY_PARTS, SAFETY_VERDICTS, Plan


def results_to_values(results: Any, plan: Plan, layout: Layout, where: str) -> dict[str, Any]:
    """The answer values of an annotation's or prediction's results.

    Regions are read first, so that a per-region choice or note finds the spans it belongs to
    wherever it stands in the list.
    """
    if not isinstance(results, list):
        raise BadInput(f"{where}.result", "expected a list of results")
    values: dict[str, Any] = {}
    regions: dict[str, list[dict[str, Any]]] = {}  # region id -> the spans it became
    later: list[tuple[int, dict[str, Any]]] = []
    for k, result in enumerate(results):
        path = f"{where}.result[{k}]"
        if not isinstance(result, dict):
            raise BadInput(path, "expected an object")
        rtype = result.get("type")
        if rtype == "relation":
            values.setdefault("relations", []).append(
                {key: result[key] for key in ("from_id", "to_id", "direction", "labels") if key in result})
            continue
        for key in ("from_name", "type"):
            if not isinstance(result.get(key), str):
                raise BadInput(f"{path}.{key}", "missing")
        if not isinstance(result.get("value"), dict):
            raise BadInput(f"{path}.value", "expected an object")
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


def _question_of(from_name: str, plan: Plan) -> tuple[dict[str, Any] | None, str]:
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


def _span_question(from_name: str, plan: Plan) -> str:
    question, _ = _question_of(from_name, plan)
    return question["name"] if question and question.get("type") == "spans" else from_name


def _int(value: Any, path: str) -> int:
    if is_int(value):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise BadInput(path, f"expected a whole number, got {value!r}")


def _locate(text: str, start16: int, end16: int, expected: Any, path: str) -> tuple[int, int]:
    """Code point offsets of a Label Studio (UTF-16) range; tolerate exporters that wrote code points."""
    try:
        start, end = from_utf16(text, start16), from_utf16(text, end16)
    except ValueError as exc:
        if isinstance(expected, str) and 0 <= start16 <= end16 <= len(text) and text[start16:end16] == expected:
            return start16, end16
        raise BadInput(path, str(exc)) from None
    if (isinstance(expected, str) and text[start:end] != expected and 0 <= start16 <= end16 <= len(text)
            and text[start16:end16] == expected):
        return start16, end16
    if end < start:
        raise BadInput(path, f"end {end16} is before start {start16}")
    return start, end


def _resolve_text(result: dict[str, Any], layout: Layout, paragraphs: bool) -> tuple | None:
    """The layout entry a region's to_name points at (or the one text its `text` fits)."""
    entry = layout.get(str(result.get("to_name")))
    if entry is not None:
        return entry if (entry[0] == "paragraphs") == paragraphs else None
    value = result["value"]
    expected = value.get("text")
    if paragraphs or not isinstance(expected, str) or not is_int(value.get("start")) or not is_int(value.get("end")):
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


def _read_region(result: dict[str, Any], plan: Plan, layout: Layout, path: str) -> list[dict[str, Any]] | None:
    """The spans of a labels / paragraphlabels region, or None when its text is unknown."""
    value, rtype = result["value"], result["type"]
    labels = value.get(rtype)
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise BadInput(f"{path}.value.{rtype}", "expected a list of labels")
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
            raise BadInput(f"{path}.value.start", f"paragraphs {first}..{last} are not among the {len(paragraphs)} shown")
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


def _read_per_region(result: dict[str, Any], spans: list[dict[str, Any]], plan: Plan) -> bool:
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


def _read_value(values: dict[str, Any], result: dict[str, Any], plan: Plan, layout: Layout, path: str) -> None:
    rtype, value, from_name = result["type"], result["value"], result["from_name"]
    question, suffix = _question_of(from_name, plan)
    qtype = question.get("type") if question else None
    choices = value.get("choices") if rtype == "choices" else None
    if rtype == "choices" and (not isinstance(choices, list) or not all(isinstance(c, str) for c in choices)):
        raise BadInput(f"{path}.value.choices", "expected a list of strings")
    if question is not None:
        name = question["name"]
        if qtype == "ranking" and rtype == "choices":
            if not choices:
                return
            entry = layout.get(str(result.get("to_name")))
            if entry is None or entry[0] != "text" or not entry[1].startswith("responses."):
                raise BadInput(f"{path}.to_name", f"{result.get('to_name')!r} is not a response of this task")
            rank = _int(choices[0], f"{path}.value.choices")
            values.setdefault(name, []).append({"response": entry[1].split(".", 1)[1], "rank": rank})
            return
        if qtype == "safety" and rtype == "choices" and not suffix:
            behaviors = question.get("behaviors", SAFETY_BEHAVIORS)
            suffix = ("verdict" if set(choices) <= set(SAFETY_VERDICTS) else
                      "expected_behavior" if set(choices) <= set(behaviors) else "categories")
        if qtype == "safety" and rtype == "choices" and suffix in SAFETY_PARTS:
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
            raise BadInput(f"{path}.value.text", "expected a list of strings")
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
            raise BadInput(f"{path}.value.number", f"expected a number, got {number!r}")
        values[name] = int(number) if isinstance(number, float) and number.is_integer() else number
        return qtype in (None, "rating")
    return False

