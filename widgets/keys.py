"""Widgets whose own keys (digits, letters) must win over the window's shortcuts while they have focus."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent
from PySide6.QtGui import QKeyEvent


class KeyActions:
    """Mixin for a QWidget with `_key_action(event) -> callable | None`.

    A key the widget handles claims the ShortcutOverride, so a window shortcut on the
    same key does not steal it; any other key goes on to Qt as usual.
    """

    def _key_action(self, event: QKeyEvent) -> Callable[[], None] | None:
        raise NotImplementedError

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and self._key_action(event) is not None:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        action = self._key_action(event)
        if action is None:
            super().keyPressEvent(event)
            return
        action()
        event.accept()
