import sys

import pytest
from PySide6.QtCore import QLineF, QPointF, Qt
from PySide6.QtGui import QImage, QKeySequence, QPainter, QPainterPath, QShortcut
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

from labeldesk.app.ui.playhead import Playhead
from labeldesk.widgets import shortcuts
from labeldesk.widgets.waveform import WaveformView


@pytest.mark.parametrize("name", sorted(shortcuts.PRESETS))
def test_presets_cover_every_action_without_conflicts(name):
    p = shortcuts.preset(name)
    assert set(shortcuts.ACTIONS) <= set(p)
    assert shortcuts.conflicts(p) == {}
    for seqs in p.values():
        for s in seqs:
            assert not QKeySequence(s).isEmpty(), (name, s)


def test_presets_reflect_the_tools():
    assert shortcuts.PRESETS["elan"]["play_pause"] == ("Ctrl+Space",)
    assert shortcuts.PRESETS["aegisub"]["keyframe_next"] == ("Shift+Right",)
    assert shortcuts.PRESETS["subtitle-edit"]["set_start"] == ("F11",)
    assert "Space" in shortcuts.PRESETS["labeldesk"]["play_pause"]


class _CustomEditor(QWidget):
    """A text input Qt does not know about: it types whatever arrives."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setProperty("labeldesk_text_input", True)
        self.text = ""

    def keyPressEvent(self, event):  # noqa: N802
        self.text += event.text()


@pytest.fixture
def window(qtbot):
    win = QWidget()
    qtbot.addWidget(win)
    lay = QVBoxLayout(win)
    win.edit = QLineEdit()
    win.plain = QPlainTextEdit()
    win.custom = _CustomEditor()
    win.wave = WaveformView()
    for w in (win.edit, win.plain, win.custom, win.wave):
        lay.addWidget(w)
    win.playhead = Playhead(win)
    # the app owns play/pause: a window-wide bare-Space shortcut
    sc = QShortcut(QKeySequence("Space"), win)
    sc.activated.connect(win.playhead.toggle)
    win.resize(500, 600)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)
    yield win
    win.playhead.pause()


def test_space_in_line_edit_types_and_does_not_toggle(window, qtbot):
    window.edit.setFocus()
    QTest.keyClicks(window.edit, "a b")
    assert window.edit.text() == "a b"
    assert not window.playhead.is_playing()
    window.plain.setFocus()
    QTest.keyClicks(window.plain, "c d")
    assert window.plain.toPlainText() == "c d"
    assert not window.playhead.is_playing()


def test_space_outside_text_fields_toggles(window, qtbot):
    window.wave.setFocus()
    QTest.keyClick(window.wave, Qt.Key.Key_Space)
    assert window.playhead.is_playing()
    QTest.keyClick(window.wave, Qt.Key.Key_Space)
    assert not window.playhead.is_playing()


def test_guard_lets_custom_text_inputs_type(window, qtbot):
    window.custom.setFocus()
    QTest.keyClick(window.custom, Qt.Key.Key_Space)
    assert window.playhead.is_playing()  # unguarded: the shortcut steals Space
    window.playhead.pause()
    guard = shortcuts.TextInputGuard()
    QApplication.instance().installEventFilter(guard)
    try:
        QTest.keyClick(window.custom, Qt.Key.Key_Space)
        assert window.custom.text.endswith(" ")
        assert not window.playhead.is_playing()
        window.wave.setFocus()
        QTest.keyClick(window.wave, Qt.Key.Key_Space)
        assert window.playhead.is_playing()  # the guard only protects text inputs
    finally:
        QApplication.instance().removeEventFilter(guard)


def test_none_refcount_survives_void_call_burst(qapp):
    """PySide6 6.12 drops a reference to None on every void call and aborts
    CPython 3.11 after a few million (PERFORMANCE.md); 6.11 must stay steady."""
    path = QPainterPath()
    img = QImage(64, 64, QImage.Format.Format_ARGB32_Premultiplied)
    p = QPainter(img)
    line = QLineF(0, 0, 10, 10)
    before = sys.getrefcount(None)
    for i in range(200_000):
        path.lineTo(float(i & 63), 1.0)
    for _ in range(50_000):
        p.drawLine(line)
    after = sys.getrefcount(None)
    p.end()
    assert before - after < 1000, f"None lost {before - after} references in 250,000 void calls"
    assert path.elementCount() == 200_001
    assert isinstance(QPointF(0, 0), QPointF)
