"""The import wizard: pick files, see what reading and cleaning them will do, then import.

Nothing is written before "Import". The steps are those `labeldesk import --clean` runs
(app.workflow.importer.import_files), each on the right thread and as the signed-in user:

1. `import_context` on the database thread: the project, and the texts of the other
   projects cleaning compares with (refused at once to who may not import);
2. `prepare_import` on a thread of its own (reading and cleaning are long CPU work and
   touch no database), with progress and cancel;
3. `commit_import` on the database thread, when the user presses "Import".

The report page shows the Markdown report `labeldesk clean --markdown` writes, rendered
as untrusted text (SafeTextBrowser: the examples quote the data being imported).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QThread, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QProgressBar,
    QPushButton, QVBoxLayout, QWidget, QWizard, QWizardPage,
)
from shiboken6 import isValid

from labeldesk.app.ui.dbworker import Change, DbWorker
from labeldesk.app.workflow.clean import CleanCancelled, CleanConfig
from labeldesk.app.workflow.importer import ImportReport, PreparedImport, commit_import, import_context, prepare_import
from labeldesk.app.workflow.permissions import Actor
from labeldesk.app.workflow.prepare import STAGES, Reference
from labeldesk.app.workflow.projects import ProjectInfo
from labeldesk.storage.vocabulary import IMPORT_FORMATS
from labeldesk.widgets.safe_text import SafeTextBrowser

SKIPPED_SHOWN = 50  # rows listed on the report page; the rest are counted


@dataclass(frozen=True)
class ImportChoice:
    """What the first page asked for."""

    paths: tuple[str, ...]
    fmt: str
    project: str
    clean: CleanConfig | None
    skip_invalid: bool


def preview_markdown(prepared: PreparedImport) -> str:
    """The report page's text: the cleaning report (as the command line writes it) and the rows left out."""
    if prepared.cleaning is not None:
        text = prepared.cleaning.to_markdown()
    else:
        text = f"# Import preview — project {prepared.project.name}\n\nCleaning is off: the rows are stored as read.\n"
    if prepared.skipped:
        text += f"\n## Rows that will not be imported ({len(prepared.skipped)})\n\n"
        text += "".join(f"- `{e.location}` {e.field + ': ' if e.field else ''}{e.reason}\n"
                        for e in prepared.skipped[:SKIPPED_SHOWN])
        if len(prepared.skipped) > SKIPPED_SHOWN:
            text += f"- … and {len(prepared.skipped) - SKIPPED_SHOWN} more\n"
    return text


def ready_text(prepared: PreparedImport) -> str:
    """One line above the report: what Import will store."""
    text = f"{prepared.read} row(s) read, {len(prepared.pending)} item(s) ready to import"
    if prepared.skipped:
        text += f", {len(prepared.skipped)} row(s) left out"
    if prepared.cleaning is not None:
        d = prepared.cleaning.decisions()
        text += f"; cleaning: {d['changed']} changed, {d['removed']} removed, {d['review']} held for review"
    return text + "."


class PrepareThread(QThread):
    """Runs prepare_import off the GUI thread; `cancel()` stops it at the next chunk."""

    progressed = Signal(str, int, int)  # stage, done, total (-1: not known yet)
    prepared = Signal(object)  # PreparedImport
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, choice: ImportChoice, project: ProjectInfo, references: Sequence[Reference],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.choice = choice
        self.project = project
        self.references = references
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def _progress(self, stage: str, done: int, total: int | None) -> None:
        self.progressed.emit(stage, done, -1 if total is None else total)

    def run(self) -> None:
        c = self.choice
        try:
            result = prepare_import(self.project, c.paths, c.fmt, c.skip_invalid, clean=c.clean, references=self.references,
                                    progress=self._progress, cancel=self._cancel)
        except CleanCancelled:
            self.cancelled.emit()
            return
        except Exception as exc:  # any failure is a message on the page, never a dead thread
            self.failed.emit(str(exc))
            return
        self.prepared.emit(result)


