"""SafeTextBrowser (no resources, no HTML, no navigation), FindBar, PositionIndicator."""
from __future__ import annotations

import random
import re
from pathlib import Path

import shiboken6

from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QFont, QFontInfo, QImage, QKeySequence, QShortcut, QTextCursor, QTextDocument
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QTextEdit, QVBoxLayout, QWidget

from labeldesk.widgets.safe_text import (
    MARKDOWN_LIMIT,
    FindBar,
    blocked_image,
    PositionIndicator,
    SafeTextBrowser,
    monospace_families,
    render_markdown,
)
from labeldesk.widgets.text_offsets import LAYER_PROPERTY

SHOTS = Path("/tmp/widget_shots")


def shot(widget: QWidget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    QApplication.processEvents()
    widget.grab().save(str(SHOTS / f"text_{name}.png"))


def layout_now(view: QTextEdit) -> None:
    """Images are only requested when the document is laid out and painted."""
    view.document().documentLayout().documentSize()
    view.viewport().grab()


def png(path: Path) -> Path:
    img = QImage(8, 8, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.red)
    assert img.save(str(path))
    return path


RED = b"\x00\x00\xff\xff"  # one opaque red ARGB32 pixel, little-endian


def shows_red(widget: QWidget) -> bool:
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_ARGB32)
    return RED * 4 in bytes(img.constBits())


def assert_blocked(doc: QTextDocument, url: str) -> None:
    data = doc.resource(QTextDocument.ResourceType.ImageResource, QUrl(url))
    if isinstance(data, QImage):
        assert data == blocked_image(), url
    else:
        assert data is None or len(data) == 0, url


def find_layer(editor) -> list:
    return [s for s in editor.extraSelections() if s.format.property(LAYER_PROPERTY) == "find"]


# --- SafeTextBrowser ----------------------------------------------------------------


def test_markdown_loads_no_remote_or_local_resource_and_shows_html_as_text(qtbot, tmp_path, monkeypatch):
    secret = png(tmp_path / "secret.png")  # a red square: it must never show
    monkeypatch.chdir(tmp_path)  # so that "secret.png" would resolve, if anything loaded it
    view = SafeTextBrowser()
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    md = (
        "# Answer\n\n"
        "![pixel](http://evil.example/track.png)\n\n"
        f"![local]({QUrl.fromLocalFile(str(secret)).toString()})\n\n"
        "![relative](secret.png)\n\n"
        '<img src="https://evil.example/raw.png">\n\n'
        "<script>alert('pwned')</script>\n\n"
        'text with <b onclick="x()">inline html</b>\n'
    )
    view.set_markdown(md)
    layout_now(view)
    blocked = view.blocked_urls
    assert "http://evil.example/track.png" in blocked
    assert any(u.endswith("secret.png") for u in blocked)
    for url in blocked:  # whatever was asked for, only the placeholder came back
        assert_blocked(view.document(), url)
    assert not shows_red(view)
    plain = view.toPlainText()
    # raw HTML is literal text, never markup: the annotator sees what the model wrote
    assert "<script>alert('pwned')</script>" in plain
    assert '<img src="https://evil.example/raw.png">' in plain
    assert "https://evil.example/raw.png" not in blocked
    assert plain.count("\ufffc") == 3  # only the three Markdown images became objects


def test_html_set_directly_still_loads_nothing(qtbot, tmp_path):
    secret = png(tmp_path / "secret.png")
    view = SafeTextBrowser()
    qtbot.addWidget(view)
    view.show()
    local = QUrl.fromLocalFile(str(secret)).toString()
    view.setHtml(f'<p>hi</p><img src="http://evil.example/a.png"><img src="{local}"><script>alert(1)</script>')
    layout_now(view)
    for url in ("http://evil.example/a.png", local):
        assert_blocked(view.document(), url)
    assert not shows_red(view)
    # setSource would load a page through loadResource: it gets nothing either
    view.setSource(QUrl.fromLocalFile(str(secret)))
    assert "hi" in view.toPlainText()


def test_render_markdown_makes_any_text_edit_safe(qtbot):
    edit = QTextEdit()
    qtbot.addWidget(edit)
    edit.show()
    render_markdown(edit, "![x](https://evil.example/y.png) and <i>raw</i>")
    layout_now(edit)
    assert edit.document().blocked_urls == ["https://evil.example/y.png"]
    assert "<i>raw</i>" in edit.toPlainText()


