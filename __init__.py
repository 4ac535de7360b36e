"""LabelDesk: build the data LLMs are trained on.

The package is the repository root: ``labeldesk.app`` (workflow services, window, command line),
``labeldesk.storage``, ``labeldesk.media``, ``labeldesk.widgets`` and ``labeldesk.resources``.
The scripting API (``labeldesk.open_workspace``, ``create_project``, ``import_files``, ``export``,
``iter_records``, ``next_task``, ``submit``…) is documented in ``labeldesk.app.api``; it loads on
first use, so ``import labeldesk`` (and ``labeldesk --help``) stay as fast as Python starts.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"

_API = "labeldesk.app.api"
__all__ = [
    "Actor", "ExportSummary", "GuidelinesChanged", "ImportReport", "ProjectInfo", "Task", "Workspace",
    "acknowledge", "create_project", "export", "get_project", "import_files", "iter_records", "list_projects", "next_task",
    "open_workspace", "sign_in", "submit",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'labeldesk' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_API), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
