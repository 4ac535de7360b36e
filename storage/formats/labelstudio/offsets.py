"""Label Studio counts text offsets in UTF-16 code units (JavaScript strings); records count code points."""

from __future__ import annotations

import re

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def to_utf16(text: str, offset: int) -> int:
    """A code point offset into `text` as a UTF-16 code unit (JavaScript) offset."""
    if not 0 <= offset <= len(text):
        raise ValueError(f"offset {offset} is outside the {len(text)} code points of the text")
    return offset + len(_ASTRAL.findall(text, 0, offset))


def from_utf16(text: str, offset: int) -> int:
    """A UTF-16 code unit offset into `text` as a code point offset.

    Raises ValueError for an offset that falls inside a surrogate pair or past the end.
    """
    if not _ASTRAL.search(text):
        if not 0 <= offset <= len(text):
            raise ValueError(f"offset {offset} is outside the {len(text)} UTF-16 units of the text")
        return offset
    if offset < 0:
        raise ValueError(f"offset {offset} is negative")
    units = 0
    for index, char in enumerate(text):
        if units == offset:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
        if units > offset:
            raise ValueError(f"offset {offset} falls inside a surrogate pair (character {index})")
    if units == offset:
        return len(text)
    raise ValueError(f"offset {offset} is outside the {units} UTF-16 units of the text")
