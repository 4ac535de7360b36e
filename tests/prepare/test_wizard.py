"""The import wizard (offscreen): report before anything is written, then the same items as the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeldesk.app.ui.dbworker import DbWorker
from labeldesk.app.ui.import_wizard import ImportWizard
from labeldesk.app.workflow.accounts import local_actor
from labeldesk.app.workflow.importer import import_files
from labeldesk.app.workflow.permissions import Actor
from labeldesk.app.workflow.projects import create_project
from labeldesk.app.workflow.tasks import ensure_user
from labeldesk.storage.db import Workspace

from .conftest import EVAL_TEXT, PLANTED, chat, comparable, labeldesk, stored, words, write_jsonl

pytestmark = pytest.mark.gui


def as_lead(ws: Workspace, lead: Actor) -> Actor:
    return lead


def as_annotator(ws: Workspace, lead: Actor) -> Actor:
    return ensure_user(ws, lead, "ann")


@pytest.fixture(params=[as_lead])
def gui(request, qtbot, tmp_path: Path):
    """The wizard on a workspace with an evaluation set, opened by a lead (or as `params` says)."""
    ws = Workspace.open(tmp_path / "gui", create=True)
    lead = local_actor(ws)
    create_project(ws, lead, "evalset", "conversation")
    create_project(ws, lead, "train", "conversation")
    import_files(ws, lead, "evalset", [write_jsonl(tmp_path / "eval.jsonl", [chat("e1", EVAL_TEXT)])])
    worker = DbWorker(ws)
    wizard = ImportWizard(worker, request.param(ws, lead), ["evalset", "train"])
    qtbot.addWidget(wizard)
    wizard.show()
    yield ws, wizard
    wizard.done(0)
    worker.stop()
    ws.close()


def choose(wizard: ImportWizard, path: Path, config: str = "") -> None:
    wizard.source.add_paths([str(path)])
    wizard.source.project.setCurrentText("train")
    wizard.source.config.setText(config)
    wizard.next()


def test_wizard_reports_before_import_then_matches_the_cli(gui, qtbot, tmp_path: Path) -> None:
    ws, wizard = gui
    src = write_jsonl(tmp_path / "train.jsonl", PLANTED)
    choose(wizard, src)
    page = wizard.report_page
    qtbot.waitUntil(lambda: page.prepared is not None, timeout=60_000)
    text = page.report.toPlainText()
    for expected in ("Cleaning report — project train", "duplicate.reference", "duplicate.near", "pii.email",
                     "filter.injection", "encoding.mojibake", "Items removed or sent to review", "evalset/e1"):
        assert expected in text, expected
    assert "8 row(s) read, 8 item(s) ready to import; cleaning: 2 changed, 3 removed, 1 held for review" in page.stage.text()
    assert "jane.roe@example.com" not in text  # examples mask private data
    assert stored(ws, "train") == {}  # nothing is written before Import
    wizard.resize(1000, 760)
    qtbot.wait(50)
    assert wizard.grab().save("/tmp/wizard.png")

    wizard.next()  # "Import"
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.done_page, timeout=60_000)
    assert "Imported 8 item(s)" in wizard.done_page.summary.text()
    assert "removed 3 and sent 1 to review" in wizard.done_page.summary.text()

    cli = tmp_path / "cli"
    labeldesk("init", str(cli))
    for name in ("evalset", "train"):
        labeldesk("project", "create", name, "--kind", "conversation", workspace=cli)
    labeldesk("import", str(tmp_path / "eval.jsonl"), "--project", "evalset", workspace=cli)
    labeldesk("import", str(src), "--project", "train", "--clean", workspace=cli)
    by_cli = Workspace.open(cli)
    try:
        assert comparable(stored(ws, "train")) == comparable(stored(by_cli, "train"))
    finally:
        by_cli.close()


def test_bad_configuration_stays_on_the_first_page(gui, tmp_path: Path) -> None:
    _, wizard = gui
    bad = tmp_path / "bad.yaml"
    bad.write_text("colour: red\n")
    choose(wizard, write_jsonl(tmp_path / "t.jsonl", PLANTED), str(bad))
    assert wizard.currentPage() is wizard.source
    assert "unknown configuration key: colour" in wizard.source.error.text()


def test_cancel_reads_nothing(gui, qtbot, tmp_path: Path) -> None:
    ws, wizard = gui
    rows = [chat(f"r{i}", words(60, i)) for i in range(20_000)]
    choose(wizard, write_jsonl(tmp_path / "many.jsonl", rows))
    page = wizard.report_page
    qtbot.waitUntil(lambda: page._thread is not None, timeout=30_000)
    page.stop.click()
    qtbot.waitUntil(lambda: "Nothing will be imported" in page.stage.text(), timeout=60_000)
    assert "Cancelled" in page.report.toPlainText() and page.prepared is None
    assert not wizard.button(wizard.WizardButton.CommitButton).isEnabled()
    assert stored(ws, "train") == {}


@pytest.mark.parametrize("gui", [as_annotator], indirect=True)
def test_an_annotator_is_refused_before_anything_is_read(gui, qtbot, tmp_path: Path) -> None:
    ws, wizard = gui
    choose(wizard, write_jsonl(tmp_path / "train.jsonl", PLANTED))
    page = wizard.report_page
    qtbot.waitUntil(lambda: "Nothing will be imported" in page.stage.text(), timeout=30_000)
    assert "annotator 'ann' may not import data" in page.report.toPlainText()
    assert page._thread is None, "no file was read"
    assert stored(ws, "train") == {}


def test_open_import_wizard_shows_it_and_it_goes_away(qtbot, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QWidget

    from labeldesk.app.ui.import_wizard import open_import_wizard

    ws = Workspace.open(tmp_path / "w", create=True)
    worker = DbWorker(ws)
    parent = QWidget()
    qtbot.addWidget(parent)
    open_import_wizard(parent, worker, local_actor(ws), ["a", "b"])
    (wizard,) = parent.findChildren(ImportWizard)
    assert wizard.isVisible() and wizard.source.project.count() == 2
    wizard.reject()
    qtbot.waitUntil(lambda: not parent.findChildren(ImportWizard))  # deleted on close
    worker.stop()
    ws.close()
