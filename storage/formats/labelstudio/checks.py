"""Checks shared by export and import: whole numbers, and the error that names a field of a task."""

from __future__ import annotations

from typing import Any


class BadInput(ValueError):
    """A problem in a task; `field` is its path inside the task."""

    def __init__(self, field_path: str, problem: str):
        super().__init__(f"{field_path}: {problem}")
        self.field = field_path


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
