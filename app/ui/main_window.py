"""The labeling workstation: pick a project, take the next task, answer, submit.

The window never touches the database: every operation goes through the DbWorker
and comes back as frozen dataclasses. Drafts are saved as they change.

The File menu opens and closes workspaces (a closed one leaves an empty window that
offers Open), imports, exports, and quits. Opening runs on the new workspace's own
database thread; the old workspace is closed only once the new one is open and signed
in to. Closing (the workspace or the window) saves the draft and stops the worker,
which never runs window code again: a load still in flight cannot open a dialog or
queue more work while the window goes away.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDockWidget, QLabel, QListWidget, QListWidgetItem, QMainWindow, QMessageBox, QPushButton,
    QStackedWidget, QToolBar, QVBoxLayout, QWidget,
)

from labeldesk.app.ui.activity import ActivityTimer
from labeldesk.app.ui.dbworker import Change, DbWorker
from labeldesk.app.ui.dialogs import (
    CheatSheet, FlagDialog, GuidelinesDialog, OpenWorkspaceDialog, SettingsDialog, SkipDialog,
)
from labeldesk.app.ui.dashboard import open_dashboard
from labeldesk.app.ui.export_dialog import open_export_dialog
from labeldesk.app.ui.form import TaskForm
from labeldesk.app.ui.import_wizard import open_import_wizard
from labeldesk.app.ui.questions import set_media_root
from labeldesk.app.ui.review_panel import open_review
from labeldesk.app.ui.settings import ACTIONS, Settings
from labeldesk.app.ui.sign_in import sign_in_actor, workspace_label
from labeldesk.app.workflow import authoring, projects, tasks
from labeldesk.app.workflow.accounts import local_actor
from labeldesk.app.workflow.projects import ProjectInfo
from labeldesk.app.workflow.tasks import Actor, GuidelinesChanged, HistoryEntry, Task
from labeldesk.storage.db import Workspace, WorkspaceError
from labeldesk.widgets.safe_text import SafeTextBrowser, render_markdown

AUTOSAVE_MS = 400


def submit_and_next(ws: Workspace, who: Actor, project: str, task: Task, values: dict[str, Any], seconds: float) -> Task | None:
    """One trip to the database thread: store the submission, lease the next task."""
    tasks.submit(ws, who, task.item_id, values, seconds, task.guideline_version)
    return tasks.next_task(ws, who, project)


def write_query_and_next(
    ws: Workspace, who: Actor, project: str, prompt_question: str, values: dict[str, Any], seconds: float, version: int,
) -> Task | None:
    answers = dict(values)
    prompt = str(answers.pop(prompt_question, ""))
    authoring.create_item(ws, who, project, [{"role": "user", "content": prompt}], answers, seconds, version)
    return tasks.next_task(ws, who, project)


@dataclass(frozen=True)
class WorkspaceFacts:
    """What the window needs of a workspace it has just opened."""

    media_root: Path | None  # None: a server workspace without a media_root setting
    local: Actor | None  # the person at the keyboard of a personal (SQLite) workspace; None: sign in


def workspace_facts(ws: Workspace) -> WorkspaceFacts:
    try:
        media_root = ws.media_root
    except WorkspaceError:
        media_root = None
    return WorkspaceFacts(media_root, local_actor(ws) if ws.location.is_sqlite else None)


def file_shortcuts(standard: QKeySequence.StandardKey, keys: str) -> list[QKeySequence]:
    """`keys` first (shown in the menu), then whatever else the platform binds to `standard`."""
    own = QKeySequence(keys)
    return [own, *(k for k in QKeySequence.keyBindings(standard) if k != own)]


def prompt_question(info: ProjectInfo) -> str | None:
    """The text question in which annotators write new queries, if the project has one."""
    return next((q["name"] for q in info.questions if q["type"] == "text" and q.get("target") == "prompt"), None)


class MainWindow(QMainWindow):
    """The workstation; `worker` None starts it empty, offering File > Open workspace."""

    def __init__(self, worker: DbWorker | None, who: Actor | None, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.worker: DbWorker | None = None
        self.who: Actor | None = None
        self.settings = settings
        self.project: ProjectInfo | None = None
        self.task: Task | None = None
        self.authoring = False
        self._projects: dict[str, ProjectInfo] = {}
        self._opening: DbWorker | None = None  # a workspace being opened by File > Open
        self._team_docks: dict[str, QDockWidget] = {}
        self.setWindowTitle("LabelDesk")
        self.resize(1400, 900)

        self.undo_stack = QUndoStack(self)
        self.form = TaskForm(self.undo_stack)
        self.form.answersChanged.connect(self._schedule_save)
        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.message)
        self.pages.addWidget(self.form)
        self.pages.addWidget(self._build_empty_page())
        self.setCentralWidget(self.pages)

        self.activity = ActivityTimer(settings.idle_seconds, self)
        self.activity.ticked.connect(self._show_time)
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.save_draft)

        self._build_docks()
        self._build_actions()
        self._build_file_menu()
        self._build_team_menu()
        self._build_status()
        if worker is not None:
            self.attach(worker, who)
        else:
            self._show_empty()

    # --- the workspace ----------------------------------------------------------------------

    def attach(self, worker: DbWorker, who: Actor) -> None:
        """Work in `worker`'s workspace as `who`: list its projects and take up the last one."""
        self.worker = worker
        self.who = who
        worker.failed.connect(self._error)
        worker.changed.connect(self._on_change)
        self.setWindowTitle(f"LabelDesk — {workspace_label(worker.workspace)} — {who.name}")
        self._set_workspace_actions(True)
        self._say("Loading projects…")
        worker.submit(projects.list_projects, done=self._projects_loaded, discardable=True)

    def open_workspace_dialog(self) -> OpenWorkspaceDialog:
        """File > Open workspace: ask where (window-modal), then open it."""
        dialog = OpenWorkspaceDialog(self.settings.last_workspace, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.open_workspace(dialog.spec()))
        dialog.open()
        return dialog

    def open_workspace(self, spec: str) -> None:
        """Open `spec` on a database thread of its own; the current workspace stays until it is open."""
        spec = spec.strip()
        if not spec or self._opening is not None:
            return
        self.statusBar().showMessage(f"Opening {spec}…")
        self._opening = DbWorker.opening(spec, done=self._workspace_opened, error=self._open_failed)

    def _workspace_opened(self, ws: Workspace) -> None:
        self._opening.submit(workspace_facts, done=self._workspace_ready, error=self._open_failed)

    def _workspace_ready(self, facts: WorkspaceFacts) -> None:
        worker = self._opening
        ws = worker.workspace
        who = facts.local or sign_in_actor(ws, self)
        if who is None:
            self._abandon_opening()
            self.statusBar().showMessage("Not signed in: the workspace was not opened.", 5000)
            return
        self._opening = None
        self.close_workspace()
        set_media_root(facts.media_root)
        self.settings.last_workspace = str(ws.location.folder or ws.location.url)
        self.statusBar().clearMessage()
        self.attach(worker, who)

    def _open_failed(self, exc: Exception) -> None:
        self._abandon_opening()
        self.statusBar().clearMessage()
        box = QMessageBox(QMessageBox.Icon.Warning, "Open workspace", f"Cannot open the workspace:\n{exc}",
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("openWorkspaceError")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _abandon_opening(self) -> None:
        worker, self._opening = self._opening, None
        if worker is not None and worker.stop() and worker.workspace is not None:
            worker.workspace.close()

    def close_workspace(self) -> None:
        """File > Close workspace: save the draft, stop the database thread, show the empty window."""
        if self.worker is None:
            return
        self.save_draft()
        worker = self.worker
        worker.failed.disconnect(self._error)
        worker.changed.disconnect(self._on_change)
        self.worker = None
        self.who = None
        self._clear_workspace_view()
        if worker.stop() and worker.workspace is not None:
            worker.workspace.close()
        self._show_empty()

    def _clear_workspace_view(self) -> None:
        self._autosave.stop()
        self.activity.stop()
        self.undo_stack.clear()
        self.project = None
        self.task = None
        self.authoring = False
        self._projects = {}
        self.project_box.blockSignals(True)
        self.project_box.clear()
        self.project_box.blockSignals(False)
        self.guidelines_view.clear()
        self.guidelines_dock.setWindowTitle("Guidelines")
        self.history_list.clear()
        for dock in self._team_docks.values():
            dock.close()
            dock.deleteLater()
        self._team_docks.clear()
        for label in (self.item_label, self.time_label, self.save_label):
            label.setText("")
        self.statusBar().clearMessage()

    def _build_empty_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("noWorkspace")
        text = QLabel("No workspace is open.")
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        button = QPushButton("Open workspace…")
        button.setObjectName("openWorkspaceButton")
        button.clicked.connect(self.open_workspace_dialog)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(text)
        layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        self.empty_page = page
        return page

    def _show_empty(self) -> None:
        self.setWindowTitle("LabelDesk")
        self._set_workspace_actions(False)
        self.pages.setCurrentWidget(self.empty_page)

    def _set_workspace_actions(self, enabled: bool) -> None:
        for action in (self.close_action, self.import_action, self.export_action, self.review_action,
                       self.dashboard_action):
            action.setEnabled(enabled)
        for name in ("next_task", "submit", "skip", "flag_guideline"):
            self.actions_by_name[name].setEnabled(enabled)
        self.actions_by_name["new_query"].setEnabled(False)  # until a project that takes new queries is chosen
        self.project_box.setEnabled(enabled)

    # --- layout -----------------------------------------------------------------------

    def _build_docks(self) -> None:
        self.guidelines_view = SafeTextBrowser()
        self.guidelines_dock = QDockWidget("Guidelines", self)
        self.guidelines_dock.setObjectName("guidelines")
        self.guidelines_dock.setWidget(self.guidelines_view)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.guidelines_dock)
        self.history_list = QListWidget()
        self.history_list.itemActivated.connect(self._reopen)
        self.history_dock = QDockWidget("My history", self)
        self.history_dock.setObjectName("history")
        self.history_dock.setWidget(self.history_list)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.history_dock)
        self.history_dock.hide()

    def _build_file_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        menu.setObjectName("fileMenu")
        self.file_menu = menu

        def action(text: str, slot, keys: list[QKeySequence] | str) -> QAction:
            act = QAction(text, self)
            act.setShortcuts(keys if isinstance(keys, list) else [QKeySequence(keys)])
            act.triggered.connect(slot)
            menu.addAction(act)
            self.addAction(act)  # the keys work with the menu bar hidden, too
            return act

        self.open_action = action("&Open workspace…", self.open_workspace_dialog,
                                  file_shortcuts(QKeySequence.StandardKey.Open, "Ctrl+O"))
        self.close_action = action("&Close workspace", self.close_workspace,
                                   file_shortcuts(QKeySequence.StandardKey.Close, "Ctrl+W"))
        menu.addSeparator()
        self.import_action = action("&Import…", self.open_import, "Ctrl+I")
        self.export_action = action("&Export…", self.open_export, "Ctrl+Shift+E")
        menu.addSeparator()
        settings = self.actions_by_name["settings"]
        settings.setText("&Settings…")
        settings.setMenuRole(QAction.MenuRole.PreferencesRole)
        menu.addAction(settings)
        menu.addSeparator()
        self.quit_action = action("&Quit", self.close, file_shortcuts(QKeySequence.StandardKey.Quit, "Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

    def open_import(self) -> None:
        """Files in, with the cleaning report shown before anything is stored."""
        if self.worker is not None:
            open_import_wizard(self, self.worker, self.who, sorted(self._projects))

    def open_export(self) -> None:
        """The current project out, in a format of the user's choice, off the GUI thread."""
        if self.worker is None:
            return
        folder = self.worker.workspace.location.folder
        dialog = open_export_dialog(self, self.worker, self.who, sorted(self._projects),
                                    self.project.name if self.project else None,
                                    folder / "exports" if folder is not None else Path.home())
        dialog.exported.connect(lambda result: self.statusBar().showMessage(
            f"Exported {result.records} record(s) of {result.project}.", 8000))

    def _build_team_menu(self) -> None:
        """Review and dashboard docks, opened per project from the Team menu."""
        menu = self.menuBar().addMenu("&Team")
        review = self.review_action = QAction("&Review queue", self)
        review.setShortcut(QKeySequence("Ctrl+Shift+R"))
        review.triggered.connect(lambda: self._open_team_dock("review"))
        dashboard = self.dashboard_action = QAction("&Dashboard", self)
        dashboard.setShortcut(QKeySequence("Ctrl+Shift+D"))
        dashboard.triggered.connect(lambda: self._open_team_dock("dashboard"))
        for action in (review, dashboard):
            menu.addAction(action)
            self.addAction(action)

    def _open_team_dock(self, kind: str) -> None:
        if self.project is None or self.worker is None:
            return
        old = self._team_docks.pop(kind, None)
        if old is not None:
            old.close()
            old.deleteLater()
        opener = open_review if kind == "review" else open_dashboard
        dock = QDockWidget(f"{'Review' if kind == 'review' else 'Dashboard'} · {self.project.name}", self)
        dock.setObjectName(kind)
        dock.setWidget(opener(dock, self.worker, self.who, self.project.name))
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self._team_docks[kind] = dock
        dock.show()
        dock.raise_()

    def _build_actions(self) -> None:
        toolbar = QToolBar("Task")
        toolbar.setObjectName("task-toolbar")
        self.addToolBar(toolbar)
        self.project_box = QComboBox()
        self.project_box.setMinimumWidth(260)
        self.project_box.currentTextChanged.connect(self._project_chosen)
        toolbar.addWidget(QLabel(" Project "))
        toolbar.addWidget(self.project_box)
        handlers = {
            "next_task": self.request_next, "submit": self.submit, "skip": self.skip,
            "undo": self.undo_stack.undo, "redo": self.undo_stack.redo, "find": self.form.show_find,
            "new_query": self.new_query, "flag_guideline": self.flag_guideline,
            "history": lambda: self.history_dock.setVisible(not self.history_dock.isVisible()),
            "guidelines": lambda: self.guidelines_dock.setVisible(not self.guidelines_dock.isVisible()),
            "toggle_layout": self.toggle_layout, "cheat_sheet": self.show_cheat_sheet, "settings": self.show_settings,
        }
        self.actions_by_name: dict[str, QAction] = {}
        for spec in ACTIONS:
            action = QAction(spec.title, self)
            action.setShortcut(self.settings.shortcut(spec.name))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(handlers[spec.name])
            self.addAction(action)
            self.actions_by_name[spec.name] = action
            if spec.name in ("next_task", "submit", "skip", "undo", "redo", "new_query", "flag_guideline"):
                toolbar.addAction(action)
        self.undo_stack.canUndoChanged.connect(self.actions_by_name["undo"].setEnabled)
        self.undo_stack.canRedoChanged.connect(self.actions_by_name["redo"].setEnabled)
        self.actions_by_name["undo"].setEnabled(self.undo_stack.canUndo())  # the signals only tell changes
        self.actions_by_name["redo"].setEnabled(self.undo_stack.canRedo())
        QShortcut(QKeySequence("?"), self, self.show_cheat_sheet, context=Qt.ShortcutContext.WindowShortcut).setAutoRepeat(False)
        for n in range(1, 10):
            QShortcut(QKeySequence(f"Ctrl+{n}"), self, partial(self.form.focus_question, n))

    def _build_status(self) -> None:
        self.item_label = QLabel()
        self.time_label = QLabel()
        self.save_label = QLabel()
        for widget in (self.item_label, self.time_label, self.save_label):
            self.statusBar().addPermanentWidget(widget)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.pages.setCurrentWidget(self.message)

    def _error(self, text: str) -> None:
        self.statusBar().showMessage(f"⚠ {text}", 10000)

    # --- projects ---------------------------------------------------------------------

    def _projects_loaded(self, found: list[ProjectInfo]) -> None:
        self._projects = {p.name: p for p in found}
        if not found:
            self._say("This workspace has no projects yet.\nCreate one with `labeldesk project create NAME --kind KIND`.")
            return
        self.project_box.blockSignals(True)
        self.project_box.clear()
        self.project_box.addItems(sorted(self._projects))
        self.project_box.blockSignals(False)
        last = self.settings.last_project
        self.project_box.setCurrentText(last if last in self._projects else sorted(self._projects)[0])
        self._project_chosen(self.project_box.currentText())

    def _project_chosen(self, name: str) -> None:
        if not name or (self.project is not None and self.project.name == name):
            return
        self.save_draft()
        self.project = self._projects[name]
        self.settings.last_project = name
        self.actions_by_name["new_query"].setEnabled(prompt_question(self.project) is not None)
        self.worker.submit(projects.guidelines, name, done=self._show_guidelines, discardable=True)
        self._load_history()
        self.request_next()

    def _show_guidelines(self, found: tuple[int, str]) -> None:
        version, text = found
        render_markdown(self.guidelines_view, text)
        self.guidelines_dock.setWindowTitle(f"Guidelines · v{version}")

    # --- tasks ------------------------------------------------------------------------

    def request_next(self) -> None:
        if self.project is None:
            return
        self.save_draft()
        self.worker.submit(tasks.next_task, self.who, self.project.name, done=self.show_task, error=self._next_failed,
                           discardable=True)

    def _next_failed(self, exc: Exception) -> None:
        if isinstance(exc, GuidelinesChanged):
            worker = self.worker
            dialog = GuidelinesDialog(exc.version, exc.text, self)
            accepted = dialog.exec()
            if self.worker is not worker or worker.stopped or self.project is None:  # closed meanwhile
                return
            if accepted:
                self._show_guidelines((exc.version, exc.text))
                self.worker.submit(tasks.acknowledge, self.who, self.project.name, exc.version, done=lambda _: self.request_next())
            else:
                self._say(f"Read and acknowledge guideline version {exc.version} to continue (Ctrl+N).")
            return
        self._error(str(exc))

    def show_task(self, task: Task | None) -> None:
        self.authoring = False
        self.task = task
        self.undo_stack.clear()
        if task is None:
            self.activity.stop()
            self._say(f"No more tasks for you in {self.project.name}. 🎉\nWrite new queries (Ctrl+Shift+N) where the project allows it.")
            self.item_label.setText("")
            return
        self.form.show_task(list(self.project.questions), task, self.settings.responses_layout)
        self.pages.setCurrentWidget(self.form)
        self.activity.restart(task.active_seconds)
        state = "submitted — editing until reviewed" if task.status == "submitted" else "draft"
        self.item_label.setText(f"{task.uid} · {state} · guidelines v{task.guideline_version}")
        self.save_label.setText("")

    def new_query(self) -> None:
        if self.project is None or prompt_question(self.project) is None:
            return
        self.save_draft()
        version = self.task.guideline_version if self.task else self.project.guideline_version
        blank = Task(item_id=0, uid="(new query)", kind=self.project.kind, project=self.project.name, content={},
                     provenance={}, meta={}, values={}, status="draft", active_seconds=0.0, guideline_version=version)
        self.show_task(blank)
        self.authoring = True
        self.item_label.setText("writing a new query")

    def submit(self) -> None:
        if self.task is None or self.project is None:
            return
        missing = self.form.missing_required()
        if missing:
            self._error(f"answer the required question(s) first: {', '.join(missing)}")
            self.form.focus_question(list(self.form.editors).index(missing[0]) + 1)
            return
        self._autosave.stop()
        seconds = self.activity.stop()
        values = self.form.values()
        self.save_label.setText("Submitting…")
        if self.authoring:
            op = partial(write_query_and_next, who=self.who, project=self.project.name,
                         prompt_question=prompt_question(self.project), values=values, seconds=seconds,
                         version=self.task.guideline_version)
            self.worker.submit(lambda ws: op(ws), done=self._submitted, error=self._next_failed, change=Change("items"))
        else:
            self.worker.submit(submit_and_next, self.who, self.project.name, self.task, values, seconds,
                               done=self._submitted, error=self._next_failed, change=Change("annotation", (self.task.item_id,)))

    def _submitted(self, following: Task | None) -> None:
        self.statusBar().showMessage("Submitted.", 3000)
        self.show_task(following)

    def skip(self) -> None:
        if self.task is None or self.authoring:
            return
        dialog = SkipDialog(self)
        if not dialog.exec() or self.task is None:
            return
        self._autosave.stop()
        self.worker.submit(tasks.skip, self.who, self.task.item_id, dialog.text(),
                           done=lambda _: self.request_next(), change=Change("assignment", (self.task.item_id,)))
        self.task = None

    def save_draft(self) -> None:
        """Autosave: the current answers go to the database thread as a draft."""
        self._autosave.stop()
        if self.worker is None or self.worker.stopped or self.task is None or self.authoring or self.task.status == "submitted":
            return
        self.save_label.setText("Saving…")
        self.worker.submit(tasks.save_draft, self.who, self.task.item_id, self.form.values(), self.activity.seconds,
                           done=lambda _: self.save_label.setText("Draft saved"))

    def _schedule_save(self) -> None:
        self.save_label.setText("Edited")
        self._autosave.start()

    # --- history, flags, settings ---------------------------------------------------------

    def _load_history(self) -> None:
        if self.project is not None:
            self.worker.submit(tasks.history, self.who, self.project.name, done=self._show_history, discardable=True)

    def _show_history(self, entries: list[HistoryEntry]) -> None:
        self.history_list.clear()
        for entry in entries:
            when = entry.submitted_at.strftime("%Y-%m-%d %H:%M") if entry.submitted_at else ""
            mark = "✔ reviewed" if entry.reviewed else "editable"
            item = QListWidgetItem(f"{when}  {entry.uid}  ({mark})\n{entry.preview}")
            item.setData(Qt.ItemDataRole.UserRole, entry.item_id)
            self.history_list.addItem(item)

    def _reopen(self, item: QListWidgetItem) -> None:
        self.save_draft()
        self.worker.submit(tasks.open_task, self.who, self.project.name, int(item.data(Qt.ItemDataRole.UserRole)),
                           done=self.show_task, discardable=True)

    def _on_change(self, change: Change) -> None:
        if change.topic in ("annotation", "items"):
            self._load_history()

    def flag_guideline(self) -> None:
        if self.project is None:
            return
        dialog = FlagDialog("Guideline unclear", "What is unclear? Quote the rule and describe the case.", self)
        if dialog.exec() and dialog.text() and self.project is not None:
            item_id = self.task.item_id if self.task and not self.authoring else None
            self.worker.submit(authoring.flag, self.who, self.project.name, "guideline-unclear", dialog.text(), item_id,
                               done=lambda _: self.statusBar().showMessage("Sent to the lead.", 4000))

    def toggle_layout(self) -> None:
        self.settings.responses_layout = "stacked" if self.settings.responses_layout == "side" else "side"
        if self.task is not None:
            values = self.form.values()
            self.form.show_task(list(self.project.questions), self.task, self.settings.responses_layout)
            for name, value in values.items():
                self.form.editors[name].set_value(value)

    def show_cheat_sheet(self) -> None:
        CheatSheet(self.settings, self).exec()

    def show_settings(self) -> None:
        if SettingsDialog(self.settings, self).exec():
            for spec in ACTIONS:
                self.actions_by_name[spec.name].setShortcut(self.settings.shortcut(spec.name))
            self.activity.idle_seconds = self.settings.idle_seconds

    def _show_time(self, seconds: float) -> None:
        self.time_label.setText(f"active {int(seconds) // 60}:{int(seconds) % 60:02d}")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        """Save the draft and stop the database threads; no event is processed meanwhile.

        The worker runs the queued writes (the draft) in order, skips the queued reads and
        drops every callback, so nothing of a load still in flight reaches the window; the
        window's own dialogs are dismissed, so none is left open by a closed window.
        """
        self.save_draft()
        self._abandon_opening()
        if self.worker is not None:
            self.worker.stop()
        for dialog in self.findChildren(QDialog):  # a dialog's exec() (guidelines, skip…) returns now
            if dialog.isVisible():
                dialog.reject()
        super().closeEvent(event)