def test_clicking_a_link_only_emits_it(qtbot):
    view = SafeTextBrowser()
    qtbot.addWidget(view)
    view.resize(400, 200)
    view.show()
    qtbot.waitExposed(view)
    view.set_markdown("Go [here](https://example.com/page) now")
    layout_now(view)
    c = QTextCursor(view.document())
    c.setPosition(view.toPlainText().index("here") + 2)
    point = view.cursorRect(c).center()
    with qtbot.waitSignal(view.linkActivated, timeout=1000) as sig:
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    assert sig.args == ["https://example.com/page"]
    assert view.source().isEmpty()
    assert view.toPlainText() == "Go here now"


def test_code_blocks_and_inline_code_are_monospaced(qtbot):
    view = SafeTextBrowser()
    qtbot.addWidget(view)
    view.set_markdown("Run `pip install x` then:\n\n```python\ndef f():\n    return 1\n```\n")
    fixed = []
    block = view.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            if frag.text().strip() in ("pip install x", "def f():", "return 1"):
                fmt = frag.charFormat()
                fixed.append(frag.text().strip())
                assert fmt.fontFamilies()[0] == monospace_families()[0]
                assert QFontInfo(fmt.font()).fixedPitch()
            it += 1
        block = block.next()
    assert sorted(fixed) == ["def f():", "pip install x", "return 1"]


def styled_fragments(doc: QTextDocument) -> list[str]:
    """Texts of the fragments that Markdown styled (bold or code)."""
    out = []
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            if fmt.fontWeight() >= QFont.Weight.Bold or fmt.fontFixedPitch():
                out.append(it.fragment().text())
            it += 1
        block = block.next()
    return out


