"""Waveform view: the whole file at a glance down to single samples, labeled
regions in tier lanes, optional spectrogram, and the playhead.

The widget is given plain data and emits signals (DESIGN §3):

* the envelope comes from a callable ``fn(t0, t1, width_px) -> (mins, maxs)``
  (float32 in [-1, 1], shape ``(width, channels)``; NaN = not decoded yet);
  the app backs it with the peak pyramid from ``media/``;
* regions come from ``set_regions(regions, tiers)`` and are never edited
  here: a drag emits ``regionCreated`` / ``regionChanged``, a key emits
  ``regionLabeled`` / ``regionDeleted``, and the app answers with a new
  ``set_regions``;
* time comes from the app's single `Playhead` through ``set_playhead``; a
  click asks for a seek with ``seekRequested``.

Painting (PERFORMANCE.md, Qt section): everything but the playhead and an
in-progress drag is composed into one cached ``QImage`` — the envelope is
rasterised with numpy straight into an image buffer (min/max columns, no
per-pixel Python objects), regions are found by bisection on the visible
range and rasterised with numpy a lane row at a time. A playhead move
repaints two 3-px strips from that image.

The parts: `waveform_view_state` (which stretch of time is shown, no Qt),
`waveform_paint` (what is painted, from plain values), `waveform_interaction`
(mouse and keys) and `region_lanes` (the tier lanes, which the video
timeline strip draws too); this module wires them into the widget.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

import numpy as np
from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QScrollBar, QSizePolicy, QWidget

from labeldesk.widgets.paint_cache import argb, blit, image_array, sized_cache
from labeldesk.widgets.region_lanes import RegionLanePainter
from labeldesk.widgets.regions import Region, Tier
from labeldesk.widgets.shortcuts import preset
from labeldesk.widgets.waveform_interaction import Drag, WaveformInteraction
from labeldesk.widgets.waveform_paint import (
    BG,
    PLAYHEAD,
    WAVE_FG,
    envelope_columns,
    format_time,
    magma_lut,
    paint_drag_preview,
    paint_pending_mark,
    paint_region_band,
    paint_ruler,
    raster_envelope,
    spectrogram_image,
)
from labeldesk.widgets.waveform_view_state import ViewState

__all__ = [
    "EnvelopeProvider",
    "SpectrogramProvider",
    "SnapProvider",
    "WaveformView",
    "RegionLanePainter",
    "format_time",
    "magma_lut",
    "PLAYHEAD",
    "WAVE_FG",
]

EnvelopeProvider = Callable[[float, float, int], "tuple[np.ndarray, np.ndarray]"]
SpectrogramProvider = Callable[[float, float, int, int], np.ndarray]
SnapProvider = Callable[[float], float]


class WaveformView(WaveformInteraction, QWidget):
    """Zoomable waveform + spectrogram + tier lanes + playhead.

    Signals (the widget never changes its own data; the app decides):

    * ``seekRequested(float)`` — click on empty space or drag in the ruler
    * ``regionCreated(str tier, float start, float end)`` — drag on empty
      space, or mark start + mark end
    * ``regionChanged(str id, float start, float end)`` — edge drag
    * ``regionSelected(str id)`` — click on a region ("" = none)
    * ``regionActivated(str id)`` — double click on a region
    * ``regionLabeled(str id, str label)`` — digit key n: n-th tier label
    * ``regionDeleted(str id)`` — Delete
    * ``currentTierChanged(str tier)``, ``viewChanged(float t0, float t1)``
    """

    seekRequested = Signal(float)
    regionCreated = Signal(str, float, float)
    regionChanged = Signal(str, float, float)
    regionSelected = Signal(str)
    regionActivated = Signal(str)
    regionLabeled = Signal(str, str)
    regionDeleted = Signal(str)
    currentTierChanged = Signal(str)
    viewChanged = Signal(float, float)
    spectrogramToggled = Signal(bool)

    RULER_H = 20
    LANE_H = 22
    EDGE_PX = 5
    DRAG_PX = 4
    MAX_PX_PER_SAMPLE = 16.0

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(80)

        self._envelope: EnvelopeProvider | None = None
        self._spectrogram: SpectrogramProvider | None = None
        self._spec_visible = False
        self._snap: SnapProvider | None = None
        self._gain = 1.0

        self._view = ViewState(self.MAX_PX_PER_SAMPLE)
        self._playhead = 0.0
        self._playing = False
        self._follow = True

        self._lanes = RegionLanePainter()
        self._current_tier: str | None = None
        self._selected: str | None = None
        self._pending_start: float | None = None
        self._keys = preset()

        # caches
        self._wave_buf: np.ndarray | None = None  # envelope raster, ARGB32
        self._wave_key: tuple | None = None
        self._spec_img: QImage | None = None
        self._spec_data: np.ndarray | None = None
        self._spec_key: tuple | None = None
        self._composed: QImage | None = None
        self._composed_dirty = True
        self.channels = 0

        self._drag: Drag | None = None

        self._ruler_font = QFont(self.font())
        self._ruler_font.setPointSizeF(max(7.0, self.font().pointSizeF() * 0.85))
        self._lane_font = QFont(self.font())
        self._lane_font.setPointSizeF(max(7.0, self.font().pointSizeF() * 0.9))

        self._scroll = QScrollBar(Qt.Orientation.Horizontal, self)
        self._scroll.setRange(0, 0)
        self._scroll.valueChanged.connect(self._on_scroll)
        self._scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._scroll_res = 1_000_000
        self._layout()

    # ============================================================ data in
    def set_envelope_provider(self, fn: EnvelopeProvider | None) -> None:
        """``fn(t0, t1, width_px) -> (mins, maxs)``, each ``(width, channels)``
        float32 in [-1, 1] (1-D = one channel; NaN columns are left empty).
        Called on the GUI thread on view changes only: keep it a lookup."""
        self._envelope = fn
        self.invalidate_envelope()

    def set_spectrogram_provider(self, fn: SpectrogramProvider | None) -> None:
        """``fn(t0, t1, width_px, height_px) -> uint8 image`` of shape
        ``(height, width)`` (grayscale, drawn with a magma palette) or
        ``(height, width, 3)`` RGB; row 0 is the top (highest frequency)."""
        self._spectrogram = fn
        self._spec_key = None
        self._composed_dirty = True
        self._update_content()

    def set_spectrogram_visible(self, visible: bool) -> None:
        visible = bool(visible)
        if visible == self._spec_visible:
            return
        self._spec_visible = visible
        self._layout()
        self.invalidate_envelope()
        self.spectrogramToggled.emit(visible)

    def spectrogram_visible(self) -> bool:
        return self._spec_visible

    def toggle_spectrogram(self) -> None:
        self.set_spectrogram_visible(not self._spec_visible)

    def invalidate_envelope(self) -> None:
        """Ask the providers again (e.g. more peaks have been built)."""
        self._wave_key = None
        self._spec_key = None
        self._composed_dirty = True
        self._update_content()

    def set_duration(self, seconds: float) -> None:
        self._view.duration = max(0.0, float(seconds))
        if self._view.fitted or self._view.spp <= 0:
            self.zoom_to_fit()
        else:
            self._set_view(self._view.t0, self._view.spp)
        self._update_scrollbar()

    def duration(self) -> float:
        return self._view.duration

    def set_sample_rate(self, rate: float) -> None:
        """Limits zoom-in to ``MAX_PX_PER_SAMPLE`` pixels per sample."""
        self._view.sample_rate = max(1.0, float(rate))

    def set_gain(self, gain: float) -> None:
        """Vertical zoom of the envelope (1 = full scale fills the band)."""
        gain = min(64.0, max(0.25, float(gain)))
        if gain != self._gain:
            self._gain = gain
            self.invalidate_envelope()

    def gain(self) -> float:
        return self._gain

    def set_regions(self, regions: Iterable[Region], tiers: Sequence[Tier]) -> None:
        self._lanes.set_regions(regions, tiers)
        names = self._lanes.tier_names()
        if self._current_tier not in names:
            self._current_tier = names[0] if names else None
        if self._selected is not None and self._selected not in self._lanes.by_id:
            self._selected = None
        if self._drag is not None and self._drag.kind == "edge":
            self._drag = None
        self._layout()
        self._composed_dirty = True
        self._update_content()

    def regions(self) -> list[Region]:
        return [r for idx in self._lanes.indexes.values() for r in idx.regions]

    def tiers(self) -> list[Tier]:
        return list(self._lanes.tiers)

    def set_current_tier(self, name: str) -> None:
        if name == self._current_tier or name not in self._lanes.tier_names():
            return
        self._current_tier = name
        self._composed_dirty = True
        self._update_content()
        self.currentTierChanged.emit(name)

    def current_tier(self) -> str | None:
        return self._current_tier

    def set_selected(self, region_id: str | None) -> None:
        """Select programmatically (no signal)."""
        region_id = region_id or None
        if region_id == self._selected:
            return
        self._selected = region_id
        self._composed_dirty = True
        self._update_content()

    def selected(self) -> str | None:
        return self._selected

    def set_snap_provider(self, fn: SnapProvider | None) -> None:
        """``fn(t) -> t'`` applied to every boundary the user makes (zero
        crossings, video frames…)."""
        self._snap = fn

    def set_key_map(self, mapping: dict[str, Sequence[str]]) -> None:
        """Keys this pane handles while focused (a `widgets.shortcuts` preset)."""
        keys = preset()
        keys.update({k: tuple(v) for k, v in mapping.items()})
        self._keys = keys

    # ======================================================= playhead
    def set_playhead(self, t: float) -> None:
        """Connect to ``Playhead.timeChanged``."""
        t = float(t)
        if t == self._playhead:
            return
        old_x = self.playhead_x()
        self._playhead = t
        if self._follow and self._drag is None and self._follow_view(t):
            self._update_content()
            return
        new_x = self.playhead_x()
        if new_x != old_x:
            h = self._content_h  # not the scrollbar below: it is costly to paint
            self.update(QRect(old_x - 1, 0, 3, h))
            self.update(QRect(new_x - 1, 0, 3, h))
        if self._pending_start is not None:
            self._update_content()

    def playhead(self) -> float:
        return self._playhead

    def set_playing(self, playing: bool) -> None:
        """Connect to ``Playhead.playingChanged`` (follow pages while playing)."""
        self._playing = bool(playing)

    def set_follow(self, follow: bool) -> None:
        self._follow = bool(follow)

    def _follow_view(self, t: float) -> bool:
        t0 = self._view.follow(t, self.width(), self._playing)
        return t0 is not None and self._set_view(t0, self._view.spp)

    def playhead_x(self) -> int:
        """The pixel column the playhead line is drawn in."""
        return int(math.floor(self.time_to_x(self._playhead)))

    # ========================================================= geometry
    def time_to_x(self, t: float) -> float:
        return self._view.time_to_x(t)

    def x_to_time(self, x: float) -> float:
        return self._view.x_to_time(x)

    def view_range(self) -> tuple[float, float]:
        return self._view.t0, self._view.x_to_time(self.width())

    def seconds_per_pixel(self) -> float:
        return self._view.spp

    def wave_rect(self) -> QRect:
        return QRect(self._wave_rect)

    def spectrogram_rect(self) -> QRect:
        return QRect(self._spec_rect)

    def lane_rect(self, tier: str) -> QRect:
        names = self._lanes.tier_names()
        i = names.index(tier)
        return QRect(0, self._lanes_top + i * self.LANE_H, self.width(), self.LANE_H)

    def _layout(self) -> None:
        w, h = max(1, self.width()), max(1, self.height())
        sh = self._scroll.sizeHint().height()
        self._scroll.setGeometry(0, h - sh, w, sh)
        n = len(self._lanes.tiers)
        lanes_h = n * self.LANE_H
        avail = max(24, h - sh - self.RULER_H - lanes_h)
        if self._spec_visible:
            wave_h = max(24, int(avail * 0.45))
            spec_h = max(0, avail - wave_h)
        else:
            wave_h, spec_h = avail, 0
        y = self.RULER_H
        self._wave_rect = QRect(0, y, w, wave_h)
        self._spec_rect = QRect(0, y + wave_h, w, spec_h)
        self._lanes_top = y + wave_h + spec_h
        self._content_h = self._lanes_top + lanes_h
        self._composed_dirty = True
        self.update()  # the content may have shrunk: repaint the whole area once

    def _update_content(self) -> None:
        """Repaint everything but the scrollbar child (it repaints itself when
        its value changes; a 2,000-px Fusion scrollbar costs ~1 ms to paint)."""
        self.update(QRect(0, 0, self.width(), self._content_h))

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(800, 240)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        self._layout()
        if self._view.fitted:
            self.zoom_to_fit()
        else:
            self._set_view(self._view.t0, self._view.spp)
        self._update_scrollbar()
        self._wave_key = None
        super().resizeEvent(event)

    # ============================================================ view
    def _set_view(self, t0: float, spp: float) -> bool:
        if not self._view.move(t0, spp, self.width()):
            return False
        self._composed_dirty = True
        self._update_scrollbar()
        self._update_content()
        self.viewChanged.emit(*self.view_range())
        return True

    def set_view(self, t0: float, t1: float) -> None:
        """Show ``[t0, t1]``."""
        if t1 <= t0:
            return
        self._view.fitted = False
        self._set_view(t0, (t1 - t0) / max(1, self.width()))

    def zoom(self, factor: float, anchor_t: float | None = None) -> None:
        """Zoom in by ``factor`` (> 1 in, < 1 out) keeping ``anchor_t`` fixed."""
        if factor <= 0:
            return
        if anchor_t is None:
            anchor_t = self._playhead if 0 <= self.time_to_x(self._playhead) < self.width() else self.x_to_time(self.width() / 2)
        ax = self.time_to_x(anchor_t)
        lo, hi = self._view.spp_limits(self.width())
        spp = min(hi, max(lo, self._view.spp / factor))
        self._view.fitted = spp >= hi
        self._set_view(anchor_t - ax * spp, spp)

    def zoom_in(self) -> None:
        self.zoom(2.0)

    def zoom_out(self) -> None:
        self.zoom(0.5)

    def zoom_to_fit(self) -> None:
        self._view.fitted = True
        _, hi = self._view.spp_limits(self.width())
        self._set_view(0.0, hi)

    def zoom_to_selection(self) -> None:
        r = self._lanes.by_id.get(self._selected) if self._selected else None
        if r is None:
            return
        pad = max((r.end - r.start) * 0.05, 1e-3)
        self.set_view(r.start - pad, r.end + pad)

    def scroll_by_pixels(self, px: float) -> None:
        self._set_view(self._view.x_to_time(px), self._view.spp)

    def _update_scrollbar(self) -> None:
        w = max(1, self.width())
        visible = w * self._view.spp
        scrollable = self._view.scrollable(w)
        sb = self._scroll
        sb.blockSignals(True)
        if scrollable <= 0:
            sb.setRange(0, 0)
            sb.setPageStep(self._scroll_res)
        else:
            sb.setRange(0, self._scroll_res)
            # a sliver left to scroll (float rounding of a fitted view) must not overflow Qt's int
            sb.setPageStep(max(1, min(2**30, int(self._scroll_res * visible / scrollable))))
            sb.setSingleStep(max(1, sb.pageStep() // 10))
            sb.setValue(int(round(self._view.t0 / scrollable * self._scroll_res)))
        sb.blockSignals(False)

    def _on_scroll(self, value: int) -> None:
        scrollable = self._view.scrollable(self.width())
        if scrollable > 0:
            self._view.fitted = False
            self._set_view(value / self._scroll_res * scrollable, self._view.spp)

    # ======================================================== rendering
    def _render_wave(self, dpr: float) -> None:
        r = self._wave_rect
        v = self._view
        pw = max(1, int(round(r.width() * dpr)))
        ph = max(1, int(round(r.height() * dpr)))
        key = (v.t0, v.spp, pw, ph, self._gain, id(self._envelope))
        if key == self._wave_key and self._wave_buf is not None:
            return
        self._wave_key = key
        buf = self._wave_buf
        if buf is None or buf.shape != (ph, pw):  # reused: no per-paint allocation
            buf = self._wave_buf = np.empty((ph, pw), dtype=np.uint32)
        columns = None
        if self._envelope is not None and v.duration > 0:
            mins, maxs = self._envelope(v.t0, v.x_to_time(r.width()), pw)
            end_x = int(math.ceil((v.duration - v.t0) / v.spp * dpr))
            columns = envelope_columns(mins, maxs, pw, end_x)
        self.channels = raster_envelope(buf, columns, self._gain)

    def _render_spec(self, dpr: float) -> None:
        r = self._spec_rect
        v = self._view
        if not self._spec_visible or r.height() <= 0 or self._spectrogram is None or v.duration <= 0:
            self._spec_img = None
            return
        pw = max(1, int(round(r.width() * dpr)))
        ph = max(1, int(round(r.height() * dpr)))
        key = (v.t0, v.spp, pw, ph, id(self._spectrogram))
        if key == self._spec_key and self._spec_img is not None:
            return
        self._spec_key = key
        data = self._spectrogram(v.t0, v.x_to_time(r.width()), pw, ph)
        self._spec_img, self._spec_data = spectrogram_image(data)

    def _compose(self) -> None:
        dpr = self.devicePixelRatioF()
        w, h = max(1, self.width()), max(1, self.height())
        img = self._composed = sized_cache(self._composed, w, h, dpr)
        self._render_wave(dpr)
        self._render_spec(dpr)
        # phase 1, numpy into the image buffer: background, envelope, lanes
        arr = image_array(img)
        arr[:] = argb(BG)
        wr = self._wave_rect
        if self._wave_buf is not None:
            y0 = int(round(wr.top() * dpr))
            hh = min(self._wave_buf.shape[0], arr.shape[0] - y0)
            ww = min(self._wave_buf.shape[1], arr.shape[1])
            if hh > 0:
                arr[y0 : y0 + hh, :ww] = self._wave_buf[:hh, :ww]
        v = self._view
        lanes = self._lanes.visible(top=self._lanes_top, lane_h=self.LANE_H, width=w, t0=v.t0, spp=v.spp)
        self._lanes.raster(arr, lanes, dpr=dpr, current_tier=self._current_tier)
        del arr
        # phase 2, QPainter: text, spectrogram, translucent overlays
        p = QPainter(img)
        try:
            t0, t1 = self.view_range()
            paint_ruler(
                p, self._ruler_font, width=w, height=self.RULER_H, t0=t0, t1=t1, spp=v.spp, duration=v.duration
            )
            sr = self._spec_rect
            if self._spec_img is not None and sr.height() > 0:
                p.drawImage(QRectF(sr), self._spec_img)
            elif self._spec_visible and sr.height() > 0:
                p.fillRect(sr, QColor("#0c0d10"))
            self._paint_selection_overlay(p)
            p.setFont(self._lane_font)
            self._lanes.overlay(p, lanes, selected=self._selected)
        finally:
            p.end()
        self._composed_dirty = False

    def _paint_selection_overlay(self, p: QPainter) -> None:
        r = self._lanes.by_id.get(self._selected) if self._selected else None
        if r is None:
            return
        x0 = self.time_to_x(r.start)
        x1 = self.time_to_x(r.end)
        if x1 < 0 or x0 > self.width():
            return
        paint_region_band(p, x0, x1, self._wave_rect.top(), self._lanes_top, self._lanes.color(r.tier))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        if self._composed_dirty or self._composed is None:
            self._compose()
        p = QPainter(self)
        blit(p, self._composed, event.rect())
        h = self._content_h
        if self._pending_start is not None:
            xs = self.time_to_x(self._pending_start)
            paint_pending_mark(p, xs, self.time_to_x(self._playhead), self.RULER_H, h)
        d = self._drag
        if d is not None and d.preview is not None:
            a, b = d.preview
            c = self._lanes.color(d.tier) if d.tier else QColor("#aaaaaa")
            paint_drag_preview(p, self.time_to_x(a), self.time_to_x(b), self.RULER_H, h, c)
        x = self.playhead_x()
        if 0 <= x < self.width():
            p.fillRect(QRect(x, 0, 1, h), PLAYHEAD)
        p.end()
