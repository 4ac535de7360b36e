"""The one playback clock.

`Playhead` owns the current time; every pane (waveform, video, transcript)
follows ``timeChanged`` and asks it to ``seek``; none keeps time of its own.

Two time sources, one behaviour:

* **with a source** (``set_source(path)``): audio plays through
  ``QMediaPlayer`` + ``QAudioOutput``. While playing, time is the player's
  position, extrapolated between its (coarse, irregular) position updates with
  a ``QElapsedTimer`` so the picture moves smoothly and stays on the audio.
  With no audio device (CI, offscreen) the Qt FFmpeg backend prints
  "No audio device detected" and its position still advances in real time.
* **without a source**: a free-running clock (``QElapsedTimer`` × rate)
  ticking at ~60 Hz, bounded by ``duration`` when one is set. Panes follow it
  in tests and for video-only or not-yet-decoded media.

Loops (``set_loop``) and one-shot ranges (``play_range``) are enforced by the
clock itself, with a precise single-shot timer for the last few milliseconds
so a range stops within ~1 ms of its end instead of a whole tick late.

Wiring (in app/ui; panes never talk to each other)::

    clock = Playhead(window)
    for pane in (waveform, strip, transcript):
        clock.timeChanged.connect(pane.set_playhead)
        pane.seekRequested.connect(clock.seek)
    clock.playingChanged.connect(waveform.set_playing)
    clock.durationChanged.connect(waveform.set_duration)
"""
from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, QUrl, Signal

__all__ = ["Playhead"]


