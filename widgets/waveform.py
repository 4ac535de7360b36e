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
range and drawn with one ``drawRects`` per tier colour. A playhead move
repaints two 3-px strips from that image.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QFont,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QScrollBar, QSizePolicy, QWidget

from labeldesk.widgets.regions import Region, RegionIndex, Tier
from labeldesk.widgets.shortcuts import key_matches, preset

__all__ = [
    "EnvelopeProvider",
    "SpectrogramProvider",
    "SnapProvider",
    "WaveformView",
    "RegionLanePainter",
    "format_time",
    "magma_lut",
]

EnvelopeProvider = Callable[[float, float, int], "tuple[np.ndarray, np.ndarray]"]
SpectrogramProvider = Callable[[float, float, int, int], np.ndarray]
SnapProvider = Callable[[float], float]

# ------------------------------------------------------------------ colours
BG = QColor("#15171c")
WAVE_BG = 0xFF15171C
WAVE_AXIS = 0xFF2B313B
WAVE_FG = 0xFF56B4E0
WAVE_FG_CLIP = 0xFFE0675A  # columns that reach full scale
RULER_BG = QColor("#1f2229")
RULER_FG = QColor("#8f98a8")
RULER_TEXT = QColor("#d0d5de")
LANE_BG = (QColor("#1a1d23"), QColor("#1e2128"))
LANE_CURRENT_BG = QColor("#272c35")
LANE_LINE = QColor("#2f3540")
PLAYHEAD = QColor("#ff5252")
MARK = QColor("#ffd54f")
SELECT_PEN = QColor("#ffffff")


def _argb(c: QColor) -> int:
    return 0xFF000000 | (c.red() << 16) | (c.green() << 8) | c.blue()


def _text_color_on(c: QColor) -> QColor:
    # relative luminance (sRGB approx.) decides black or white label text
    lum = 0.2126 * c.redF() + 0.7152 * c.greenF() + 0.0722 * c.blueF()
    return QColor("#101216") if lum > 0.55 else QColor("#ffffff")


def magma_lut() -> list[int]:
    """256 ARGB ints approximating matplotlib's *magma* (for grayscale
    spectrograms: 0 = quiet, 255 = loud)."""
    stops = np.array([0.0, 0.13, 0.25, 0.38, 0.5, 0.63, 0.75, 0.88, 1.0])
    rgb = np.array(
        [
            (0, 0, 4), (28, 16, 68), (79, 18, 123), (129, 37, 129), (181, 54, 122),
            (229, 80, 100), (251, 135, 97), (254, 194, 135), (252, 253, 191),
        ],
        dtype=np.float64,
    )
    x = np.linspace(0.0, 1.0, 256)
    chans = [np.interp(x, stops, rgb[:, i]).round().astype(np.uint32) for i in range(3)]
    vals = 0xFF000000 | (chans[0] << 16) | (chans[1] << 8) | chans[2]
    return [int(v) for v in vals]


_MAGMA = magma_lut()


def format_time(t: float, decimals: int = 3, hours: bool | None = None) -> str:
    """``m:ss.fff`` (or ``h:mm:ss.fff`` from an hour on)."""
    sign = "-" if t < 0 else ""
    t = abs(t)
    scale = 10**decimals
    total = int(round(t * scale))
    whole, frac = divmod(total, scale)
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    if hours is None:
        hours = h > 0
    head = f"{h}:{m:02d}:{s:02d}" if hours else f"{m}:{s:02d}"
    if decimals > 0:
        head += f".{frac:0{decimals}d}"
    return sign + head


# ruler steps (seconds) and how many minor ticks split each
_STEPS: tuple[tuple[float, int], ...] = (
    (1e-5, 5), (2e-5, 4), (5e-5, 5), (1e-4, 5), (2e-4, 4), (5e-4, 5),
    (1e-3, 5), (2e-3, 4), (5e-3, 5), (0.01, 5), (0.02, 4), (0.05, 5),
    (0.1, 5), (0.2, 4), (0.5, 5), (1, 5), (2, 4), (5, 5), (10, 5), (15, 3),
    (30, 3), (60, 4), (120, 4), (300, 5), (600, 5), (900, 3), (1800, 3),
    (3600, 4), (7200, 4), (14400, 4),
)


