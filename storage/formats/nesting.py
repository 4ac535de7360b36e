"""How deep input may nest: deeper rows are refused before anything walks them.

JSON parsers take 1024 levels, but what stores and cleans a record does not: orjson
writes at most 254 levels, and the record wraps the row's values in a few levels of its
own (meta, extra_message_fields, …). So a reader refuses rows nested deeper than
MAX_NESTING, well below that, with the file and line.
"""

from __future__ import annotations

from typing import Any

MAX_NESTING = 100
"""Levels of lists and objects one row may nest (the row itself is level 1)."""


def may_nest_deeper(text: bytes | str, limit: int = MAX_NESTING) -> bool:
    """False when `text` (JSON) has too few brackets to nest past `limit`: the cheap test that spares most rows the walk."""
    if isinstance(text, str):
        return text.count("[") + text.count("{") > limit
    return text.count(b"[") + text.count(b"{") > limit


def too_deep(value: Any, limit: int = MAX_NESTING) -> str | None:
    """The top-level key (or "" for a top-level list) under which `value` nests past `limit`; None if it does not.

    A loop with its own stack, not recursion: the point is to survive any depth.
    """
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, depth, top = stack.pop()
        if depth > limit:
            return top
        if isinstance(node, dict):
            stack.extend((v, depth + 1, top if depth > 1 else str(k)) for k, v in node.items() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1, top) for v in node if isinstance(v, (dict, list)))
    return None
