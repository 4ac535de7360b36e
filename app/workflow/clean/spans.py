"""Span offsets follow the text they point into when cleaning changes it."""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

from .itemlog import ItemLog

# Aligning longer texts costs too much (SequenceMatcher is quadratic at worst): their spans are dropped.
_SPAN_ALIGN_LIMIT = 50_000


def remap_spans(new_item: dict, spans: list, changes: dict[str, tuple[str, str]], log: ItemLog) -> None:
    """Move the offsets (code points) of spans on changed fields; ``changes``: field -> (old, new) text."""
    aligners: dict[str, list | None] = {}
    out, moved, dropped = [], 0, 0
    for sp in spans:
        target = sp.get("target") if isinstance(sp, dict) else None
        if target not in changes:
            out.append(sp)
            continue
        old, new = changes[target]
        if target not in aligners:
            aligners[target] = _opcodes(old, new)
        moved_to = _moved(sp, aligners[target], len(old), len(new))
        if moved_to is None:
            dropped += 1
            continue
        if moved_to != (sp["start"], sp["end"]):
            moved += 1
        out.append({**sp, "start": moved_to[0], "end": moved_to[1]})
    if moved or dropped:
        new_item["spans"] = out
    if moved:
        log.add("spans.remapped", count=moved)
    if dropped:
        log.add("spans.dropped", count=dropped)


def _opcodes(old: str, new: str) -> list | None:
    if len(old) > _SPAN_ALIGN_LIMIT or len(new) > _SPAN_ALIGN_LIMIT:
        return None
    return SequenceMatcher(None, old, new, autojunk=False).get_opcodes()


def _moved(sp: dict[str, Any], ops: list | None, old_len: int, new_len: int) -> tuple[int, int] | None:
    """The span's offsets in the new text, or None when it cannot follow (or its text is gone)."""
    s, e = sp.get("start"), sp.get("end")
    if ops is None or not isinstance(s, int) or not isinstance(e, int) or not 0 <= s <= e <= old_len:
        return None
    s2, e2 = _map_offset(ops, s, False, new_len), _map_offset(ops, e, True, new_len)
    if e2 <= s2 and e > s:
        return None
    return s2, e2


def _map_offset(ops: list, pos: int, is_end: bool, new_len: int) -> int:
    for tag, i1, i2, j1, j2 in ops:
        if (i1 <= pos < i2) or (is_end and i1 < pos <= i2) or (pos == i1 == i2):
            if tag == "equal":
                return j1 + (pos - i1)
            return j2 if is_end else j1
    return new_len if pos > 0 else 0