# ------------------------------------------------------------ region lanes
def image_array(img: QImage) -> np.ndarray:
    """A writable ``(height, width)`` uint32 numpy view of a 32-bit QImage."""
    arr = np.frombuffer(img.bits(), dtype=np.uint32)
    return arr.reshape(img.height(), img.bytesPerLine() // 4)[:, : img.width()]


def _blend(fg: QColor, bg: QColor, alpha: float) -> QColor:
    return QColor(
        round(fg.red() * alpha + bg.red() * (1 - alpha)),
        round(fg.green() * alpha + bg.green() * (1 - alpha)),
        round(fg.blue() * alpha + bg.blue() * (1 - alpha)),
    )


class _LaneVis:
    """What one lane shows in the current view (shared by both phases)."""

    __slots__ = ("tier", "y", "pos", "xs0", "xs1")

    def __init__(self, tier: Tier, y: float, pos: np.ndarray, xs0: np.ndarray, xs1: np.ndarray):
        self.tier, self.y, self.pos, self.xs0, self.xs1 = tier, y, pos, xs0, xs1


class RegionLanePainter:
    """Draws tiers as horizontal lanes of region boxes; shared by the waveform
    view and the video timeline strip. Holds one `RegionIndex` per tier.

    Two phases so 1,000s of regions cost no Python object per region:
    `raster` writes the boxes and their edges with numpy straight into the
    image buffer (coverage from bisected start/end pixels, one vectorised row
    per lane); `overlay` then uses QPainter only for what needs text or
    anti-aliasing: labels of regions wide enough to hold one, tier names and
    the selection outline.
    """

    FILL_ALPHA = 0.8

    def __init__(self) -> None:
        self.tiers: list[Tier] = []
        self.indexes: dict[str, RegionIndex] = {}
        self.by_id: dict[str, Region] = {}
        self._colors: dict[str, tuple[QColor, QColor, QColor]] = {}
        self._elide_cache: dict[tuple[str, int], str] = {}

    def set_regions(self, regions: Iterable[Region], tiers: Sequence[Tier]) -> None:
        regions = list(regions)
        self.tiers = list(tiers)
        known = {t.name for t in self.tiers}
        for r in regions:  # regions on tiers nobody declared still show up
            if r.tier not in known:
                self.tiers.append(Tier(r.tier))
                known.add(r.tier)
        per: dict[str, list[Region]] = {t.name: [] for t in self.tiers}
        for r in regions:
            per[r.tier].append(r)
        self.indexes = {name: RegionIndex(rs) for name, rs in per.items()}
        self.by_id = {r.id: r for r in regions}
        self._colors = {}
        for t in self.tiers:
            base = QColor(t.color)
            if not base.isValid():
                base = QColor("#4e79a7")
            self._colors[t.name] = (base, base.lighter(135), _text_color_on(base))
        if len(self._elide_cache) > 4096:
            self._elide_cache.clear()

    def tier_names(self) -> list[str]:
        return [t.name for t in self.tiers]

    def tier(self, name: str) -> Tier | None:
        for t in self.tiers:
            if t.name == name:
                return t
        return None

    def color(self, tier: str) -> QColor:
        c = self._colors.get(tier)
        return QColor(c[0]) if c else QColor("#4e79a7")

    def _elide(self, fm: QFontMetrics, text: str, width: int) -> str:
        key = (text, width)
        out = self._elide_cache.get(key)
        if out is None:
            out = fm.elidedText(text, Qt.TextElideMode.ElideRight, width)
            self._elide_cache[key] = out
        return out

    def visible(self, *, top: float, lane_h: float, width: int, t0: float, spp: float) -> list[_LaneVis]:
        """Per lane: positions of the regions in view (bisection) and their x."""
        t1 = t0 + width * spp
        out = []
        for i, tier in enumerate(self.tiers):
            idx = self.indexes[tier.name]
            pos = idx.positions_in(t0, t1)
            xs0 = (idx.starts[pos] - t0) / spp
            xs1 = (idx.ends[pos] - t0) / spp
            out.append(_LaneVis(tier, top + i * lane_h, pos, xs0, xs1))
        return out

    def raster(
        self,
        arr: np.ndarray,
        vis: list[_LaneVis],
        *,
        lane_h: float,
        dpr: float = 1.0,
        current_tier: str | None = None,
        gap: float = 2.0,
    ) -> None:
        """Phase 1: lane backgrounds, region boxes and edges, separators."""
        hp, wp = arr.shape
        for i, lv in enumerate(vis):
            base, edge_c, _ = self._colors[lv.tier.name]
            bg = LANE_CURRENT_BG if lv.tier.name == current_tier else LANE_BG[i % 2]
            y0 = int(round(lv.y * dpr))
            y1 = min(hp, int(round((lv.y + lane_h) * dpr)))
            if y1 <= y0 or y0 >= hp:
                continue
            bg_i, fill_i, edge_i = _argb(bg), _argb(_blend(base, bg, self.FILL_ALPHA)), _argb(edge_c)
            lane = arr[y0:y1]
            lane[:] = bg_i
            g = int(round(gap * dpr))
            b0, b1 = y0 + g, y1 - g - 1  # box rows (inclusive), inside the gap
            if len(lv.pos) and b1 > b0:
                x0 = np.floor(lv.xs0 * dpr)
                x1 = np.maximum(np.floor(lv.xs1 * dpr), x0 + 1)
                np.clip(x0, 0, wp, out=x0)
                np.clip(x1, 0, wp, out=x1)
                x0i = x0.astype(np.intp)
                x1i = x1.astype(np.intp)
                cov = np.cumsum(
                    np.bincount(x0i, minlength=wp + 1)[: wp + 1] - np.bincount(x1i, minlength=wp + 1)[: wp + 1]
                )[:wp] > 0
                edge = np.zeros(wp, dtype=bool)
                edge[x0i[x0i < wp]] = True
                e1 = x1i - 1
                edge[e1[(e1 >= 0) & (e1 < wp)]] = True
                edge &= cov
                inner = np.where(edge, np.uint32(edge_i), np.where(cov, np.uint32(fill_i), np.uint32(bg_i)))
                border = np.where(cov, np.uint32(edge_i), np.uint32(bg_i))
                arr[b0 + 1 : b1] = inner
                arr[b0] = border
                arr[b1] = border
            if lv.tier.name == current_tier:
                arr[y0:y1, : int(round(3 * dpr))] = _argb(base)
            arr[y1 - 1] = _argb(LANE_LINE)

    def overlay(
        self,
        p: QPainter,
        vis: list[_LaneVis],
        *,
        lane_h: float,
        width: int,
        selected: str | None = None,
        labels: bool = True,
        names: bool = True,
        gap: float = 2.0,
        t0: float = 0.0,
        spp: float = 1.0,
    ) -> None:
        """Phase 2: labels of wide regions, tier names, selection outline."""
        fm = p.fontMetrics()
        text_h = fm.height()
        ry_off, rh = gap, lane_h - 2 * gap
        flags = int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        for lv in vis:
            base, _, text_color = self._colors[lv.tier.name]
            if labels and len(lv.pos) and rh >= text_h - 3:
                wide = np.nonzero((lv.xs1 - lv.xs0) >= 18.0)[0]
                if len(wide):
                    p.setPen(text_color)
                    regs = self.indexes[lv.tier.name].regions
                    for j in wide.tolist():
                        r = regs[int(lv.pos[j])]
                        s = r.label or r.text
                        if not s:
                            continue
                        x = max(float(lv.xs0[j]), 0.0)
                        w = int(min(float(lv.xs1[j]), width) - x) - 6
                        if w < 10:
                            continue
                        p.drawText(QRectF(x + 3, lv.y + ry_off, w, rh), flags, self._elide(fm, s, w))
            if names and lane_h >= text_h - 2:
                name = lv.tier.name
                tw = fm.horizontalAdvance(name) + 10
                pill = QRectF(width - tw - 4, lv.y + 2, tw, lane_h - 4)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(15, 17, 21, 210))
                p.drawRoundedRect(pill, 3, 3)
                p.setPen(base.lighter(150))
                p.drawText(pill, int(Qt.AlignmentFlag.AlignCenter), name)
        if selected is not None:
            r = self.by_id.get(selected)
            names_ = self.tier_names()
            if r is not None and r.tier in names_:
                lv = vis[names_.index(r.tier)]
                x0 = (r.start - t0) / spp
                x1 = (r.end - t0) / spp
                if x1 >= 0 and x0 <= width:
                    p.setBrush(Qt.BrushStyle.NoBrush)
                    p.setPen(QPen(SELECT_PEN, 2.0))
                    p.drawRect(QRectF(x0, lv.y + 1.0, max(x1 - x0, 1.0), lane_h - 2.0))


