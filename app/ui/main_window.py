"""The labeling workstation: pick a project, take the next task, answer, submit.

The window never touches the database: every operation goes through the DbWorker
and comes back as frozen dataclasses. Drafts are saved as they change.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QApplication, QComboBox, QDockWidget, QLabel, QListWidget, QListWidgetItem, QMainWindow, QMessageBox,
    QStackedWidget, QToolBar, QWidget,
)

from labeldesk.app.ui.activity import ActivityTimer
from labeldesk.app.ui.dbworker import Change, DbWorker
from labeldesk.app.ui.dialogs import CheatSheet, FlagDialog, GuidelinesDialog, SettingsDialog, SkipDialog
from labeldesk.app.ui.dashboard import open_dashboard
from labeldesk.app.ui.form import TaskForm
from labeldesk.app.ui.import_wizard import open_import_wizard
from labeldesk.app.ui.review_panel import open_review
from labeldesk.app.ui.settings import ACTIONS, Settings
from labeldesk.app.workflow import authoring, projects, tasks
from labeldesk.app.workflow.projects import ProjectInfo
from labeldesk.app.workflow.tasks import Actor, GuidelinesChanged, HistoryEntry, Task
from labeldesk.storage.db import Workspace
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


def prompt_question(info: ProjectInfo) -> str | None:
    """The text question in which annotators write new queries, if the project has one."""
    return next((q["name"] for q in info.questions if q["type"] == "text" and q.get("target") == "prompt"), None)


class MainWindow(QMainWindow):
    def __init__(self, worker: DbWorker, who: Actor, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.worker = worker
        self.who = who
        self.settings = settings
        self.project: ProjectInfo | None = None
        self.task: Task | None = None
        self.authoring = False
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
        worker.failed.connect(self._error)
        worker.changed.connect(self._on_change)
        self._say("Loading projects…")
        worker.submit(projects.list_projects, done=self._projects_loaded)

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
        action = QAction("&Import…", self)
        action.setShortcut(QKeySequence("Ctrl+I"))
        action.triggered.connect(self.open_import)
        menu.addAction(action)
        self.addAction(action)

    def open_import(self) -> None:
        """Files in, with the cleaning report shown before anything is stored."""
        open_import_wizard(self, self.worker, sorted(getattr(self, "_projects", {})))

    def _build_team_menu(self) -> None:
        """Review and dashboard docks, opened per project from the Team menu."""
        menu = self.menuBar().addMenu("&Team")
        review = QAction("&Review queue", self)
        review.setShortcut(QKeySequence("Ctrl+Shift+R"))
        review.triggered.connect(lambda: self._open_team_dock("review"))
        dashboard = QAction("&Dashboard", self)
        dashboard.setShortcut(QKeySequence("Ctrl+Shift+D"))
        dashboard.triggered.connect(lambda: self._open_team_dock("dashboard"))
        for action in (review, dashboard):
            menu.addAction(action)
            self.addAction(action)
        self._team_docks: dict[str, QDockWidget] = {}

    def _open_team_dock(self, kind: str) -> None:
        if self.project is None:
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
        self.worker.submit(projects.guidelines, name, done=self._show_guidelines)
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
        self.worker.submit(tasks.next_task, self.who, self.project.name, done=self.show_task, error=self._next_failed)

    def _next_failed(self, exc: Exception) -> None:
        if isinstance(exc, GuidelinesChanged):
            dialog = GuidelinesDialog(exc.version, exc.text, self)
            if dialog.exec():
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
        if not dialog.exec():
            return
        self._autosave.stop()
        self.worker.submit(tasks.skip, self.who, self.task.item_id, dialog.text(),
                           done=lambda _: self.request_next(), change=Change("assignment", (self.task.item_id,)))
        self.task = None

    def save_draft(self) -> None:
        """Autosave: the current answers go to the database thread as a draft."""
        self._autosave.stop()
        if self.task is None or self.authoring or self.task.status == "submitted":
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
            self.worker.submit(tasks.history, self.who, self.project.name, done=self._show_history)

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
                           done=self.show_task)

    def _on_change(self, change: Change) -> None:
        if change.topic in ("annotation", "items"):
            self._load_history()

    def flag_guideline(self) -> None:
        if self.project is None:
            return
        dialog = FlagDialog("Guideline unclear", "What is unclear? Quote the rule and describe the case.", self)
        if dialog.exec() and dialog.text():
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
        self.save_draft()
        self.wait_idle()
        self.worker.stop()
        super().closeEvent(event)

    def wait_idle(self, timeout_ms: int = 5000) -> None:
        """Let queued database work (the last draft) finish before the thread stops."""
        timer = QTimer()
        timer.start(timeout_ms)
        while self.worker.busy and timer.isActive():
            QApplication.processEvents()
