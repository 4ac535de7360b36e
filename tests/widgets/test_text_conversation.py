"""ConversationEditor (structure at once, typing per burst) and ConversationView."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QTextBrowser, QVBoxLayout, QWidget

from labeldesk.widgets.conversation import ConversationEditor, ConversationView, message_text
from labeldesk.widgets.safe_text import FindBar, PositionIndicator
from labeldesk.widgets.text_offsets import OffsetMap

SHOTS = Path("/tmp/widget_shots")
DIALOGUE = [
    {"role": "system", "content": "You are a careful travel assistant."},
    {"role": "user", "content": "How tall is the Eiffel Tower? 🇫🇷", "speaker": "spk1"},
    {"role": "assistant", "content": "About **330 m** including antennas."},
]


def shot(widget: QWidget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    QApplication.processEvents()
    widget.grab().save(str(SHOTS / f"text_{name}.png"))


def make_editor(qtbot, value=DIALOGUE) -> tuple[QWidget, ConversationEditor, QLineEdit]:
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    editor = ConversationEditor()
    layout.addWidget(editor)
    elsewhere = QLineEdit()  # somewhere to move the focus to
    layout.addWidget(elsewhere)
    editor.set_value(value)
    host.resize(640, 560)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is host, timeout=1000)
    return host, editor, elsewhere


def record(w) -> list:
    seen: list = []
    w.edited.connect(lambda old, new: seen.append((old, new)))
    return seen


def contents(value) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in value]


def test_value_round_trip_keeps_extra_keys(qtbot):
    _host, editor, _ = make_editor(qtbot)
    assert editor.value() == DIALOGUE
    assert editor.system.toPlainText() == "You are a careful travel assistant."
    assert editor.turn_count() == 2


def test_typing_is_reported_per_burst_not_per_keystroke(qtbot):
    _host, editor, _ = make_editor(qtbot)
    seen = record(editor)
    text = editor.turns[1].text
    text.setFocus()
    text.moveCursor(text.textCursor().MoveOperation.End)
    QTest.keyClicks(text, " Built in 1889.")
    assert seen == []  # still typing
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=2000)
    old, new = seen[0]
    assert old == DIALOGUE
    assert new[2]["content"] == "About **330 m** including antennas. Built in 1889."
    QTest.keyClicks(text, " Yes")
    qtbot.wait(700)
    assert len(seen) == 2  # one more burst, one more edit


def test_leaving_the_turn_ends_the_burst_at_once(qtbot):
    _host, editor, elsewhere = make_editor(qtbot)
    seen = record(editor)
    editor.turns[0].text.setFocus()
    QTest.keyClicks(editor.turns[0].text, "!")
    elsewhere.setFocus()
    assert len(seen) == 1 and seen[0][1][1]["content"] == "!How tall is the Eiffel Tower? 🇫🇷"
    assert seen[0][1][1]["speaker"] == "spk1"


def test_structural_edits_by_keyboard_are_reported_immediately(qtbot):
    _host, editor, _ = make_editor(qtbot)
    seen = record(editor)
    first = editor.turns[0].text
    first.setFocus()
    QTest.keyClick(first, Qt.Key.Key_Return, Qt.KeyboardModifier.AltModifier)  # add after turn 1
    assert editor.turn_count() == 3 and editor.current_index() == 1
    assert contents(editor.value())[1:] == [("user", "How tall is the Eiffel Tower? 🇫🇷"), ("assistant", ""),
                                            ("assistant", "About **330 m** including antennas.")]
    assert len(seen) == 1
    new_turn = editor.turns[1].text
    assert new_turn.hasFocus()
    QTest.keyClicks(new_turn, "Sure.")
    QTest.keyClick(new_turn, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)  # typing first, then the move
    assert editor.current_index() == 2 and editor.turns[2].text.hasFocus()
    assert contents(editor.value())[1:] == [("user", "How tall is the Eiffel Tower? 🇫🇷"),
                                            ("assistant", "About **330 m** including antennas."),
                                            ("assistant", "Sure.")]
    assert len(seen) == 3  # added, typed, moved: three undo steps
    QTest.keyClick(editor.turns[2].text, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    QTest.keyClick(editor.turns[1].text, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    QTest.keyClick(editor.turns[0].text, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)  # already first: nothing
    assert contents(editor.value())[1][1] == "Sure."
    assert len(seen) == 5
    QTest.keyClick(editor.turns[0].text, Qt.Key.Key_Backspace,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert editor.turn_count() == 2 and len(seen) == 6
    assert seen[-1][1] == DIALOGUE


def test_buttons_and_role_change(qtbot):
    _host, editor, _ = make_editor(qtbot)
    seen = record(editor)
    QTest.mouseClick(editor.turns[1].up, Qt.MouseButton.LeftButton)
    assert contents(editor.value())[1][0] == "assistant"
    editor.turns[0].role.setCurrentText("user")
    assert contents(editor.value())[1][0] == "user" and len(seen) == 2
    QTest.mouseClick(editor.turns[1].remove, Qt.MouseButton.LeftButton)
    QTest.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    assert contents(editor.value())[1:] == [("user", "About **330 m** including antennas."), ("assistant", "")]
    assert len(seen) == 4


def test_set_value_is_silent_and_reuses_turns(qtbot):
    _host, editor, _ = make_editor(qtbot)
    seen = record(editor)
    kept = editor.turns[0]
    editor.set_value([{"role": "user", "content": "hi"}, {"role": "tool", "content": "{}"},
                      {"role": "assistant", "content": [{"type": "text", "text": "part one"}]}])
    assert editor.turns[0] is kept
    assert editor.system.toPlainText() == ""
    assert contents(editor.value()) == [("user", "hi"), ("tool", "{}"), ("assistant", "part one")]
    qtbot.wait(700)
    assert seen == []
    editor.set_value(None)
    assert editor.value() == [] and editor.empty_hint.isVisibleTo(editor)
    assert seen == []


def test_system_prompt_typing(qtbot):
    _host, editor, elsewhere = make_editor(qtbot, value=[])
    seen = record(editor)
    editor.system.setFocus()
    QTest.keyClicks(editor.system, "Be brief.")
    elsewhere.setFocus()
    assert seen == [([], [{"role": "system", "content": "Be brief."}])]
    editor.system.setFocus()
    QTest.keyClick(editor.system, Qt.Key.Key_Return, Qt.KeyboardModifier.AltModifier)
    assert contents(editor.value()) == [("system", "Be brief."), ("user", "")]


def test_message_text_handles_odd_contents():
    assert message_text(None) == ""
    assert message_text([{"type": "image_url"}, {"type": "text", "text": "a"}, "b"]) == "a\n\nb"
    assert message_text(42) == "42"


# --- the view ----------------------------------------------------------------------


def long_dialogue(n: int = 200) -> list[dict]:
    out = [{"role": "system", "content": "Answer in the user's language."}]
    for i in range(n):
        if i % 2 == 0:
            out.append({"role": "user", "speaker": f"spk{i % 3 + 1}",
                        "content": f"Question {i}: ما هو ارتفاع برج إيفل؟ 👋🏽 <img src='http://evil.example/{i}.png'>",
                        "media": [{"ref": "m1", "start": i * 2.0, "end": i * 2.0 + 1.5}]})
        else:
            out.append({"role": "assistant",
                        "content": f"Answer {i}: it is **330 m** tall.\n\n- fact one\n- fact two\n\n"
                                   f"```python\nheight = 330  # turn {i}\n```\n![x](http://evil.example/a{i}.png)"})
    return out


def document_changes(view: ConversationView, messages: list[dict]) -> int:
    """How many content changes (each one a layout pass) `set_messages` makes."""
    seen: list[tuple[int, int, int]] = []

    def record(position: int, removed: int, added: int) -> None:
        seen.append((position, removed, added))

    doc = view.text_edit().document()
    doc.contentsChange.connect(record)
    view.set_messages(messages)
    doc.contentsChange.disconnect(record)
    return len(seen)


def test_view_renders_200_turns_in_one_document_and_loads_nothing(qtbot):
    view = ConversationView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    view.show()
    qtbot.waitExposed(view)
    messages = long_dialogue(200)
    # the bubbles are inserted in one edit block: as many layout passes for
    # 200 turns as for 20 (not one per bubble), and no widget per turn
    assert document_changes(view, messages) == document_changes(view, long_dialogue(20))
    view.set_messages(messages)
    view.browser.viewport().grab()
    assert len(view.findChildren(QTextBrowser)) == 1
    assert len(view.text_edit().document().rootFrame().childFrames()) == 201  # one table per bubble
    assert not view.text_edit().document().isUndoRedoEnabled()  # a viewer keeps no undo history
    assert view.message_count() == 201
    plain = view.text_edit().toPlainText()
    assert "<img src='http://evil.example/0.png'>" in plain  # raw HTML is text
    assert all(u.startswith("http://evil.example/a") for u in view.text_edit().blocked_urls)
    assert view.text_edit().verticalScrollBar().value() == 0
    # positions map back to messages; scrolling to one shows it
    pos = OffsetMap(plain).to_utf16(plain.index("Answer 101"))  # a document (UTF-16) position
    assert view.message_at(pos) == 102
    view.scroll_to_message(150)
    assert view.text_edit().verticalScrollBar().value() > 0


def test_view_with_find_bar_and_position_indicator(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    view = ConversationView()
    layout.addWidget(view)
    bar = FindBar(view.text_edit())
    layout.addWidget(bar)
    indicator = PositionIndicator(view.text_edit())
    layout.addWidget(indicator)
    view.set_messages(long_dialogue(40))
    host.resize(640, 480)
    host.show()
    qtbot.waitExposed(host)
    bar.open()
    bar.set_query("Answer 31:")
    assert bar.match_count() == 1
    assert view.message_at(view.text_edit().textCursor().position()) == 32
    assert indicator.position()[0] > 1


def test_view_handles_empty_and_odd_messages(qtbot):
    view = ConversationView()
    qtbot.addWidget(view)
    view.set_messages([{"role": "user", "content": ""}, "not a dict", {"content": None}, {"role": "tool", "content": "x"}])
    assert view.message_count() == 3
    assert "(empty)" in view.text_edit().toPlainText()
    view.set_messages(None)
    assert view.message_count() == 0 and view.text_edit().toPlainText() == ""


def test_links_in_messages_are_only_reported(qtbot):
    view = ConversationView()
    qtbot.addWidget(view)
    view.set_messages([{"role": "assistant", "content": "See [docs](https://example.com/d)."}])
    seen = []
    view.linkActivated.connect(seen.append)
    view.text_edit().anchorClicked.emit(QUrl("https://example.com/d"))
    assert seen == ["https://example.com/d"]


def test_screenshots_conversation(qtbot):
    view = ConversationView()
    qtbot.addWidget(view)
    view.set_messages(long_dialogue(6))
    view.resize(640, 560)
    view.show()
    qtbot.waitExposed(view)
    shot(view, "conversation_view")
    host, editor, _ = make_editor(qtbot, value=DIALOGUE + [
        {"role": "user", "content": "And in Arabic? بالعربية من فضلك 👋🏽"},
        {"role": "assistant", "content": "يبلغ ارتفاع برج إيفل 330 مترًا.\nLine two of the answer, with cafe\u0301."},
    ])
    editor.turns[1].text.setFocus()
    shot(host, "conversation_editor")
