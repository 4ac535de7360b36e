"""An item's text fields (``messages.<i>``, ``responses.<id>``): read out and checked, then written back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .encoding import binary_ratio
from .itemlog import ItemLog
from .spans import remap_spans
from .text import snippet
from .textio import decode_bytes


@dataclass(slots=True)
class TextField:
    kind: str  # messages | responses
    index: int  # position in item[kind]
    name: str  # as entries and spans name it
    raw: str  # the text as read
    text: str  # the text as cleaned so far
    forced: bool  # written back even when unchanged: its content was not a str


def item_id(item: Any) -> str | None:
    if isinstance(item, dict):
        v = item.get("id")
        if v is not None and v != "":
            return str(v)
    return None


def _field_name(kind: str, i: int, part: dict) -> str:
    if kind == "responses":
        rid = part.get("id")
        return f"responses.{rid}" if isinstance(rid, str) and rid else f"responses.{i}"
    return f"messages.{i}"


def gather_fields(item: dict, kinds: Iterable[str], log: ItemLog) -> list[TextField]:
    """The text fields of ``item``; what cannot hold text is logged as ``input.unsupported_content``."""
    fields: list[TextField] = []
    for kind in kinds:
        seq = item.get(kind)
        if seq is None:
            continue
        if not isinstance(seq, list):
            log.add("input.unsupported_content", field=kind, reason=f"{kind} is a {type(seq).__name__}, not a list")
            continue
        for i, part in enumerate(seq):
            if not isinstance(part, dict):
                log.add("input.unsupported_content", field=f"{kind}.{i}", reason=f"not a mapping ({type(part).__name__})")
                continue
            f = _read_field(kind, i, _field_name(kind, i, part), part.get("content"), log)
            if f is not None:
                fields.append(f)
    return fields


def _read_field(kind: str, i: int, name: str, content: Any, log: ItemLog) -> TextField | None:
    if isinstance(content, str):
        return TextField(kind, i, name, content, content, False)
    if isinstance(content, (bytes, bytearray, memoryview)):
        dec = decode_bytes(bytes(content))
        log.add("input.bytes_decoded", field=name, encoding=dec.encoding, invalid_bytes=dec.invalid_bytes or None)
        return TextField(kind, i, name, dec.text, dec.text, True)
    if content is None:
        return TextField(kind, i, name, "", "", False)
    log.add("input.unsupported_content", field=name, reason=f"content is a {type(content).__name__}")
    return None


def flag_binary(fields: list[TextField], log: ItemLog, min_chars: int, threshold: float) -> None:
    """``input.binary`` on fields long enough to judge whose share of binary characters reaches ``threshold``."""
    if not log.on("input.binary"):
        return
    for f in fields:
        t = f.text
        if len(t) >= min_chars:
            r = binary_ratio(t)
            if r >= threshold:
                log.add("input.binary", field=f.name, ratio=round(r, 3))
                if log.wants_example("input.binary"):
                    log.example("input.binary", field=f.name, before=snippet(t[:120], 0, 0, log.width))


def rebuild(item: dict, fields: list[TextField], log: ItemLog) -> dict | None:
    """A new item holding the cleaned texts (spans moved along), or None when no field changed."""
    changed = [f for f in fields if f.forced or f.text != f.raw]
    if not changed:
        return None
    new_item = dict(item)
    seqs: dict[str, list] = {}
    for f in changed:
        seq = seqs.get(f.kind)
        if seq is None:
            seq = seqs[f.kind] = list(item[f.kind])
        part = dict(seq[f.index])
        part["content"] = f.text
        seq[f.index] = part
    new_item.update(seqs)
    spans = item.get("spans")
    if isinstance(spans, list) and spans:
        remap_spans(new_item, spans, {f.name: (f.raw, f.text) for f in changed}, log)
    return new_item
