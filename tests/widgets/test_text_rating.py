"""RatingBar and ChoiceGroup: keys, clicks, silent set_value, edited(old, new)."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QGroupBox, QLabel, QVBoxLayout, QWidget

from labeldesk.widgets.rating import ChoiceGroup, RatingBar, choice_keys

SHOTS = Path("/tmp/widget_shots")


def shot(widget: QWidget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    QApplication.processEvents()
    widget.grab().save(str(SHOTS / f"text_{name}.png"))


def record(widget) -> list:
    seen: list = []
    widget.edited.connect(lambda old, new: seen.append((old, new)))
    return seen


def shown(qtbot, widget):
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget.window(), timeout=1000)
    widget.setFocus()
    return widget


def click(button) -> None:
    """Click a radio button / check box on its indicator, as a user would."""
    QTest.mouseClick(button, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(8, button.height() // 2))


# --- RatingBar ------------------------------------------------------------------------


def test_rating_keys_set_clear_and_step(qtbot):
    bar = shown(qtbot, RatingBar(1, 5))
    seen = record(bar)
    QTest.keyClick(bar, Qt.Key.Key_4)
    assert bar.value() == 4
    QTest.keyClick(bar, Qt.Key.Key_7)  # off the scale: nothing
    QTest.keyClick(bar, Qt.Key.Key_Left)
    assert bar.value() == 3
    QTest.keyClick(bar, Qt.Key.Key_End)
    assert bar.value() == 5
    QTest.keyClick(bar, Qt.Key.Key_0)
    assert bar.value() is None
    QTest.keyClick(bar, Qt.Key.Key_2)
    QTest.keyClick(bar, Qt.Key.Key_Delete)
    assert seen == [(None, 4), (4, 3), (3, 5), (5, None), (None, 2), (2, None)]


def test_rating_keypad_digits_and_zero_on_a_zero_based_scale(qtbot):
    bar = shown(qtbot, RatingBar(0, 3))
    QTest.keyClick(bar, Qt.Key.Key_2, Qt.KeyboardModifier.KeypadModifier)
    assert bar.value() == 2
    QTest.keyClick(bar, Qt.Key.Key_0)  # 0 is on this scale: it rates 0
    assert bar.value() == 0
    QTest.keyClick(bar, Qt.Key.Key_Backspace)
    assert bar.value() is None


def test_rating_click_and_click_again_clears(qtbot):
    bar = shown(qtbot, RatingBar(1, 5))
    seen = record(bar)
    QTest.mouseClick(bar.buttons[2], Qt.MouseButton.LeftButton)
    assert bar.value() == 3 and bar.hasFocus()
    QTest.mouseClick(bar.buttons[2], Qt.MouseButton.LeftButton)
    assert bar.value() is None
    assert seen == [(None, 3), (3, None)]


@pytest.mark.parametrize(
    "given, shown_value",
    [(3, 3), ("4", 4), (2.0, 2), (2.5, None), (9, None), (None, None), ("x", None), (True, None), ([1], None)],
)
def test_rating_set_value_is_silent_and_tolerant(qtbot, given, shown_value):
    bar = RatingBar(1, 5)
    qtbot.addWidget(bar)
    seen = record(bar)
    bar.set_value(given)
    assert bar.value() == shown_value
    assert seen == []
    assert [b.isChecked() for b in bar.buttons].count(True) == (0 if shown_value is None else 1)


def test_rating_keys_beat_a_window_shortcut_while_focused(qtbot):
    host = QWidget()
    layout = QVBoxLayout(host)
    bar = RatingBar(1, 5)
    layout.addWidget(bar)
    fired = []
    QShortcut(QKeySequence("3"), host).activated.connect(lambda: fired.append(1))
    shown(qtbot, host)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is host, timeout=1000)
    bar.setFocus()
    QTest.keyClick(bar, Qt.Key.Key_3)
    assert bar.value() == 3 and fired == []


def test_reversed_bounds_are_swapped(qtbot):
    bar = RatingBar(5, 1)
    qtbot.addWidget(bar)
    assert (bar.minimum(), bar.maximum()) == (1, 5)
    assert len(bar.buttons) == 5


# --- ChoiceGroup ----------------------------------------------------------------------


OPTIONS = ["open-qa", "closed-qa", "brainstorming", "classification", "extraction",
           "summarization", "rewrite", "code", "math", "other", "translation"]


def test_choice_keys_are_digits_then_letters():
    assert choice_keys(11) == list("123456789ab")


def test_single_choice_by_keyboard(qtbot):
    group = shown(qtbot, ChoiceGroup(OPTIONS))
    seen = record(group)
    QTest.keyClick(group, Qt.Key.Key_8)
    assert group.value() == "code"
    QTest.keyClick(group, Qt.Key.Key_8)  # again: stays chosen
    QTest.keyClick(group, Qt.Key.Key_A)  # 10th option
    assert group.value() == "other"
    QTest.keyClick(group, Qt.Key.Key_B)
    assert group.value() == "translation"
    QTest.keyClick(group, Qt.Key.Key_0)
    assert group.value() is None
    assert seen == [(None, "code"), ("code", "other"), ("other", "translation"), ("translation", None)]
    assert [b.isChecked() for b in group.buttons.values()] == [False] * len(OPTIONS)


def test_single_choice_by_mouse_and_click_again_clears(qtbot):
    group = shown(qtbot, ChoiceGroup(["keep", "fix", "reject"]))
    seen = record(group)
    click(group.buttons["fix"])
    click(group.buttons["reject"])
    assert group.value() == "reject"
    assert not group.buttons["fix"].isChecked()
    click(group.buttons["reject"])
    assert group.value() is None
    assert seen == [(None, "fix"), ("fix", "reject"), ("reject", None)]


def test_multiple_choice_toggles_and_keeps_option_order(qtbot):
    group = shown(qtbot, ChoiceGroup(["violence", "self-harm", "hate", "privacy"], multiple=True))
    seen = record(group)
    QTest.keyClick(group, Qt.Key.Key_4)
    QTest.keyClick(group, Qt.Key.Key_1)
    assert group.value() == ["violence", "privacy"]
    click(group.buttons["hate"])
    QTest.keyClick(group, Qt.Key.Key_4)
    assert group.value() == ["violence", "hate"]
    QTest.keyClick(group, Qt.Key.Key_Delete)
    assert group.value() == []
    assert seen[0] == ([], ["privacy"]) and seen[-1] == (["violence", "hate"], [])


def test_choice_set_value_is_silent_and_keeps_unknown_answers(qtbot):
    group = ChoiceGroup(["safe", "unsafe"], multiple=True)
    qtbot.addWidget(group)
    seen = record(group)
    group.set_value(["unsafe", "legacy-option"])
    assert group.value() == ["unsafe", "legacy-option"]
    assert "legacy-option" in group.buttons and group.buttons["legacy-option"].font().italic()
    group.set_value(None)
    assert group.value() == []
    single = ChoiceGroup(["a", "b"])
    qtbot.addWidget(single)
    single.set_value(["b", "a"])  # a list for a single choice: the first
    assert single.value() == "b"
    assert seen == []


def test_choice_with_rtl_and_emoji_options(qtbot):
    group = shown(qtbot, ChoiceGroup(["نعم", "לא", "🤷 unsure", "café"]))
    QTest.keyClick(group, Qt.Key.Key_3)
    assert group.value() == "🤷 unsure"


def test_screenshot_rating_and_choices(qtbot):
    host = QWidget()
    layout = QVBoxLayout(host)
    box = QGroupBox("1. Quality of the best response *")
    inner = QVBoxLayout(box)
    inner.addWidget(QLabel("How helpful is the conversation as a whole?"))
    rating = RatingBar(1, 5, captions={1: "useless", 5: "excellent"})
    rating.set_value(4)
    inner.addWidget(rating)
    layout.addWidget(box)
    box2 = QGroupBox("2. What kind of request is this?")
    inner2 = QVBoxLayout(box2)
    choice = ChoiceGroup(OPTIONS)
    choice.set_value("code")
    inner2.addWidget(choice)
    layout.addWidget(box2)
    box3 = QGroupBox("3. Categories")
    inner3 = QVBoxLayout(box3)
    multi = ChoiceGroup(["violence", "self-harm", "hate", "privacy", "other"], multiple=True)
    multi.set_value(["hate", "privacy"])
    inner3.addWidget(multi)
    layout.addWidget(box3)
    host.resize(460, 480)
    shown(qtbot, host)
    rating.setFocus()
    shot(host, "rating")
