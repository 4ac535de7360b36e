"""The media pane: the `segments` question's editor and the synchronized multimodal view.

One `MediaPane` shows one media file of a multimodal item (a selector picks
another when the item has several): the transcript of the dialogue's turns,
the waveform with the segments answer as regions in the question's tiers, and
for video the frame view with a timeline strip of keyframe thumbnails. All of
them follow ONE `Playhead` (DESIGN §3): the panes only display its time and
ask it to seek; audio plays through its QMediaPlayer.

Decoding runs on worker threads (app.ui.media_tracks): probing, the peak
pyramid (progress, cancel, an early overview), thumbnails, and frames and
spectrogram images for the newest request only. On the GUI thread remain two
reads of a few milliseconds: snapping a boundary to the nearest zero crossing
(±10 ms of samples), and the pyramid's direct sample read when zoomed in below
256 samples per pixel (at most 2^20 samples, the pyramid's own bound).

The answer: every region edit (create, resize, label, text, delete) makes a
new segments list and emits ``edited(old, new)``; the form puts it on the undo
stack, which calls ``set_value`` back. Transcript edits are not part of the
segments answer: when the question has a "transcript" tier, an edited turn
becomes (or updates) a transcript-tier segment over the turn's range and the
transcript shows that text; without such a tier the transcript is read-only.

Bad media (missing, zero-length, truncated, corrupt, unsupported, no audio or
no video stream) shows a message in the pane; the lanes, the transcript and
the answer keep working, on the duration the item's media entry states.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from labeldesk.app.ui import segments as seg
from labeldesk.app.ui.media_controls import OptionsBar, SegmentBar, TransportBar
from labeldesk.app.ui.media_tracks import AudioTrack, MediaProbe, VideoInfo, VideoTrack, peaks_cache_dir
from labeldesk.app.ui.playhead import Playhead
from labeldesk.app.workflow.tasks import Task
from labeldesk.media.audio import AudioSource
from labeldesk.media.peaks import PeakPyramid
from labeldesk.media.probe import MediaInfo
from labeldesk.media.video import VideoFrame
from labeldesk.widgets.shortcuts import DEFAULT_PRESET, PRESETS, TextInputGuard, is_text_input, is_typing_key, key_matches, preset
from labeldesk.widgets.transcript import TranscriptView
from labeldesk.widgets.video import TimelineStrip, VideoFrameView
from labeldesk.widgets.waveform import WaveformView

__all__ = ["MediaPane", "install_text_guard", "uninstall_text_guard"]

# Keys the pane handles wherever its focus is (set_start/set_end are added where the
# focused widget does not handle them itself).
_ROUTED_ACTIONS = (
    "play_pause", "play_selection", "seek_back", "seek_forward", "frame_prev", "frame_next",
    "keyframe_prev", "keyframe_next", "loop_region", "rate_up", "rate_down",
)
_SHA256_LEN = 64

_TEXT_GUARD: TextInputGuard | None = None


def install_text_guard() -> None:
    """Install the app-wide `TextInputGuard` once: typing in any text field beats bare Space & co."""
    global _TEXT_GUARD
    app = QApplication.instance()
    if _TEXT_GUARD is None and app is not None:
        _TEXT_GUARD = TextInputGuard(app)
        app.installEventFilter(_TEXT_GUARD)


def uninstall_text_guard() -> None:
    """Remove the guard `install_text_guard` put in (tests that need an unguarded application)."""
    global _TEXT_GUARD
    app = QApplication.instance()
    if _TEXT_GUARD is not None and app is not None:
        app.removeEventFilter(_TEXT_GUARD)
    _TEXT_GUARD = None


class _KeyRouter(QObject):
    """Gives the pane's transport keys to the pane from whichever of its widgets has focus.

    It filters only the focused widget (moved along with the focus), so it
    sees ShortcutOverride before window shortcuts do: inside the pane, the
    preset's keys win over window actions bound to the same chord (Ctrl+L).
    Typing keys in a text field are never taken (`is_typing_key`).
    """

    def __init__(self, pane: MediaPane) -> None:
        super().__init__(pane)
        self._pane = pane
        self._watched: QObject | None = None
        app = QApplication.instance()
        app.focusChanged.connect(self._on_focus)
        self._on_focus(None, app.focusWidget())

    def _on_focus(self, _old: QWidget | None, now: QWidget | None) -> None:
        if self._watched is not None:
            try:
                self._watched.removeEventFilter(self)
            except RuntimeError:
                pass  # the widget is already gone
            self._watched = None
        pane = self._pane
        if now is not None and (now is pane or pane.isAncestorOf(now)):
            now.installEventFilter(self)
            self._watched = now

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        if is_text_input(obj) and is_typing_key(event):  # type: ignore[arg-type]
            return False
        action = self._pane.action_for(event, obj)  # type: ignore[arg-type]
        if action is None:
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # "this widget takes the key": no shortcut fires, the KeyPress comes here
            return True
        self._pane.run_action(action)
        return True


class MediaPane(QWidget):
    """Editor of a `segments` question: transcript, waveform, video and one clock.

    ``edited(old, new)`` reports each user change of the segments list;
    ``set_value`` applies one silently. ``mediaLoaded(id)`` follows a
    successful probe of the shown file, ``mediaFailed(message)`` a failed one;
    ``peaksReady`` the complete waveform; ``frameShown(index, pts)`` each
    decoded frame put on screen.
    """

    edited = Signal(object, object)
    mediaLoaded = Signal(str)
    mediaFailed = Signal(str)
    peaksReady = Signal()
    thumbnailsReady = Signal()
    frameShown = Signal(int, float)

    RATES = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
    SEEK_STEP = 1.0  # seconds for seek_back / seek_forward …
    SEEK_STEPS = {"subtitle-edit": 0.5}  # … except where the tool's own step differs
    AUDIO_STEP = 0.01  # what a "frame" step moves over audio-only media (seconds)
    THUMB_COUNT = 60
    THUMB_HEIGHT = 54
    #: the preset last chosen, kept for the next pane of this session
    preset_name: ClassVar[str] = DEFAULT_PRESET

    def __init__(self, question: dict[str, Any], media_root: Path | str, parent: QWidget | None = None,
                 *, play_audio: bool = True) -> None:
        super().__init__(parent)
        self.question = question
        self.media_root = Path(media_root)
        self.play_audio = play_audio  # False: a silent clock (tests, machines without QtMultimedia)
        self._tiers = seg.tiers_from_question(question)
        self._has_transcript_tier = any(t.name == seg.TRANSCRIPT_TIER for t in self._tiers)
        self._segments: list[dict[str, Any]] = []
        self._task: Task | None = None
        self._media: list[dict[str, Any]] = []
        self._entry: dict[str, Any] | None = None
        self._path: Path | None = None
        self._duration = 0.0
        self._probe: MediaProbe | None = None
        self._audio: AudioTrack | None = None
        self._video: VideoTrack | None = None
        self._frame: VideoFrame | None = None
        self._problems: dict[str, str] = {}
        self._keys = preset(MediaPane.preset_name)
        self.clock = Playhead(self)

        self._build()
        self._wire()
        self.set_preset(MediaPane.preset_name)
        self.transport.set_rate(self.clock.rate())
        install_text_guard()
        self._router = _KeyRouter(self)

    # --- building ---

    def _build(self) -> None:
        self.waveform = WaveformView()
        self.video_view = VideoFrameView()
        self.timeline = TimelineStrip()
        self.transcript = TranscriptView()
        self.transport = TransportBar(self.RATES)
        self.segment_bar = SegmentBar()
        self.options = OptionsBar()

        self.media_combo = QComboBox()
        self.media_combo.setToolTip("Media file of this item")
        self.problem_label = QLabel()
        self.problem_label.setObjectName("mediaProblem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem_label.setStyleSheet(
            "#mediaProblem { background: #3b1f1f; color: #ffd9d4; border: 1px solid #e0675a;"
            " border-radius: 4px; padding: 4px 8px; }")
        self.peaks_progress = QProgressBar()
        self.peaks_progress.setRange(0, 1000)
        self.peaks_progress.setFormat("Building waveform %p%")
        self.peaks_progress.setMaximumWidth(260)
        self.peaks_button = QToolButton(text="Cancel")
        self.peaks_button.setToolTip("Stop building the waveform (the rest of the pane keeps working)")

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.media_combo)
        header.addWidget(self.problem_label, 100)
        header.addStretch(1)  # keeps the media selector at its own width when there is no message
        header.addWidget(self.peaks_progress)
        header.addWidget(self.peaks_button)
        header.addWidget(self.options)

        self._video_box = QWidget()
        video_layout = QVBoxLayout(self._video_box)
        video_layout.setContentsMargins(0, 0, 0, 0)
        video_layout.setSpacing(2)
        video_layout.addWidget(self.video_view, 1)
        video_layout.addWidget(self.timeline)
        self.timeline.setFixedHeight(84)

        self._top = QSplitter(Qt.Orientation.Horizontal)
        self._top.addWidget(self._video_box)
        self._top.addWidget(self.transcript)
        self._top.setStretchFactor(0, 3)
        self._top.setStretchFactor(1, 2)
        self._split = QSplitter(Qt.Orientation.Vertical)
        self._split.addWidget(self._top)
        self._split.addWidget(self.waveform)
        self._split.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self._split, 1)
        layout.addWidget(self.segment_bar)
        layout.addWidget(self.transport)
        self.setMinimumHeight(460)

        self.waveform.set_regions([], self._tiers)
        self.timeline.set_regions([], self._tiers)
        self.waveform.set_envelope_provider(self._envelope)
        self.waveform.set_spectrogram_provider(self._spectrogram)
        self.waveform.set_snap_provider(self._snap)
        if not self._has_transcript_tier:
            # Turn texts are not part of the segments answer: with no transcript tier to hold
            # corrections, an edit would be thrown away, so the transcript is read-only.
            self.transcript.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusProxy(self.waveform)
        self.media_combo.setVisible(False)
        self._show_problems()
        self._show_progress(None)

    def _wire(self) -> None:
        clock = self.clock
        for pane in (self.waveform, self.timeline, self.transcript):
            clock.timeChanged.connect(pane.set_playhead)
            pane.seekRequested.connect(clock.seek)
        clock.timeChanged.connect(self._on_time)
        clock.playingChanged.connect(self.waveform.set_playing)
        clock.playingChanged.connect(self.transport.set_playing)
        clock.rateChanged.connect(self.transport.set_rate)
        clock.loopChanged.connect(lambda loop: self.transport.loop_button.setChecked(loop is not None))
        clock.errorOccurred.connect(self._on_player_error)

        wf = self.waveform
        wf.regionCreated.connect(self._on_region_created)
        wf.regionChanged.connect(self._on_region_changed)
        wf.regionLabeled.connect(self._on_region_labeled)
        wf.regionDeleted.connect(self._on_region_deleted)
        wf.regionSelected.connect(self._on_region_selected)
        wf.regionActivated.connect(lambda _rid: self.segment_bar.text_edit.setFocus())
        wf.spectrogramToggled.connect(self.options.spectrogram_button.setChecked)
        for view in (self.video_view, self.timeline):
            view.stepRequested.connect(self.step_frames)
            view.keyframeStepRequested.connect(self.step_keyframes)
        self.transcript.turnEdited.connect(self._on_turn_edited)

        bar = self.segment_bar
        bar.labelChosen.connect(self._on_label_chosen)
        bar.textCommitted.connect(self._on_text_committed)
        bar.deleteRequested.connect(lambda: self._on_region_deleted(self.waveform.selected() or ""))

        tb = self.transport
        tb.play_button.clicked.connect(clock.toggle)
        tb.rate_combo.activated.connect(lambda i: clock.set_rate(tb.rate_combo.itemData(i)))
        tb.loop_button.clicked.connect(lambda _checked: self.toggle_loop())
        tb.selection_button.clicked.connect(self.play_selection)
        self.options.spectrogram_button.clicked.connect(wf.set_spectrogram_visible)
        self.options.preset_combo.currentTextChanged.connect(self.set_preset)
        self.media_combo.activated.connect(lambda i: self._load(self._media[i]))
        self.peaks_button.clicked.connect(self._on_peaks_button)

    # --- the editor API ---

    def value(self) -> list[dict[str, Any]]:
        return [dict(s) for s in self._segments]

    def set_value(self, segments: list[dict[str, Any]] | None) -> None:
        """Show an answer (silently: no `edited`), keeping the selection on the same segment."""
        kept = self._selected_segment()
        kept_index = seg.segment_index(self.waveform.selected() or "", self._segments)
        same_length = len(segments or ()) == len(self._segments)
        self._segments = [dict(s) for s in segments or ()]
        match = next((i for i, s in enumerate(self._segments) if s == kept), None) if kept else None
        if match is None and same_length:
            match = kept_index  # undoing a resize/label/text edit: the segment kept its place
        self.waveform.set_selected(None)
        self._refresh_regions(select=match)
        if self._has_transcript_tier:
            self._refresh_turns()

    def set_task(self, task: Task) -> None:
        """Show an item: its first audio/video media file (a selector offers the others)."""
        self._task = task
        self._media = [dict(m) for m in task.content.get("media") or ()]
        with QSignalBlocker(self.media_combo):
            self.media_combo.clear()
            for m in self._media:
                self.media_combo.addItem(f"{m.get('id', '?')} · {m.get('type', '?')}")
        self.media_combo.setVisible(len(self._media) > 1)
        playable = [i for i, m in enumerate(self._media) if m.get("type") in ("audio", "video")]
        first = playable[0] if playable else 0
        with QSignalBlocker(self.media_combo):
            self.media_combo.setCurrentIndex(first)
        self._load(self._media[first] if self._media else None)

    def media_id(self) -> str | None:
        return None if self._entry is None else str(self._entry.get("id", ""))

    def message(self) -> str:
        """The problems shown in the pane, "" when the media is fine."""
        return "\n".join(self._problems.values())

    def displayed_frame(self) -> VideoFrame | None:
        return self._frame

    def audio_track(self) -> AudioTrack | None:
        return self._audio

    def video_track(self) -> VideoTrack | None:
        return self._video

    def video_info(self) -> VideoInfo | None:
        return self._video.info if self._video is not None else None

    def pyramid(self) -> PeakPyramid | None:
        return self._audio.pyramid if self._audio is not None else None

    def shutdown(self) -> None:
        """Stop playback and every decode of this pane (deleting the pane does the same)."""
        self._unload()

    # --- loading media ---

    def _unload(self) -> None:
        for track in (self._probe, self._audio, self._video):
            if track is not None:
                track.close()
                track.deleteLater()
        self._probe = self._audio = self._video = None
        self._frame = None
        self.clock.pause()
        self.clock.clear_loop()
        if self.clock.source() is not None:
            self.clock.set_source(None)
        self.clock.seek(0.0)
        self._problems.clear()
        self._show_problems()
        self._show_progress(None)
        self.waveform.set_selected(None)
        self.waveform.invalidate_envelope()
        self.video_view.clear()
        self.timeline.set_thumbnails([])
        self.transport.frame_label.setText("")

    def _load(self, entry: dict[str, Any] | None) -> None:
        self._unload()
        self._entry = entry
        self._path = None
        kind = entry.get("type") if entry else None
        self._video_box.setVisible(kind == "video")
        self.transport.frame_label.setVisible(kind == "video")
        # Video wants the room for the picture; audio for the waveform and its lanes.
        self._split.setSizes([600, 400] if kind == "video" else [300, 700])
        self._set_duration(float(entry.get("duration") or 0.0) if entry else 0.0)
        self._refresh_regions()
        self._refresh_turns()
        if entry is None:
            self._problem("media", "This item has no audio or video to label.")
            return
        if kind not in ("audio", "video"):
            self._problem("media", f"{entry.get('id', '?')}: {kind or 'unknown'} media cannot be played here; "
                          "only audio and video are.")
            return
        path = entry.get("path")
        if not path:
            self._problem("media", f"{entry.get('id', '?')}: the item names no file for this media.")
            return
        self._path = self.media_root / str(path)
        if kind == "video":
            self.video_view.show_message("Opening video…")
        self._probe = MediaProbe(self._path, self)
        self._probe.probed.connect(self._on_probed)
        self._probe.failed.connect(self._on_probe_failed)
        self._probe.start()

    def _set_duration(self, seconds: float) -> None:
        self._duration = max(0.0, seconds)
        self.waveform.set_duration(self._duration)
        self.timeline.set_duration(self._duration)
        self.clock.set_duration(self._duration)
        self.transport.set_time(self.clock.time(), self._duration)

    def _on_probed(self, info: MediaInfo, source: AudioSource | None) -> None:
        if info.duration:
            self._set_duration(info.duration)
        name = self._path.name
        if source is not None:
            self._start_audio(source)
        else:
            self._problem("audio", f"{name}: no audio stream — the waveform stays empty; "
                          "segments can still be drawn on the lanes.")
        if self._entry.get("type") == "video":
            if info.video is None:
                self._problem("video", f"{name}: no video stream.")
                self.video_view.show_message(f"{name}: no video stream")
            else:
                self._start_video()
        self.mediaLoaded.emit(self.media_id() or "")

    def _on_probe_failed(self, message: str) -> None:
        self._problem("media", message)
        self.video_view.show_message(message)
        self.mediaFailed.emit(message)

    def _on_player_error(self, message: str) -> None:
        # The clock falls back to running on its own: labeling goes on without sound.
        if self.clock.source() is not None:
            self.clock.set_source(None)
            self.clock.set_duration(self._duration)
        self._problem("player", f"Audio playback is unavailable ({message}); the timeline runs silently.")

    def _problem(self, area: str, text: str | None) -> None:
        if text is None:
            self._problems.pop(area, None)
        else:
            self._problems[area] = text
        self._show_problems()

    def _show_problems(self) -> None:
        self.problem_label.setText(self.message())
        self.problem_label.setVisible(bool(self._problems))

    # --- audio: peaks, spectrogram, snapping ---

    def _start_audio(self, source: AudioSource) -> None:
        sha = (self._entry or {}).get("sha256")
        sha = sha if isinstance(sha, str) and len(sha) == _SHA256_LEN else None  # a wrong hash would hit a wrong cache
        audio = AudioTrack(self._path, source, peaks_cache_dir(self.media_root), sha, self)
        audio.progressed.connect(lambda f: self.peaks_progress.setValue(int(f * 1000)))
        audio.pyramidChanged.connect(self.waveform.invalidate_envelope)
        audio.ready.connect(self._on_peaks_ready)
        audio.failed.connect(self._on_peaks_failed)
        audio.cancelled.connect(self._on_peaks_cancelled)
        audio.spectrogramReady.connect(self._on_spectrogram)
        self._audio = audio
        self.waveform.set_sample_rate(source.sample_rate)
        self._build_peaks()
        if self.play_audio:
            self.clock.set_source(self._path)

    def _build_peaks(self) -> None:
        self._problem("peaks", None)
        self._show_progress("Cancel")
        self._audio.build_peaks()

    def _show_progress(self, button: str | None) -> None:
        """The progress bar while peaks build; the button ("Cancel" / "Build waveform") or neither."""
        self.peaks_progress.setValue(0)
        self.peaks_progress.setVisible(button == "Cancel")
        self.peaks_button.setVisible(button is not None)
        if button is not None:
            self.peaks_button.setText(button)

    def _on_peaks_button(self) -> None:
        if self._audio is None:
            return
        if self._audio.building():
            self._audio.cancel_peaks()
        else:
            self._build_peaks()

    def _on_peaks_ready(self) -> None:
        self._show_progress(None)
        self.peaksReady.emit()

    def _on_peaks_failed(self, message: str) -> None:
        self._show_progress(None)
        self._problem("peaks", message)

    def _on_peaks_cancelled(self) -> None:
        self._show_progress("Build waveform")
        self._problem("peaks", "Waveform building was cancelled.")

    def _envelope(self, t0: float, t1: float, width: int) -> tuple[np.ndarray, np.ndarray]:
        if self._audio is None:
            empty = np.full((max(0, width), 1), np.nan, np.float32)  # NaN: nothing drawn
            return empty, empty
        return self._audio.envelope(t0, t1, width)

    def _spectrogram(self, t0: float, t1: float, width: int, height: int) -> np.ndarray:
        if self._audio is None:
            return np.zeros((max(0, height), max(0, width)), np.uint8)
        return self._audio.spectrogram(t0, t1, width, height)

    def _on_spectrogram(self) -> None:
        if self.waveform.spectrogram_visible():
            self.waveform.invalidate_envelope()

    def _snap(self, t: float) -> float:
        if not self.options.snap_check.isChecked():
            return t
        info = self.video_info()
        if info is not None:
            return info.snap(t)  # video: boundaries on frame starts
        if self._audio is not None:
            return self._audio.snap(t)  # audio: on zero crossings
        return t

    # --- video ---

    def _start_video(self) -> None:
        video = VideoTrack(self._path, self)
        video.opened.connect(self._on_video_opened)
        video.openFailed.connect(self._on_video_failed)
        video.frameReady.connect(self._on_frame)
        video.frameFailed.connect(self._on_frame_failed)
        video.thumbnailsReady.connect(self._on_thumbnails)
        self._video = video
        video.start(self.THUMB_COUNT, self.THUMB_HEIGHT)

    def _on_video_opened(self, info: VideoInfo) -> None:
        if info.duration > self._duration + 1e-6:
            self._set_duration(info.duration)
        self._video.show_time(self.clock.time())

    def _on_video_failed(self, message: str) -> None:
        self._problem("video", message)
        self.video_view.show_message(message)

    def _on_frame(self, frame: VideoFrame) -> None:
        self._frame = frame
        self.video_view.set_frame(frame.rgb, frame.index, frame.pts)
        self.video_view.set_rotation(0 if frame.rotation_applied else -frame.rotation)
        n = self._video.info.n_frames if self._video is not None and self._video.info else 0
        self.transport.frame_label.setText(f"frame {frame.index} / {n}   pts {frame.pts:.3f} s")
        self.frameShown.emit(frame.index, frame.pts)

    def _on_frame_failed(self, message: str) -> None:
        self._frame = None
        self.video_view.show_message(message)

    def _on_thumbnails(self, thumbs: list) -> None:
        self.timeline.set_thumbnails(thumbs)
        self.thumbnailsReady.emit()

    # --- time and transport ---

    def _on_time(self, t: float) -> None:
        self.transport.set_time(t, self._duration)
        if self._video is not None:
            self._video.show_time(t)

    def seek_by(self, seconds: float) -> None:
        self.clock.seek(self.clock.time() + seconds)

    def step_frames(self, delta: int) -> None:
        """Pause and move by whole frames (video) or AUDIO_STEP seconds (audio)."""
        self.clock.pause()
        t = self.clock.time()
        info = self.video_info()
        if info is None:
            self.clock.seek(t + delta * self.AUDIO_STEP)
            return
        i = min(max(info.index_at(t) + delta, 0), info.n_frames - 1)
        self.clock.seek(float(info.frame_times[i]))

    def step_keyframes(self, delta: int) -> None:
        """Pause and jump to the next / previous keyframe (video only)."""
        info = self.video_info()
        if info is None:
            return
        self.clock.pause()
        shown = float(info.frame_times[info.index_at(self.clock.time())])
        target = info.keyframe_after(shown) if delta > 0 else info.keyframe_before(shown)
        if target is not None:
            self.clock.seek(target)

    def _selection_range(self) -> tuple[float, float]:
        """The selected segment's range, else the waveform's visible range."""
        s = self._selected_segment()
        if s is not None:
            return float(s["start"]), float(s["end"])
        t0, t1 = self.waveform.view_range()
        return max(0.0, t0), (min(t1, self._duration) if self._duration else t1)

    def toggle_loop(self) -> None:
        if self.clock.loop() is not None:
            self.clock.clear_loop()
            return
        t0, t1 = self._selection_range()
        if t1 - t0 >= 1e-3:
            self.clock.set_loop(t0, t1)
        self.transport.loop_button.setChecked(self.clock.loop() is not None)

    def play_selection(self) -> None:
        t0, t1 = self._selection_range()
        if t1 > t0:
            self.clock.play_range(t0, t1)

    def step_rate(self, direction: int) -> None:
        rate = self.clock.rate()
        options = [r for r in self.RATES if (r > rate + 1e-9 if direction > 0 else r < rate - 1e-9)]
        if options:
            self.clock.set_rate(min(options) if direction > 0 else max(options))

    # --- keys ---

    def set_preset(self, name: str) -> None:
        """Use a `widgets.shortcuts` preset for the pane and its views."""
        if name not in PRESETS:
            return
        MediaPane.preset_name = name
        self._keys = preset(name)
        for view in (self.waveform, self.video_view, self.timeline, self.transcript):
            view.set_key_map(self._keys)
        with QSignalBlocker(self.options.preset_combo):
            self.options.preset_combo.setCurrentText(name)

    def keys(self) -> dict[str, tuple[str, ...]]:
        return dict(self._keys)

    def action_for(self, event: QKeyEvent, focused: QObject) -> str | None:
        """The pane action a key press stands for while `focused` has the focus, if any."""
        keys = self._keys
        for action in _ROUTED_ACTIONS:
            if key_matches(event, keys.get(action, ())):
                return action
        # The waveform marks (and alternates a shared key) itself; the transcript keeps Return to edit.
        if focused is self.waveform or focused is self.transcript or self.transcript.isAncestorOf(focused):
            return None
        start, end = key_matches(event, keys.get("set_start", ())), key_matches(event, keys.get("set_end", ()))
        if start and end:
            return "set_end" if self.waveform.pending_start() is not None else "set_start"
        return "set_start" if start else "set_end" if end else None

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        # Keys the focused child ignored bubble up here; the router normally takes them first,
        # this covers a focus change the router has not seen yet.
        action = self.action_for(event, QApplication.focusWidget() or self)
        if action is None:
            super().keyPressEvent(event)
            return
        self.run_action(action)
        event.accept()

    def run_action(self, action: str) -> None:
        step = self.SEEK_STEPS.get(MediaPane.preset_name, self.SEEK_STEP)
        actions: dict[str, Callable[[], None]] = {
            "play_pause": self.clock.toggle,
            "play_selection": self.play_selection,
            "seek_back": lambda: self.seek_by(-step),
            "seek_forward": lambda: self.seek_by(step),
            "frame_prev": lambda: self.step_frames(-1),
            "frame_next": lambda: self.step_frames(1),
            "keyframe_prev": lambda: self.step_keyframes(-1),
            "keyframe_next": lambda: self.step_keyframes(1),
            "loop_region": self.toggle_loop,
            "rate_up": lambda: self.step_rate(1),
            "rate_down": lambda: self.step_rate(-1),
            "set_start": self.waveform.mark_start,
            "set_end": self.waveform.mark_end,
        }
        actions[action]()

    # --- the answer ---

    def _selected_segment(self) -> dict[str, Any] | None:
        rid = self.waveform.selected()
        i = seg.segment_index(rid, self._segments) if rid else None
        return None if i is None else self._segments[i]

    def _refresh_regions(self, select: int | None = None) -> None:
        regions = seg.regions_for(self._segments, self.media_id())
        self.waveform.set_regions(regions, self._tiers)
        self.timeline.set_regions(regions, self._tiers)
        if select is not None:
            self.waveform.set_selected(seg.region_id(select))
        self.timeline.set_selected(self.waveform.selected())
        self._show_selected()

    def _refresh_turns(self) -> None:
        messages = self._task.content.get("messages", ()) if self._task is not None else ()
        self.transcript.set_turns(seg.turns_for(messages, self.media_id(), self._segments))

    def _show_selected(self) -> None:
        s = self._selected_segment()
        tier = next((t for t in self._tiers if s is not None and t.name == s["tier"]), None)
        self.segment_bar.show_segment(tier, s)

    def _commit(self, new: list[dict[str, Any]], select: int | None = None) -> None:
        old = self._segments
        if new == old:
            return
        self._segments = new
        self._refresh_regions(select=select)
        if self._has_transcript_tier:
            self._refresh_turns()
        self.edited.emit([dict(s) for s in old], [dict(s) for s in new])

    def _index(self, rid: str) -> int | None:
        return seg.segment_index(rid, self._segments)

    def _on_region_created(self, tier: str, start: float, end: float) -> None:
        media_id = self.media_id()
        if media_id is None:
            return
        new = seg.created(self._segments, media_id, tier, start, end)
        self._commit(new, select=len(new) - 1)  # selected: a digit key labels it at once

    def _on_region_changed(self, rid: str, start: float, end: float) -> None:
        i = self._index(rid)
        if i is not None:
            self._commit(seg.resized(self._segments, i, start, end), select=i)

    def _on_region_labeled(self, rid: str, label: str) -> None:
        i = self._index(rid)
        if i is not None:
            self._commit(seg.labeled(self._segments, i, label), select=i)

    def _on_region_deleted(self, rid: str) -> None:
        i = self._index(rid)
        if i is not None:
            self.waveform.set_selected(None)
            self._commit(seg.deleted(self._segments, i))

    def _on_region_selected(self, rid: str) -> None:
        self.timeline.set_selected(rid or None)
        self._show_selected()

    def _on_label_chosen(self, label: str) -> None:
        rid = self.waveform.selected()
        if rid:
            self._on_region_labeled(rid, label)

    def _on_text_committed(self, text: str) -> None:
        i = self._index(self.waveform.selected() or "")
        if i is not None:
            self._commit(seg.with_text(self._segments, i, text), select=i)

    def _on_turn_edited(self, turn_id: str, text: str) -> None:
        media_id = self.media_id()
        if not self._has_transcript_tier or media_id is None:
            return  # turn texts are the item's, not the answer's (see the module docstring)
        turn = next((t for t in self.transcript.turns() if t.id == turn_id), None)
        if turn is not None:
            self._commit(seg.transcript_edit(self._segments, media_id, turn, text))
