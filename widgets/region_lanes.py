"""Tiers drawn as horizontal lanes of region boxes, for the waveform view and
the video timeline strip alike."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen

from labeldesk.widgets.paint_cache import argb
from labeldesk.widgets.regions import Region, RegionIndex, Tier

__all__ = ["LaneLayout", "RegionLanePainter"]

LANE_BG = (QColor("#1a1d23"), QColor("#1e2128"))
LANE_CURRENT_BG = QColor("#272c35")
LANE_LINE = QColor("#2f3540")
SELECT_PEN = QColor("#ffffff")
DEFAULT_COLOR = "#4e79a7"


def _text_color_on(c: QColor) -> QColor:
    # relative luminance (sRGB approx.) decides black or white label text
    lum = 0.2126 * c.redF() + 0.7152 * c.greenF() + 0.0722 * c.blueF()
    return QColor("#101216") if lum > 0.55 else QColor("#ffffff")


def _blend(fg: QColor, bg: QColor, alpha: float) -> QColor:
    return QColor(
        round(fg.red() * alpha + bg.red() * (1 - alpha)),
        round(fg.green() * alpha + bg.green() * (1 - alpha)),
        round(fg.blue() * alpha + bg.blue() * (1 - alpha)),
    )


class _LaneVis:
    """What one lane shows in the current view."""

    __slots__ = ("tier", "y", "pos", "xs0", "xs1")

    def __init__(self, tier: Tier, y: float, pos: np.ndarray, xs0: np.ndarray, xs1: np.ndarray):
        self.tier, self.y, self.pos, self.xs0, self.xs1 = tier, y, pos, xs0, xs1


@dataclass(frozen=True, slots=True)
class LaneLayout:
    """The lanes of one composition, found once and used by both phases so
    the boxes and their labels cannot disagree on geometry."""

    lanes: list[_LaneVis]
    lane_h: float
    width: int
    t0: float
    spp: float
    gap: float


def _box_rows(lv: _LaneVis, wp: int, dpr: float, bg: int, fill: int, edge: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixel row through the inside of a lane's boxes (edge colour on each
    box's first and last column) and the row of their top and bottom borders."""
    x0 = np.floor(lv.xs0 * dpr)
    x1 = np.maximum(np.floor(lv.xs1 * dpr), x0 + 1)
    np.clip(x0, 0, wp, out=x0)
    np.clip(x1, 0, wp, out=x1)
    x0i = x0.astype(np.intp)
    x1i = x1.astype(np.intp)
    cov = np.cumsum(
        np.bincount(x0i, minlength=wp + 1)[: wp + 1] - np.bincount(x1i, minlength=wp + 1)[: wp + 1]
    )[:wp] > 0
    edges = np.zeros(wp, dtype=bool)
    edges[x0i[x0i < wp]] = True
    e1 = x1i - 1
    edges[e1[(e1 >= 0) & (e1 < wp)]] = True
    edges &= cov
    inner = np.where(edges, np.uint32(edge), np.where(cov, np.uint32(fill), np.uint32(bg)))
    border = np.where(cov, np.uint32(edge), np.uint32(bg))
    return inner, border


