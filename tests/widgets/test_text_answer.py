"""TextAnswer: counts, preview, typing reported per burst."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QVBoxLayout, QWidget

from labeldesk.widgets.text_answer import TextAnswer, count_text

SHOTS = Path("/tmp/widget_shots")


def shot(widget: QWidget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    QApplication.processEvents()
    widget.grab().save(str(SHOTS / f"text_{name}.png"))


def make(qtbot, **kwargs) -> tuple[QWidget, TextAnswer, QLineEdit]:
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    answer = TextAnswer(**kwargs)
    layout.addWidget(answer)
    elsewhere = QLineEdit()
    layout.addWidget(elsewhere)
    host.resize(700, 320)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is host, timeout=1000)
    answer.setFocus()
    return host, answer, elsewhere


def record(w) -> list:
    seen: list = []
    w.edited.connect(lambda old, new: seen.append((old, new)))
    return seen


def test_counts_follow_typing_and_one_edit_per_burst(qtbot):
    _host, answer, _ = make(qtbot)
    seen = record(answer)
    QTest.keyClicks(answer.editor, "The tower is tall.")
    assert answer.counts.text() == "18 characters · 4 words"
    assert seen == []
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=2000)
    assert seen == [("", "The tower is tall.")]
    QTest.keyClicks(answer.editor, " Yes")
    QTest.keyClick(answer.editor, Qt.Key.Key_Backspace)
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=2000)
    assert seen[1] == ("The tower is tall.", "The tower is tall. Ye")


def test_leaving_the_field_ends_the_burst(qtbot):
    _host, answer, elsewhere = make(qtbot)
    seen = record(answer)
    QTest.keyClicks(answer.editor, "abc")
    elsewhere.setFocus()
    assert seen == [("", "abc")]
    answer.editor.setFocus()
    elsewhere.setFocus()  # no change: nothing to report
    assert len(seen) == 1


def test_set_value_is_silent(qtbot):
    _host, answer, elsewhere = make(qtbot)
    seen = record(answer)
    answer.set_value("from the undo stack")
    assert answer.value() == "from the undo stack"
    qtbot.wait(700)
    elsewhere.setFocus()
    answer.set_value(None)
    assert answer.value() == "" and answer.counts.text() == "0 characters · 0 words"
    assert seen == []


def test_counts_are_code_points_with_emoji_combining_and_rtl():
    assert count_text("👋🏽 cafe\u0301") == (8, 2)  # 2 + 1 + 5 code points
    assert count_text("مرحبا بالعالم") == (13, 2)
    assert count_text("") == (0, 0)


def test_preview_toggles_renders_markdown_safely(qtbot):
    _host, answer, _ = make(qtbot)
    answer.set_value("**Bold** and `code`\n\n```\nx = 1\n```\n\n![t](http://evil.example/t.png) <b>raw</b>")
    assert not answer.is_preview_visible()
    QTest.keyClick(answer.editor, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert answer.is_preview_visible() and answer.preview_button.isChecked()
    answer.preview.viewport().grab()
    plain = answer.preview.toPlainText()
    assert "**" not in plain and "<b>raw</b>" in plain
    assert answer.preview.blocked_urls == ["http://evil.example/t.png"]
    # typing updates the preview after a short pause
    answer.editor.moveCursor(answer.editor.textCursor().MoveOperation.End)
    QTest.keyClicks(answer.editor, " more")
    qtbot.waitUntil(lambda: answer.preview.toPlainText().endswith("more"), timeout=2000)
    QTest.mouseClick(answer.preview_button, Qt.MouseButton.LeftButton)
    assert not answer.is_preview_visible()


def counts_label(text: str) -> str:
    chars, words = count_text(text)
    return f"{chars:,} characters · {words:,} words"


def test_one_megabyte_answer_counts_at_a_pause_not_per_keystroke(qtbot):
    _host, answer, _ = make(qtbot)
    seen = record(answer)
    text = ("A long answer with 👋🏽 and cafe\u0301 and مرحبا. " * 25 + "\n") * 1000
    assert len(text) > 1_000_000
    answer.set_value(text)
    QApplication.processEvents()
    assert answer.value() == text
    assert answer.counts.text() == counts_label(text)  # set_value counts at once
    answer.editor.moveCursor(answer.editor.textCursor().MoveOperation.End)
    QTest.keyClicks(answer.editor, "abcdefghij")
    # on a big text the recount is deferred: right after the keys the old count still shows
    assert answer.value() == text + "abcdefghij"
    assert answer.counts.text() == counts_label(text)
    qtbot.waitUntil(lambda: answer.counts.text() == counts_label(text + "abcdefghij"), timeout=2000)
    # set_value reported nothing; the ten keys are one burst
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=2000)
    assert seen == [(text, text + "abcdefghij")]


def test_single_line_answer_enter_finishes(qtbot):
    _host, answer, elsewhere = make(qtbot, multiline=False, placeholder="A short title")
    seen = record(answer)
    QTest.keyClicks(answer.editor, "Title")
    QTest.keyClick(answer.editor, Qt.Key.Key_Return)
    assert answer.value() == "Title"
    assert seen == [("", "Title")]
    assert not answer.editor.hasFocus()


def test_screenshot_text_answer(qtbot):
    host, answer, _ = make(qtbot, placeholder="Write the reference answer…")
    answer.set_value(
        "The Eiffel Tower is **330 m** tall including antennas.\n\n"
        "- Completed: 1889\n- Designer: Gustave Eiffel's company\n\n"
        "```python\nHEIGHT_M = 330\n```\n\nبالعربية: يبلغ ارتفاع البرج 330 مترًا. 👋🏽"
    )
    answer.set_preview_visible(True)
    shot(host, "text_answer")
