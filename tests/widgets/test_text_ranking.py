"""RankingWidget: number keys, ties, Backspace, badges, drag reorder, layouts."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from labeldesk.widgets.ranking import RankingWidget, groups_to_value, value_to_groups

SHOTS = Path("/tmp/widget_shots")
RESPONSES = [
    ("a", "1", "The Eiffel Tower is **330 m** tall (with antennas).\n\n```\nheight = 330\n```"),
    ("b", "2", "It is about 300 metres. مرحبا 👋🏽"),
    ("c", "3", "<script>alert('x')</script> I don't know."),
    ("d", "4", "![chart](http://evil.example/c.png) Roughly 1,000 feet."),
]


def shot(widget: QWidget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    QApplication.processEvents()
    widget.grab().save(str(SHOTS / f"text_{name}.png"))


def make(qtbot, n: int = 3, ties: bool = True, layout: str = "side") -> RankingWidget:
    w = RankingWidget()
    qtbot.addWidget(w)
    w.set_ties_allowed(ties)
    w.set_layout(layout)
    w.set_responses(RESPONSES[:n])
    w.resize(900, 420)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=1000)
    w.setFocus()
    return w


def record(w) -> list:
    seen: list = []
    w.edited.connect(lambda old, new: seen.append((old, new)))
    return seen


def keys(w, text: str, target=None) -> None:
    target = target or w
    for ch in text:
        if ch == "\b":
            QTest.keyClick(target, Qt.Key.Key_Backspace)
        elif ch == "=":
            QTest.keyClick(target, Qt.Key.Key_Equal)
        else:
            QTest.keyClick(target, getattr(Qt.Key, f"Key_{ch}"))


def test_number_keys_rank_in_order_of_preference(qtbot):
    w = make(qtbot)
    seen = record(w)
    keys(w, "2")
    assert w.value() == [{"response": "b", "rank": 1}]
    assert not w.is_complete()
    keys(w, "31")
    assert w.value() == [{"response": "b", "rank": 1}, {"response": "c", "rank": 2}, {"response": "a", "rank": 3}]
    assert w.is_complete()
    assert len(seen) == 3 and seen[0] == ([], [{"response": "b", "rank": 1}])
    keys(w, "2")  # already ranked: nothing
    keys(w, "9")  # no such response
    assert len(seen) == 3
    assert [w.panels[i].badge.text() for i in range(3)] == ["rank 3", "rank 1 · best", "rank 2"]


def test_equals_ties_with_the_previous_and_backspace_undoes(qtbot):
    w = make(qtbot, n=4)
    keys(w, "2=13")
    assert w.value() == [
        {"response": "b", "rank": 1}, {"response": "a", "rank": 1},
        {"response": "c", "rank": 2},
    ]
    keys(w, "=4")
    assert w.ranks() == {"b": 1, "a": 1, "c": 2, "d": 2}
    keys(w, "\b")
    assert w.ranks() == {"b": 1, "a": 1, "c": 2}
    keys(w, "\b\b")
    assert w.ranks() == {"b": 1}
    keys(w, "=\b")  # Backspace first cancels a pending "="
    assert w.ranks() == {"b": 1}
    keys(w, "\b\b")
    assert w.value() == []


def test_equals_is_ignored_when_ties_are_not_allowed_and_the_last_ranks_itself(qtbot):
    w = make(qtbot, n=3, ties=False)
    seen = record(w)
    keys(w, "3=1")
    # "=" ignored; after two of three, the last one has only one place left
    assert w.value() == [{"response": "c", "rank": 1}, {"response": "a", "rank": 2}, {"response": "b", "rank": 3}]
    assert len(seen) == 2
    keys(w, "\b")  # takes back the "1" and the automatic last place together
    assert w.value() == [{"response": "c", "rank": 1}]


def test_two_responses_with_ties(qtbot):
    w = make(qtbot, n=2)
    keys(w, "1=2")
    assert w.value() == [{"response": "a", "rank": 1}, {"response": "b", "rank": 1}]


def test_digits_typed_while_a_response_text_has_focus_still_rank(qtbot):
    w = make(qtbot)
    view = w.panels[0].view
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(10, 10))
    assert view.hasFocus()
    keys(w, "3", target=view)
    assert w.ranks() == {"c": 1}


def test_rank_badges_by_mouse(qtbot):
    w = make(qtbot)
    seen = record(w)
    QTest.mouseClick(w.panels[2].badge, Qt.MouseButton.LeftButton)
    QTest.mouseClick(w.panels[0].badge, Qt.MouseButton.LeftButton)
    assert w.ranks() == {"c": 1, "a": 2}
    QTest.mouseClick(w.panels[2].badge, Qt.MouseButton.LeftButton)  # take "c" out
    assert w.ranks() == {"a": 1}
    assert len(seen) == 3
    QTest.mouseClick(w.clear_button, Qt.MouseButton.LeftButton)
    assert w.value() == [] and len(seen) == 4


def test_drag_in_the_ranking_strip_reorders(qtbot):
    w = make(qtbot, n=4)
    keys(w, "12=34")  # a, (b = c), d
    seen = record(w)
    strip = w.rank_list
    assert [strip.item(i).text() for i in range(4)] == [
        "1 · Response 1", "=2 · Response 2", "=2 · Response 3", "3 · Response 4"]
    # what QListWidget does on an internal drop: move one row
    strip.setCurrentRow(3)
    assert strip.model().moveRow(QModelIndex(), 3, QModelIndex(), 0)
    assert w.ranks() == {"d": 1, "a": 2, "b": 3, "c": 3}  # b = c stay tied
    strip.model().moveRow(QModelIndex(), 2, QModelIndex(), 4)  # "b" to the end: it leaves the tie
    assert w.ranks() == {"d": 1, "a": 2, "c": 3, "b": 4}
    assert len(seen) == 2
    w.move_response("b", 1)
    assert w.ranks() == {"d": 1, "b": 2, "a": 3, "c": 4}


def test_double_click_toggles_a_tie(qtbot):
    w = make(qtbot, n=3)
    keys(w, "123")
    item = w.rank_list.item(1)
    rect = w.rank_list.visualItemRect(item)
    # a real double click starts with a press (QTest.mouseDClick sends only the second half)
    QTest.mouseClick(w.rank_list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    QTest.mouseDClick(w.rank_list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    assert w.ranks() == {"a": 1, "b": 1, "c": 2}
    w.toggle_tie("b")
    assert w.ranks() == {"a": 1, "b": 2, "c": 3}


def test_layouts(qtbot):
    w = make(qtbot, layout="stacked")
    assert w.splitter.orientation() == Qt.Orientation.Vertical
    w.set_layout("side")
    assert w.splitter.orientation() == Qt.Orientation.Horizontal
    w.set_layout("nonsense")
    assert w.layout_mode() == "side"


@pytest.mark.parametrize(
    "stored, shown",
    [
        (None, []),
        ([], []),
        ([{"response": "b", "rank": 1}, {"response": "a", "rank": 2}, {"response": "c", "rank": 2}],
         [{"response": "b", "rank": 1}, {"response": "a", "rank": 2}, {"response": "c", "rank": 2}]),
        ([{"response": "a", "rank": 1}, {"response": "b", "rank": 3}, {"response": "c", "rank": 3}],  # competition
         [{"response": "a", "rank": 1}, {"response": "b", "rank": 2}, {"response": "c", "rank": 2}]),  # dense
        ({"c": 1, "a": 2}, [{"response": "c", "rank": 1}, {"response": "a", "rank": 2}]),
        (["b", "a"], [{"response": "b", "rank": 1}, {"response": "a", "rank": 2}]),
        ([{"response": "a", "rank": "x"}, {"response": "a", "rank": 1}, {"rank": 2}],
         [{"response": "a", "rank": 1}]),
    ],
)
def test_set_value_is_silent_and_normalises(qtbot, stored, shown):
    w = RankingWidget()
    qtbot.addWidget(w)
    w.set_responses(RESPONSES[:3])
    seen = record(w)
    w.set_value(stored)
    assert w.value() == shown
    assert seen == []


def test_group_helpers_round_trip():
    groups = [["b"], ["a", "c"], ["d"]]
    assert value_to_groups(groups_to_value(groups)) == groups


def test_untrusted_response_text_loads_nothing(qtbot):
    w = make(qtbot, n=4)
    QApplication.processEvents()
    for panel in w.panels:
        panel.view.viewport().grab()
    assert w.panels[3].view.blocked_urls == ["http://evil.example/c.png"]
    assert "<script>" in w.panels[2].view.toPlainText()


def test_screenshot_ranking(qtbot):
    w = make(qtbot, n=3)
    keys(w, "2=13")
    shot(w, "ranking_side")
    w.set_layout("stacked")
    w.resize(700, 640)
    keys(w, "\b\b")
    keys(w, "=")
    shot(w, "ranking_stacked")
