"""The labeling config (XML): written from a plan, and read for the data key each object shows."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from labeldesk.storage.formats.labelstudio.plan import Control, Plan, build_plan

_REGION_ROLES = ("span", "severity", "rank")  # controls drawn next to the object they label
_DIALOGUE = (("layout", "dialogue"), ("nameKey", "role"), ("textKey", "content"))
_SAFETY_HEADERS = {"verdict": "Verdict", "categories": "Categories", "behavior": "Expected behaviour"}


def label_config(kind: str, questions: list[dict[str, Any]], max_responses: int = 4) -> str:
    """The Label Studio labeling config (XML) for a project of `kind` with `questions`.

    `max_responses` is the number of response slots (response_a …); pass the same number
    to `records_to_tasks`.
    """
    plan = build_plan(kind, questions, max_responses)
    root = ET.Element("View")
    style = ET.SubElement(root, "Style")
    style.text = ".htx-text { white-space: pre-wrap; }"  # offsets count every space: show them all
    by_object: dict[str, list[Control]] = {}
    for control in plan.controls.values():
        if control.role in _REGION_ROLES:
            by_object.setdefault(control.to_name, []).append(control)
    if plan.conversation:
        _object_block(root, by_object, "Conversation", "Paragraphs", "messages", _DIALOGUE)
    else:
        _object_block(root, by_object, "Context", "Paragraphs", "context", _DIALOGUE)
        _object_block(root, by_object, "Prompt", "Text", "prompt")
    for slot in plan.slots:
        _object_block(root, by_object, f"Response {slot.removeprefix('response_').upper()}", "Text", slot)
    for q in plan.questions:
        _question_block(root, plan, q)
    for name, reason in plan.skipped:
        root.append(ET.Comment(f" question {_comment_safe(name)} is not exported: {_comment_safe(reason)} "))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def _object_block(root: ET.Element, by_object: dict[str, list[Control]], title: str, tag: str, name: str,
                  extra: tuple[tuple[str, str], ...] = ()) -> None:
    """An object with its span labels above it and its per-region and rank choices below."""
    block = ET.SubElement(root, "View")
    ET.SubElement(block, "Header", {"value": title})
    attached = by_object.get(name, [])
    for control in attached:
        if control.role == "span":
            _control_element(block, control)
    ET.SubElement(block, tag, {"name": name, "value": f"${name}", **dict(extra)})
    for control in attached:
        if control.role != "span":
            if control.role == "rank":
                ET.SubElement(block, "Header", {"value": f"Rank of {title} (1 = best; equal ranks are ties)",
                                                "size": "6"})
            _control_element(block, control)


def _question_block(root: ET.Element, plan: Plan, q: dict[str, Any]) -> None:
    """A per-item question under its prompt; nothing for questions whose controls sit by their objects."""
    name = q["name"]
    controls = [c for c in plan.controls.values() if c.question == name and c.role not in _REGION_ROLES]
    if not controls:
        return
    block = ET.SubElement(root, "View")
    ET.SubElement(block, "Header", {"value": str(q.get("prompt") or name)})
    for control in controls:
        if control.role in _SAFETY_HEADERS:
            ET.SubElement(block, "Header", {"value": _SAFETY_HEADERS[control.role], "size": "6"})
        _control_element(block, control)


def _comment_safe(text: str) -> str:
    return text.replace("--", "- -")


def _control_element(parent: ET.Element, control: Control) -> None:
    element = ET.SubElement(parent, control.tag, {"name": control.name, "toName": control.to_name,
                                                  **dict(control.attrs)})
    child = "Label" if control.tag in ("Labels", "ParagraphLabels") else "Choice"
    for option in control.options:
        ET.SubElement(element, child, {"value": option})


def config_objects(config: str) -> dict[str, str]:
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
