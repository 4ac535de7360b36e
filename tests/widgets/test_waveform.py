import math

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from labeldesk.widgets.regions import Region
from labeldesk.widgets.waveform import PLAYHEAD, WAVE_FG, WaveformView

NOMOD = Qt.KeyboardModifier.NoModifier
LEFT = Qt.MouseButton.LeftButton


def drag(w, x0, x1, y, steps=4):
    QTest.mousePress(w, LEFT, NOMOD, QPoint(x0, y))
    for i in range(1, steps + 1):
        QTest.mouseMove(w, QPoint(round(x0 + (x1 - x0) * i / steps), y))
    QTest.mouseRelease(w, LEFT, NOMOD, QPoint(x1, y))


def lane_y(w, tier):
    return w.lane_rect(tier).center().y()


def test_time_x_round_trip_and_playhead_pixel(waveform):
    w = waveform
    assert w.view_range() == pytest.approx((0.0, 10.0))
    for t in (0.0, 0.005, 3.217, 9.99):
        assert w.x_to_time(w.time_to_x(t)) == pytest.approx(t)
    w.set_playhead(3.217)
    x = w.playhead_x()
    assert x == math.floor(w.time_to_x(3.217)) == 321
    img = w.grab().toImage()
    y = w.wave_rect().top() + 3
    assert img.pixelColor(x, y) == PLAYHEAD
    assert img.pixelColor(x + 2, y) != PLAYHEAD
    assert img.pixelColor(x - 2, y) != PLAYHEAD


def test_playhead_move_repaints_only_strips(waveform, qtbot):
    w = waveform
    w.grab()  # compose the cache
    calls = []
    orig = w._compose
    w._compose = lambda: (calls.append(1), orig())[1]
    w.set_playhead(5.0)
    w.repaint()
    assert calls == []  # the cached image was blitted, not rebuilt
    assert w.grab().toImage().pixelColor(500, w.wave_rect().top() + 3) == PLAYHEAD


def test_envelope_is_drawn(waveform):
    w = waveform
    img = w.grab().toImage()
    r = w.wave_rect()
    fg = WAVE_FG & 0xFFFFFF

    def lit_rows(x):
        return [y for y in range(r.top(), r.bottom() + 1) if img.pixelColor(x, y).rgb() & 0xFFFFFF == fg]

    mid = r.top() + (r.height() - 1) / 2
    amp = (r.height() / 2 - 1) * 0.8
    # 3 Hz sine of amplitude 0.8 at 100 px/s: crest at column 8, trough at 25
    crest, trough = lit_rows(8), lit_rows(25)
    assert crest and abs(min(crest) - (mid - amp)) <= 2
    assert trough and abs(max(trough) - (mid + amp)) <= 2
    # the trace is continuous: every column between has lit pixels
    assert all(lit_rows(x) for x in range(1, 60))  # column 0 holds the playhead
    assert w.channels == 1


def test_drag_on_empty_lane_creates_region(waveform, qtbot):
    w = waveform
    with qtbot.waitSignal(w.regionCreated) as sig:
        drag(w, 700, 850, lane_y(w, "speaker"))
    tier, a, b = sig.args
    assert tier == "speaker"
    assert (a, b) == pytest.approx((7.0, 8.5))
    # the widget never edits its own regions
    assert {r.id for r in w.regions()} == {"a", "b", "c"}


def test_drag_backwards_in_waveform_uses_current_tier(waveform, qtbot):
    w = waveform
    w.set_current_tier("event")
    with qtbot.waitSignal(w.regionCreated) as sig:
        drag(w, 880, 820, w.wave_rect().center().y())
    assert sig.args[0] == "event"
    assert sig.args[1:] == pytest.approx([8.2, 8.8])


