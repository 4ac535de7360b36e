"""Answers as short readable text, for tables that compare annotators.

A reviewer scanning a side-by-side table needs "b > a = c", not `[{"response": "b", "rank": 1}, …]`.
These are plain functions of plain data (no Qt), so the review panel, tooltips and tests
all render answers the same way. Output is plain text: the table never interprets it as HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from labeldesk.widgets.conversation import message_text
from labeldesk.widgets.ranking import value_to_groups

NO_ANSWER = "—"
CELL_LIMIT = 400  # characters of free text in a cell; the tooltip has more
SNIPPET = 48  # characters of a marked span shown in its line
MAX_LINES = 8  # spans or segments listed before "… and N more"


def clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def ranking_text(value: Any) -> str:
    """Best first; `>` separates ranks and `=` joins ties: "b > a = c"."""
    groups = value_to_groups(value)
    return " > ".join(" = ".join(group) for group in groups) if groups else NO_ANSWER


def target_text(content: Mapping[str, Any], target: str) -> tuple[str, str | None]:
    """(a short name, the text) of a span target such as `responses.a` or `messages.2`."""
    where, _, key = str(target).partition(".")
    if where == "responses":
        for response in content.get("responses", ()):
            if str(response.get("id")) == key:
                return f"response {key}", message_text(response.get("content"))
        return f"response {key}", None
    if where == "messages" and key.isdigit():
        messages = content.get("messages", ())
        index = int(key)
        if 0 <= index < len(messages):
            message = messages[index]
            return f"{message.get('role', 'message')} {index + 1}", message_text(message.get("content"))
        return f"message {index + 1}", None
    return str(target), None


def span_line(span: Mapping[str, Any], content: Mapping[str, Any]) -> str:
    name, text = target_text(content, str(span.get("target", "")))
    start, end = span.get("start"), span.get("end")
    if text is not None and isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(text):
        quoted = f"“{clip(one_line(text[start:end]), SNIPPET)}”"
    else:
        quoted = f"{start}–{end}"
    line = f"[{span.get('label', 'span')}] {quoted} in {name}"
    if span.get("severity"):
        line += f" ({span['severity']})"
    if span.get("note"):
        line += f" — {clip(one_line(span['note']), SNIPPET)}"
    return line


def _listed(lines: list[str]) -> str:
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"… and {len(lines) - MAX_LINES} more"]
    return "\n".join(lines)


def spans_text(value: Any, content: Mapping[str, Any]) -> str:
    spans = [s for s in (value or ()) if isinstance(s, Mapping)]
    if not spans:
        return NO_ANSWER
    spans.sort(key=lambda s: (str(s.get("target", "")), s.get("start") if isinstance(s.get("start"), int) else 0))
    return _listed([span_line(s, content) for s in spans])


def safety_text(value: Any) -> str:
    """"unsafe · violence, weapons · expects refuse"."""
    if not isinstance(value, Mapping):
        return str(value)
    parts = [str(value.get("verdict") or "no verdict")]
    categories = value.get("categories") or ()
    if categories:
        parts.append(", ".join(map(str, categories)))
    if value.get("expected_behavior"):
        parts.append(f"expects {value['expected_behavior']}")
    return " · ".join(parts)


def segments_text(value: Any) -> str:
    lines = []
    for seg in value or ():
        if not isinstance(seg, Mapping):
            continue
        label = seg.get("label") or seg.get("tier") or "segment"
        try:
            when = f"{float(seg['start']):.2f}–{float(seg['end']):.2f} s"
        except (KeyError, TypeError, ValueError):
            when = "?"
        line = f"{label} {when}"
        if seg.get("text"):
            line += f" “{clip(one_line(seg['text']), SNIPPET)}”"
        lines.append(line)
    return _listed(lines) if lines else NO_ANSWER


def dialogue_text(value: Any) -> str:
    turns = [m for m in (value or ()) if isinstance(m, Mapping)]
    if not turns:
        return NO_ANSWER
    last = turns[-1]
    return f"{len(turns)} turns; last {last.get('role', 'turn')}: {clip(one_line(message_text(last.get('content'))), 120)}"


def rating_text(question: Mapping[str, Any], value: Any) -> str:
    top = question.get("max")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value} / {top}" if top is not None else str(value)


def answer_text(question: Mapping[str, Any], value: Any, content: Mapping[str, Any] | None = None,
                limit: int = CELL_LIMIT) -> str:
    """One answer as readable text; `—` for no answer."""
    if is_empty(value):
        return NO_ANSWER
    content = content or {}
    qtype = question.get("type")
    if qtype == "text":
        return clip(str(value).strip(), limit)
    if qtype == "choice":
        return str(value)
    if qtype == "multi_choice":
        return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    if qtype == "rating":
        return rating_text(question, value)
    if qtype == "ranking":
        return ranking_text(value)
    if qtype == "spans":
        return spans_text(value, content)
    if qtype == "safety":
        return safety_text(value)
    if qtype == "segments":
        return segments_text(value)
    if qtype == "dialogue":
        return dialogue_text(value)
    return clip(orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode(), limit)


def consensus_text(question: Mapping[str, Any], value: Any, agreement: float | None,
                   content: Mapping[str, Any] | None = None) -> str:
    text = answer_text(question, value, content)
    return f"{text}\n(agreement {agreement:.0%})" if agreement is not None and not is_empty(value) else text


def duration_text(seconds: float | None) -> str:
    """95 -> "1 min 35 s"; None -> "—"."""
    if seconds is None:
        return NO_ANSWER
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
