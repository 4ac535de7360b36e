"""The media pane's bars: transport (play, time, frame, rate, loop, keys) and the selected segment.

Plain widgets: they show what they are told and emit what the user did; the
pane (app.ui.media_pane) decides what it means.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from labeldesk.widgets.regions import Tier
from labeldesk.widgets.shortcuts import PRESETS
from labeldesk.widgets.waveform import format_time

__all__ = ["OptionsBar", "SegmentBar", "TransportBar"]


class TransportBar(QWidget):
    """Play/pause, time, frame, rate, loop and play selection."""

    def __init__(self, rates: tuple[float, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.play_button = QToolButton(text="▶")
        self.play_button.setToolTip("Play / pause")
        self.time_label = QLabel("0:00.000 / 0:00.000")
        self.time_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.frame_label = QLabel("")
        self.frame_label.setToolTip("Frame shown (index / count) and its presentation timestamp")
        self.rate_combo = QComboBox()
        for r in rates:
            self.rate_combo.addItem(f"{r:g}×", r)
        self.rate_combo.setToolTip("Playback rate")
        self.loop_button = QToolButton(text="Loop")
        self.loop_button.setCheckable(True)
        self.loop_button.setToolTip("Loop the selected segment (or the visible range)")
        self.selection_button = QToolButton(text="Play selection")
        self.selection_button.setToolTip("Play the selected segment (or the visible range) once")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.play_button, self.time_label, self.frame_label):
            layout.addWidget(w)
        layout.addStretch(1)
        for w in (self.rate_combo, self.loop_button, self.selection_button):
            layout.addWidget(w)
        for w in (self.play_button, self.rate_combo, self.loop_button, self.selection_button):
            w.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # clicking them leaves the keyboard where it was

    def set_playing(self, playing: bool) -> None:
        self.play_button.setText("⏸" if playing else "▶")

    def set_rate(self, rate: float) -> None:
        rates = [self.rate_combo.itemData(i) for i in range(self.rate_combo.count())]
        with QSignalBlocker(self.rate_combo):
            self.rate_combo.setCurrentIndex(int(np.argmin([abs(r - rate) for r in rates])))

    def set_time(self, t: float, duration: float) -> None:
        hours = duration >= 3600
        self.time_label.setText(f"{format_time(t, 3, hours)} / {format_time(duration, 3, hours)}")


class SegmentBar(QWidget):
    """Label and text of the selected segment (digit keys in the waveform label it too)."""

    labelChosen = Signal(str)
    textCommitted = Signal(str)
    deleteRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel()
        self.label_combo = QComboBox()
        self.label_combo.setMinimumContentsLength(10)
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText("Text of the selected segment (Enter to keep)")
        self.delete_button = QToolButton(text="Delete")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.label_combo)
        layout.addWidget(self.text_edit, 1)
        layout.addWidget(self.delete_button)
        self._text = ""
        self.label_combo.activated.connect(lambda i: self.labelChosen.emit(self.label_combo.itemData(i) or ""))
        self.text_edit.editingFinished.connect(self._commit_text)
        self.delete_button.clicked.connect(self.deleteRequested)
        self.show_segment(None, None)

    def show_segment(self, tier: Tier | None, segment: dict[str, Any] | None) -> None:
        enabled = segment is not None
        for w in (self.label_combo, self.text_edit, self.delete_button):
            w.setEnabled(enabled)
        with QSignalBlocker(self.label_combo):
            self.label_combo.clear()
            self.label_combo.addItem("(no label)", "")
            for label in tier.labels if tier is not None else ():
                self.label_combo.addItem(label, label)
            if segment is not None:
                i = self.label_combo.findData(segment.get("label") or "")
                if i < 0:  # a label the tier no longer lists still shows
                    self.label_combo.addItem(str(segment["label"]), segment["label"])
                    i = self.label_combo.count() - 1
                self.label_combo.setCurrentIndex(i)
        self.label_combo.setVisible(tier is None or bool(tier.labels) or bool(segment and segment.get("label")))
        self._text = str(segment.get("text") or "") if segment is not None else ""
        with QSignalBlocker(self.text_edit):
            self.text_edit.setText(self._text)
        if segment is None:
            self.caption.setText("No segment selected")
            self.caption.setToolTip("Drag on the waveform or its lanes to make one; [ and ] mark at the playhead")
        else:
            span = f"{format_time(float(segment['start']))}–{format_time(float(segment['end']))}"
            self.caption.setText(f"<b>{segment['tier']}</b> {span}")

    def _commit_text(self) -> None:
        text = self.text_edit.text()
        if text != self._text and self.text_edit.isEnabled():
            self._text = text
            self.textCommitted.emit(text)


class OptionsBar(QWidget):
    """How the pane shows and edits: spectrogram, snapping, keyboard preset."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spectrogram_button = QToolButton(text="Spectrogram")
        self.spectrogram_button.setCheckable(True)
        self.spectrogram_button.setToolTip("Show the spectrogram of the visible range under the waveform")
        self.snap_check = QCheckBox("Snap")
        self.snap_check.setChecked(True)
        self.snap_check.setToolTip("Snap segment boundaries to zero crossings (audio) or frame starts (video)")
        self.preset_combo = QComboBox()
        self.preset_combo.addItems(list(PRESETS))
        self.preset_combo.setToolTip("Keyboard preset (the keys of ELAN, Aegisub or Subtitle Edit)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.spectrogram_button, self.snap_check, QLabel("Keys:"), self.preset_combo):
            layout.addWidget(w)
        for w in (self.spectrogram_button, self.snap_check, self.preset_combo):
            w.setFocusPolicy(Qt.FocusPolicy.TabFocus)
