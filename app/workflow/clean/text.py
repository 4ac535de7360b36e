"""Small text helpers shared by the cleaning stages (no Qt, no database)."""

from __future__ import annotations

import re
from typing import Any, Iterator

__all__ = [
    "WORD_RE",
    "words",
    "fast_words",
    "normalize_for_hash",
    "item_text_fields",
    "dedup_text",
    "utf8_len",
    "snippet",
    "mask",
]

# A "word" for shingling and repetition: a run of letters/digits, except that
# every CJK ideograph / kana is a word of its own (those scripts do not put
# spaces between words, and a whole sentence as one token defeats shingling).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD_RE = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
_WS_RE = re.compile(r"\s+")


def words(text: str) -> list[str]:
    """Casefolded word tokens of ``text``."""
    return WORD_RE.findall(text.casefold())


# ASCII fast path: every byte that is not [A-Za-z0-9] becomes a space, upper
# case becomes lower case; then bytes.split().  Same tokens as WORD_RE on
# casefolded ASCII text, about 5x faster.
_ASCII_TOKEN_TABLE = bytes(
    c if (48 <= c <= 57 or 97 <= c <= 122) else (c + 32 if 65 <= c <= 90 else 32) for c in range(256)
)


def fast_words(text: str) -> list:
    """Like :func:`words`, but ASCII texts give ``bytes`` tokens (faster).

    Only for hashing/counting: a ``bytes`` token and the ``str`` token of the
    same word hash to the same value in the duplicates stage.
    """
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_TOKEN_TABLE).split()
    return WORD_RE.findall(text.casefold())


def normalize_for_hash(text: str) -> str:
    """The form exact duplicates are compared in: casefolded, whitespace collapsed."""
    return " ".join(text.casefold().split())


def utf8_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def item_text_fields(item: Any, fields=("messages", "responses")) -> Iterator[tuple[str, str]]:
    """(field name, text) of every string content of an item.

    Field names follow the record schema's span targets: ``messages.<index>``
    and ``responses.<id>`` (``responses.<index>`` when a response has no id).
    """
    if not isinstance(item, dict):
        return
    for kind in fields:
        seq = item.get(kind)
        if not isinstance(seq, list):
            continue
        for i, part in enumerate(seq):
            if not isinstance(part, dict):
                continue
            content = part.get("content")
            if not isinstance(content, str):
                continue
            if kind == "responses":
                rid = part.get("id")
                name = f"responses.{rid}" if isinstance(rid, str) and rid else f"responses.{i}"
            else:
                name = f"messages.{i}"
            yield name, content


def dedup_text(item: Any, key: str = "all") -> str:
    """The text an item is de-duplicated on.

    ``key="all"``: every message and response content, in order, one per line.
    ``key="prompt"``: only the non-assistant messages (system/user turns) – use
    it when the same prompt with a different answer counts as a duplicate
    (e.g. keeping evaluation prompts out of training).

    Build ``reference_texts`` with this same function so that both sides are
    compared the same way.
    """
    if not isinstance(item, dict):
        return ""
    parts: list[str] = []
    msgs = item.get("messages")
    if isinstance(msgs, list):
        for m in msgs:
            if isinstance(m, dict) and isinstance(m.get("content"), str):
                if key == "prompt" and m.get("role") == "assistant":
                    continue
                parts.append(m["content"])
    if key == "all":
        resp = item.get("responses")
        if isinstance(resp, list):
            for r in resp:
                if isinstance(r, dict) and isinstance(r.get("content"), str):
                    parts.append(r["content"])
    return "\n".join(parts)


_INVISIBLE_RE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\u180e\ufeff\ud800-\udfff\U000e0000-\U000e007f]"
)


def _clean_snippet(s: str) -> str:
    s = s.replace("\r\n", "\n").replace("\n", " \u21b5 ").replace("\t", " ")
    return _INVISIBLE_RE.sub(lambda m: f"<U+{ord(m.group()):04X}>", s)


def snippet(text: str, start: int, end: int, width: int = 60) -> str:
    """``text[start:end]`` with up to ``width`` characters of context each side."""
    a = max(0, start - width)
    b = min(len(text), end + width)
    out = text[a:b]
    if len(out) > 4 * width + 40:  # a huge match: keep its ends
        out = out[: 2 * width] + " … " + out[-2 * width :]
    return ("…" if a > 0 else "") + _clean_snippet(out) + ("…" if b < len(text) else "")


def mask(value: str) -> str:
    """A value shown in a report without giving it away: ``jo•••••om``."""
    if len(value) <= 4:
        return "•" * len(value)
    keep = 2 if len(value) >= 8 else 1
    return value[:keep] + "•" * (len(value) - 2 * keep) + value[-keep:]
