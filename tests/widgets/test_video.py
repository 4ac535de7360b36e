import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from labeldesk.widgets.regions import Region, Tier
from labeldesk.widgets.video import TimelineStrip, VideoFrameView

NOMOD = Qt.KeyboardModifier.NoModifier


def _frame(h=90, w=160, rgb=(200, 30, 40)):
    f = np.zeros((h, w, 3), np.uint8)
    f[:] = rgb
    return f


@pytest.fixture
def view(qtbot):
    v = VideoFrameView()
    qtbot.addWidget(v)
    v.resize(400, 400)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_frame_scaled_with_aspect_and_overlay(view):
    view.set_frame(_frame(), 42, 1.4)
    r = view.image_rect()
    assert r.width() == pytest.approx(400) and r.height() == pytest.approx(225)
    img = view.grab().toImage()
    assert img.pixelColor(200, 150).getRgb()[:3] == (200, 30, 40)
    assert img.pixelColor(200, 40).getRgb()[:3] != (200, 30, 40)  # letterbox
    assert view.frame_index() == 42 and view.frame_pts() == 1.4


def test_read_only_frame_is_shown_without_copy(view):
    f = _frame(rgb=(10, 200, 30))
    f.setflags(write=False)  # decoders hand out shared, read-only frames
    view.set_frame(f, 7, 0.28)
    assert view.grab().toImage().pixelColor(200, 200).getRgb()[:3] == (10, 200, 30)


def test_rotation_swaps_aspect(view):
    view.set_frame(_frame(), 0, 0.0)
    view.set_rotation(90)
    r = view.image_rect()
    assert r.height() == pytest.approx(400) and r.width() == pytest.approx(225)
    view.set_rotation(-90)
    assert view.rotation() == 270
    img = view.grab().toImage()
    assert img.pixelColor(200, 350).getRgb()[:3] == (200, 30, 40)


def test_message_replaces_frame(view):
    view.set_frame(_frame(), 0, 0.0)
    view.show_message("Cannot decode this video")
    assert view.message() == "Cannot decode this video"
    img = view.grab().toImage()
    assert img.pixelColor(200, 40).getRgb()[:3] != (200, 30, 40)
    view.set_frame(_frame(), 1, 0.04)
    assert view.message() is None


def test_step_keys(view, qtbot):
    with qtbot.waitSignal(view.stepRequested) as sig:
        QTest.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert sig.args == [1]
    with qtbot.waitSignal(view.keyframeStepRequested) as sig:
        QTest.keyClick(view, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert sig.args == [-1]


def test_timeline_strip_seeks_and_draws(qtbot):
    s = TimelineStrip()
    qtbot.addWidget(s)
    s.resize(600, 90)
    s.set_duration(60.0)
    s.set_thumbnails([(t, _frame(rgb=(t * 4, 100, 200))) for t in range(0, 60, 5)])
    s.set_regions([Region("a", "spk", 10.0, 20.0, label="x")], [Tier("spk", "#59a14f")])
    s.set_playhead(30.0)
    s.show()
    qtbot.waitExposed(s)
    assert s.playhead_x() == 300
    img = s.grab().toImage()
    assert img.pixelColor(300, 50).getRgb()[:3] == (255, 82, 82)
    seeks = []
    s.seekRequested.connect(seeks.append)
    QTest.mousePress(s, Qt.MouseButton.LeftButton, NOMOD, QPoint(150, 40))
    QTest.mouseMove(s, QPoint(450, 40))
    QTest.mouseRelease(s, Qt.MouseButton.LeftButton, NOMOD, QPoint(450, 40))
    assert seeks[0] == pytest.approx(15.0) and seeks[-1] == pytest.approx(45.0)
    s.set_view(10.0, 20.0)
    assert s.x_to_time(300) == pytest.approx(15.0)
