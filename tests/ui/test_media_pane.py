"""The media pane on real media: one clock for transcript, waveform and video; segments as the answer.

Media are made here: espeak-ng speech (a tone when espeak-ng is missing) as
FLAC, and a small H.264 + AAC video with irregular keyframes encoded with
PyAV, copied into a media folder under their sha256 as the workspace does.
Frames shown by the pane are checked against a plain sequential PyAV decode.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from labeldesk.app.ui import media_tracks, media_workers
from labeldesk.app.ui.media_pane import MediaPane, uninstall_text_guard
from labeldesk.app.ui.media_tracks import peaks_cache_dir
from labeldesk.app.ui.media_workers import LatestWorker
from labeldesk.app.workflow.tasks import Task
from labeldesk.media.audio import nearest_zero_crossing
from labeldesk.media.errors import Cancelled
from labeldesk.media.peaks import PeakPyramid, build_peaks

pytestmark = pytest.mark.gui

LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier

FPS, N_FRAMES, W, H = 30, 120, 160, 120
KEYFRAMES = (0, 7, 40, 45, 90)  # irregular groups of pictures
QUESTION = {
    "name": "segments", "type": "segments",
    "tiers": [{"name": "speaker", "labels": ["spk1", "spk2", "spk3"]}, {"name": "transcript"},
              {"name": "events", "labels": ["music", "noise"]}],
}
SPEECH = "Hello there. This is the first speaker talking about the weather. And this is a reply."


@pytest.fixture(autouse=True)
def _no_guard_left_behind():
    """Panes install an app-wide TextInputGuard; other tests in this process expect none."""
    yield
    uninstall_text_guard()


# --- media made for the tests ------------------------------------------------------

def _picture(i: int) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.stack([(xx * 3 + i * 7) % 256, (yy * 3 + i * 5) % 256, ((xx + yy + i * 11) // 2) % 256], -1)
    y0, x0 = (i * 5) % (H - 16), (i * 9) % (W - 16)
    img[y0:y0 + 16, x0:x0 + 16] = 255
    return img.astype(np.uint8)


def _encode_video(path: Path, with_audio: bool = True) -> Path:
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = W, H, "yuv420p"
        v.options = {"preset": "ultrafast", "x264-params": "keyint=1000:min-keyint=1000:scenecut=0"}
        a = out.add_stream("aac", rate=48000) if with_audio else None
        if a is not None:
            a.layout = "mono"
        for i in range(N_FRAMES):
            frame = av.VideoFrame.from_ndarray(_picture(i), format="rgb24")
            frame.pts = i
            if i in KEYFRAMES:
                frame.pict_type = av.video.frame.PictureType.I
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)
        if a is not None:
            t = np.arange(int(N_FRAMES / FPS * 48000)) / 48000
            x = (0.5 * np.sin(2 * np.pi * 330 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * t))).astype(np.float32)
            for i in range(0, len(x), 1024):
                frame = av.AudioFrame.from_ndarray(x[None, i:i + 1024].copy(), format="fltp", layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = 48000, i, Fraction(1, 48000)
                for packet in a.encode(frame):
                    out.mux(packet)
            for packet in a.encode(None):
                out.mux(packet)
    return path


def _speech(path: Path) -> Path:
    wav = path.with_suffix(".wav")
    if shutil.which("espeak-ng"):
        subprocess.run(["espeak-ng", "-w", str(wav), SPEECH], check=True, capture_output=True)
        x, sr = sf.read(str(wav), dtype="float32")
    else:  # a tone with pauses stands in for speech
        sr = 22050
        t = np.arange(5 * sr) / sr
        x = (0.4 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 0.8 * t) > 0)).astype(np.float32)
    sf.write(str(path), x, sr)
    return path


def _store(root: Path, src: Path) -> dict:
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    shutil.copyfile(src, root / f"{sha}{src.suffix}")
    return {"sha256": sha, "path": f"{sha}{src.suffix}"}


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("ws")
    root = base / "media"
    root.mkdir()
    made = base / "made"
    made.mkdir()
    video = _encode_video(made / "clip.mp4")
    speech = _speech(made / "speech.flac")
    silent = _encode_video(made / "silent.mp4", with_audio=False)
    truncated = made / "cut.mp4"
    truncated.write_bytes(video.read_bytes()[: int(video.stat().st_size * 0.4)])
    garbage = made / "noise.mp4"
    garbage.write_bytes(np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    empty = made / "empty.wav"
    empty.write_bytes(b"")
    with av.open(str(video)) as c:
        stream = c.streams.video[0]
        reference = [(float(f.pts * f.time_base), f.to_ndarray(format="rgb24")) for f in c.decode(stream)]
    return {
        "root": root, "video": _store(root, video), "speech": _store(root, speech), "silent": _store(root, silent),
        "truncated": _store(root, truncated), "garbage": _store(root, garbage), "empty": _store(root, empty),
        "speech_seconds": sf.info(str(speech)).duration, "reference": reference,
    }


def _task(media: list[dict], turns: list[tuple[str, float, float, str]] | None = None) -> Task:
    turns = turns if turns is not None else [("spk1", 0.0, 1.5, "first turn"), ("spk2", 1.6, 3.0, "second turn")]
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "speaker": spk, "content": text,
                 "media": [{"ref": media[0]["id"], "start": a, "end": b}]} for i, (spk, a, b, text) in enumerate(turns)]
    return Task(1, "u1", "conversation", "p", {"messages": messages, "media": media}, {}, {}, {}, "draft", 0.0, 1)


def _entry(library: dict, key: str, kind: str, mid: str = "m1", duration: float | None = None) -> dict:
    entry = {"id": mid, "type": kind, **library[key]}
    if duration is not None:
        entry["duration"] = duration
    return entry


@pytest.fixture
def make_pane(qtbot, library):
    panes = []

    def make(media: list[dict], question: dict = QUESTION, play_audio: bool = False, turns=None,
             wait: str | None = "loaded") -> MediaPane:
        pane = MediaPane(question, library["root"], play_audio=play_audio)
        qtbot.addWidget(pane)
        pane.resize(1000, 640)
        pane.show()
        qtbot.waitExposed(pane)
        panes.append(pane)
        if wait == "loaded":
            with qtbot.waitSignal(pane.mediaLoaded, timeout=10000):
                pane.set_task(_task(media, turns))
        elif wait == "failed":
            with qtbot.waitSignal(pane.mediaFailed, timeout=10000):
                pane.set_task(_task(media, turns))
        else:
            pane.set_task(_task(media, turns))
        return pane

    yield make
    for pane in panes:
        pane.shutdown()
    assert media_workers.stop_all(5000)


def _wait_peaks(qtbot, pane: MediaPane) -> None:
    qtbot.waitUntil(lambda: pane.pyramid() is not None and pane.pyramid().complete, timeout=10000)


def _expected_index(reference: list, t: float) -> int:
    times = [pts for pts, _ in reference]
    return max(0, int(np.searchsorted(times, t, side="right")) - 1)


def _drag(widget, x0: int, x1: int, y: int, steps: int = 4) -> None:
    QTest.mousePress(widget, LEFT, NOMOD, QPoint(x0, y))
    for i in range(1, steps + 1):
        QTest.mouseMove(widget, QPoint(round(x0 + (x1 - x0) * i / steps), y))
    QTest.mouseRelease(widget, LEFT, NOMOD, QPoint(x1, y))


def _view_pixels(view) -> np.ndarray:
    """The picture part of the frame view as painted (RGB), above the frame-number overlay."""
    img = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, : img.width() * 3]
    arr = arr.reshape(img.height(), img.width(), 3)
    r = view.image_rect().toAlignedRect()
    return arr[r.top() + 2: r.top() + int(r.height() * 0.7), r.left() + 2: r.right() - 2].astype(np.int16)


def _scaled(rgb: np.ndarray, view) -> np.ndarray:
    r = view.image_rect().toAlignedRect()
    src = QImage(np.ascontiguousarray(rgb).data, rgb.shape[1], rgb.shape[0], rgb.shape[1] * 3,
                 QImage.Format.Format_RGB888)
    img = src.scaled(r.width(), r.height(), Qt.AspectRatioMode.IgnoreAspectRatio,
                     Qt.TransformationMode.SmoothTransformation).convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, : img.width() * 3]
    arr = arr.reshape(img.height(), img.width(), 3)
    return arr[2: int(r.height() * 0.7), 2: r.width() - 3].astype(np.int16)


# --- sync -------------------------------------------------------------------------

def test_seek_puts_every_pane_on_the_same_time(make_pane, library, qtbot):
    turns = [("spk1", 0.0, 1.2, "first"), ("spk2", 1.5, 2.5, "second"), ("spk1", 2.5, 3.9, "third")]
    pane = make_pane([_entry(library, "video", "video", duration=4.0)], turns=turns)
    _wait_peaks(qtbot, pane)
    qtbot.waitUntil(lambda: pane.displayed_frame() is not None, timeout=10000)
    reference = library["reference"]
    assert pane.video_info().n_frames == len(reference) == N_FRAMES
    for t in (0.0, 0.2334, 1.337, 1.4, 2.5, 2.999, 3.97):
        i = _expected_index(reference, t)
        pane.clock.seek(t)
        qtbot.waitUntil(lambda: pane.displayed_frame() is not None and pane.displayed_frame().index == i,
                        timeout=5000)
        frame = pane.displayed_frame()
        # the frame whose timestamp covers t, decoded exactly (same pixels as a sequential decode)
        assert reference[i][0] <= t and (i + 1 == len(reference) or t < reference[i + 1][0])
        assert frame.pts == pytest.approx(reference[i][0])
        assert np.array_equal(frame.rgb, reference[i][1])
        assert pane.video_view.frame_index() == i and f"frame {i} /" in pane.transport.frame_label.text()
        # what is painted is that frame, not its neighbours
        shown = _view_pixels(pane.video_view)
        diffs = {j: np.abs(shown - _scaled(reference[j][1], pane.video_view)).mean()
                 for j in (i - 1, i, i + 1) if 0 <= j < len(reference)}
        assert diffs[i] < 4 and all(diffs[i] < d for j, d in diffs.items() if j != i), diffs
        # the waveform playhead is at t's pixel, the strip's too
        assert pane.waveform.playhead_x() == int(np.floor(pane.waveform.time_to_x(t)))
        assert pane.timeline.playhead_x() == int(np.floor(pane.timeline.time_to_x(t)))
        # the transcript highlights the turn containing t (none in the gap 1.2–1.5)
        inside = [f"msg{k}" for k, (_s, a, b, _x) in enumerate(turns) if a <= t < b]
        active = pane.transcript.active_turn()
        assert (active.id if active else None) == (inside[-1] if inside else None)


def test_transcript_and_strip_clicks_seek_the_clock(make_pane, library, qtbot):
    pane = make_pane([_entry(library, "video", "video", duration=4.0)])
    tv = pane.transcript
    rect = tv.turn_rect("msg1")
    QTest.mouseClick(tv.list.viewport(), LEFT, NOMOD, rect.center())
    assert pane.clock.time() == pytest.approx(1.6)
    qtbot.waitUntil(lambda: pane.video_view.frame_index() == 48, timeout=5000)
    strip = pane.timeline
    QTest.mouseClick(strip, LEFT, NOMOD, QPoint(strip.width() // 2, strip.height() // 2))
    assert pane.clock.time() == pytest.approx(strip.x_to_time(strip.width() // 2))
    assert tv.active_turn() is None or tv.active_turn().start <= pane.clock.time() < tv.active_turn().end


def test_scrubbing_decodes_only_the_newest_frame(make_pane, library, qtbot):
    pane = make_pane([_entry(library, "video", "video", duration=4.0)])
    qtbot.waitUntil(lambda: pane.displayed_frame() is not None, timeout=10000)
    track = pane.video_track()
    before = track.decoded
    targets = np.linspace(3.9, 0.1, 60)  # a fast backwards scrub: each step needs a seek
    for t in targets:
        pane.clock.seek(float(t))  # no event processing between: the worker keeps up as it can
    last = _expected_index(library["reference"], float(targets[-1]))
    qtbot.waitUntil(lambda: pane.displayed_frame().index == last, timeout=5000)
    qtbot.wait(50)
    assert pane.displayed_frame().index == last
    assert track.decoded - before < len(targets) / 2  # superseded requests were never decoded


def test_latest_worker_serves_only_the_newest_request(qtbot):
    seen = []
    worker = LatestWorker(lambda: None, lambda _s, p: (time.sleep(0.01), p)[1], name="test")
    worker.done.connect(lambda _seq, r: seen.append(r))
    worker.start()
    for i in range(100):
        worker.request(i)
        time.sleep(0.0005)
    qtbot.waitUntil(lambda: bool(seen) and seen[-1] == 99, timeout=3000)
    worker.stop()
    assert worker.wait(2000)
    assert seen == sorted(seen) and len(seen) < 60


def test_frame_and_keyframe_stepping_with_keys(make_pane, library, qtbot):
    pane = make_pane([_entry(library, "video", "video", duration=4.0)])
    qtbot.waitUntil(lambda: pane.video_info() is not None, timeout=10000)
    pane.window().activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is pane.window())
    pane.video_view.setFocus()
    pane.clock.seek(1.0)  # frame 30
    frame_at = lambda: pane.video_info().index_at(pane.clock.time())  # noqa: E731
    assert frame_at() == 30
    QTest.keyClick(pane.video_view, Qt.Key.Key_Right, CTRL)
    assert frame_at() == 31
    QTest.keyClick(pane.video_view, Qt.Key.Key_Right)  # bare arrows step in the frame view too
    assert frame_at() == 32
    QTest.keyClick(pane.video_view, Qt.Key.Key_Right, CTRL | SHIFT)
    assert frame_at() == 40 and pane.clock.time() == pytest.approx(40 / FPS)
    QTest.keyClick(pane.video_view, Qt.Key.Key_Right, CTRL | SHIFT)
    assert frame_at() == 45
    QTest.keyClick(pane.video_view, Qt.Key.Key_Left, CTRL | SHIFT)
    QTest.keyClick(pane.video_view, Qt.Key.Key_Left, CTRL | SHIFT)
    assert frame_at() == 7
    QTest.keyClick(pane.video_view, Qt.Key.Key_Left, CTRL)
    assert frame_at() == 6
    qtbot.waitUntil(lambda: pane.displayed_frame() is not None and pane.displayed_frame().index == 6, timeout=5000, )
    assert "frame 6 / 120" in pane.transport.frame_label.text()
    assert f"pts {6 / FPS:.3f} s" in pane.transport.frame_label.text()
    # Shift+Right: one second; the window's Ctrl+L-style chords are the pane's while it has focus
    QTest.keyClick(pane.video_view, Qt.Key.Key_Right, SHIFT)
    assert pane.clock.time() == pytest.approx(6 / FPS + 1.0)


# --- the answer -------------------------------------------------------------------

def test_drag_on_waveform_creates_snapped_segment(make_pane, library, qtbot):
    initial = [{"media": "m1", "start": 0.1, "end": 0.4, "tier": "events", "label": "noise"},
               {"media": "other", "start": 1.0, "end": 2.0, "tier": "speaker"}]
    pane = make_pane([_entry(library, "speech", "audio", duration=library["speech_seconds"])])
    pane.set_value(initial)
    _wait_peaks(qtbot, pane)
    wf = pane.waveform
    wf.set_current_tier("speaker")
    y = wf.wave_rect().center().y()
    with qtbot.waitSignal(pane.edited) as sig:
        _drag(wf, 200, 420, y)
    old, new = sig.args
    assert old == initial
    path = library["root"] / library["speech"]["path"]
    a = round(nearest_zero_crossing(path, wf.x_to_time(200)), 6)
    b = round(nearest_zero_crossing(path, wf.x_to_time(420)), 6)
    assert a != pytest.approx(wf.x_to_time(200), abs=1e-9) or b != pytest.approx(wf.x_to_time(420), abs=1e-9)
    assert new == initial + [{"media": "m1", "start": a, "end": b, "tier": "speaker"}]
    assert pane.value() == new
    # the new segment is drawn and selected: a digit key labels it
    assert {(r.tier, r.start, r.end) for r in wf.regions()} >= {("speaker", a, b)}
    assert wf.selected() == "seg2"
    with qtbot.waitSignal(pane.edited) as sig:
        QTest.keyClick(wf, Qt.Key.Key_2)
    assert sig.args[1][2]["label"] == "spk2"
    # resizing an edge snaps too
    x_end = round(wf.time_to_x(b))
    lane_y = wf.lane_rect("speaker").center().y()
    with qtbot.waitSignal(pane.edited) as sig:
        _drag(wf, x_end, x_end + 60, lane_y)
    seg = sig.args[1][2]
    assert seg["start"] == a and seg["end"] == round(nearest_zero_crossing(path, wf.x_to_time(x_end + 60)), 6)
    with qtbot.waitSignal(pane.edited) as sig:
        QTest.keyClick(wf, Qt.Key.Key_Delete)
    assert sig.args[1] == initial


def test_drag_on_video_snaps_to_frame_starts(make_pane, library, qtbot):
    pane = make_pane([_entry(library, "video", "video", duration=4.0)])
    qtbot.waitUntil(lambda: pane.video_info() is not None, timeout=10000)
    wf = pane.waveform
    with qtbot.waitSignal(pane.edited) as sig:
        _drag(wf, 101, 333, wf.lane_rect("events").center().y())
    segment = sig.args[1][-1]
    assert segment["tier"] == "events"
    for key in ("start", "end"):
        frames = segment[key] * FPS
        assert frames == pytest.approx(round(frames), abs=1e-4)


def test_set_value_redraws_regions_silently(make_pane, library, qtbot):
    pane = make_pane([_entry(library, "speech", "audio", duration=library["speech_seconds"])], wait=None)
    edits = []
    pane.edited.connect(lambda old, new: edits.append(new))
    wf = pane.waveform
    lane = wf.lane_rect("speaker")

    def lane_pixel(t: float):
        img = wf.grab().toImage()
        return img.pixelColor(round(wf.time_to_x(t)), lane.center().y()).name()

    empty = lane_pixel(1.0)
    value = [{"media": "m1", "start": 0.5, "end": 1.5, "tier": "speaker", "label": "spk1"},
             {"media": "m1", "start": 2.0, "end": 2.5, "tier": "transcript", "text": "hi"},
             {"media": "m2", "start": 0.0, "end": 9.0, "tier": "speaker"}]
    pane.set_value(value)
    assert sorted((r.id, r.tier, r.start, r.end, r.label, r.text) for r in wf.regions()) == [
        ("seg0", "speaker", 0.5, 1.5, "spk1", ""), ("seg1", "transcript", 2.0, 2.5, "", "hi")]
    assert lane_pixel(1.0) != empty  # painted
    assert pane.value() == value and not edits
    pane.set_value([])
    assert wf.regions() == [] and lane_pixel(1.0) == empty
    assert not edits


def test_selected_segment_bar_edits_label_and_text(make_pane, library, qtbot):
    pane = make_pane([_entry(library, "speech", "audio", duration=library["speech_seconds"])], wait=None)
    pane.set_value([{"media": "m1", "start": 0.5, "end": 1.5, "tier": "speaker"}])
    wf = pane.waveform
    QTest.mouseClick(wf, LEFT, NOMOD, QPoint(round(wf.time_to_x(1.0)), wf.lane_rect("speaker").center().y()))
    assert wf.selected() == "seg0"
    bar = pane.segment_bar
    with qtbot.waitSignal(pane.edited) as sig:
        bar.label_combo.activated.emit(bar.label_combo.findData("spk3"))
    assert sig.args[1] == [{"media": "m1", "start": 0.5, "end": 1.5, "tier": "speaker", "label": "spk3"}]
    bar.text_edit.setText("hello")
    with qtbot.waitSignal(pane.edited) as sig:
        bar.text_edit.editingFinished.emit()
    assert sig.args[1][0]["text"] == "hello"
    # an undo (the form calls set_value with the old list) keeps the selection on that segment
    pane.set_value(sig.args[0])
    assert wf.selected() == "seg0" and bar.text_edit.text() == ""


def test_space_never_steals_typing(make_pane, library, qtbot):
    pane = make_pane([_entry(library, "speech", "audio", duration=library["speech_seconds"])])
    pane.set_value([{"media": "m1", "start": 0.5, "end": 1.5, "tier": "speaker"}])
    pane.window().activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is pane.window())
    pane.waveform.set_selected("seg0")
    pane.waveform.regionSelected.emit("seg0")  # as a click on it does
    edit = pane.segment_bar.text_edit
    edit.setFocus()
    QTest.keyClicks(edit, "a b")
    assert edit.text() == "a b" and not pane.clock.is_playing()
    QTest.keyClick(edit, Qt.Key.Key_Space, CTRL)  # not a typing key: plays even from the text field
    assert pane.clock.is_playing()
    pane.clock.pause()
    pane.waveform.setFocus()
    QTest.keyClick(pane.waveform, Qt.Key.Key_Space)
    assert pane.clock.is_playing()
    QTest.keyClick(pane.waveform, Qt.Key.Key_Space)
    assert not pane.clock.is_playing()
    # another preset: ELAN has no bare Space, Ctrl+Space plays
    pane.options.preset_combo.setCurrentText("elan")
    QTest.keyClick(pane.waveform, Qt.Key.Key_Space)
    assert not pane.clock.is_playing()
    QTest.keyClick(pane.waveform, Qt.Key.Key_Space, CTRL)
    assert pane.clock.is_playing()
    pane.clock.pause()
    pane.set_preset("labeldesk")


def test_transcript_edits_become_transcript_segments(make_pane, library, qtbot):
    pane = make_pane([_entry(library, "speech", "audio", duration=library["speech_seconds"])], wait=None)
    with qtbot.waitSignal(pane.edited) as sig:
        pane.transcript.turnEdited.emit("msg1", "second turn, corrected")
    assert list(sig.args) == [[], [{"media": "m1", "start": 1.6, "end": 3.0, "tier": "transcript",
                                    "text": "second turn, corrected"}]]
    assert [t.text for t in pane.transcript.turns()] == ["first turn", "second turn, corrected"]
    with qtbot.waitSignal(pane.edited) as sig:
        pane.transcript.turnEdited.emit("msg1", "again")
    assert sig.args[1] == [{"media": "m1", "start": 1.6, "end": 3.0, "tier": "transcript", "text": "again"}]

    no_transcript = {"name": "segments", "type": "segments", "tiers": [{"name": "speaker", "labels": ["a"]}]}
    other = make_pane([_entry(library, "speech", "audio", duration=library["speech_seconds"])],
                      question=no_transcript, wait=None)
    edits = []
    other.edited.connect(lambda *a: edits.append(a))
    other.transcript.turnEdited.emit("msg1", "ignored")
    assert not edits and other.value() == []
    assert other.transcript.list.editTriggers() == other.transcript.list.EditTrigger.NoEditTriggers


def test_media_selector_shows_each_files_segments(make_pane, library, qtbot):
    media = [_entry(library, "speech", "audio", "m1", library["speech_seconds"]),
             _entry(library, "video", "video", "m2", 4.0)]
    pane = make_pane(media)
    pane.set_value([{"media": "m1", "start": 0.5, "end": 1.0, "tier": "speaker"},
                    {"media": "m2", "start": 2.0, "end": 3.0, "tier": "events"}])
    assert pane.media_combo.isVisibleTo(pane) and pane.media_id() == "m1"
    assert [r.id for r in pane.waveform.regions()] == ["seg0"]
    assert not pane.video_view.isVisibleTo(pane)
    with qtbot.waitSignal(pane.mediaLoaded, timeout=10000):
        pane.media_combo.activated.emit(1)
    assert pane.media_id() == "m2" and [r.id for r in pane.waveform.regions()] == ["seg1"]
    assert pane.video_view.isVisibleTo(pane)
    qtbot.waitUntil(lambda: pane.displayed_frame() is not None, timeout=10000)
    # turns are placed on the file their ranges point at: these point at m1
    assert pane.transcript.turns() == []


# --- clock and waveform building ----------------------------------------------------

def test_playback_advances_the_clock_without_an_audio_device(make_pane, library, qtbot):
    pane = make_pane([_entry(library, "speech", "audio", duration=library["speech_seconds"])], play_audio=True)
    assert pane.clock.source() is not None  # QtMultimedia plays the file (no device here: silently)
    pane.clock.play()
    qtbot.waitUntil(lambda: pane.clock.time() > 0.3, timeout=5000)
    t = pane.clock.time()
    assert pane.waveform.playhead() == pytest.approx(t, abs=0.1)
    assert pane.transcript.active_turn() is not None and pane.transcript.active_turn().id == "msg0"
    pane.clock.set_rate(2.0)
    assert pane.transport.rate_combo.currentData() == 2.0
    pane.clock.pause()
    assert not pane.clock.is_playing() and pane.transport.play_button.text() == "▶"


def test_loop_and_play_selection_use_the_selected_segment(make_pane, library, qtbot):
    pane = make_pane([_entry(library, "speech", "audio", duration=library["speech_seconds"])], wait=None)
    pane.set_value([{"media": "m1", "start": 1.0, "end": 1.2, "tier": "speaker"}])
    pane.waveform.set_selected("seg0")
    with qtbot.waitSignal(pane.clock.playingChanged, timeout=3000, check_params_cb=lambda p: p is False):
        pane.play_selection()
    assert pane.clock.time() == pytest.approx(1.2)
    pane.run_action("loop_region")
    assert pane.clock.loop() == (1.0, 1.2) and pane.transport.loop_button.isChecked()
    pane.run_action("loop_region")
    assert pane.clock.loop() is None and not pane.transport.loop_button.isChecked()


def test_partial_overview_first_then_cancel_and_rebuild(make_pane, library, qtbot, monkeypatch):
    real_build = build_peaks

    def slow_build(path, cache, progress=None, cancel=None, partial=None, **_kw):
        full = real_build(path, None)
        top = full.levels[-1]
        partial(PeakPyramid([top], full.sample_rate, full.channels, full.n_samples, complete=False))
        while not cancel():
            progress(0.5)
            time.sleep(0.01)
        raise Cancelled()

    monkeypatch.setattr(media_tracks, "build_peaks", slow_build)
    pane = make_pane([_entry(library, "speech", "audio", duration=library["speech_seconds"])])
    qtbot.waitUntil(lambda: pane.pyramid() is not None, timeout=5000)
    assert not pane.pyramid().complete  # the overview is shown while the real build runs
    assert pane.peaks_progress.isVisibleTo(pane) and pane.peaks_button.text() == "Cancel"
    mins, maxs = pane.audio_track().envelope(0.0, library["speech_seconds"], 200)
    assert np.nanmax(maxs) > 0.05
    qtbot.waitUntil(lambda: pane.peaks_progress.value() == 500, timeout=5000)
    QTest.mouseClick(pane.peaks_button, LEFT)
    qtbot.waitUntil(lambda: "cancelled" in pane.message(), timeout=5000)
    assert not pane.peaks_progress.isVisibleTo(pane) and pane.peaks_button.text() == "Build waveform"
    monkeypatch.setattr(media_tracks, "build_peaks", real_build)
    with qtbot.waitSignal(pane.peaksReady, timeout=10000):
        QTest.mouseClick(pane.peaks_button, LEFT)
    assert pane.pyramid().complete and pane.message() == ""
    cache = library["root"].parent / "cache" / "peaks"
    assert (cache / f"{library['speech']['sha256']}.peaks.json").is_file()


def test_peaks_cache_falls_back_to_a_temp_dir(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    got = peaks_cache_dir(blocker / "media")  # <file>/cache cannot be created
    assert got is not None and got != blocker / "cache" / "peaks" and got.is_dir()


# --- bad media ----------------------------------------------------------------------

@pytest.mark.parametrize(("key", "kind", "words"), [
    ("truncated", "video", "truncated"),
    ("garbage", "video", "corrupt"),
    ("empty", "audio", "zero-length"),
    ("missing", "audio", "file not found"),
])
def test_bad_media_shows_a_message_and_keeps_the_answer(make_pane, library, qtbot, key, kind, words):
    entry = (_entry(library, key, kind, duration=4.0) if key != "missing"
             else {"id": "m1", "type": kind, "sha256": "0" * 64, "path": "0" * 64 + ".flac", "duration": 4.0})
    pane = make_pane([entry], wait="failed")
    assert words in pane.message() and pane.problem_label.isVisibleTo(pane)
    if kind == "video":
        assert words in (pane.video_view.message() or "")
    # the lanes still work on the duration the item states, and the answer is kept
    value = [{"media": "m1", "start": 0.5, "end": 1.0, "tier": "speaker"}]
    pane.set_value(value)
    wf = pane.waveform
    with qtbot.waitSignal(pane.edited) as sig:
        _drag(wf, round(wf.time_to_x(2.0)), round(wf.time_to_x(3.0)), wf.lane_rect("events").center().y())
    assert sig.args[1][0] == value[0] and sig.args[1][1]["tier"] == "events"
    assert pane.value() == sig.args[1]


def test_video_without_audio_still_plays_frames(make_pane, library, qtbot):
    pane = make_pane([_entry(library, "silent", "video", duration=4.0)])
    assert "no audio stream" in pane.message()
    qtbot.waitUntil(lambda: pane.displayed_frame() is not None, timeout=10000)
    pane.clock.play()  # the clock runs on its own
    qtbot.waitUntil(lambda: pane.displayed_frame().index > 3, timeout=5000)
    pane.clock.pause()


def test_unsupported_and_missing_media_entries(make_pane, library, qtbot):
    pane = make_pane([{"id": "i1", "type": "image", "path": "x.png"}], wait=None)
    assert "cannot be played" in pane.message()
    pane.set_task(Task(1, "u", "conversation", "p", {"messages": []}, {}, {}, {}, "draft", 0.0, 1))
    assert "no audio or video" in pane.message()
    assert pane.value() == []


# --- in the task form ---------------------------------------------------------------

def test_task_form_builds_the_pane_and_undo_goes_through_set_value(qtbot, library, monkeypatch):
    from PySide6.QtGui import QUndoStack

    from labeldesk.app.ui import questions
    from labeldesk.app.ui.form import TaskForm

    monkeypatch.setattr(questions, "MEDIA_ROOT", None)
    questions.set_media_root(library["root"])
    stack = QUndoStack()
    form = TaskForm(stack)
    qtbot.addWidget(form)
    form.resize(1300, 800)
    form.show()
    task = _task([_entry(library, "speech", "audio", duration=library["speech_seconds"])])
    saved = [{"media": "m1", "start": 0.5, "end": 1.0, "tier": "speaker", "label": "spk1"}]
    task = Task(**{**task.__dict__, "values": {"segments": saved}})
    form.show_task([QUESTION], task)
    pane = form.editors["segments"]
    assert isinstance(pane, MediaPane) and pane.value() == saved
    qtbot.waitUntil(lambda: pane.pyramid() is not None, timeout=10000)
    pane.waveform.regionCreated.emit("events", 2.0, 2.5)  # as a drag does
    assert stack.count() == 1 and form.values()["segments"][1]["tier"] == "events"
    stack.undo()
    assert pane.value() == saved and [r.id for r in pane.waveform.regions()] == ["seg0"]
    stack.redo()
    assert len(pane.value()) == 2 and len(pane.waveform.regions()) == 2
    pane.shutdown()


def test_deleting_the_pane_mid_decode_stops_its_threads(qtbot, library):
    pane = MediaPane(QUESTION, library["root"], play_audio=False)
    pane.resize(800, 500)
    pane.show()
    with qtbot.waitSignal(pane.mediaLoaded, timeout=10000):
        pane.set_task(_task([_entry(library, "video", "video", duration=4.0)]))
    for t in np.linspace(0, 3.9, 20):
        pane.clock.seek(float(t))
    pane.deleteLater()
    qtbot.wait(20)
    assert media_workers.stop_all(5000)
    qtbot.wait(20)
    assert media_workers.live_threads() == []