class Playhead(QObject):
    """The single owner of the current time (seconds)."""

    timeChanged = Signal(float)
    playingChanged = Signal(bool)
    rateChanged = Signal(float)
    durationChanged = Signal(float)
    loopChanged = Signal(object)  # (t0, t1) or None
    errorOccurred = Signal(str)

    MIN_RATE = 0.5
    MAX_RATE = 2.0
    TICK_MS = 16
    #: never extrapolate further than this past the player's last position
    #: (a stalled or buffering player must not let the picture run away)
    MAX_EXTRAPOLATION = 0.5
    #: differences between the extrapolated clock and a new player position
    #: below this are absorbed without jumping backwards
    JITTER = 0.08

    def __init__(self, parent: QObject | None = None, *, tick_ms: int = TICK_MS):
        super().__init__(parent)
        self._t = 0.0
        self._duration = 0.0
        self._playing = False
        self._rate = 1.0
        self._loop: tuple[float, float] | None = None
        self._range_end: float | None = None

        self._clock = QElapsedTimer()
        self._clock.start()
        # free-running anchor: time = _anchor_t + (now - _anchor_ns) * rate
        self._anchor_t = 0.0
        self._anchor_ns = 0
        # player anchor: last position reported and when we learnt it
        self._player_pos = 0.0
        self._player_pos_ns = 0
        self._player_started = False  # first position change after play()
        self._seek_target: float | None = None
        self._seek_ns = 0

        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._tick)
        self._end_timer = QTimer(self)
        self._end_timer.setSingleShot(True)
        self._end_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._end_timer.timeout.connect(self._tick)

        self._player = None
        self._audio = None
        self._source: str | None = None

    # ---------------------------------------------------------------- state
    @property
    def duration(self) -> float:
        return self._duration

    def set_duration(self, seconds: float) -> None:
        """Length of the timeline (0 = unbounded). Set from the player when a
        source is loaded; set it yourself for a clock without a source."""
        seconds = max(0.0, float(seconds))
        if seconds == self._duration:
            return
        self._duration = seconds
        self.durationChanged.emit(seconds)
        if seconds and self._t > seconds:
            self.seek(seconds)

    def time(self) -> float:
        """Current time, extrapolated to this instant while playing."""
        return self._compute_time() if self._playing else self._t

    def is_playing(self) -> bool:
        return self._playing

    def rate(self) -> float:
        return self._rate

    def loop(self) -> tuple[float, float] | None:
        return self._loop

    def source(self) -> str | None:
        return self._source

    # ---------------------------------------------------------------- source
    def set_source(self, path: str | Path | None) -> None:
        """Play audio of ``path`` through QMediaPlayer (``None`` drops it and
        goes back to the free-running clock)."""
        was_playing = self._playing
        if was_playing:
            self.pause()
        if path is None:
            if self._player is not None:
                self._player.stop()
                self._player.setSource(QUrl())
            self._source = None
            return
        self._ensure_player()
        self._source = str(path)
        self._player.setSource(QUrl.fromLocalFile(str(path)))
        self._player.setPlaybackRate(self._rate)
        self._player.setPosition(int(round(self._t * 1000)))

    def set_volume(self, volume: float) -> None:
        if self._audio is not None:
            self._audio.setVolume(max(0.0, min(1.0, float(volume))))

    def _ensure_player(self) -> None:
        if self._player is not None:
            return
        # imported lazily: a clock without a source never loads QtMultimedia
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

        self._player = QMediaPlayer(self)
        self._audio = QAudioOutput(self)
        self._player.setAudioOutput(self._audio)
        self._player.durationChanged.connect(self._on_player_duration)
        self._player.positionChanged.connect(self._on_player_position)
        self._player.mediaStatusChanged.connect(self._on_media_status)
        self._player.errorOccurred.connect(self._on_player_error)

    def _has_player(self) -> bool:
        return self._player is not None and self._source is not None

    def _on_player_duration(self, ms: int) -> None:
        self.set_duration(ms / 1000.0)

    def _on_player_position(self, ms: int) -> None:
        pos = ms / 1000.0
        now = self._clock.nsecsElapsed()
        if self._seek_target is not None:
            # ignore stale positions from before a seek until the player has
            # caught up (or half a second has passed)
            if abs(pos - self._seek_target) > 0.25 and now - self._seek_ns < 500_000_000:
                return
            self._seek_target = None
        if self._playing and pos != self._player_pos:
            self._player_started = True
        self._player_pos = pos
        self._player_pos_ns = now

    def _on_media_status(self, status) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        if status == QMediaPlayer.MediaStatus.EndOfMedia and self._playing:
            end = self._duration or self._player_pos
            self._stop_at(end)
        elif status == QMediaPlayer.MediaStatus.InvalidMedia:
            self.errorOccurred.emit(f"cannot play {self._source}")

    def _on_player_error(self, _error, message: str = "") -> None:
        self.errorOccurred.emit(message or str(_error))

    # ---------------------------------------------------------------- clock
    def _compute_time(self) -> float:
        now = self._clock.nsecsElapsed()
        if self._has_player():
            if not self._player_started:
                return self._anchor_t  # audio not started yet: hold
            ahead = (now - self._player_pos_ns) * 1e-9 * self._rate
            t = self._player_pos + min(max(ahead, 0.0), self.MAX_EXTRAPOLATION)
            # absorb small backward corrections (position updates are coarse)
            if self._t - self.JITTER < t < self._t:
                t = self._t
            return t
        return self._anchor_t + (now - self._anchor_ns) * 1e-9 * self._rate

    def _reanchor(self, t: float) -> None:
        self._anchor_t = t
        self._anchor_ns = self._clock.nsecsElapsed()

    def _tick(self) -> None:
        if not self._playing:
            return
        t = self._compute_time()
        if self._range_end is not None and t >= self._range_end:
            self._stop_at(self._range_end)
            return
        if self._loop is not None and self._range_end is None and t >= self._loop[1]:
            self._seek_internal(self._loop[0])
            self._set_time(self._loop[0])
            return
        if self._duration and t >= self._duration:
            if not self._has_player():
                self._stop_at(self._duration)
                return
            t = self._duration  # the player's EndOfMedia stops the clock
        self._set_time(t)
        self._schedule_end()

    def _schedule_end(self) -> None:
        """Arm a precise one-shot timer when a boundary falls before the next tick."""
        bounds = []
        if self._range_end is not None:
            bounds.append(self._range_end)
        elif self._loop is not None:
            bounds.append(self._loop[1])
        if self._duration and not self._has_player():
            bounds.append(self._duration)
        if not bounds:
            return
        remaining = (min(bounds) - self._t) / self._rate
        ms = remaining * 1000.0
        if ms < self._timer.interval() and not self._end_timer.isActive():
            self._end_timer.start(max(0, int(math.ceil(ms))))

    def _set_time(self, t: float) -> None:
        if t != self._t:
            self._t = t
            self.timeChanged.emit(t)

    def _stop_at(self, t: float) -> None:
        self._range_end = None
        self._set_playing(False)
        if self._has_player():
            self._player.pause()
            self._seek_internal(t)
        self._reanchor(t)
        self._set_time(t)

    def _set_playing(self, playing: bool) -> None:
        if playing == self._playing:
            return
        self._playing = playing
        if playing:
            self._timer.start()
        else:
            self._timer.stop()
            self._end_timer.stop()
        self.playingChanged.emit(playing)

    def _seek_internal(self, t: float) -> None:
        self._reanchor(t)
        if self._has_player():
            self._player.setPosition(int(round(t * 1000)))
            self._player_pos = t
            self._player_pos_ns = self._clock.nsecsElapsed()
            self._seek_target = t
            self._seek_ns = self._player_pos_ns
            # hold the picture at t until the player reports it has moved on
            self._player_started = False
        # the next computed time may be below the previous one (a seek)
        self._t = t

    def _clamp(self, t: float) -> float:
        t = max(0.0, float(t))
        if self._duration:
            t = min(t, self._duration)
        return t

    # --------------------------------------------------------------- control
    def seek(self, t: float) -> None:
        """Jump to ``t`` (clamped to [0, duration]); keeps playing if playing.
        A seek outside a running ``play_range`` cancels the range."""
        t = self._clamp(t)
        if self._range_end is not None and t >= self._range_end:
            self._range_end = None
        old = self._t
        self._seek_internal(t)
        self._end_timer.stop()
        if t != old or not self._playing:
            self.timeChanged.emit(t)

    def play(self) -> None:
        if self._playing:
            return
        t = self._t
        if self._duration and t >= self._duration - 1e-6:
            t = 0.0
        if (
            self._loop is not None
            and self._range_end is None
            and not (self._loop[0] <= t < self._loop[1])
        ):
            t = self._loop[0]
        if t != self._t:
            self.seek(t)
        self._reanchor(self._t)
        if self._has_player():
            self._player_started = False
            self._player_pos = self._t
            self._player_pos_ns = self._clock.nsecsElapsed()
            self._player.setPlaybackRate(self._rate)
            self._player.play()
        self._set_playing(True)

    def pause(self) -> None:
        if not self._playing:
            return
        t = self._compute_time()
        if self._duration:
            t = min(t, self._duration)
        self._range_end = None
        self._set_playing(False)
        if self._has_player():
            self._player.pause()
            self._seek_internal(t)
        self._reanchor(t)
        self._set_time(t)

    def toggle(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def set_rate(self, rate: float) -> None:
        """Playback rate, clamped to [0.5, 2.0]; time does not jump."""
        rate = min(self.MAX_RATE, max(self.MIN_RATE, float(rate)))
        if rate == self._rate:
            return
        if self._playing:
            t = self._compute_time()
            self._reanchor(t)
            self._set_time(t)
            if self._has_player():
                self._player_pos = t
                self._player_pos_ns = self._anchor_ns
        self._rate = rate
        if self._player is not None:
            self._player.setPlaybackRate(rate)
        self.rateChanged.emit(rate)

    def set_loop(self, t0: float, t1: float) -> None:
        """Loop ``[t0, t1)`` while playing; moves into the loop if outside."""
        t0, t1 = sorted((self._clamp(t0), self._clamp(t1)))
        if t1 - t0 < 1e-3:
            raise ValueError("loop range is empty")
        self._loop = (t0, t1)
        self.loopChanged.emit(self._loop)
        if not (t0 <= self._t < t1):
            self.seek(t0)

    def clear_loop(self) -> None:
        if self._loop is not None:
            self._loop = None
            self._end_timer.stop()
            self.loopChanged.emit(None)

    def play_range(self, t0: float, t1: float) -> None:
        """Play ``[t0, t1)`` once and stop at ``t1`` (play selection)."""
        t0, t1 = sorted((self._clamp(t0), self._clamp(t1)))
        if self._playing:
            self.pause()
        self.seek(t0)
        self._range_end = t1
        self.play()