def test_huge_markdown_is_shown_as_plain_text_not_parsed(qtbot):
    view = SafeTextBrowser()
    qtbot.addWidget(view)
    view.show()
    text = ("**bold** and `code` " * 60 + "\n") * (MARKDOWN_LIMIT // 1000 * 6)
    assert len(text) > 1_000_000
    view.set_markdown(text)
    QApplication.processEvents()
    # past MARKDOWN_LIMIT the parser is skipped: the source shows verbatim, unstyled
    assert view.toPlainText() == text
    assert view.document().blockCount() == text.count("\n") + 1
    assert styled_fragments(view.document()) == []
    # up to the limit it is still rendered; one character more and it is not
    filler = "plain words in a paragraph " * 3 + "\n\n"
    at_limit = ("**bold** and `code`\n\n" + filler * (MARKDOWN_LIMIT // len(filler) + 1))[:MARKDOWN_LIMIT]
    view.set_markdown(at_limit)
    assert view.toPlainText().startswith("bold and code\n")
    assert styled_fragments(view.document())[:2] == ["bold", "code"]
    view.set_markdown(at_limit + "x")
    assert view.toPlainText().startswith("**bold** and `code`\n")
    assert styled_fragments(view.document()) == []


def test_empty_and_none_render(qtbot):
    view = SafeTextBrowser()
    qtbot.addWidget(view)
    view.set_markdown(None)
    assert view.toPlainText() == ""
    view.set_plain_text("")
    assert view.toPlainText() == ""


# --- FindBar --------------------------------------------------------------------------


def make_editor(qtbot, text: str, cls=QPlainTextEdit):
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    editor = cls()
    editor.setPlainText(text)
    layout.addWidget(editor)
    bar = FindBar(editor)
    layout.addWidget(bar)
    host.resize(600, 300)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is host, timeout=1000)
    editor.setFocus()
    return host, editor, bar


def test_find_bar_by_keyboard(qtbot):
    _host, editor, bar = make_editor(qtbot, "alpha beta alpha\ngamma ALPHA delta")
    assert not bar.isVisible()
    QTest.keyClick(editor, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert bar.isVisible() and bar.query.hasFocus()
    QTest.keyClicks(bar.query, "alpha")
    qtbot.waitUntil(lambda: bar.count_label.text() == "1 of 3", timeout=1000)
    assert editor.textCursor().selectedText() == "alpha"
    QTest.keyClick(bar.query, Qt.Key.Key_Return)
    assert bar.count_label.text() == "2 of 3"
    QTest.keyClick(bar.query, Qt.Key.Key_Return)
    assert bar.count_label.text() == "3 of 3"
    assert editor.textCursor().selectedText() == "ALPHA"
    QTest.keyClick(bar.query, Qt.Key.Key_Return)
    assert bar.count_label.text() == "1 of 3"  # wraps around
    QTest.keyClick(bar.query, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert bar.count_label.text() == "3 of 3"
    assert len(find_layer(editor)) == 3
    bar.case_button.click()  # match case: "ALPHA" drops out
    assert bar.match_count() == 2
    QTest.keyClick(bar.query, Qt.Key.Key_Escape)
    assert not bar.isVisible()
    assert find_layer(editor) == []
    assert editor.hasFocus()


def test_find_no_results_and_regex_characters_are_literal(qtbot):
    _host, editor, bar = make_editor(qtbot, "a.b a+b (a)")
    bar.open()
    bar.set_query("a.c")
    assert bar.count_label.text() == "No results"
    bar.set_query("(a)")
    assert bar.match_count() == 1
    bar.set_query("")
    assert bar.count_label.text() == ""


def test_find_with_emoji_combining_and_rtl_selects_the_right_text(qtbot):
    text = "👋🏽 hi 🇫🇷 مرحبا hi cafe\u0301 hi 👨‍👩‍👧 hi"
    _host, editor, bar = make_editor(qtbot, text)
    bar.open()
    bar.set_query("hi")
    expected = [i for i in range(len(text)) if text.startswith("hi", i)]
    assert bar.match_count() == len(expected) == 4
    for k in range(4):
        assert bar.current_match() == (expected[k], expected[k] + 2)  # code points
        assert editor.textCursor().selectedText() == "hi"
        bar.find_next()
    bar.set_query("cafe\u0301")
    assert bar.current_match() == (text.index("cafe\u0301"), text.index("cafe\u0301") + 5)
    assert editor.textCursor().selectedText() == "cafe\u0301"


def visible_range(editor: QTextEdit) -> tuple[int, int]:
    """Document positions (UTF-16) at the viewport's top-left and bottom-right corners."""
    viewport = editor.viewport()
    return (
        editor.cursorForPosition(QPoint(0, 0)).position(),
        editor.cursorForPosition(QPoint(viewport.width(), viewport.height())).position(),
    )


def test_find_in_one_megabyte_counts_every_match_and_highlights_only_what_is_on_screen(qtbot):
    rng = random.Random(7)
    words = "lorem ipsum dolor sit amet 👋🏽 élan مرحبا שלום needle".split()
    lines = [" ".join(rng.choice(words) for _ in range(14)) for _ in range(14_000)]
    text = "\n".join(lines)
    assert len(text) >= 1_000_000
    host, editor, bar = make_editor(qtbot, "", cls=SafeTextBrowser)
    editor.set_plain_text(text)
    bar.open()
    # typing is debounced: no keystroke searches the megabyte, the pause after them does
    QTest.keyClicks(bar.query, "needle")
    assert bar.match_count() == 0 and bar.count_label.text() == ""
    needles = [m.start() for m in re.finditer("needle", text)]
    qtbot.waitUntil(lambda: bar.match_count() == len(needles), timeout=2000)
    assert bar.current_match() == (needles[0], needles[0] + 6)  # code points, past the emoji
    bar.find_next()
    QApplication.processEvents()
    assert bar.current_match() == (needles[1], needles[1] + 6)
    assert editor.textCursor().selectedText() == "needle"
    assert bar.count_label.text() == f"2 of {len(needles)}"
    # a very common term: every match counted, only what is on screen highlighted
    bar.set_query("o")
    assert bar.match_count() == min(text.lower().count("o"), FindBar.MAX_MATCHES)
    layer = find_layer(editor)
    assert 0 < len(layer) <= FindBar.MAX_HIGHLIGHTS + 1
    assert len(layer) < bar.match_count() // 50
    first, last = visible_range(editor)
    current = editor.textCursor().selectionStart()
    off_screen = [s for s in layer if s.cursor.selectionEnd() < first or s.cursor.selectionStart() > last]
    assert [s.cursor.selectionStart() for s in off_screen] in ([], [current])  # at most the current match
    # past MAX_MATCHES counting stops, and says so
    bar.set_query(" ")
    assert text.count(" ") > FindBar.MAX_MATCHES
    assert bar.match_count() == FindBar.MAX_MATCHES
    assert bar.count_label.text().endswith(f"of {FindBar.MAX_MATCHES}+")
    assert len(find_layer(editor)) <= FindBar.MAX_HIGHLIGHTS + 1
    # highlights follow the scrolling
    bar.set_query("needle")
    editor.verticalScrollBar().setValue(editor.verticalScrollBar().maximum())
    qtbot.waitUntil(lambda: any(s.cursor.position() > len(text) // 2 for s in find_layer(editor)), timeout=1000)


def test_floating_find_bar_sits_over_the_editor(qtbot):
    editor = QPlainTextEdit("one two three two")
    qtbot.addWidget(editor)
    editor.resize(600, 300)
    editor.show()
    bar = FindBar(editor)  # no parent, no layout: floats
    bar.open("two")
    assert bar.parentWidget() is editor
    assert editor.rect().contains(bar.geometry())
    assert bar.geometry().right() > editor.width() // 2  # top-right corner
    assert bar.match_count() == 2
    # the current match is not hidden under the bar
    rect = editor.cursorRect(editor.textCursor())
    assert not bar.geometry().intersects(rect.translated(editor.viewport().pos()))
    shot(editor, "find_floating")


def test_ctrl_f_in_the_editor_is_not_stolen_by_a_window_shortcut(qtbot):
    host, editor, bar = make_editor(qtbot, "find me")
    other = QPlainTextEdit()
    host.layout().addWidget(other)
    fired = []
    window_find = QShortcut(QKeySequence.StandardKey.Find, host)
    window_find.activated.connect(lambda: fired.append(1))
    QTest.keyClick(editor, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert bar.isVisible() and fired == []
    other.setFocus()
    QTest.keyClick(other, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert fired == [1]


def test_find_follows_document_changes(qtbot):
    _host, editor, bar = make_editor(qtbot, "cat")
    bar.open()
    bar.set_query("cat")
    assert bar.match_count() == 1
    editor.appendPlainText("cat cat")
    qtbot.waitUntil(lambda: bar.match_count() == 3, timeout=1000)


def test_find_bar_and_editor_can_be_deleted_in_either_order(qtbot):
    host, editor, bar = make_editor(qtbot, "a b a\n" * 200)
    indicator = PositionIndicator(editor)
    bar.open("a")
    shiboken6.delete(bar)
    shiboken6.delete(indicator)
    editor.verticalScrollBar().setValue(5)  # no slot of the deleted bar runs
    editor.appendPlainText("a")
    QApplication.processEvents()
    host2, editor2, bar2 = make_editor(qtbot, "x y x")
    bar2.open("x")
    shiboken6.delete(editor2)
    bar2.query.setText("y")
    qtbot.wait(200)  # the debounced search finds no editor and does nothing
    bar2.find_next()
    bar2.dismiss()


# --- PositionIndicator --------------------------------------------------------------------


def test_position_indicator_follows_scrolling(qtbot):
    editor = QPlainTextEdit("\n".join(f"line {i}" for i in range(600)))
    qtbot.addWidget(editor)
    editor.resize(300, 200)
    indicator = PositionIndicator(editor)
    editor.show()
    qtbot.waitExposed(editor)
    page, pages, percent = indicator.position()
    assert (page, percent) == (1, 0) and pages > 5
    qtbot.waitUntil(lambda: indicator.text() == f"page 1 of {pages} · 0%", timeout=1000)
    sb = editor.verticalScrollBar()
    sb.setValue(sb.maximum())
    assert indicator.text() == f"page {pages} of {pages} · 100%"
    sb.setValue(sb.maximum() // 2)
    page, _pages, percent = indicator.position()
    assert 1 < page < pages and 45 <= percent <= 55


def test_position_indicator_for_short_text(qtbot):
    editor = QPlainTextEdit("short")
    qtbot.addWidget(editor)
    indicator = PositionIndicator(editor)
    editor.show()
    assert indicator.text() == "page 1 of 1 · 100%"


def test_screenshot_markdown_with_find_and_position(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    view = SafeTextBrowser()
    layout.addWidget(view)
    bar = FindBar(view)
    layout.addWidget(bar)
    indicator = PositionIndicator(view)
    layout.addWidget(indicator)
    md = (
        "## Model answer\n\nThe **Eiffel Tower** is in Paris 🇫🇷 and was completed in 1889. "
        "In Arabic: برج إيفل في باريس. In Hebrew: מגדל אייפל בפריז.\n\n"
        "![tracking pixel](http://evil.example/p.png)\n\n<script>alert('x')</script>\n\n"
        "```python\ndef height_m() -> int:\n    return 330  # with antennas\n```\n\n"
        "Use `pip install labeldesk`. See [the source](https://example.com).\n"
    ) * 3
    view.set_markdown(md)
    host.resize(640, 480)
    host.show()
    qtbot.waitExposed(host)
    bar.open("paris")
    shot(host, "safe_text")
