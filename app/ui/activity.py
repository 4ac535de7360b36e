"""Active time on a task: seconds with input no further apart than the idle threshold."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

INPUT_EVENTS = {
    QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel,
    QEvent.Type.InputMethod,
}


class ActivityTimer(QObject):
    """Counts a second only when there was input within `idle_seconds` before it."""

    ticked = Signal(float)

    def __init__(self, idle_seconds: float = 60.0, parent: QObject | None = None):
        super().__init__(parent)
        self.idle_seconds = idle_seconds
        self._seconds = 0.0
        self._last_input = time.monotonic()
        self._last_tick = time.monotonic()
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() in INPUT_EVENTS:
            self._last_input = time.monotonic()
        return False

    def restart(self, already: float = 0.0) -> None:
        """Start counting a task that already has `already` active seconds (a resumed draft)."""
        self._seconds = already
        self._last_input = self._last_tick = time.monotonic()
        self._timer.start()

    def stop(self) -> float:
        self._tick()
        self._timer.stop()
        return self._seconds

    @property
    def seconds(self) -> float:
        return self._seconds

    def _tick(self) -> None:
        now = time.monotonic()
        if now - self._last_input <= self.idle_seconds:
            self._seconds += now - self._last_tick
        self._last_tick = now
        self.ticked.emit(self._seconds)