class RegionLanePainter:
    """Draws tiers as horizontal lanes of region boxes. Holds one
    `RegionIndex` per tier.

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
                base = QColor(DEFAULT_COLOR)
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
        return QColor(c[0]) if c else QColor(DEFAULT_COLOR)

    def _elide(self, fm: QFontMetrics, text: str, width: int) -> str:
        key = (text, width)
        out = self._elide_cache.get(key)
        if out is None:
            out = fm.elidedText(text, Qt.TextElideMode.ElideRight, width)
            self._elide_cache[key] = out
        return out

    def visible(
        self, *, top: float, lane_h: float, width: int, t0: float, spp: float, gap: float = 2.0
    ) -> LaneLayout:
        """Per lane: positions of the regions in view (bisection) and their x."""
        t1 = t0 + width * spp
        lanes = []
        for i, tier in enumerate(self.tiers):
            idx = self.indexes[tier.name]
            pos = idx.positions_in(t0, t1)
            xs0 = (idx.starts[pos] - t0) / spp
            xs1 = (idx.ends[pos] - t0) / spp
            lanes.append(_LaneVis(tier, top + i * lane_h, pos, xs0, xs1))
        return LaneLayout(lanes, lane_h, width, t0, spp, gap)

    def raster(
        self, arr: np.ndarray, layout: LaneLayout, *, dpr: float = 1.0, current_tier: str | None = None
    ) -> None:
        """Phase 1: lane backgrounds, region boxes and edges, separators."""
        hp, wp = arr.shape
        for i, lv in enumerate(layout.lanes):
            base, edge_c, _ = self._colors[lv.tier.name]
            current = lv.tier.name == current_tier
            bg = LANE_CURRENT_BG if current else LANE_BG[i % 2]
            y0 = int(round(lv.y * dpr))
            y1 = min(hp, int(round((lv.y + layout.lane_h) * dpr)))
            if y1 <= y0 or y0 >= hp:
                continue
            bg_i = argb(bg)
            arr[y0:y1] = bg_i
            g = int(round(layout.gap * dpr))
            b0, b1 = y0 + g, y1 - g - 1  # box rows (inclusive), inside the gap
            if len(lv.pos) and b1 > b0:
                fill_i = argb(_blend(base, bg, self.FILL_ALPHA))
                inner, border = _box_rows(lv, wp, dpr, bg_i, fill_i, argb(edge_c))
                arr[b0 + 1 : b1] = inner
                arr[b0] = border
                arr[b1] = border
            if current:
                arr[y0:y1, : int(round(3 * dpr))] = argb(base)
            arr[y1 - 1] = argb(LANE_LINE)

    def overlay(
        self,
        p: QPainter,
        layout: LaneLayout,
        *,
        selected: str | None = None,
        labels: bool = True,
        names: bool = True,
    ) -> None:
        """Phase 2: labels of wide regions, tier names, selection outline."""
        fm = p.fontMetrics()
        text_h = fm.height()
        for lv in layout.lanes:
            if labels and len(lv.pos) and layout.lane_h - 2 * layout.gap >= text_h - 3:
                self._paint_labels(p, fm, lv, layout)
            if names and layout.lane_h >= text_h - 2:
                self._paint_name(p, fm, lv, layout)
        if selected is not None:
            self._paint_selected(p, selected, layout)

    def _paint_labels(self, p: QPainter, fm: QFontMetrics, lv: _LaneVis, layout: LaneLayout) -> None:
        wide = np.nonzero((lv.xs1 - lv.xs0) >= 18.0)[0]
        if not len(wide):
            return
        p.setPen(self._colors[lv.tier.name][2])
        regs = self.indexes[lv.tier.name].regions
        rh = layout.lane_h - 2 * layout.gap
        flags = int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        for j in wide.tolist():
            r = regs[int(lv.pos[j])]
            s = r.label or r.text
            if not s:
                continue
            x = max(float(lv.xs0[j]), 0.0)
            w = int(min(float(lv.xs1[j]), layout.width) - x) - 6
            if w < 10:
                continue
            p.drawText(QRectF(x + 3, lv.y + layout.gap, w, rh), flags, self._elide(fm, s, w))

    def _paint_name(self, p: QPainter, fm: QFontMetrics, lv: _LaneVis, layout: LaneLayout) -> None:
        """The tier's name in a pill at the lane's right end."""
        name = lv.tier.name
        tw = fm.horizontalAdvance(name) + 10
        pill = QRectF(layout.width - tw - 4, lv.y + 2, tw, layout.lane_h - 4)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(15, 17, 21, 210))
        p.drawRoundedRect(pill, 3, 3)
        p.setPen(self._colors[name][0].lighter(150))
        p.drawText(pill, int(Qt.AlignmentFlag.AlignCenter), name)

    def _paint_selected(self, p: QPainter, selected: str, layout: LaneLayout) -> None:
        r = self.by_id.get(selected)
        names = self.tier_names()
        if r is None or r.tier not in names:
            return
        lv = layout.lanes[names.index(r.tier)]
        x0 = (r.start - layout.t0) / layout.spp
        x1 = (r.end - layout.t0) / layout.spp
        if x1 >= 0 and x0 <= layout.width:
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(SELECT_PEN, 2.0))
            p.drawRect(QRectF(x0, lv.y + 1.0, max(x1 - x0, 1.0), layout.lane_h - 2.0))
