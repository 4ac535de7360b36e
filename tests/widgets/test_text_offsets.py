"""Code point ↔ UTF-16 offsets against a real QTextDocument."""
from __future__ import annotations

import pytest
from PySide6.QtGui import QTextCursor, QTextDocument
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit

from labeldesk.widgets.text_offsets import OffsetMap, cp_to_utf16, display_text, set_selection_layer, utf16_to_cp

SAMPLES = [
    "",
    "plain ascii",
    "wave 👋🏽 flag 🇫🇷 done",
    "cafe\u0301 combining",  # e + COMBINING ACUTE: two code points, one glyph
    "مرحبا بالعالم 👋 שלום",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math letters 𝟙𝟚𝟛",
    "👨‍👩‍👧 family (ZWJ sequence)",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_offsets_match_utf16_encoding_both_ways(text):
    m = OffsetMap(text)
    assert m.utf16_length == len(text.encode("utf-16-le")) // 2
    for cp in range(len(text) + 1):
        u16 = len(text[:cp].encode("utf-16-le")) // 2
        assert m.to_utf16(cp) == u16
        assert m.to_cp(u16) == cp


def test_position_inside_a_surrogate_pair_rounds_down():
    text = "a👋b"
    assert utf16_to_cp(text, 2) == 1  # between the two halves of 👋
    assert cp_to_utf16(text, 2) == 3
    assert OffsetMap(text).to_cp(99) == 3  # clamped


@pytest.mark.parametrize("text", SAMPLES)
def test_selection_in_a_qt_document_maps_to_the_python_substring(qtbot, text):
    doc = QTextDocument()
    doc.setPlainText(display_text(text))
    m = OffsetMap(text)
    for start, end in ((0, len(text)), (len(text) // 3, 2 * len(text) // 3)):
        c = QTextCursor(doc)
        c.setPosition(m.to_utf16(start))
        c.setPosition(m.to_utf16(end), QTextCursor.MoveMode.KeepAnchor)
        assert c.selectedText() == text[start:end]


def test_display_text_keeps_document_positions_aligned():
    text = "line one\r\nline two\rthree\ufdd0x👋"
    shown = display_text(text)
    assert len(shown) == len(text)
    doc = QTextDocument()
    doc.setPlainText(shown)
    # one document position per character, so offsets stay valid
    assert doc.characterCount() - 1 == OffsetMap(text).utf16_length
    m = OffsetMap(text)
    i = text.index("three")
    c = QTextCursor(doc)
    c.setPosition(m.to_utf16(i))
    c.setPosition(m.to_utf16(i + 5), QTextCursor.MoveMode.KeepAnchor)
    assert c.selectedText() == "three"


def test_selection_layers_leave_each_other_alone(qtbot):
    edit = QPlainTextEdit("hello world")
    qtbot.addWidget(edit)

    def sel(a, b):
        s = QTextEdit.ExtraSelection()
        c = QTextCursor(edit.document())
        c.setPosition(a)
        c.setPosition(b, QTextCursor.MoveMode.KeepAnchor)
        s.cursor = c
        return s

    set_selection_layer(edit, "spans", [sel(0, 5), sel(6, 11)])
    set_selection_layer(edit, "find", [sel(1, 2)])
    assert len(edit.extraSelections()) == 3
    set_selection_layer(edit, "find", [])
    assert len(edit.extraSelections()) == 2