# --------------------------------------------------------------- the view
class WaveformView(QWidget):
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
        self._duration = 0.0
        self._sample_rate = 48000.0
        self._gain = 1.0

        self._t0 = 0.0
        self._spp = 0.01
        self._fitted = True
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

        self._drag: dict | None = None

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
        self._duration = max(0.0, float(seconds))
        if self._fitted or self._spp <= 0:
            self.zoom_to_fit()
        else:
            self._set_view(self._t0, self._spp)
        self._update_scrollbar()

    def duration(self) -> float:
        return self._duration

    def set_sample_rate(self, rate: float) -> None:
        """Limits zoom-in to ``MAX_PX_PER_SAMPLE`` pixels per sample."""
        self._sample_rate = max(1.0, float(rate))

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
        if self._drag and self._drag.get("kind") == "edge":
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
        if self._follow and not self._drag and self._follow_view(t):
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
        w = self.width()
        if w <= 0 or self._duration <= 0:
            return False
        x = self.time_to_x(t)
        if self._playing:
            if x >= w * 0.95 or x < 0:
                return self._set_view(t - w * 0.05 * self._spp, self._spp)
        elif x < 0 or x >= w:
            return self._set_view(t - w * 0.5 * self._spp, self._spp)
        return False

    def playhead_x(self) -> int:
        """The pixel column the playhead line is drawn in."""
        return int(math.floor(self.time_to_x(self._playhead)))

    # ========================================================= geometry
    def time_to_x(self, t: float) -> float:
        return (t - self._t0) / self._spp

    def x_to_time(self, x: float) -> float:
        return self._t0 + x * self._spp

    def view_range(self) -> tuple[float, float]:
        return self._t0, self._t0 + self.width() * self._spp

    def seconds_per_pixel(self) -> float:
        return self._spp

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
        if self._fitted:
            self.zoom_to_fit()
        else:
            self._set_view(self._t0, self._spp)
        self._update_scrollbar()
        self._wave_key = None
        super().resizeEvent(event)

    # ============================================================ view
    def _spp_limits(self) -> tuple[float, float]:
        w = max(1, self.width())
        lo = 1.0 / (self._sample_rate * self.MAX_PX_PER_SAMPLE)
        hi = max(self._duration, lo * w) / w
        return lo, max(lo, hi)

    def _set_view(self, t0: float, spp: float) -> bool:
        lo, hi = self._spp_limits()
        spp = min(hi, max(lo, float(spp)))
        w = max(1, self.width())
        max_t0 = max(0.0, self._duration - w * spp)
        # align the view to whole pixels of the current zoom so paging and
        # scrolling never shift columns by a fraction (no shimmer)
        t0 = round(float(t0) / spp) * spp
        t0 = min(max(0.0, t0), max_t0)
        if t0 == self._t0 and spp == self._spp:
            return False
        self._t0, self._spp = t0, spp
        self._composed_dirty = True
        self._update_scrollbar()
        self._update_content()
        self.viewChanged.emit(*self.view_range())
        return True

    def set_view(self, t0: float, t1: float) -> None:
        """Show ``[t0, t1]``."""
        if t1 <= t0:
            return
        self._fitted = False
        self._set_view(t0, (t1 - t0) / max(1, self.width()))

    def zoom(self, factor: float, anchor_t: float | None = None) -> None:
        """Zoom in by ``factor`` (> 1 in, < 1 out) keeping ``anchor_t`` fixed."""
        if factor <= 0:
            return
        if anchor_t is None:
            anchor_t = self._playhead if 0 <= self.time_to_x(self._playhead) < self.width() else self.x_to_time(self.width() / 2)
        ax = self.time_to_x(anchor_t)
        spp = self._spp / factor
        lo, hi = self._spp_limits()
        spp = min(hi, max(lo, spp))
        self._fitted = spp >= hi
        self._set_view(anchor_t - ax * spp, spp)

    def zoom_in(self) -> None:
        self.zoom(2.0)

    def zoom_out(self) -> None:
        self.zoom(0.5)

    def zoom_to_fit(self) -> None:
        self._fitted = True
        _, hi = self._spp_limits()
        self._set_view(0.0, hi)

    def zoom_to_selection(self) -> None:
        r = self._lanes.by_id.get(self._selected) if self._selected else None
        if r is None:
            return
        pad = max((r.end - r.start) * 0.05, 1e-3)
        self.set_view(r.start - pad, r.end + pad)

    def scroll_by_pixels(self, px: float) -> None:
        self._set_view(self._t0 + px * self._spp, self._spp)

    def _update_scrollbar(self) -> None:
        w = max(1, self.width())
        visible = w * self._spp
        scrollable = max(0.0, self._duration - visible)
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
            sb.setValue(int(round(self._t0 / scrollable * self._scroll_res)))
        sb.blockSignals(False)

    def _on_scroll(self, value: int) -> None:
        visible = self.width() * self._spp
        scrollable = max(0.0, self._duration - visible)
        if scrollable > 0:
            self._fitted = False
            self._set_view(value / self._scroll_res * scrollable, self._spp)

    # ======================================================== rendering
    def _render_wave(self, dpr: float) -> None:
        r = self._wave_rect
        pw = max(1, int(round(r.width() * dpr)))
        ph = max(1, int(round(r.height() * dpr)))
        key = (self._t0, self._spp, pw, ph, self._gain, id(self._envelope))
        if key == self._wave_key and self._wave_buf is not None:
            return
        self._wave_key = key
        buf = self._wave_buf
        if buf is None or buf.shape != (ph, pw):  # reused: no per-paint allocation
            buf = self._wave_buf = np.empty((ph, pw), dtype=np.uint32)
        buf.fill(WAVE_BG)
        mins = maxs = None
        if self._envelope is not None and self._duration > 0:
            t0 = self._t0
            t1 = t0 + r.width() * self._spp
            mins, maxs = self._envelope(t0, t1, pw)
            mins = np.asarray(mins, dtype=np.float32)
            maxs = np.asarray(maxs, dtype=np.float32)
            if mins.ndim == 1:
                mins = mins[:, None]
                maxs = maxs[:, None]
            if mins.shape[0] != pw:  # tolerate a provider that returns fewer columns
                n = min(mins.shape[0], pw)
                pad = np.full((pw, mins.shape[1]), np.nan, dtype=np.float32)
                m2 = pad.copy()
                pad[:n] = mins[:n]
                m2[:n] = maxs[:n]
                mins, maxs = pad, m2
            # columns past the end of the media stay empty
            end_x = int(math.ceil((self._duration - t0) / self._spp * dpr))
            if end_x < pw:
                mins[max(end_x, 0):] = np.nan
                maxs[max(end_x, 0):] = np.nan
        nch = mins.shape[1] if mins is not None else 1
        self.channels = nch if mins is not None else 0
        band = ph / nch
        for c in range(nch):
            y0 = int(round(c * band))
            y1 = int(round((c + 1) * band))
            bh = y1 - y0
            if bh <= 2:
                continue
            sub = buf[y0:y1]
            mid = (bh - 1) / 2.0
            sub[int(round(mid))] = WAVE_AXIS
            if c:
                sub[0] = WAVE_AXIS
            if mins is None:
                continue
            self._raster_column_band(sub, mins[:, c], maxs[:, c], mid, bh)

    def _raster_column_band(self, sub: np.ndarray, lo: np.ndarray, hi: np.ndarray, mid: float, bh: int) -> None:
        amp = (bh / 2.0 - 1.0) * self._gain
        top = mid - hi * amp  # rows grow downwards
        bot = mid - lo * amp
        valid = np.isfinite(top) & np.isfinite(bot)
        if not valid.any():
            return
        top = np.where(valid, top, mid)
        bot = np.where(valid, bot, mid)
        # join neighbouring columns half-way so a zoomed-in signal is a line,
        # not a dotted trail: extend towards each neighbour's far edge midpoint
        if len(top) > 1:
            pt = np.empty_like(top)
            pb = np.empty_like(bot)
            pt[1:], pt[0] = top[:-1], top[0]
            pb[1:], pb[0] = bot[:-1], bot[0]
            nt = np.empty_like(top)
            nb = np.empty_like(bot)
            nt[:-1], nt[-1] = top[1:], top[-1]
            nb[:-1], nb[-1] = bot[1:], bot[-1]
            top2 = np.minimum(top, np.minimum((top + pb) * 0.5, (top + nb) * 0.5))
            bot2 = np.maximum(bot, np.maximum((bot + pt) * 0.5, (bot + nt) * 0.5))
            top, bot = top2, bot2
        clipped = valid & ((hi * self._gain >= 0.999) | (lo * self._gain <= -0.999))
        itop = np.clip(np.floor(top), 0, bh - 1).astype(np.int32)
        ibot = np.clip(np.ceil(bot), 0, bh - 1).astype(np.int32)
        itop[~valid] = bh
        ibot[~valid] = -1
        rows = np.arange(bh, dtype=np.int32)[:, None]
        mask = (rows >= itop) & (rows <= ibot)
        if clipped.any():
            color = np.where(clipped, np.uint32(WAVE_FG_CLIP), np.uint32(WAVE_FG))
            np.copyto(sub, np.broadcast_to(color, sub.shape), where=mask)
        else:
            sub[mask] = WAVE_FG

    def _render_spec(self, dpr: float) -> None:
        r = self._spec_rect
        if not self._spec_visible or r.height() <= 0 or self._spectrogram is None or self._duration <= 0:
            self._spec_img = None
            return
        pw = max(1, int(round(r.width() * dpr)))
        ph = max(1, int(round(r.height() * dpr)))
        key = (self._t0, self._spp, pw, ph, id(self._spectrogram))
        if key == self._spec_key and self._spec_img is not None:
            return
        self._spec_key = key
        img = np.asarray(self._spectrogram(self._t0, self._t0 + r.width() * self._spp, pw, ph))
        if img.dtype != np.uint8:
            img = np.clip(img, 0, 255).astype(np.uint8)
        img = np.ascontiguousarray(img)
        self._spec_data = img  # the QImage borrows this buffer
        h, w = img.shape[:2]
        if img.ndim == 2:
            q = QImage(img.data, w, h, img.strides[0], QImage.Format.Format_Indexed8)
            q.setColorTable(_MAGMA)
        else:
            q = QImage(img.data, w, h, img.strides[0], QImage.Format.Format_RGB888)
        self._spec_img = q

    def _compose(self) -> None:
        dpr = self.devicePixelRatioF()
        w, h = max(1, self.width()), max(1, self.height())
        size = QSize(int(round(w * dpr)), int(round(h * dpr)))
        img = self._composed
        if img is None or img.size() != size:
            img = self._composed = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
            img.setDevicePixelRatio(dpr)
        self._render_wave(dpr)
        self._render_spec(dpr)
        # phase 1, numpy into the image buffer: background, envelope, lanes
        arr = image_array(img)
        arr[:] = _argb(BG)
        wr = self._wave_rect
        if self._wave_buf is not None:
            y0 = int(round(wr.top() * dpr))
            hh = min(self._wave_buf.shape[0], arr.shape[0] - y0)
            ww = min(self._wave_buf.shape[1], arr.shape[1])
            if hh > 0:
                arr[y0 : y0 + hh, :ww] = self._wave_buf[:hh, :ww]
        vis = self._lanes.visible(top=self._lanes_top, lane_h=self.LANE_H, width=w, t0=self._t0, spp=self._spp)
        self._lanes.raster(arr, vis, lane_h=self.LANE_H, dpr=dpr, current_tier=self._current_tier)
        del arr
        # phase 2, QPainter: text, spectrogram, translucent overlays
        p = QPainter(img)
        try:
            self._paint_ruler(p, w)
            sr = self._spec_rect
            if self._spec_img is not None and sr.height() > 0:
                p.drawImage(QRectF(sr), self._spec_img)
            elif self._spec_visible and sr.height() > 0:
                p.fillRect(sr, QColor("#0c0d10"))
            self._paint_selection_overlay(p)
            p.setFont(self._lane_font)
            self._lanes.overlay(
                p, vis, lane_h=self.LANE_H, width=w, selected=self._selected, t0=self._t0, spp=self._spp
            )
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
        c = self._lanes.color(r.tier)
        c.setAlpha(55)
        top = self._wave_rect.top()
        bottom = self._lanes_top
        p.fillRect(QRectF(x0, top, max(1.0, x1 - x0), bottom - top), c)
        edge = self._lanes.color(r.tier).lighter(140)
        p.setPen(QPen(edge, 1.0))
        p.drawLine(QLineF(x0, top, x0, bottom))
        p.drawLine(QLineF(x1, top, x1, bottom))

    def _paint_ruler(self, p: QPainter, w: int) -> None:
        rh = self.RULER_H
        p.fillRect(QRectF(0, 0, w, rh), RULER_BG)
        if self._duration <= 0:
            return
        p.setFont(self._ruler_font)
        fm = p.fontMetrics()
        spp = self._spp
        label_px = fm.horizontalAdvance("0:00:00.000") + 16
        major, minor_div = _STEPS[-1]
        for step, div in _STEPS:
            if step / spp >= label_px:
                major, minor_div = step, div
                break
        minor = major / minor_div
        t0, t1 = self.view_range()
        k0 = math.floor(t0 / minor)
        k1 = math.ceil(min(t1, self._duration) / minor)
        lines = []
        labels = []
        ratio = int(minor_div)
        for k in range(k0, k1 + 1):
            t = k * minor
            x = (t - t0) / spp
            if x < -1 or x > w + 1:
                continue
            if k % ratio == 0:
                lines.append(QLineF(x, 2, x, rh))
                labels.append((x, t))
            else:
                lines.append(QLineF(x, rh - 5, x, rh))
        p.setPen(RULER_FG)
        p.drawLines(lines)
        p.drawLine(QLineF(0, rh - 0.5, w, rh - 0.5))
        decimals = 0 if major >= 1 else min(6, int(math.ceil(-math.log10(major) - 1e-9)))
        hours = self._duration >= 3600
        p.setPen(RULER_TEXT)
        base = (rh - 5 + fm.ascent() - fm.descent()) / 2.0  # centred above minor ticks
        for x, t in labels:
            p.drawText(QPointF(x + 4, base), format_time(t, decimals, hours))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        if self._composed_dirty or self._composed is None:
            self._compose()
        p = QPainter(self)
        dpr = self._composed.devicePixelRatio()
        rect = event.rect()
        src = QRectF(rect.x() * dpr, rect.y() * dpr, rect.width() * dpr, rect.height() * dpr)
        p.drawImage(QRectF(rect), self._composed, src)
        h = self._content_h
        if self._pending_start is not None:
            xs = self.time_to_x(self._pending_start)
            xe = self.time_to_x(self._playhead)
            c = QColor(MARK)
            c.setAlpha(45)
            p.fillRect(QRectF(min(xs, xe), self.RULER_H, abs(xe - xs), h - self.RULER_H), c)
            p.setPen(QPen(MARK, 1.0, Qt.PenStyle.DashLine))
            p.drawLine(QLineF(xs, 0, xs, h))
        d = self._drag
        if d is not None and d.get("preview") is not None:
            a, b = d["preview"]
            xa, xb = self.time_to_x(a), self.time_to_x(b)
            tier = d.get("tier")
            c = self._lanes.color(tier) if tier else QColor("#aaaaaa")
            fill = QColor(c)
            fill.setAlpha(70)
            p.fillRect(QRectF(min(xa, xb), self.RULER_H, max(1.0, abs(xb - xa)), h - self.RULER_H), fill)
            p.setPen(QPen(c.lighter(150), 1.0))
            p.drawLine(QLineF(xa, self.RULER_H, xa, h))
            p.drawLine(QLineF(xb, self.RULER_H, xb, h))
        x = self.playhead_x()
        if 0 <= x < self.width():
            p.fillRect(QRect(x, 0, 1, h), PLAYHEAD)
        p.end()

    # ========================================================= hit tests
    def _area(self, y: float) -> tuple[str, str | None]:
        if y < self.RULER_H:
            return "ruler", None
        if y < self._lanes_top:
            return ("wave" if y < self._wave_rect.bottom() + 1 else "spec"), None
        i = int((y - self._lanes_top) // self.LANE_H)
        names = self._lanes.tier_names()
        if 0 <= i < len(names):
            return "lane", names[i]
        return "none", None

    def _edge_at(self, x: float, tier: str | None, wave: bool) -> tuple[Region, str] | None:
        """Region edge within EDGE_PX of x: in a lane, any region of that tier;
        over the waveform, the selected region's edges."""
        best: tuple[float, int, Region, str] | None = None
        t = self.x_to_time(x)
        cands: list[Region] = []
        if tier is not None:
            idx = self._lanes.indexes.get(tier)
            if idx is not None:
                cands = idx.in_range(t - self.EDGE_PX * self._spp, t + self.EDGE_PX * self._spp)
        elif wave and self._selected:
            r = self._lanes.by_id.get(self._selected)
            cands = [r] if r is not None else []
        for r in cands:
            inside = r.start <= t < r.end
            for which, et in (("start", r.start), ("end", r.end)):
                dist = abs(self.time_to_x(et) - x)
                if dist <= self.EDGE_PX:
                    # prefer the region the cursor is inside (adjacent regions)
                    key = (dist, 0 if inside else 1)
                    if best is None or key < (best[0], best[1]):
                        best = (dist, key[1], r, which)
        return None if best is None else (best[2], best[3])

    def _region_at(self, x: float, tier: str) -> Region | None:
        idx = self._lanes.indexes.get(tier)
        if idx is None:
            return None
        hits = idx.at(self.x_to_time(x))
        return hits[-1] if hits else None

    def _snapped(self, t: float) -> float:
        t = min(max(0.0, t), self._duration) if self._duration else max(0.0, t)
        if self._snap is not None:
            t = float(self._snap(t))
        return t

    # ============================================================ mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        pos = event.position()
        area, tier = self._area(pos.y())
        if area == "ruler":
            self._drag = {"kind": "scrub"}
            self.seekRequested.emit(self._clamp_t(self.x_to_time(pos.x())))
            return
        if area == "lane" and tier is not None:
            self.set_current_tier(tier)
        edge = self._edge_at(pos.x(), tier if area == "lane" else None, area in ("wave", "spec"))
        if edge is not None:
            r, which = edge
            self._drag = {"kind": "edge", "region": r, "which": which, "tier": r.tier, "preview": (r.start, r.end)}
            return
        hit = self._region_at(pos.x(), tier) if area == "lane" and tier else None
        self._drag = {
            "kind": "press",
            "x0": pos.x(),
            "t0": self.x_to_time(pos.x()),
            "region": hit,
            "tier": tier if area == "lane" else self._current_tier,
            "preview": None,
        }

    def _clamp_t(self, t: float) -> float:
        return min(max(0.0, t), self._duration) if self._duration else max(0.0, t)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        d = self._drag
        if d is None:
            area, tier = self._area(pos.y())
            edge = self._edge_at(pos.x(), tier if area == "lane" else None, area in ("wave", "spec"))
            if edge is not None:
                self.setCursor(QCursor(Qt.CursorShape.SizeHorCursor))
            else:
                self.unsetCursor()
            return
        x = pos.x()
        w = self.width()
        if d["kind"] != "scrub" and (x < 0 or x > w):  # drag past an edge scrolls
            self.scroll_by_pixels(x if x < 0 else x - w)
        t = self._clamp_t(self.x_to_time(x))
        kind = d["kind"]
        if kind == "scrub":
            self.seekRequested.emit(t)
            return
        if kind == "press":
            if abs(x - d["x0"]) < self.DRAG_PX:
                return
            if d["tier"] is None or d["region"] is not None:
                d["kind"] = "ignore"
                return
            d["kind"] = "create"
            kind = "create"
        if kind == "create":
            a = self._snapped(d["t0"])
            b = self._snapped(t)
            d["preview"] = (min(a, b), max(a, b))
            self._update_content()
        elif kind == "edge":
            r: Region = d["region"]
            v = self._snapped(t)
            min_len = self._spp
            if d["which"] == "start":
                d["preview"] = (min(v, r.end - min_len), r.end)
            else:
                d["preview"] = (r.start, max(v, r.start + min_len))
            self._update_content()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        d = self._drag
        self._drag = None
        if d is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        kind = d["kind"]
        if kind == "press":
            r = d["region"]
            if r is not None:
                self._select(r.id)
            else:
                if self._selected is not None:
                    self._select(None)
                self.seekRequested.emit(self._clamp_t(d["t0"]))
        elif kind == "create" and d["preview"] is not None:
            a, b = d["preview"]
            if b > a:
                self.regionCreated.emit(d["tier"], a, b)
        elif kind == "edge" and d["preview"] is not None:
            r = d["region"]
            a, b = d["preview"]
            if b > a and (a, b) != (r.start, r.end):
                self.regionChanged.emit(r.id, a, b)
        self._update_content()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        area, tier = self._area(pos.y())
        if area == "lane" and tier:
            r = self._region_at(pos.x(), tier)
            if r is not None:
                self.regionActivated.emit(r.id)
                return
        super().mouseDoubleClickEvent(event)

    def _select(self, region_id: str | None) -> None:
        self.set_selected(region_id)
        self.regionSelected.emit(region_id or "")

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        mods = event.modifiers()
        ad = event.angleDelta()
        pd = event.pixelDelta()
        notches = ad.y() / 120.0
        if mods & Qt.KeyboardModifier.ControlModifier:
            if notches:
                anchor = self.x_to_time(event.position().x())
                self.zoom(1.25**notches, anchor)
            event.accept()
            return
        if mods & Qt.KeyboardModifier.ShiftModifier and notches:
            self.set_gain(self._gain * 1.25**notches)
            event.accept()
            return
        if ad.x() or pd.x():
            dx = -(pd.x() if pd.x() else ad.x() / 120.0 * self.width() * 0.15)
            self._fitted = False
            self.scroll_by_pixels(dx)
        elif notches:
            self._fitted = False
            self.scroll_by_pixels(-notches * self.width() * 0.15)
        event.accept()

    # ============================================================== keys
    def mark_start(self) -> None:
        """Set a pending start at the playhead (snapped)."""
        self._pending_start = self._snapped(self._playhead)
        self._update_content()

    def mark_end(self) -> None:
        """Close the pending start at the playhead: emits ``regionCreated``."""
        if self._pending_start is None or self._current_tier is None:
            return
        a, b = sorted((self._pending_start, self._snapped(self._playhead)))
        self._pending_start = None
        self._update_content()
        if b > a:
            self.regionCreated.emit(self._current_tier, a, b)

    def cancel_mark(self) -> None:
        if self._pending_start is not None:
            self._pending_start = None
            self._update_content()

    def pending_start(self) -> float | None:
        return self._pending_start

    def label_selected(self, n: int) -> None:
        """Label the selected region with its tier's n-th label (1-based)."""
        r = self._lanes.by_id.get(self._selected) if self._selected else None
        if r is None:
            return
        tier = self._lanes.tier(r.tier)
        if tier is None or not (1 <= n <= len(tier.labels)):
            return
        self.regionLabeled.emit(r.id, tier.labels[n - 1])

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        k = self._keys
        key = event.key()
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        start_keys, end_keys = k.get("set_start", ()), k.get("set_end", ())
        if key_matches(event, start_keys) and key_matches(event, end_keys):
            # one key for both (ELAN two-keystroke segmentation): alternate
            self.mark_end() if self._pending_start is not None else self.mark_start()
        elif key_matches(event, start_keys):
            self.mark_start()
        elif key_matches(event, end_keys):
            self.mark_end()
        elif key_matches(event, k.get("zoom_in", ())):
            self.zoom_in()
        elif key_matches(event, k.get("zoom_out", ())):
            self.zoom_out()
        elif key_matches(event, k.get("zoom_selection", ())):
            self.zoom_to_selection()
        elif key_matches(event, k.get("zoom_fit", ())):
            self.zoom_to_fit()
        elif key_matches(event, k.get("toggle_spectrogram", ())):
            self.toggle_spectrogram()
        elif key_matches(event, k.get("delete_region", ())) or (
            key == Qt.Key.Key_Backspace and mods == Qt.KeyboardModifier.NoModifier
        ):
            if self._selected:
                self.regionDeleted.emit(self._selected)
        elif Qt.Key.Key_0 <= key <= Qt.Key.Key_9 and mods == Qt.KeyboardModifier.NoModifier:
            n = key - Qt.Key.Key_0
            self.label_selected(10 if n == 0 else n)
        elif key == Qt.Key.Key_Escape and mods == Qt.KeyboardModifier.NoModifier:
            if self._pending_start is not None:
                self.cancel_mark()
            elif self._selected:
                self._select(None)
            else:
                event.ignore()
                return
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and mods == Qt.KeyboardModifier.NoModifier:
            names = self._lanes.tier_names()
            if not names:
                event.ignore()
                return
            i = names.index(self._current_tier) if self._current_tier in names else 0
            i = max(0, min(len(names) - 1, i + (1 if key == Qt.Key.Key_Down else -1)))
            self.set_current_tier(names[i])
        else:
            # Space and everything else go up to the app's shortcuts
            event.ignore()
            return
        event.accept()
