"""What readers say about bad input: the refusal (InputError), the accepted change (Deviation), and `cut`.

Every message names where the problem is (file and line, row, task or zip entry) and the
field. Values quoted in a message go through `cut`, so a bad megabyte-long cell costs
the reader a line of text, not a screenful.
"""

from __future__ import annotations

from dataclasses import dataclass

SHOWN_CHARS = 80
"""How much of a value a message quotes."""

REASON_CHARS = 400
"""The most any reason may say: a backstop for messages that quote values from elsewhere."""


def cut(text: str, limit: int = SHOWN_CHARS) -> str:
    """`text` if short, else its head and tail around an ellipsis, `limit` characters in all.

    The tail is kept because messages that quote a value usually say what is wrong after it.
    """
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 3
    return f"{text[:head]}…{text[len(text) - (limit - 1 - head):]}"


def shown(value: object) -> str:
    """A value as a message quotes it: its repr, cut."""
    return cut(repr(value))


class InputError(ValueError):
    """Input that cannot be imported; the message names file, line and field."""

    def __init__(self, location: str, field: str, message: str):
        # the location stays whole: the importer matches rows by it (file names are short anyway)
        field, message = cut(field), cut(message, REASON_CHARS)
        super().__init__(f"{location}: {field}: {message}" if field else f"{location}: {message}")
        self.location = location
        self.field = field
        self.reason = message


@dataclass(frozen=True)
class Deviation:
    """An accepted row stored other than exactly as given: where, which field, and how."""

    location: str
    field: str
    change: str  # a fixed phrase (no values), so that equal changes can be counted together