def test_edge_drag_resizes(waveform, qtbot):
    w = waveform
    y = lane_y(w, "speaker")
    with qtbot.waitSignal(w.regionChanged) as sig:
        drag(w, 600, 700, y)  # end edge of b (4–6 s)
    assert sig.args[0] == "b"
    assert sig.args[1:] == pytest.approx([4.0, 7.0])
    with qtbot.waitSignal(w.regionChanged) as sig:
        drag(w, 401, 350, y)  # start edge, grabbed 1 px inside
    assert sig.args[0] == "b"
    assert sig.args[1:] == pytest.approx([3.5, 6.0])


def test_edge_cannot_cross_other_edge(waveform, qtbot):
    w = waveform
    with qtbot.waitSignal(w.regionChanged) as sig:
        drag(w, 200, 50, lane_y(w, "speaker"))  # end of a (1–2 s) dragged before its start
    rid, a, b = sig.args
    assert rid == "a" and a == pytest.approx(1.0) and b > a


def test_snapping_applies_to_create_resize_and_marks(waveform, qtbot):
    w = waveform
    w.set_snap_provider(lambda t: round(t * 4) / 4)  # quarter-second grid
    y = lane_y(w, "speaker")
    with qtbot.waitSignal(w.regionCreated) as sig:
        drag(w, 712, 838, y)
    assert sig.args[1:] == pytest.approx([7.0, 8.5])
    with qtbot.waitSignal(w.regionChanged) as sig:
        drag(w, 600, 661, y)
    assert sig.args[1:] == pytest.approx([4.0, 6.5])
    w.set_playhead(2.61)
    w.mark_start()
    w.set_playhead(3.37)
    with qtbot.waitSignal(w.regionCreated) as sig:
        w.mark_end()
    assert sig.args[1:] == pytest.approx([2.5, 3.25])


def test_click_selects_region_and_click_empty_seeks(waveform, qtbot):
    w = waveform
    y = lane_y(w, "speaker")
    seeks = []
    w.seekRequested.connect(seeks.append)
    with qtbot.waitSignal(w.regionSelected) as sig:
        QTest.mouseClick(w, LEFT, NOMOD, QPoint(150, y))
    assert sig.args == ["a"] and w.selected() == "a" and seeks == []
    with qtbot.waitSignal(w.regionSelected) as sig:
        QTest.mouseClick(w, LEFT, NOMOD, QPoint(333, w.wave_rect().center().y()))
    assert sig.args == [""]
    assert seeks == [pytest.approx(3.33)]


def test_ruler_drag_scrubs(waveform, qtbot):
    w = waveform
    seeks = []
    w.seekRequested.connect(seeks.append)
    drag(w, 100, 300, 5, steps=2)
    assert seeks[0] == pytest.approx(1.0) and seeks[-1] == pytest.approx(3.0)


def test_digit_labels_and_delete(waveform, qtbot):
    w = waveform
    w.set_selected("a")
    with qtbot.waitSignal(w.regionLabeled) as sig:
        QTest.keyClick(w, Qt.Key.Key_2)
    assert sig.args == ["a", "spk2"]
    with qtbot.assertNotEmitted(w.regionLabeled):
        QTest.keyClick(w, Qt.Key.Key_7)  # the tier has 3 labels
    with qtbot.waitSignal(w.regionDeleted) as sig:
        QTest.keyClick(w, Qt.Key.Key_Delete)
    assert sig.args == ["a"]


def test_set_start_set_end_keys_while_playing(waveform, qtbot):
    w = waveform
    w.set_playing(True)
    w.set_playhead(2.25)
    QTest.keyClick(w, Qt.Key.Key_BracketLeft)
    assert w.pending_start() == pytest.approx(2.25)
    w.set_playhead(3.75)
    with qtbot.waitSignal(w.regionCreated) as sig:
        QTest.keyClick(w, Qt.Key.Key_BracketRight)
    assert sig.args == ["speaker", pytest.approx(2.25), pytest.approx(3.75)]
    assert w.pending_start() is None


