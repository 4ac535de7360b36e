"""Which text each object of the config shows for a record, and the task data that shows it."""

from __future__ import annotations

from typing import Any

from labeldesk.storage.formats.labelstudio.plan import Plan

# object name -> ("text", target, text) | ("paragraphs", [(target, text), ...])
Layout = dict[str, tuple]


def _prompt_index(messages: list[dict[str, Any]]) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            return i
    return None


def record_layout(plan: Plan, content: dict[str, Any]) -> Layout:
    messages = content.get("messages", [])
    layout: Layout = {}
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


def reverse_layout(layout: Layout) -> dict[str, tuple[str, int | None, str]]:
    """target -> (object name, paragraph index or None, text)."""
    out: dict[str, tuple[str, int | None, str]] = {}
    for obj, entry in layout.items():
        if entry[0] == "text":
            out.setdefault(entry[1], (obj, None, entry[2]))
        else:
            for index, (target, text) in enumerate(entry[1]):
                out.setdefault(target, (obj, index, text))
    return out


def task_data(plan: Plan, content: dict[str, Any]) -> dict[str, Any]:
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
