import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from labeldesk.widgets.transcript import TranscriptView, Turn


@pytest.fixture
def tv(qtbot):
    v = TranscriptView()
    qtbot.addWidget(v)
    v.resize(400, 300)
    turns = [
        Turn(f"t{i}", "A" if i % 2 else "B", i * 3.0, i * 3.0 + 2.5, f"turn number {i} " + "word " * (i % 5))
        for i in range(60)
    ]
    v.set_turns(turns[::-1])  # any order in, time order shown
    v.show()
    qtbot.waitExposed(v)
    return v


def test_highlights_turn_containing_playhead(tv):
    tv.set_playhead(31.0)
    assert tv.active_turn().id == "t10"
    tv.set_playhead(32.7)  # in the gap between t10 and t11
    assert tv.active_turn() is None
    tv.set_playhead(0.0)
    assert tv.active_turn().id == "t0"


def test_active_turn_is_kept_visible(tv, qtbot):
    tv.set_playhead(170.0)  # t56, far below the first screen
    assert tv.active_turn().id == "t56"
    rect = tv.turn_rect("t56")
    assert tv.list.viewport().rect().intersects(rect)


def test_click_emits_seek_to_turn_start(tv, qtbot):
    rect = tv.turn_rect("t2")
    with qtbot.waitSignal(tv.seekRequested) as sig:
        QTest.mouseClick(tv.list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    assert sig.args == [6.0]


def _open_editor(tv, qtbot, turn_id):
    tv.edit_turn(turn_id)
    qtbot.waitUntil(lambda: tv.current_editor() is not None)
    ed = tv.current_editor()
    ed.setFocus()
    return ed


def test_edit_emits_turn_edited_and_space_types(tv, qtbot):
    edits = []
    tv.turnEdited.connect(lambda *a: edits.append(a))
    ed = _open_editor(tv, qtbot, "t1")
    QTest.keyClicks(ed, " ok go")
    with qtbot.waitSignal(tv.turnEdited) as sig:
        QTest.keyClick(ed, Qt.Key.Key_Return)
    assert sig.args == ["t1", "turn number 1 word  ok go"]
    qtbot.wait(20)
    assert len(edits) == 1  # closing the editor does not commit twice
    assert tv.current_editor() is None
    # the view did not change its own data: the app answers with update_turn
    assert tv.model.turn(1).text == "turn number 1 word "
    tv.update_turn(Turn("t1", "A", 3.0, 5.5, sig.args[1]))
    assert tv.model.turn(1).text.endswith("ok go")


def test_split_at_cursor_uses_code_points(tv, qtbot):
    tv.set_turns([Turn("x", "A", 10.0, 12.0, "😀 héllo wörld"), Turn("y", "B", 12.0, 13.0, "next")])
    ed = _open_editor(tv, qtbot, "x")
    c = ed.textCursor()
    c.setPosition(len("😀 héllo".encode("utf-16-le")) // 2)  # Qt counts UTF-16 units
    ed.setTextCursor(c)
    with qtbot.waitSignal(tv.turnSplit) as sig:
        QTest.keyClick(ed, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    turn_id, offset, t = sig.args
    assert turn_id == "x" and offset == len("😀 héllo")
    assert t == pytest.approx(10.0 + 2.0 * offset / len("😀 héllo wörld"))
    tv.set_playhead(11.25)  # inside the turn: the split time is the playhead
    tv.split_turn("x", 3)
    assert tv.split_time(tv.model.turn(0), 3) == 11.25


def test_merge_with_next(tv, qtbot):
    tv.list.setCurrentIndex(tv.model.index(4))
    tv.list.setFocus()
    with qtbot.waitSignal(tv.turnMerge) as sig:
        QTest.keyClick(tv.list, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert sig.args == ["t4"]
    with qtbot.assertNotEmitted(tv.turnMerge):
        tv.merge_with_next("t59")  # the last turn has no next


def test_list_does_not_consume_space(tv):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent

    ev = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, " ")
    QApplication.sendEvent(tv.list, ev)
    assert not ev.isAccepted()