def test_shared_start_end_key_alternates(waveform, qtbot):
    w = waveform
    w.set_key_map({"set_start": ("Return",), "set_end": ("Return",)})  # ELAN style
    w.set_playhead(1.0)
    QTest.keyClick(w, Qt.Key.Key_Return)
    w.set_playhead(1.5)
    with qtbot.waitSignal(w.regionCreated) as sig:
        QTest.keyClick(w, Qt.Key.Key_Return)
    assert sig.args[1:] == pytest.approx([1.0, 1.5])


def test_zoom_keys_wheel_selection_and_fit(waveform):
    w = waveform
    w.set_playhead(5.0)
    QTest.keyClick(w, Qt.Key.Key_Plus)
    t0, t1 = w.view_range()
    assert t1 - t0 == pytest.approx(5.0)
    assert w.time_to_x(5.0) == pytest.approx(500, abs=1)  # anchored on the playhead
    QTest.keyClick(w, Qt.Key.Key_Minus)
    assert w.view_range()[1] - w.view_range()[0] == pytest.approx(10.0)
    ev = QWheelEvent(
        QPointF(250, 60), QPointF(w.mapToGlobal(QPoint(250, 60))), QPoint(), QPoint(0, 120),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )
    QApplication.sendEvent(w, ev)
    assert w.view_range()[1] - w.view_range()[0] == pytest.approx(8.0)
    assert w.x_to_time(250) == pytest.approx(2.5, abs=0.01)  # anchored under the mouse
    w.set_selected("b")
    w.zoom_to_selection()
    t0, t1 = w.view_range()
    assert t0 < 4.0 < 6.0 < t1 and t1 - t0 < 2.5
    w.zoom_to_fit()
    assert w.view_range() == pytest.approx((0.0, 100.0))


def test_zoom_reaches_single_samples(waveform):
    w = waveform
    for _ in range(40):
        w.zoom_in()
    assert w.seconds_per_pixel() == pytest.approx(1 / (48000 * WaveformView.MAX_PX_PER_SAMPLE))
    w.grab()  # renders at the deepest zoom


def test_follow_pages_while_playing(waveform):
    w = waveform
    w.set_playing(True)
    w.set_playhead(9.7)
    t0, t1 = w.view_range()
    assert t0 > 9.0 and t0 < 9.7 < t1
    assert 0 <= w.playhead_x() < w.width()
    w.set_playing(False)
    w.set_playhead(50.0)  # a seek elsewhere centres it
    t0, t1 = w.view_range()
    assert t0 < 50.0 < t1


def test_space_is_not_consumed(waveform):
    w = waveform
    ev = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Space, NOMOD, " ")
    QApplication.sendEvent(w, ev)
    assert not ev.isAccepted()


def test_nan_and_stereo_envelope_and_spectrogram(qtbot, tiers):
    w = WaveformView()
    qtbot.addWidget(w)
    w.resize(600, 300)

    def env(t0, t1, n):
        lo = np.full((n, 2), -0.5, np.float32)
        hi = np.full((n, 2), 0.5, np.float32)
        lo[: n // 2] = np.nan  # not decoded yet
        return lo, hi

    w.set_envelope_provider(env)
    w.set_spectrogram_provider(lambda t0, t1, n, h: np.tile(np.linspace(0, 255, n, dtype=np.uint8), (h, 1)))
    w.set_duration(20.0)
    w.set_regions([Region(str(i), "speaker", i * 0.01, i * 0.01 + 0.005) for i in range(2000)], tiers)
    w.set_spectrogram_visible(True)
    img = w.grab().toImage()
    assert w.channels == 2
    assert w.spectrogram_rect().height() > 20
    r = w.wave_rect()
    assert img.pixelColor(500, r.top() + r.height() // 4).rgb() & 0xFFFFFF == WAVE_FG & 0xFFFFFF
    assert img.pixelColor(50, r.top() + r.height() // 4).rgb() & 0xFFFFFF != WAVE_FG & 0xFFFFFF
