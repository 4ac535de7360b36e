"""Decoding text files for the import path.

``read_text_file(path)`` returns the text of a file whatever its Unicode
encoding form:

* a UTF-8 BOM, UTF-16 LE/BE BOM or UTF-32 LE/BE BOM selects that codec (the
  BOM is not part of the text);
* without a BOM: UTF-8; if that fails and the bytes look like BOM-less UTF-16
  (many NUL bytes at alternating positions), UTF-16;
* otherwise the invalid bytes are replaced by U+FFFD and *reported*: a
  :class:`TextDecodeWarning` is issued (``warnings``) telling how many bytes
  and where the first one is; ``decode_bytes`` returns the same information
  as data, and ``strict=True`` raises ``UnicodeDecodeError`` instead.

The cleaning pipeline later flags items still containing U+FFFD
(``input.replacement_char``) and drops texts that are mostly garbage
(``input.binary``).
"""

from __future__ import annotations

import codecs
import os
import threading
import warnings
from dataclasses import dataclass, field

__all__ = ["DecodedText", "TextDecodeWarning", "decode_bytes", "read_text_file"]


class TextDecodeWarning(UserWarning):
    """Some bytes of a file were not valid in its encoding and were replaced by U+FFFD."""


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str  # "utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"
    bom: bool
    invalid_bytes: int = 0
    invalid_offsets: tuple[int, ...] = field(default=())  # byte offsets of the first invalid sequences (up to 10)

    @property
    def ok(self) -> bool:
        return self.invalid_bytes == 0


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


_LOCAL = threading.local()


def _report_handler(exc: UnicodeDecodeError):
    state = getattr(_LOCAL, "state", None)
    if state is not None:
        state[0] += exc.end - exc.start
        if len(state[1]) < 10:
            state[1].append(exc.start)
    return "\ufffd", exc.end


codecs.register_error("labeldesk-report", _report_handler)


def _decode_reporting(data: bytes, encoding: str) -> tuple[str, int, list[int]]:
    """Decode replacing invalid bytes by U+FFFD; also return how many and where."""
    _LOCAL.state = state = [0, []]
    try:
        text = data.decode(encoding, errors="labeldesk-report")
    finally:
        _LOCAL.state = None
    return text, state[0], state[1]


def _looks_utf16(data: bytes) -> str | None:
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_nul = sample[0::2].count(0)
    odd_nul = sample[1::2].count(0)
    half = len(sample) / 2
    if odd_nul > 0.3 * half and even_nul < 0.05 * half:
        return "utf-16-le"
    if even_nul > 0.3 * half and odd_nul < 0.05 * half:
        return "utf-16-be"
    return None


def decode_bytes(data: bytes, strict: bool = False) -> DecodedText:
    """Decode ``data`` as described in the module docstring."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            body = data[len(bom):]
            if strict:
                return DecodedText(body.decode(enc), enc, True)
            text, n, offs = _decode_reporting(body, enc)
            return DecodedText(text, enc, True, n, tuple(o + len(bom) for o in offs))
    # BOM-less UTF-16 (ASCII in UTF-16 is also valid UTF-8, full of NULs)
    enc16 = _looks_utf16(data) if b"\x00" in data[:4096] else None
    if enc16:
        try:
            return DecodedText(data.decode(enc16), enc16, False)
        except UnicodeDecodeError:
            pass
    try:
        return DecodedText(data.decode("utf-8"), "utf-8", False)
    except UnicodeDecodeError:
        if strict:
            raise
    text, n, offs = _decode_reporting(data, "utf-8")
    return DecodedText(text, "utf-8", False, n, tuple(offs))


def read_text_file(path: str | os.PathLike, strict: bool = False) -> str:
    """The text of ``path`` (UTF-8 with/without BOM, UTF-16/32 with BOM).

    Invalid bytes become U+FFFD and a :class:`TextDecodeWarning` says how many
    and where; with ``strict=True`` a ``UnicodeDecodeError`` is raised instead.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    dec = decode_bytes(data, strict=strict)
    if dec.invalid_bytes:
        warnings.warn(
            TextDecodeWarning(
                f"{os.fspath(path)}: {dec.invalid_bytes} invalid {dec.encoding} byte(s) replaced by U+FFFD "
                f"(first at byte offset {dec.invalid_offsets[0]})"
            ),
            stacklevel=2,
        )
    return dec.text
