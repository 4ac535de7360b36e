import math
import struct
import wave

import pytest

from labeldesk.app.ui.playhead import Playhead


@pytest.fixture
def ph(qtbot):
    p = Playhead()
    yield p
    p.pause()


def test_free_clock_advances_in_real_time(ph, qtbot):
    times = []
    ph.timeChanged.connect(times.append)
    with qtbot.waitSignal(ph.playingChanged) as sig:
        ph.play()
    assert sig.args == [True]
    qtbot.wait(400)
    t = ph.time()
    assert 0.25 < t < 0.9, t
    assert len(times) >= 8  # ~60 Hz ticks, tolerant of a busy machine
    assert times == sorted(times)  # monotonic while playing
    ph.pause()
    frozen = ph.time()
    qtbot.wait(100)
    assert ph.time() == frozen and not ph.is_playing()


def test_seek_while_paused_and_playing(ph, qtbot):
    with qtbot.waitSignal(ph.timeChanged) as sig:
        ph.seek(12.5)
    assert sig.args == [12.5] and ph.time() == 12.5
    ph.set_duration(20.0)
    ph.seek(99)
    assert ph.time() == 20.0
    ph.seek(-3)
    assert ph.time() == 0.0
    ph.play()
    qtbot.wait(50)
    ph.seek(5.0)
    qtbot.wait(150)
    assert 5.05 < ph.time() < 5.8


def test_stops_at_duration(ph, qtbot):
    ph.set_duration(0.25)
    with qtbot.waitSignal(ph.playingChanged, timeout=3000, check_params_cb=lambda p: p is False):
        ph.play()
    assert ph.time() == pytest.approx(0.25)
    ph.play()  # from the end: starts over
    assert ph.is_playing() and ph.time() < 0.1


def test_play_range_stops_at_end(ph, qtbot):
    ph.set_duration(10)
    with qtbot.waitSignal(ph.playingChanged, timeout=3000, check_params_cb=lambda p: p is False):
        ph.play_range(1.0, 1.2)
    assert ph.time() == pytest.approx(1.2)
    assert not ph.is_playing()


def test_loop_wraps(ph, qtbot):
    ph.set_duration(10)
    times = []
    ph.timeChanged.connect(times.append)
    ph.set_loop(2.0, 2.15)
    assert ph.time() == 2.0  # moved into the loop
    ph.play()
    qtbot.wait(500)
    assert ph.is_playing()
    assert all(2.0 <= t <= 2.15 + 1e-9 for t in times)
    wraps = sum(1 for a, b in zip(times, times[1:]) if b < a)
    assert wraps >= 2
    ph.clear_loop()
    qtbot.wait(100)
    assert ph.time() > 2.0


def test_rate(ph, qtbot):
    with qtbot.waitSignal(ph.rateChanged) as sig:
        ph.set_rate(2.0)
    assert sig.args == [2.0]
    ph.set_rate(7)
    assert ph.rate() == Playhead.MAX_RATE
    ph.set_rate(0.1)
    assert ph.rate() == Playhead.MIN_RATE
    ph.set_rate(2.0)
    ph.play()
    qtbot.wait(300)
    t = ph.time()
    assert 0.45 < t < 1.6, t
    # changing rate while playing does not jump
    before = ph.time()
    ph.set_rate(0.5)
    assert abs(ph.time() - before) < 0.05


def test_toggle(ph):
    ph.toggle()
    assert ph.is_playing()
    ph.toggle()
    assert not ph.is_playing()


def _write_wav(path, seconds=1.5, rate=16000):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        n = int(seconds * rate)
        f.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(n)))


def test_with_audio_source_follows_player(ph, qtbot, tmp_path):
    """QMediaPlayer plays without an audio device (offscreen CI) and drives the clock."""
    path = tmp_path / "tone.wav"
    _write_wav(path)
    try:
        with qtbot.waitSignal(ph.durationChanged, timeout=5000):
            ph.set_source(path)
    except Exception:
        pytest.skip("no QtMultimedia backend could open a WAV here")
    assert ph.duration == pytest.approx(1.5, abs=0.05)
    ph.play()
    qtbot.waitUntil(lambda: ph.time() > 0.2, timeout=3000)
    ph.pause()
    t = ph.time()
    assert 0.2 < t <= 1.5
    ph.seek(1.0)
    assert ph.time() == pytest.approx(1.0)


def test_panes_follow_the_one_clock(ph, qtbot):
    """Wiring as app/ui does it: panes follow timeChanged, seeks go to the clock."""
    from labeldesk.widgets.transcript import TranscriptView, Turn
    from labeldesk.widgets.waveform import WaveformView

    wave = WaveformView()
    tv = TranscriptView()
    qtbot.addWidget(wave)
    qtbot.addWidget(tv)
    wave.resize(800, 200)
    wave.set_duration(30.0)
    tv.set_turns([Turn("a", "A", 0.0, 0.3, "hi"), Turn("b", "B", 0.3, 5.0, "there")])
    ph.set_duration(30.0)
    for pane in (wave, tv):
        ph.timeChanged.connect(pane.set_playhead)
        pane.seekRequested.connect(ph.seek)
    ph.playingChanged.connect(wave.set_playing)
    ph.play()
    qtbot.waitUntil(lambda: tv.active_turn() is not None and tv.active_turn().id == "b", timeout=3000)
    assert wave.playhead() == pytest.approx(ph.time(), abs=0.05)
    ph.pause()
    wave.seekRequested.emit(12.0)  # as a click in the waveform does
    assert ph.time() == 12.0 and wave.playhead() == 12.0 and tv.active_turn() is None
