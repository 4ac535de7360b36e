"""Starting the window: open the workspace (given, last used, or the demo) and wire the parts."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QMessageBox

from labeldesk.app.ui.dbworker import DbWorker
from labeldesk.app.ui.main_window import MainWindow
from labeldesk.app.ui.questions import set_media_root
from labeldesk.app.ui.settings import Settings
from labeldesk.app.ui.sign_in import sign_in_actor
from labeldesk.app.workflow import demo
from labeldesk.app.workflow.accounts import local_actor
from labeldesk.app.workflow.permissions import Actor
from labeldesk.storage.db import Workspace, WorkspaceError

def open_workspace(spec: str | None, settings: Settings) -> Workspace:
    """The given workspace, else the last one used, else the demo (created on first start)."""
    if spec:
        return Workspace.open(spec)
    if settings.last_workspace:
        try:
            return Workspace.open(settings.last_workspace)
        except WorkspaceError:
            pass
    ws = Workspace.open(demo.default_workspace(), create=True)
    demo.populate(ws, local_actor(ws))
    return ws


def build_window(ws: Workspace, settings: Settings, who: Actor | None = None) -> MainWindow:
    """The window working in `ws`, which it now owns (File > Close workspace closes it)."""
    who = who or local_actor(ws)
    set_media_root(ws.media_root)
    return MainWindow(DbWorker(ws), who, settings)


def run(spec: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("LabelDesk")
    app.setOrganizationName("LabelDesk")
    settings = Settings()
    try:
        ws = open_workspace(spec, settings)
    except WorkspaceError as exc:
        QMessageBox.critical(None, "LabelDesk", str(exc))
        return 1
    who = sign_in_actor(ws, None)
    if who is None:
        return 0
    settings.last_workspace = str(ws.location.folder or ws.location.url)
    window = build_window(ws, settings, who)
    window.show()
    return app.exec()
