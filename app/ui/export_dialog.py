"""File > Export: one project to one export format, on the database thread.

The dialog asks what `labeldesk export` asks (project, format, which items, pairing for
the training views, where to write) and runs `app.workflow.export.export` through the
DbWorker. The export reports progress every few thousand records on the database thread;
the dialog reads the count on a timer, so no Qt object crosses threads. Cancel is asked
for at the next progress report (the export raises, and its temporary file is removed);
stopping the worker (closing the window) cancels the same way. A cancelled file export
leaves nothing behind (files are written under a temporary name); a cancelled transcript
export keeps the per-item files written so far.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
    QPushButton, QVBoxLayout, QWidget,
)

from labeldesk.app.ui.dbworker import DbWorker
from labeldesk.app.ui.guarded import submit_guarded
from labeldesk.app.ui.sign_in import ERROR_STYLE
from labeldesk.app.workflow.export import FORMATS, default_name, export
from labeldesk.app.workflow.permissions import Actor
from labeldesk.app.workflow.records import INCLUDE
from labeldesk.storage.db import Workspace
from labeldesk.storage.vocabulary import PAIRINGS, TRANSCRIPT_FORMATS, VIEWS

POLL_MS = 150
FORMAT_HELP = {
    "records": "every item with its annotations, one labeldesk/record@1 per line",
    "sft": "training view: prompt and chosen response",
    "dpo": "training view: chosen / rejected pairs",
    "safety": "training view: safety labels",
    "eval": "training view: evaluation rows",
    "labelstudio": "Label Studio tasks (.json) and a labeling config (.xml)",
}


class ExportCancelled(Exception):
    """The user (or the window closing) stopped an export."""

    def __str__(self) -> str:
        return "export cancelled"


@dataclass(frozen=True)
class ExportResult:
    """What the GUI is shown of an ExportSummary."""

    project: str
    format: str
    files: tuple[str, ...]
    records: int
    rows: int


class ExportProgress:
    """The `progress` callback export() calls on the database thread.

    It keeps the count in a plain attribute that the dialog reads on a timer, and raises
    ExportCancelled once a cancel was asked for or the worker is stopping.
    """

    def __init__(self, stopping: threading.Event):
        self.done = 0
        self.cancel = threading.Event()
        self._stopping = stopping

    def __call__(self, done: int, _total: int | None) -> None:
        if self.cancel.is_set() or self._stopping.is_set():
            raise ExportCancelled()
        self.done = done


def run_export(
    ws: Workspace, project: str, fmt: str, out: Path, include: str, pairing: str, progress: ExportProgress,
    actor: Actor,
) -> ExportResult:
    """On the database thread: the export, answered with a frozen result."""
    summary = export(ws, project, fmt, Path(out), include, pairing, progress, actor=actor)
    return ExportResult(summary.project, summary.format, tuple(summary.files), summary.records, summary.rows)


def result_text(result: ExportResult) -> str:
    text = f"Exported {result.records} record(s) of {result.project} as {result.format}"
    if result.rows and result.rows != result.records:
        text += f" ({result.rows} row(s))"
    if len(result.files) == 1:
        return f"{text} to {result.files[0]}."
    return f"{text}: {len(result.files)} file(s) in {Path(result.files[0]).parent if result.files else '—'}."


class ExportDialog(QDialog):
    """Choose, export, see the outcome; the dialog stays open to show it."""

    exported = Signal(object)  # ExportResult

    def __init__(
        self, worker: DbWorker, who: Actor, project_names: Sequence[str], current: str | None, out_dir: Path,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.worker = worker
        self.who = who
        self.out_dir = out_dir
        self.progress: ExportProgress | None = None
        self._close_when_done = False
        self.setWindowTitle("Export")
        self.setMinimumWidth(560)

        self.project = QComboBox()
        self.project.addItems(list(project_names))
        if current:
            self.project.setCurrentText(current)
        self.format = QComboBox()
        for fmt in FORMATS:
            self.format.addItem(fmt)
            self.format.setItemData(self.format.count() - 1, FORMAT_HELP.get(fmt, f"{fmt} transcript per media item"),
                                    Qt.ItemDataRole.ToolTipRole)
        self.format_help = QLabel()
        self.format_help.setWordWrap(True)
        self.include = QComboBox()
        self.include.addItems(list(INCLUDE))
        self.include.setToolTip("all items, only annotated ones, or only accepted (and adjudicated) ones")
        self.pairing = QComboBox()
        self.pairing.addItems(list(PAIRINGS))
        self.pairing.setToolTip("how preference pairs are built for the training views")
        self.out = QLineEdit()
        self.out.setAccessibleName("Output path")
        self.out.textEdited.connect(self._out_edited)
        self._out_touched = False
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)

        form = QFormLayout()
        form.addRow("&Project", self.project)
        form.addRow("&Format", self.format)
        form.addRow("", self.format_help)
        form.addRow("&Include", self.include)
        form.addRow("P&airing", self.pairing)
        out_label = QLabel("&Output")  # a row of a layout gets no buddy by itself
        out_label.setBuddy(self.out)
        form.addRow(out_label, out_row)

        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # export() does not know the total in advance
        self.bar.setTextVisible(False)
        self.bar.hide()
        self.status = QLabel()
        self.status.setObjectName("exportStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.export_button.setText("Export")
        self.export_button.setDefault(True)
        self.close_button = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self._inputs = (self.project, self.format, self.include, self.pairing, self.out, browse)

        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._show_progress)
        self.format.currentTextChanged.connect(self._format_changed)
        self._format_changed(self.format.currentText())
        self.export_button.setEnabled(bool(project_names))
        if not project_names:
            self._show_status("This workspace has no project to export.", error=True)

    # --- choices ------------------------------------------------------------------------

    def _format_changed(self, fmt: str) -> None:
        self.format_help.setText(FORMAT_HELP.get(fmt, f"one {fmt} transcript per media item, in the output folder"))
        self.pairing.setEnabled(fmt in VIEWS)
        if not self._out_touched:
            self.out.setText(str(self.out_dir / default_name(fmt)))

    def _out_edited(self, _text: str) -> None:
        self._out_touched = True

    def _browse(self) -> None:
        fmt = self.format.currentText()
        if fmt in TRANSCRIPT_FORMATS:
            chosen = QFileDialog.getExistingDirectory(self, "Export transcripts into", self.out.text())
        else:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export to", self.out.text(), "JSON Lines (*.jsonl);;Parquet (*.parquet);;JSON (*.json);;All files (*)")
        if chosen:
            self.out.setText(chosen)
            self._out_touched = True

    # --- running ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """An export is on its way (once the worker is stopped, no answer will come)."""
        return self.progress is not None and not self.worker.stopped

    def start(self) -> None:
        """Export with the current choices, off the GUI thread."""
        if self.running:
            return
        out = self.out.text().strip()
        if not out:
            self._show_status("Choose where to write the export.", error=True)
            self.out.setFocus()
            return
        self.progress = ExportProgress(self.worker.stopping)
        op = partial(run_export, actor=self.who)
        ticket = submit_guarded(
            self.worker, self, op, self.project.currentText(), self.format.currentText(), Path(out).expanduser(),
            self.include.currentText(), self.pairing.currentText(), self.progress,
            done=self._finished, error=self._failed,
        )
        if not ticket:
            self.progress = None
            self._show_status("The workspace is closed.", error=True)
            return
        for widget in self._inputs:
            widget.setEnabled(False)
        self.export_button.setEnabled(False)
        self.close_button.setText("Cancel")
        self.bar.show()
        self._show_status("Exporting…")
        self._poll.start()

    def _show_progress(self) -> None:
        if self.progress is not None and self.progress.done and not self.progress.cancel.is_set():
            self._show_status(f"Exporting… {self.progress.done} record(s) so far")

    def _ended(self) -> None:
        self._poll.stop()
        self.progress = None
        self.bar.hide()
        for widget in self._inputs:
            widget.setEnabled(True)
        self.pairing.setEnabled(self.format.currentText() in VIEWS)
        self.export_button.setEnabled(True)
        self.close_button.setText("Close")

    def _finished(self, result: ExportResult) -> None:
        cancelled = self.progress is not None and self.progress.cancel.is_set()
        self._ended()
        text = result_text(result)
        self._show_status(f"{text}\n(It finished before the cancel took effect.)" if cancelled else text)
        self.exported.emit(result)
        if self._close_when_done:
            super().reject()

    def _failed(self, exc: Exception) -> None:
        self._ended()
        if isinstance(exc, ExportCancelled):
            self._show_status("Export cancelled.")
        else:
            self._show_status(f"Export failed: {exc}", error=True)
        if self._close_when_done:
            super().reject()

    def reject(self) -> None:
        """Close, or while exporting: cancel at the next progress report, then close."""
        if not self.running:
            super().reject()
            return
        self.progress.cancel.set()
        self._close_when_done = True
        self.close_button.setEnabled(False)
        self._show_status("Cancelling…")

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self.running:
            event.ignore()
            self.reject()
            return
        super().closeEvent(event)

    def _show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_STYLE if error else "")
        self.status.show()


def open_export_dialog(
    parent: QWidget, worker: DbWorker, who: Actor, project_names: Sequence[str], current: str | None, out_dir: Path,
) -> ExportDialog:
    """Show the export dialog (window-modal); it deletes itself when closed."""
    dialog = ExportDialog(worker, who, project_names, current, out_dir, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


__all__ = ["ExportCancelled", "ExportDialog", "ExportProgress", "ExportResult", "open_export_dialog", "run_export"]
