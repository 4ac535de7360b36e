"""Mouse and keyboard input of `WaveformView`: hit tests, the drag gesture,
two-keystroke marks and pane keys. Input never edits a region: it becomes a
signal (the app answers with ``set_regions``) or a change of the view."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QRect, Qt, SignalInstance
from PySide6.QtGui import QCursor, QKeyEvent, QMouseEvent, QWheelEvent

from labeldesk.widgets.region_lanes import RegionLanePainter
from labeldesk.widgets.regions import Region
from labeldesk.widgets.shortcuts import key_matches
from labeldesk.widgets.waveform_view_state import ViewState

__all__ = ["Drag", "WaveformInteraction"]


@dataclass(slots=True)
class Drag:
    """A left-button gesture from press to release.

    ``kind`` is "scrub" (in the ruler), "press" (not yet moved ``DRAG_PX``),
    "create" (on empty lane space), "edge" (moving ``which`` edge of
    ``region``) or "ignore" (began on a region body); ``preview`` is the span
    a create or edge drag would give now.
    """

    kind: str
    tier: str | None = None
    region: Region | None = None
    which: str = ""
    x0: float = 0.0
    t0: float = 0.0
    preview: tuple[float, float] | None = None


class WaveformInteraction:
    """The input half of `WaveformView` (a mixin ahead of ``QWidget``).

    It reads the view's state below and drives the view through its public
    methods (``zoom_in``, ``set_current_tier``, ``scroll_by_pixels``…).
    """

    RULER_H: int
    LANE_H: int
    EDGE_PX: int
    DRAG_PX: int
    _view: ViewState
    _lanes: RegionLanePainter
    _lanes_top: int
    _wave_rect: QRect
    _drag: Drag | None
    _selected: str | None
    _current_tier: str | None
    _pending_start: float | None
    _playhead: float
    _gain: float
    _snap: Callable[[float], float] | None
    _keys: dict[str, tuple[str, ...]]
    seekRequested: SignalInstance
    regionCreated: SignalInstance
    regionChanged: SignalInstance
    regionSelected: SignalInstance
    regionActivated: SignalInstance
    regionLabeled: SignalInstance
    regionDeleted: SignalInstance

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
                reach = self.EDGE_PX * self._view.spp
                cands = idx.in_range(t - reach, t + reach)
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
        t = self._view.clamp_time(t)
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
            self._drag = Drag("scrub")
            self.seekRequested.emit(self._view.clamp_time(self.x_to_time(pos.x())))
            return
        if area == "lane" and tier is not None:
            self.set_current_tier(tier)
        edge = self._edge_at(pos.x(), tier if area == "lane" else None, area in ("wave", "spec"))
        if edge is not None:
            r, which = edge
            self._drag = Drag("edge", tier=r.tier, region=r, which=which, preview=(r.start, r.end))
            return
        self._drag = Drag(
            "press",
            tier=tier if area == "lane" else self._current_tier,
            region=self._region_at(pos.x(), tier) if area == "lane" and tier else None,
            x0=pos.x(),
            t0=self.x_to_time(pos.x()),
        )

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
        if d.kind != "scrub" and (x < 0 or x > w):  # drag past an edge scrolls
            self.scroll_by_pixels(x if x < 0 else x - w)
        self._drag_to(d, x, self._view.clamp_time(self.x_to_time(x)))

    def _drag_to(self, d: Drag, x: float, t: float) -> None:
        if d.kind == "scrub":
            self.seekRequested.emit(t)
            return
        if d.kind == "press":
            if abs(x - d.x0) < self.DRAG_PX:
                return
            if d.tier is None or d.region is not None:
                d.kind = "ignore"
                return
            d.kind = "create"
        if d.kind == "create":
            a = self._snapped(d.t0)
            b = self._snapped(t)
            d.preview = (min(a, b), max(a, b))
            self._update_content()
        elif d.kind == "edge" and d.region is not None:
            r = d.region
            v = self._snapped(t)
            min_len = self._view.spp
            if d.which == "start":
                d.preview = (min(v, r.end - min_len), r.end)
            else:
                d.preview = (r.start, max(v, r.start + min_len))
            self._update_content()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        d = self._drag
        self._drag = None
        if d is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        if d.kind == "press":
            if d.region is not None:
                self._select(d.region.id)
            else:
                if self._selected is not None:
                    self._select(None)
                self.seekRequested.emit(self._view.clamp_time(d.t0))
        elif d.kind == "create" and d.preview is not None:
            a, b = d.preview
            if b > a:
                self.regionCreated.emit(d.tier, a, b)
        elif d.kind == "edge" and d.preview is not None and d.region is not None:
            r = d.region
            a, b = d.preview
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
            self._view.fitted = False
            self.scroll_by_pixels(dx)
        elif notches:
            self._view.fitted = False
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
        action = self._key_action(event)
        if action is not None:
            action()
            event.accept()
        elif self._bare_key(event):
            event.accept()
        else:
            event.ignore()  # Space and everything else go up to the app's shortcuts

    def _key_action(self, event: QKeyEvent) -> Callable[[], None] | None:
        """What the pane's key map binds the key to, if anything."""
        k = self._keys
        start_keys, end_keys = k.get("set_start", ()), k.get("set_end", ())
        if key_matches(event, start_keys) and key_matches(event, end_keys):
            # one key for both (ELAN two-keystroke segmentation): alternate
            return self.mark_end if self._pending_start is not None else self.mark_start
        actions: tuple[tuple[str, Callable[[], None]], ...] = (
            ("set_start", self.mark_start),
            ("set_end", self.mark_end),
            ("zoom_in", self.zoom_in),
            ("zoom_out", self.zoom_out),
            ("zoom_selection", self.zoom_to_selection),
            ("zoom_fit", self.zoom_to_fit),
            ("toggle_spectrogram", self.toggle_spectrogram),
            ("delete_region", self._delete_selected),
        )
        for name, action in actions:
            if key_matches(event, k.get(name, ())):
                return action
        return None

    def _bare_key(self, event: QKeyEvent) -> bool:
        """Unmodified keys no map binds: Backspace, digits, Escape, Up/Down.
        False when the key is not the pane's to handle."""
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier != Qt.KeyboardModifier.NoModifier:
            return False
        key = event.key()
        if key == Qt.Key.Key_Backspace:
            self._delete_selected()
            return True
        if Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
            n = key - Qt.Key.Key_0
            self.label_selected(10 if n == 0 else n)
            return True
        if key == Qt.Key.Key_Escape:
            return self._escape()
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            return self._step_tier(1 if key == Qt.Key.Key_Down else -1)
        return False

    def _delete_selected(self) -> None:
        if self._selected:
            self.regionDeleted.emit(self._selected)

    def _escape(self) -> bool:
        """Drop the pending mark, else the selection; False if neither."""
        if self._pending_start is not None:
            self.cancel_mark()
        elif self._selected:
            self._select(None)
        else:
            return False
        return True

    def _step_tier(self, step: int) -> bool:
        names = self._lanes.tier_names()
        if not names:
            return False
        i = names.index(self._current_tier) if self._current_tier in names else 0
        i = max(0, min(len(names) - 1, i + step))
        self.set_current_tier(names[i])
        return True
