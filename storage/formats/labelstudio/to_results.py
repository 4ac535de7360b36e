"""Answer values -> Label Studio results; what cannot be expressed is left to the patch."""

from __future__ import annotations

import hashlib
from typing import Any

from labeldesk.storage.formats.labelstudio.checks import is_int
from labeldesk.storage.formats.labelstudio.layout import Layout, reverse_layout
from labeldesk.storage.formats.labelstudio.offsets import to_utf16
from labeldesk.storage.formats.labelstudio.plan import SAFETY_PARTS, Control, Plan


class Ids:
    """Region ids derived from a seed, so that exporting again writes the same tasks."""

    def __init__(self, seed: str):
        self.seed, self.count = seed, 0

    def __call__(self) -> str:
        self.count += 1
        return hashlib.sha1(f"{self.seed}/{self.count}".encode()).hexdigest()[:10]


def _result(rid: str, control: Control, value: dict[str, Any], to_name: str | None = None) -> dict[str, Any]:
    return {"id": rid, "from_name": control.name, "to_name": to_name or control.to_name,
            "type": control.type, "value": value}


def values_to_results(values: dict[str, Any], plan: Plan, layout: Layout, ids: Ids) -> list[dict[str, Any]]:
    """The results that express `values`; what cannot be expressed is left out (see annotations.patch_for)."""
    results: list[dict[str, Any]] = []
    targets = reverse_layout(layout)
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
            results.extend(_rank_results(value, name, plan, targets, ids))
        elif qtype == "spans" and isinstance(value, list):
            for span in value:
                results.extend(_span_results(span, name, plan, targets, ids))
        elif qtype == "safety" and isinstance(value, dict):
            results.extend(_safety_results(value, name, plan, ids))
    return results


def _encode_value(control: Control, value: Any) -> dict[str, Any] | None:
    if control.tag == "TextArea":
        return {"text": [value]} if isinstance(value, str) and value else None
    if control.tag == "Choices":
        chosen = [value] if control.qtype == "choice" else value
        return _choices(control, chosen)
    attrs = dict(control.attrs)
    if control.tag == "Rating":
        if is_int(value) and 1 <= value <= int(attrs["maxRating"]):
            return {"rating": value}
        return None
    if control.tag == "Number":
        if is_int(value) and int(attrs["min"]) <= value <= int(attrs["max"]):
            return {"number": value}
    return None


def _choices(control: Control, chosen: Any) -> dict[str, Any] | None:
    """A choices value, when `chosen` is a non-empty list of the control's options."""
    if (isinstance(chosen, list) and chosen and all(isinstance(c, str) for c in chosen)
            and set(chosen) <= set(control.options)):
        return {"choices": list(chosen)}
    return None


def _rank_results(ranking: list[Any], question: str, plan: Plan, targets: dict, ids: Ids) -> list[dict[str, Any]]:
    out = []
    for rank in ranking:
        if not (isinstance(rank, dict) and isinstance(rank.get("response"), str)):
            continue
        where = targets.get(f"responses.{rank['response']}")
        control = plan.control(question, "rank", where[0]) if where else None
        if control and is_int(rank.get("rank")) and str(rank["rank"]) in control.options:
            out.append(_result(ids(), control, {"choices": [str(rank["rank"])]}))
    return out


def _safety_results(answer: dict[str, Any], question: str, plan: Plan, ids: Ids) -> list[dict[str, Any]]:
    out = []
    for part, role in SAFETY_PARTS.items():
        control = plan.control(question, role)
        if control is None or part not in answer:
            continue
        encoded = _choices(control, answer[part] if role == "categories" else [answer[part]])
        if encoded is not None:
            out.append(_result(ids(), control, encoded))
    return out


def _span_results(span: Any, question: str, plan: Plan, targets: dict, ids: Ids) -> list[dict[str, Any]]:
    if not (isinstance(span, dict) and isinstance(span.get("target"), str) and isinstance(span.get("label"), str)):
        return []
    where = targets.get(span["target"])
    if where is None:
        return []
    obj, paragraph, text = where
    control = plan.control(question, "span", obj)
    start, end = span.get("start"), span.get("end")
    if (control is None or span["label"] not in control.options or not is_int(start) or not is_int(end)
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