class SourcePage(QWizardPage):
    """Files, format, target project and the cleaning configuration."""

    def __init__(self, project_names: Sequence[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle("Import data")
        self.setSubTitle("Choose the files and the project. Nothing is written until you press Import.")
        self.files = QListWidget()
        self.files.setMinimumHeight(110)
        add_files = QPushButton("Add files…")
        add_files.clicked.connect(self._add_files)
        add_folder = QPushButton("Add folder…")
        add_folder.clicked.connect(self._add_folder)
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove_selected)
        buttons = QVBoxLayout()
        for b in (add_files, add_folder, remove):
            buttons.addWidget(b)
        buttons.addStretch(1)
        file_row = QHBoxLayout()
        file_row.addWidget(self.files, 1)
        file_row.addLayout(buttons)

        self.format = QComboBox()
        self.format.addItems(("auto", *IMPORT_FORMATS))
        self.project = QComboBox()
        self.project.addItems(list(project_names))
        self.clean = QCheckBox("Clean before importing (encoding, duplicates, private data, filters)")
        self.clean.setChecked(True)
        self.config = QLineEdit()
        self.config.setPlaceholderText("built-in defaults")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_config)
        config_row = QHBoxLayout()
        config_row.addWidget(self.config, 1)
        config_row.addWidget(browse)
        self.clean.toggled.connect(self.config.setEnabled)
        self.clean.toggled.connect(browse.setEnabled)
        self.skip_invalid = QCheckBox("Skip invalid rows and import the rest")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020")

        form = QFormLayout()
        form.addRow("Project", self.project)
        form.addRow("Format", self.format)
        form.addRow("", self.clean)
        form.addRow("Cleaning configuration", config_row)
        form.addRow("", self.skip_invalid)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Files (JSONL, JSON, CSV, Parquet, Label Studio JSON, zipped packages)"))
        layout.addLayout(file_row)
        layout.addLayout(form)
        layout.addWidget(self.error)
        self._choice: ImportChoice | None = None

    def add_paths(self, paths: Sequence[str]) -> None:
        known = {self.files.item(i).text() for i in range(self.files.count())}
        for path in paths:
            if path and path not in known:
                self.files.addItem(path)
        self.completeChanged.emit()

    def _add_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Files to import", "",
                                                "Data (*.jsonl *.json *.csv *.tsv *.parquet *.zip);;All files (*)")
        self.add_paths(paths)

    def _add_folder(self) -> None:
        self.add_paths([QFileDialog.getExistingDirectory(self, "Folder to import")])

    def _remove_selected(self) -> None:
        for item in self.files.selectedItems():
            self.files.takeItem(self.files.row(item))
        self.completeChanged.emit()

    def _browse_config(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Cleaning configuration", "", "YAML (*.yaml *.yml)")
        if path:
            self.config.setText(path)

    def isComplete(self) -> bool:  # noqa: N802 (Qt API)
        return self.files.count() > 0 and bool(self.project.currentText())

    def validatePage(self) -> bool:  # noqa: N802 (Qt API)
        clean = None
        if self.clean.isChecked():
            path = self.config.text().strip()
            try:
                clean = CleanConfig.from_yaml(path) if path else CleanConfig.default()
            except (ValueError, OSError) as exc:  # ConfigError is a ValueError
                self.error.setText(f"Cleaning configuration: {exc}")
                return False
        self.error.clear()
        self._choice = ImportChoice(
            tuple(self.files.item(i).text() for i in range(self.files.count())), self.format.currentText(),
            self.project.currentText(), clean, self.skip_invalid.isChecked(),
        )
        return True

    def choice(self) -> ImportChoice:
        assert self._choice is not None, "validatePage runs before the next page asks"
        return self._choice


class ReportPage(QWizardPage):
    """Reads and cleans in the background, shows the report, commits on "Import"."""

    def __init__(self, worker: DbWorker, who: Actor, source: SourcePage, parent: QWidget | None = None):
        super().__init__(parent)
        self.worker = worker
        self.who = who
        self.source = source
        self.setTitle("What the import will do")
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Import")
        self.stage = QLabel()
        self.stage.setWordWrap(True)
        self.bar = QProgressBar()
        self.stop = QPushButton("Cancel reading")
        self.stop.clicked.connect(self._cancel)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.bar, 1)
        progress_row.addWidget(self.stop)
        self.report = SafeTextBrowser()
        self.report.setMinimumHeight(320)
        layout = QVBoxLayout(self)
        layout.addWidget(self.stage)
        layout.addLayout(progress_row)
        layout.addWidget(self.report, 1)
        self.prepared: PreparedImport | None = None
        self.result: ImportReport | None = None
        self._thread: PrepareThread | None = None
        self._committing = False

    # --- reading and cleaning ------------------------------------------------------------

    def initializePage(self) -> None:  # noqa: N802 (Qt API)
        self.prepared = None
        self.result = None
        self.report.set_plain_text("")
        choice = self.source.choice()
        self._show_stage("loading", 0, -1)
        self.bar.show()
        self.stop.show()
        self.worker.submit(import_context, self.who, choice.project, choice.clean,
                           done=lambda ctx: self._start(choice, *ctx), error=self._failed_exc)
        self.completeChanged.emit()

    def _start(self, choice: ImportChoice, project: ProjectInfo, references: list[Reference]) -> None:
        # the wizard may have been closed, or the user went back, while the database thread worked
        if not isValid(self) or self.wizard() is None or self.wizard().currentPage() is not self:
            return
        thread = PrepareThread(choice, project, references, self)
        thread.progressed.connect(self._show_stage)
        thread.prepared.connect(self._prepared)
        thread.failed.connect(self._failed)
        thread.cancelled.connect(lambda: self._failed("Cancelled: nothing was read into the workspace."))
        self._thread = thread
        thread.start()

    def _show_stage(self, stage: str, done: int, total: int) -> None:
        self.stage.setText(STAGES.get(stage, stage) + "…")
        if total < 0:
            self.bar.setRange(0, 0)  # busy: the total is not known yet
        else:
            self.bar.setRange(0, max(total, 1))
            self.bar.setValue(min(done, max(total, 1)))

    def _prepared(self, prepared: PreparedImport) -> None:
        self.prepared = prepared
        self._finish_progress(f"<b>{ready_text(prepared)}</b><br>Nothing is written until you press Import.")
        self.report.set_markdown(preview_markdown(prepared))
        self.completeChanged.emit()

    def _failed_exc(self, exc: Exception) -> None:
        if isValid(self):
            self._failed(str(exc))

    def _failed(self, message: str) -> None:
        self._finish_progress("Nothing will be imported.")
        self.report.set_plain_text(message)
        self.completeChanged.emit()

    def _finish_progress(self, text: str) -> None:
        self.stage.setText(text)
        self.bar.hide()
        self.stop.hide()

    def _cancel(self) -> None:
        if self._thread is not None:
            self._thread.cancel()

    def stop_reading(self) -> None:
        """Cancel reading and wait for the thread: it must not outlive the page."""
        if self._thread is not None:
            self._thread.cancel()
            self._thread.wait()
            self._thread = None

    def cleanupPage(self) -> None:  # noqa: N802 (Qt API) — the user went back
        self.stop_reading()

    # --- committing ------------------------------------------------------------------------

    @property
    def committing(self) -> bool:
        return self._committing

    def isComplete(self) -> bool:  # noqa: N802 (Qt API)
        return self.prepared is not None and not self._committing

    def validatePage(self) -> bool:  # noqa: N802 (Qt API)
        if self.result is not None:
            return True
        if self.prepared is None or self._committing:
            return False
        self._committing = True
        self.stage.setText(STAGES["write"] + "…")
        self.bar.setRange(0, 0)
        self.bar.show()
        self.completeChanged.emit()
        self.worker.submit(commit_import, self.who, self.prepared, done=self._committed, error=self._commit_failed, change=Change("items"))
        return False  # the wizard moves on when the database thread is done

    def _committed(self, report: ImportReport) -> None:
        self._committing = False
        self.result = report
        self._finish_progress("Imported.")
        if self.wizard() is not None:
            self.wizard().next()

    def _commit_failed(self, exc: Exception) -> None:
        self._committing = False
        self._finish_progress("The import failed: nothing was written.")
        self.report.set_plain_text(str(exc))
        self.prepared = None
        self.completeChanged.emit()


