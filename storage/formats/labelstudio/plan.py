"""The plan of a project: the objects its config shows and the control each question becomes.

The config, the export and the import all read one plan, so they agree on every name.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labeldesk.storage.vocabulary import KINDS


@dataclass(frozen=True)
class Control:
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
class Plan:
    kind: str
    conversation: bool
    main: str  # the object per-item questions are bound to
    slots: tuple[str, ...]  # response object names, in slot order
    questions: list[dict[str, Any]]
    controls: dict[str, Control] = field(default_factory=dict)
    by_role: dict[tuple[str, str, str], Control] = field(default_factory=dict)  # (question, role, object)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add(self, control: Control, obj: str = "") -> None:
        if control.name in self.controls:
            raise ValueError(f"questions: control name {control.name!r} is used twice")
        self.controls[control.name] = control
        self.by_role[(control.question, control.role, obj)] = control

    def control(self, question: str, role: str, obj: str = "") -> Control | None:
        return self.by_role.get((question, role, obj))


SAFETY_VERDICTS = ("safe", "unsafe", "borderline")
SAFETY_BEHAVIORS = ("comply", "refuse", "safe-complete")
SAFETY_PARTS = {"verdict": "verdict", "categories": "categories", "expected_behavior": "behavior"}

_INLINE_SINGLE = (("choice", "single"), ("showInline", "true"))


def build_plan(kind: str, questions: list[dict[str, Any]], max_responses: int) -> Plan:
    if kind not in KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if not isinstance(questions, list) or not all(isinstance(q, dict) for q in questions):
        raise ValueError("questions: expected a list of question objects")
    conversation = kind == "conversation"
    main = "messages" if conversation else "prompt"
    plan = Plan(kind, conversation, main, _slots(kind, questions, max_responses), questions)
    seen: set[str] = set()
    for i, q in enumerate(questions):
        name, qtype = q.get("name"), q.get("type")
        if not isinstance(name, str) or not name:
            raise ValueError(f"questions[{i}].name: missing")
        if name in seen:
            raise ValueError(f"questions[{i}].name: {name!r} is used twice")
        seen.add(name)
        add = _ADDERS.get(qtype) if isinstance(qtype, str) else None
        if add is None:
            plan.skipped.append((name, f"question type {qtype!r} has no Label Studio control here"))
        else:
            add(plan, q, name)
    return plan


def _slots(kind: str, questions: list[dict[str, Any]], max_responses: int) -> tuple[str, ...]:
    if not _has_responses(kind, questions):
        return ()
    if not 1 <= max_responses <= 26:
        raise ValueError(f"max_responses: {max_responses} is not between 1 and 26")
    return tuple("response_" + string.ascii_lowercase[i] for i in range(max_responses))


def _has_responses(kind: str, questions: list[dict[str, Any]]) -> bool:
    return (
        kind == "preference"
        or any(q.get("type") == "ranking" for q in questions)
        or any(q.get("type") == "spans" and "responses" in span_targets(q) for q in questions)
    )


def span_targets(question: dict[str, Any]) -> set[str]:
    targets = question.get("targets", ("responses", "messages"))
    if isinstance(targets, str):
        targets = [targets]
    return set(targets)


def _required(q: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return (("required", "true"),) if q.get("required") else ()


def _add_text(plan: Plan, q: dict[str, Any], name: str) -> None:
    attrs = (("rows", "4" if q.get("multiline") else "1"), ("maxSubmissions", "1"), ("editable", "true"))
    if q.get("placeholder"):
        attrs += (("placeholder", str(q["placeholder"])),)
    plan.add(Control(name, "TextArea", plan.main, name, q["type"], "value", (), attrs + _required(q)))


def _add_choice(plan: Plan, q: dict[str, Any], name: str) -> None:
    choice = "single" if q["type"] == "choice" else "multiple"
    options = tuple(str(o) for o in q.get("options", ()))
    plan.add(Control(name, "Choices", plan.main, name, q["type"], "value", options,
                     (("choice", choice), ("showInline", "true")) + _required(q)))


def _add_rating(plan: Plan, q: dict[str, Any], name: str) -> None:
    low, high = int(q.get("min", 1)), int(q.get("max", 5))
    if low == 1:
        plan.add(Control(name, "Rating", plan.main, name, q["type"], "value", (),
                         (("maxRating", str(high)),) + _required(q)))
    else:
        plan.add(Control(name, "Number", plan.main, name, q["type"], "value", (),
                         (("min", str(low)), ("max", str(high))) + _required(q)))


def _add_ranking(plan: Plan, q: dict[str, Any], name: str) -> None:
    ranks = tuple(str(r) for r in range(1, len(plan.slots) + 1))
    for slot in plan.slots:
        plan.add(Control(f"{name}__{slot.removeprefix('response_')}", "Choices", slot, name, q["type"],
                         "rank", ranks, _INLINE_SINGLE), slot)


def _add_spans(plan: Plan, q: dict[str, Any], name: str) -> None:
    labels = tuple(str(label) for label in q.get("labels", ()))
    severities = tuple(str(s) for s in q.get("severities", ()))
    targets = span_targets(q)
    objects: list[tuple[str, str]] = []
    if "messages" in targets:
        objects += [("messages", "ParagraphLabels")] if plan.conversation else [
            ("prompt", "Labels"), ("context", "ParagraphLabels")]
    if "responses" in targets:
        objects += [(slot, "Labels") for slot in plan.slots]
    for obj, tag in objects:
        plan.add(Control(f"{name}__{obj}", tag, obj, name, q["type"], "span", labels), obj)
        if severities:
            plan.add(Control(f"{name}__{obj}__severity", "Choices", obj, name, q["type"], "severity",
                             severities, (("choice", "single"), ("perRegion", "true"), ("showInline", "true"))), obj)


def _add_safety(plan: Plan, q: dict[str, Any], name: str) -> None:
    categories = tuple(str(c) for c in q.get("categories", ()))
    behaviors = tuple(str(b) for b in q.get("behaviors", SAFETY_BEHAVIORS))
    plan.add(Control(f"{name}__verdict", "Choices", plan.main, name, q["type"], "verdict", SAFETY_VERDICTS,
                     _INLINE_SINGLE + _required(q)))
    if categories:
        plan.add(Control(f"{name}__categories", "Choices", plan.main, name, q["type"], "categories", categories,
                         (("choice", "multiple"), ("showInline", "true"))))
    if behaviors:
        plan.add(Control(f"{name}__expected_behavior", "Choices", plan.main, name, q["type"], "behavior",
                         behaviors, _INLINE_SINGLE))


def _skip_segments(plan: Plan, q: dict[str, Any], name: str) -> None:
    plan.skipped.append((name, "time segments are labeled on media; export them as EAF or TextGrid"))


_ADDERS: dict[str, Callable[[Plan, dict[str, Any], str], None]] = {
    "text": _add_text,
    "choice": _add_choice,
    "multi_choice": _add_choice,
    "rating": _add_rating,
    "ranking": _add_ranking,
    "spans": _add_spans,
    "safety": _add_safety,
    "segments": _skip_segments,
}
