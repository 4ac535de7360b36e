"""Code point ↔ UTF-16 offsets, and text that a QTextDocument keeps 1:1.

Everything LabelDesk stores (span offsets) counts Unicode *code points*, the
way Python indexes a ``str``. Qt's ``QTextCursor`` positions count UTF-16
code units: every character outside the Basic Multilingual Plane (most emoji,
"👋🏽" is two of them, "🇫🇷" two more) takes two units. `OffsetMap` converts
both ways in O(log n) after one O(n) scan, so a 1 MB text with thousands of
spans stays cheap.

A QTextDocument also rewrites some characters when text is inserted: "\\r\\n"
and a lone "\\r" become one paragraph break, and U+FDD0/U+FDD1 are its own
frame markers. `display_text` replaces those with characters of the same
length so document positions stay aligned with the stored text.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import Iterable

from PySide6.QtGui import QTextFormat
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit

__all__ = [
    "OffsetMap",
    "cp_to_utf16",
    "utf16_to_cp",
    "display_text",
    "set_selection_layer",
    "LAYER_PROPERTY",
]

_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")

# "\r\n" -> " \n" and lone "\r" -> "\n": one character each, as stored
_CR = re.compile("\r(\n?)")
# QTextDocument's frame markers would be taken as structure, not text
_FRAME_MARKERS = str.maketrans({"\ufdd0": "\ufffd", "\ufdd1": "\ufffd"})

#: the ExtraSelection format property that names which layer a selection belongs to
LAYER_PROPERTY = int(QTextFormat.Property.UserProperty) + 0x1D5


class OffsetMap:
    """Offsets of one text, code points ↔ UTF-16 code units."""

    __slots__ = ("_astral_cp", "_astral_u16", "length", "utf16_length")

    def __init__(self, text: str) -> None:
        self.length = len(text)
        # the common case (no astral characters) needs no table at all
        if text.isascii() or not _ASTRAL.search(text):
            self._astral_cp: list[int] = []
        else:
            self._astral_cp = [m.start() for m in _ASTRAL.finditer(text)]
        # UTF-16 start of the i-th astral character: it is pushed right by
        # the i astral characters before it
        self._astral_u16 = [p + i for i, p in enumerate(self._astral_cp)]
        self.utf16_length = self.length + len(self._astral_cp)

    @property
    def identity(self) -> bool:
        """True when both offsets are the same (no astral characters)."""
        return not self._astral_cp

    def to_utf16(self, cp: int) -> int:
        """Code point offset -> UTF-16 offset (clamped to the text)."""
        cp = min(max(cp, 0), self.length)
        if not self._astral_cp:
            return cp
        return cp + bisect_left(self._astral_cp, cp)

    def to_cp(self, u16: int) -> int:
        """UTF-16 offset -> code point offset (clamped; a position inside a
        surrogate pair rounds down to the start of that character)."""
        u16 = min(max(u16, 0), self.utf16_length)
        if not self._astral_cp:
            return u16
        # every astral character starting before u16 - 1 is two units wide;
        # one starting exactly at u16 - 1 is cut in half: round down to it
        return u16 - bisect_right(self._astral_u16, u16 - 1)

    def many_to_utf16(self, offsets: Iterable[int]) -> list[int]:
        return [self.to_utf16(o) for o in offsets]


def cp_to_utf16(text: str, cp: int) -> int:
    """One-off conversion; build an `OffsetMap` when converting many."""
    return OffsetMap(text).to_utf16(cp)


def utf16_to_cp(text: str, u16: int) -> int:
    """One-off conversion; build an `OffsetMap` when converting many."""
    return OffsetMap(text).to_cp(u16)


def display_text(text: str) -> str:
    """``text`` with the characters QTextDocument would merge or reinterpret
    replaced one-for-one, so document positions match the original's."""
    if "\r" in text:
        text = _CR.sub(lambda m: " \n" if m.group(1) else "\n", text)
    if "\ufdd0" in text or "\ufdd1" in text:
        text = text.translate(_FRAME_MARKERS)
    return text


def set_selection_layer(
    editor: QTextEdit | QPlainTextEdit,
    layer: str,
    selections: list[QTextEdit.ExtraSelection],
) -> None:
    """Replace only ``layer``'s extra selections of ``editor``.

    Several helpers draw on the same editor (the find bar's matches over the
    span highlighter's spans); each owns a layer and leaves the others alone.
    """
    kept = [s for s in editor.extraSelections() if s.format.property(LAYER_PROPERTY) != layer]
    for s in selections:
        fmt = s.format  # PySide hands out a copy: set it back
        fmt.setProperty(LAYER_PROPERTY, layer)
        s.format = fmt
    editor.setExtraSelections(kept + list(selections))