class DonePage(QWizardPage):
    def __init__(self, report_page: ReportPage, parent: QWidget | None = None):
        super().__init__(parent)
        self.report_page = report_page
        self.setTitle("Import finished")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        QVBoxLayout(self).addWidget(self.summary)

    def initializePage(self) -> None:  # noqa: N802 (Qt API)
        self.summary.setText(done_text(self.report_page.result))


def done_text(report: ImportReport | None) -> str:
    if report is None:
        return ""
    text = (f"Imported {report.imported} item(s) and {report.annotations} annotation(s) into {report.project}: "
            f"{report.unchanged} already there, {len(report.skipped)} row(s) skipped.")
    if report.cleaning is not None:
        d = report.cleaning.decisions()
        text += (f"\n\nCleaning changed {d['changed']} of the new items, removed {d['removed']} and sent {d['review']} "
                 "to review. Removed items stay in the workspace with the reason in their provenance.")
    return text


class ImportWizard(QWizard):
    def __init__(self, worker: DbWorker, who: Actor, project_names: Sequence[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Import data")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage)  # the import is done: nothing to cancel
        self.resize(900, 680)
        self.source = SourcePage(project_names)
        self.report_page = ReportPage(worker, who, self.source)
        self.done_page = DonePage(self.report_page)
        for page in (self.source, self.report_page, self.done_page):
            self.addPage(page)

    def done(self, result: int) -> None:
        if self.report_page.committing:
            return  # the write is under way: it finishes, then the wizard can close
        self.report_page.stop_reading()
        super().done(result)


def open_import_wizard(parent: QWidget | None, worker: DbWorker, who: Actor, project_names: Sequence[str]) -> None:
    """Show the import wizard (window-modal) for `who`; it deletes itself when closed."""
    wizard = ImportWizard(worker, who, project_names, parent)
    wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    wizard.open()


__all__ = ["ImportWizard", "ImportChoice", "PrepareThread", "open_import_wizard", "preview_markdown"]
