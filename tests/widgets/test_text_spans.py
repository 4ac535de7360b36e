"""SpanHighlighter: spans by keyboard and mouse, code point offsets, overlaps, notes."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QKeyEvent, QTextCharFormat, QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from labeldesk.widgets.safe_text import FindBar
from labeldesk.widgets.spans import SpanHighlighter, span_layers
from labeldesk.widgets.text_offsets import LAYER_PROPERTY, OffsetMap

SHOTS = Path("/tmp/widget_shots")
LABELS = ["unsupported-claim", "factual-error", "off-topic"]
TEXT = (
    "The Eiffel Tower 👋🏽 is 330 m tall and was finished in 1899. 🇫🇷 "
    "Its designer drank cafe\u0301 daily.\r\nIn Arabic it is برج إيفل and in Hebrew מגדל אייפל.\n"
    "يبلغ ارتفاع البرج 330 مترًا، وقد اكتمل بناؤه عام 1889."
)


def shot(widget: QWidget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    QApplication.processEvents()
    widget.grab().save(str(SHOTS / f"text_{name}.png"))


def make(qtbot, text: str = TEXT) -> SpanHighlighter:
    w = SpanHighlighter()
    qtbot.addWidget(w)
    w.set_labels(LABELS)
    w.set_severities(["minor", "major"])
    w.set_text("responses.a", text)
    w.resize(640, 320)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=1000)
    w.view.setFocus()
    return w


def record(w) -> list:
    seen: list = []
    w.edited.connect(lambda old, new: seen.append((old, new)))
    return seen


def caret(w: SpanHighlighter, cp: int) -> QPoint:
    c = QTextCursor(w.view.document())
    c.setPosition(OffsetMap(w.text()).to_utf16(cp))
    return w.view.cursorRect(c).center()


def inside(w: SpanHighlighter, cp: int) -> QPoint:
    """A point on the character at code point ``cp`` (between its two carets)."""
    a, b = caret(w, cp), caret(w, cp + 1)
    return QPoint((a.x() + b.x()) // 2, a.y())


def type_text(widget: QWidget, text: str) -> None:
    """Type ``text`` key by key; QTest.keyClicks only knows Latin-1, so other
    characters go as key events carrying their text (as an input method's would)."""
    for ch in text:
        if ch.isascii():
            QTest.keyClicks(widget, ch)
        else:
            for etype in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                QApplication.sendEvent(widget, QKeyEvent(etype, 0, Qt.KeyboardModifier.NoModifier, ch))


def span_selections(w):
    return [s for s in w.view.extraSelections() if s.format.property(LAYER_PROPERTY) == "spans"]


def test_select_with_shift_arrows_then_label_key(qtbot):
    w = make(qtbot)
    seen = record(w)
    start = TEXT.index("330 m tall")
    QTest.mouseClick(w.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, caret(w, start))
    for _ in range(len("330 m tall")):
        QTest.keyClick(w.view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClick(w.view, Qt.Key.Key_2)
    span = {"target": "responses.a", "start": start, "end": start + 10, "label": "factual-error"}
    assert w.value() == [span]
    assert seen == [([], [span])]
    assert TEXT[span["start"]:span["end"]] == "330 m tall"
    assert w.selected_index() == 0
    assert not w.view.textCursor().hasSelection()  # so the next digit relabels
    QTest.keyClick(w.view, Qt.Key.Key_1)
    assert w.value()[0]["label"] == "unsupported-claim"
    assert len(seen) == 2


def test_emoji_and_combining_characters_are_counted_in_code_points(qtbot):
    w = make(qtbot)
    wave = TEXT.index("👋🏽")
    # one Shift+Right moves over the whole emoji + skin tone (one grapheme, 2 code points, 4 UTF-16 units)
    QTest.mouseClick(w.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, caret(w, wave))
    QTest.keyClick(w.view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert w.text_selection() == (wave, wave + 2)
    QTest.keyClick(w.view, Qt.Key.Key_1)
    cafe = TEXT.index("cafe\u0301")
    w.select_text(cafe, cafe + 5)
    QTest.keyClick(w.view, Qt.Key.Key_3)
    flag = TEXT.index("🇫🇷")
    w.select_text(flag, flag + 2)
    QTest.keyClick(w.view, Qt.Key.Key_3)
    spans = w.value()
    assert [(s["start"], s["end"]) for s in spans] == [(wave, wave + 2), (cafe, cafe + 5), (flag, flag + 2)]
    assert [TEXT[s["start"]:s["end"]] for s in spans] == ["👋🏽", "cafe\u0301", "🇫🇷"]


def test_double_click_an_rtl_word_and_label_it(qtbot):
    w = make(qtbot)
    word = "אייפל"
    i = TEXT.index(word)
    QTest.mouseDClick(w.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, inside(w, i + 2))
    assert w.text_selection() == (i, i + len(word))
    QTest.keyClick(w.view, Qt.Key.Key_3)
    assert w.value()[0]["start"] == i and w.value()[0]["end"] == i + len(word)


def test_surrounding_whitespace_is_left_out_and_duplicates_are_not_added(qtbot):
    w = make(qtbot)
    seen = record(w)
    i = TEXT.index(" tall ")
    w.select_text(i, i + 6)
    QTest.keyClick(w.view, Qt.Key.Key_1)
    assert (w.value()[0]["start"], w.value()[0]["end"]) == (i + 1, i + 5)
    w.select_text(i + 1, i + 5)
    QTest.keyClick(w.view, Qt.Key.Key_1)
    w.select_text(i, i + 1)  # only a space: nothing to mark
    QTest.keyClick(w.view, Qt.Key.Key_1)
    assert len(w.value()) == 1 and len(seen) == 1


def test_click_a_span_then_delete_it(qtbot):
    w = make(qtbot)
    i = TEXT.index("1899")
    w.set_spans([{"target": "responses.a", "start": i, "end": i + 4, "label": "factual-error", "id": "keep-me"}])
    seen = record(w)
    QTest.mouseClick(w.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, inside(w, i + 1))
    assert w.selected_index() == 0
    assert w.selected_span()["id"] == "keep-me"  # unknown keys survive
    assert "1899" in w.info.text()
    # clicking plain text lets go
    QTest.mouseClick(w.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, inside(w, 1))
    assert w.selected_index() is None
    QTest.mouseClick(w.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, inside(w, i + 3))
    QTest.keyClick(w.view, Qt.Key.Key_Delete)
    assert w.value() == []
    assert len(seen) == 1 and seen[0][1] == []


def test_note_by_keyboard_and_escape_cancels(qtbot):
    w = make(qtbot)
    w.set_spans([{"target": "responses.a", "start": 4, "end": 16, "label": "unsupported-claim"}])
    seen = record(w)
    w.select_span(0)
    QTest.keyClick(w.view, Qt.Key.Key_N)
    assert w.note_edit.isVisible() and w.note_edit.hasFocus()
    type_text(w.note_edit, "height was 312 m in 1889 — مصدر?")
    QTest.keyClick(w.note_edit, Qt.Key.Key_Return)
    assert not w.note_edit.isVisible() and w.view.hasFocus()
    assert w.value()[0]["note"] == "height was 312 m in 1889 — مصدر?"
    assert len(seen) == 1
    QTest.keyClick(w.view, Qt.Key.Key_N)
    QTest.keyClicks(w.note_edit, " more")
    QTest.keyClick(w.note_edit, Qt.Key.Key_Escape)
    assert not w.note_edit.isVisible()
    assert w.value()[0]["note"] == "height was 312 m in 1889 — مصدر?" and len(seen) == 1
    # an empty note removes the key
    QTest.keyClick(w.view, Qt.Key.Key_N)
    w.note_edit.clear()
    QTest.keyClick(w.note_edit, Qt.Key.Key_Return)
    assert "note" not in w.value()[0]


def test_s_cycles_severity(qtbot):
    w = make(qtbot)
    w.set_spans([{"target": "responses.a", "start": 0, "end": 3, "label": "off-topic"}])
    w.select_span(0)
    got = []
    for _ in range(3):
        QTest.keyClick(w.view, Qt.Key.Key_S)
        got.append(w.value()[0].get("severity"))
    assert got == ["minor", "major", None]


def test_overlapping_spans_are_all_drawn_and_clicks_cycle(qtbot):
    w = make(qtbot)
    a = {"target": "responses.a", "start": 4, "end": 16, "label": "factual-error"}
    b = {"target": "responses.a", "start": 10, "end": 40, "label": "unsupported-claim"}
    c = {"target": "responses.a", "start": 12, "end": 14, "label": "off-topic"}
    w.set_spans([a, b, c])
    assert span_layers([(4, 16), (10, 40), (12, 14)]) == [0, 1, 2]
    sels = span_selections(w)
    assert len(sels) == 3
    assert sum(1 for s in sels if s.format.background().style() != Qt.BrushStyle.NoBrush) == 1
    underlined = [s for s in sels if s.format.underlineStyle() != QTextCharFormat.UnderlineStyle.NoUnderline]
    assert len(underlined) == 2
    # three spans under the click: shortest first, then the others in turn
    point = inside(w, 12)
    picked = []
    for _ in range(4):
        QTest.mouseClick(w.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
        picked.append(w.selected_index())
    assert picked == [2, 0, 1, 2]


def test_brackets_step_through_spans_in_reading_order(qtbot):
    w = make(qtbot)
    w.set_spans([
        {"target": "responses.a", "start": 30, "end": 35, "label": "off-topic"},
        {"target": "responses.a", "start": 0, "end": 3, "label": "off-topic"},
    ])
    QTest.keyClick(w.view, Qt.Key.Key_BracketRight)
    assert w.selected_index() == 1
    QTest.keyClick(w.view, Qt.Key.Key_BracketRight)
    assert w.selected_index() == 0
    QTest.keyClick(w.view, Qt.Key.Key_BracketLeft)
    assert w.selected_index() == 1
    QTest.keyClick(w.view, Qt.Key.Key_Escape)
    assert w.selected_index() is None


def test_set_spans_is_silent_and_keeps_what_it_cannot_draw(qtbot):
    w = make(qtbot)
    seen = record(w)
    odd = [
        {"target": "responses.a", "start": 5, "end": 2, "label": "factual-error"},
        {"target": "responses.a", "start": 0, "end": 10_000, "label": "factual-error"},
        {"target": "responses.a", "start": "3", "end": 9, "label": "nope"},
        {"target": "responses.a", "start": 0, "end": 3, "label": "not-a-label"},
    ]
    w.set_spans(odd)
    assert w.value() == odd and seen == []
    assert len(span_selections(w)) == 1  # only the last one can be drawn (grey: unknown label)
    w.set_value(None)
    assert w.value() == [] and seen == []


def test_context_menu_marks_a_selection_and_deletes_a_span(qtbot):
    w = make(qtbot)
    i = TEXT.index("Tower")
    w.select_text(i, i + 5)
    menu = w.context_menu(caret(w, i))
    mark = next(a for a in menu.actions() if a.text() == "Mark selection as").menu()
    assert [a.text().split("\t")[0] for a in mark.actions()] == LABELS
    mark.actions()[1].trigger()
    assert w.value() == [{"target": "responses.a", "start": i, "end": i + 5, "label": "factual-error"}]
    w.view.setTextCursor(QTextCursor(w.view.document()))
    menu = w.context_menu(inside(w, i + 2))
    delete = next(a for a in menu.actions() if a.text().startswith("Delete span"))
    delete.trigger()
    assert w.value() == []


def test_empty_text_and_keys_without_selection_do_nothing(qtbot):
    w = make(qtbot, "")
    seen = record(w)
    for key in (Qt.Key.Key_1, Qt.Key.Key_Delete, Qt.Key.Key_N, Qt.Key.Key_S, Qt.Key.Key_BracketRight):
        QTest.keyClick(w.view, key)
    assert w.value() == [] and seen == []


def test_one_megabyte_text_with_many_spans_and_find_then_label(qtbot):
    para = ("Claims 👋🏽 about café\u0301 and برج in 1899; " * 40 + "\n")
    text = para * (1_000_000 // len(para) + 1)
    w = SpanHighlighter()
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    layout.addWidget(w)
    bar = FindBar(w.view)
    layout.addWidget(bar)
    host.resize(700, 400)
    host.show()
    qtbot.waitExposed(host)
    seen = record(w)
    w.set_labels(LABELS)
    w.set_text("responses.b", text)
    doc = w.view.document()
    revision = doc.revision()
    step = len(text) // 1000
    spans = [{"target": "responses.b", "start": k * step, "end": k * step + 5, "label": "factual-error"}
             for k in range(1000)]
    w.set_spans(spans)
    QApplication.processEvents()
    # spans are extra selections over the text, not formats written into it:
    # setting 1000 of them leaves the document (and its layout) untouched
    assert doc.revision() == revision and doc.toPlainText() == text
    assert w.value() == spans and seen == []
    drawn = span_selections(w)
    assert len(drawn) == 1000
    omap = OffsetMap(text)
    assert sorted((s.cursor.selectionStart(), s.cursor.selectionEnd()) for s in drawn) == [
        (omap.to_utf16(k * step), omap.to_utf16(k * step + 5)) for k in range(1000)
    ]
    # find a phrase deep inside, then label what the find bar selected
    needle_at = text.index("1899", len(text) // 2)
    cursor = QTextCursor(doc)
    cursor.setPosition(omap.to_utf16(needle_at))
    w.view.setTextCursor(cursor)
    bar.open()
    bar.set_query("1899")
    assert bar.match_count() == text.count("1899")
    assert bar.current_match() == (needle_at, needle_at + 4)
    assert len(span_selections(w)) == 1000  # the find layer leaves the spans alone
    QTest.keyClick(w.view, Qt.Key.Key_3)
    assert w.value()[-1] == {"target": "responses.b", "start": needle_at, "end": needle_at + 4, "label": "off-topic"}
    assert len(seen) == 1 and seen[0][0] == spans and seen[0][1] == w.value()
    assert doc.revision() == revision


def test_screenshot_spans(qtbot):
    w = make(qtbot)
    i = TEXT.index("330 m tall")
    j = TEXT.index("1899")
    k = TEXT.index("برج")
    w.set_spans([
        {"target": "responses.a", "start": i, "end": i + 10, "label": "factual-error", "severity": "major",
         "note": "It is 330 m only with antennas."},
        {"target": "responses.a", "start": i + 6, "end": j + 4, "label": "unsupported-claim"},
        {"target": "responses.a", "start": j, "end": j + 4, "label": "factual-error", "severity": "minor"},
        {"target": "responses.a", "start": k, "end": k + 8, "label": "off-topic"},
    ])
    w.select_span(0)
    shot(w, "spans")
