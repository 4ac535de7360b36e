"""User settings kept with QSettings: the last workspace and project, layout, idle threshold, shortcuts."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence


@dataclass(frozen=True)
class ActionSpec:
    name: str
    title: str
    default: str


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("next_task", "Next task", "Ctrl+N"),
    ActionSpec("submit", "Submit and open the next task", "Ctrl+Return"),
    ActionSpec("skip", "Skip this task (with a reason)", "Ctrl+K"),
    ActionSpec("undo", "Undo", "Ctrl+Z"),
    ActionSpec("redo", "Redo", "Ctrl+Shift+Z"),
    ActionSpec("find", "Find in the task", "Ctrl+F"),
    ActionSpec("new_query", "Write a new query", "Ctrl+Shift+N"),
    ActionSpec("flag_guideline", "Flag: guideline unclear", "Ctrl+Shift+G"),
    ActionSpec("history", "Show my history", "Ctrl+H"),
    ActionSpec("guidelines", "Show the guidelines", "Ctrl+G"),
    ActionSpec("toggle_layout", "Responses side by side / stacked", "Ctrl+L"),
    ActionSpec("cheat_sheet", "Keyboard shortcuts", "F1"),
    ActionSpec("settings", "Settings", "Ctrl+,"),
)

QUESTION_FOCUS_KEYS = "Ctrl+{n}"  # Ctrl+1 … Ctrl+9 jump to question n; its own keys then apply


class Settings:
    """Typed access to QSettings; tests pass their own organisation name to stay isolated."""

    def __init__(self, organisation: str = "LabelDesk", application: str = "LabelDesk"):
        self._qs = QSettings(organisation, application)

    def shortcut(self, action: str) -> QKeySequence:
        spec = next(a for a in ACTIONS if a.name == action)
        return QKeySequence(str(self._qs.value(f"shortcuts/{action}", spec.default)))

    def set_shortcut(self, action: str, sequence: str) -> None:
        self._qs.setValue(f"shortcuts/{action}", sequence)

    def reset_shortcuts(self) -> None:
        self._qs.remove("shortcuts")

    @property
    def last_workspace(self) -> str:
        return str(self._qs.value("workspace/last", ""))

    @last_workspace.setter
    def last_workspace(self, spec: str) -> None:
        self._qs.setValue("workspace/last", spec)

    @property
    def last_project(self) -> str:
        return str(self._qs.value("workspace/project", ""))

    @last_project.setter
    def last_project(self, name: str) -> None:
        self._qs.setValue("workspace/project", name)

    @property
    def responses_layout(self) -> str:
        return str(self._qs.value("form/responses_layout", "side"))

    @responses_layout.setter
    def responses_layout(self, value: str) -> None:
        self._qs.setValue("form/responses_layout", value)

    @property
    def idle_seconds(self) -> int:
        return int(self._qs.value("time/idle_seconds", 60))

    @idle_seconds.setter
    def idle_seconds(self, value: int) -> None:
        self._qs.setValue("time/idle_seconds", int(value))

    def sync(self) -> None:
        self._qs.sync()
