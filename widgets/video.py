"""Video frame view and the timeline strip under it.

Both are given plain data (RGB ``ndarray`` frames and thumbnails decoded by
the app through ``media/``) and emit signals; frame stepping and seeking are
the app's job (it owns the decoder and the `Playhead`).
"""
from __future__ import annotations

import bisect
import math
from typing import Iterable, Sequence

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
    QResizeEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from labeldesk.widgets.paint_cache import blit, image_array, sized_cache
from labeldesk.widgets.region_lanes import RegionLanePainter
from labeldesk.widgets.regions import Region, Tier
from labeldesk.widgets.shortcuts import key_matches, preset
from labeldesk.widgets.waveform_paint import format_time

__all__ = ["VideoFrameView", "TimelineStrip", "rgb_to_qimage"]

BG = QColor("#0b0c0f")
PLAYHEAD = QColor("#ff5252")


def rgb_to_qimage(frame: np.ndarray) -> tuple[QImage, np.ndarray]:
    """Wrap an ``(h, w, 3)`` RGB, ``(h, w, 4)`` RGBA or ``(h, w)`` gray uint8
    array as a QImage without copying. Returns the image and the (contiguous)
    array it borrows, which the caller must keep alive."""
    a = np.asarray(frame)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    a = np.ascontiguousarray(a)
    if a.ndim == 2:
        fmt = QImage.Format.Format_Grayscale8
    elif a.ndim == 3 and a.shape[2] == 3:
        fmt = QImage.Format.Format_RGB888
    elif a.ndim == 3 and a.shape[2] == 4:
        fmt = QImage.Format.Format_RGBA8888
    else:
        raise ValueError(f"expected (h, w[, 3|4]) uint8 frame, got shape {a.shape}")
    h, w = a.shape[:2]
    return QImage(a.data, w, h, a.strides[0], fmt), a


def _step_keys(keys: dict, event: QKeyEvent) -> tuple[str, int] | None:
    """(signal, delta) for frame / keyframe stepping keys, else None."""
    if key_matches(event, keys.get("frame_prev", ())):
        return "step", -1
    if key_matches(event, keys.get("frame_next", ())):
        return "step", 1
    if key_matches(event, keys.get("keyframe_prev", ())):
        return "key", -1
    if key_matches(event, keys.get("keyframe_next", ())):
        return "key", 1
    # bare arrows step too while a video pane has focus (nothing to type here)
    if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier == Qt.KeyboardModifier.NoModifier:
        if event.key() == Qt.Key.Key_Left:
            return "step", -1
        if event.key() == Qt.Key.Key_Right:
            return "step", 1
    return None


class VideoFrameView(QWidget):
    """Shows one RGB frame scaled to fit (aspect kept), rotated by a multiple
    of 90°, with a frame-number + timestamp overlay, or a message instead of
    a frame (bad media, decoding, no video stream).

    Signals: ``stepRequested(int)`` (±1 frame), ``keyframeStepRequested(int)``.
    """

    stepRequested = Signal(int)
    keyframeStepRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 90)
        self._img: QImage | None = None
        self._buf: np.ndarray | None = None
        self._index = -1
        self._pts = 0.0
        self._rotation = 0
        self._message: str | None = None
        self._overlay = True
        self._smooth = True
        self._keys = preset()
        self._overlay_font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._overlay_font.setPointSizeF(max(8.0, self.font().pointSizeF() * 0.95))

    # ------------------------------------------------------------ data in
    def set_frame(self, rgb: np.ndarray, index: int, pts: float) -> None:
        """Show ``rgb`` (uint8 ``(h, w, 3)``; RGBA and gray accepted) as frame
        ``index`` at ``pts`` seconds. The array is borrowed, not copied."""
        self._img, self._buf = rgb_to_qimage(rgb)
        self._index = int(index)
        self._pts = float(pts)
        self._message = None
        self.update()

    def set_rotation(self, degrees: int) -> None:
        """Turn the picture clockwise by ``degrees`` (a multiple of 90).

        ``media.video.VideoFrame.rotation`` counts counter-clockwise: pass
        ``-frame.rotation``, or 0 when ``frame.rotation_applied``."""
        deg = int(round(degrees / 90.0)) * 90 % 360
        if deg != self._rotation:
            self._rotation = deg
            self.update()

    def rotation(self) -> int:
        return self._rotation

    def show_message(self, text: str) -> None:
        """Replace the picture with a message (e.g. "Cannot decode video")."""
        self._message = str(text)
        self.update()

    def clear(self) -> None:
        self._img = self._buf = None
        self._index = -1
        self._message = None
        self.update()

    def message(self) -> str | None:
        return self._message

    def frame_index(self) -> int:
        return self._index

    def frame_pts(self) -> float:
        return self._pts

    def frame_size(self) -> QSize:
        return QSize() if self._img is None else self._img.size()

    def set_overlay_visible(self, visible: bool) -> None:
        self._overlay = bool(visible)
        self.update()

    def set_smooth_scaling(self, smooth: bool) -> None:
        self._smooth = bool(smooth)
        self.update()

    def set_key_map(self, mapping: dict[str, Sequence[str]]) -> None:
        keys = preset()
        keys.update({k: tuple(v) for k, v in mapping.items()})
        self._keys = keys

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(640, 360)

    # ------------------------------------------------------------ geometry
    def image_rect(self) -> QRectF:
        """Where the (rotated) frame is drawn, in widget coordinates."""
        if self._img is None:
            return QRectF()
        iw, ih = self._img.width(), self._img.height()
        if self._rotation in (90, 270):
            iw, ih = ih, iw
        w, h = self.width(), self.height()
        s = min(w / iw, h / ih) if iw and ih else 0.0
        dw, dh = iw * s, ih * s
        return QRectF((w - dw) / 2.0, (h - dh) / 2.0, dw, dh)

    # ------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), BG)
        if self._message is not None:
            self._paint_message(p)
        elif self._img is not None:
            target = self.image_rect()
            if self._smooth:
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.save()
            p.translate(target.center())
            p.rotate(self._rotation)
            iw, ih = self._img.width(), self._img.height()
            s = target.width() / (ih if self._rotation in (90, 270) else iw)
            p.drawImage(QRectF(-iw * s / 2.0, -ih * s / 2.0, iw * s, ih * s), self._img)
            p.restore()
            if self._overlay:
                self._paint_overlay(p)
        p.end()

    def _paint_overlay(self, p: QPainter) -> None:
        text = f"frame {self._index}   {format_time(self._pts, 3)}"
        p.setFont(self._overlay_font)
        fm = p.fontMetrics()
        pad = 5
        tw = fm.horizontalAdvance(text) + 2 * pad
        th = fm.height() + pad
        box = QRectF(8, self.height() - th - 8, tw, th)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 170))
        p.drawRoundedRect(box, 4, 4)
        p.setPen(QColor("#f2f2f2"))
        p.drawText(box, int(Qt.AlignmentFlag.AlignCenter), text)

    def _paint_message(self, p: QPainter) -> None:
        f = QFont(self.font())
        f.setPointSizeF(f.pointSizeF() * 1.1)
        p.setFont(f)
        margin = 24
        box = QRectF(self.rect()).adjusted(margin, margin, -margin, -margin)
        flags = int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap)
        bound = p.boundingRect(box, flags, self._message)
        panel = bound.adjusted(-16, -12, 16, 12)
        p.setPen(QPen(QColor("#e0675a"), 1.5))
        p.setBrush(QColor("#1c1f26"))
        p.drawRoundedRect(panel, 6, 6)
        p.setPen(QColor("#f2f2f2"))
        p.drawText(box, flags, self._message)

    # ------------------------------------------------------------ keys
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        hit = _step_keys(self._keys, event)
        if hit is None:
            event.ignore()  # Space & co. belong to the app
            return
        kind, delta = hit
        (self.stepRequested if kind == "step" else self.keyframeStepRequested).emit(delta)
        event.accept()


class TimelineStrip(QWidget):
    """Thumbnails along the timeline, the regions as thin lanes, the playhead.

    Click or drag anywhere to ask for a seek (``seekRequested(float)``).
    Shows the whole duration unless ``set_view`` narrows it (e.g. follow the
    waveform's ``viewChanged``).
    """

    seekRequested = Signal(float)
    stepRequested = Signal(int)
    keyframeStepRequested = Signal(int)

    RULER_H = 14
    MAX_LANE_H = 14
    MIN_LANE_H = 5

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(48)
        self._duration = 0.0
        self._view: tuple[float, float] | None = None
        self._playhead = 0.0
        self._thumb_times: list[float] = []
        self._thumbs: list[QImage] = []
        self._thumb_scaled: dict[tuple[int, int], QImage] = {}
        self._lanes = RegionLanePainter()
        self._selected: str | None = None
        self._composed: QImage | None = None
        self._dirty = True
        self._keys = preset()
        self._dragging = False
        self._font = QFont(self.font())
        self._font.setPointSizeF(max(7.0, self.font().pointSizeF() * 0.8))

    # ------------------------------------------------------------ data in
    def set_duration(self, seconds: float) -> None:
        self._duration = max(0.0, float(seconds))
        self._invalidate()

    def duration(self) -> float:
        return self._duration

    def set_thumbnails(self, thumbs: Iterable[tuple[float, np.ndarray]]) -> None:
        """``[(t, rgb), …]`` — copied into QImages once, tiled along the strip
        (each tile shows the thumbnail nearest its centre time)."""
        pairs = sorted(((float(t), rgb) for t, rgb in thumbs), key=lambda p: p[0])
        self._thumb_times = [t for t, _ in pairs]
        self._thumbs = []
        for _, rgb in pairs:
            img, _buf = rgb_to_qimage(rgb)
            self._thumbs.append(img.copy())  # own the pixels
        self._thumb_scaled = {}
        self._invalidate()

    def set_regions(self, regions: Iterable[Region], tiers: Sequence[Tier]) -> None:
        self._lanes.set_regions(regions, tiers)
        self._invalidate()

    def set_selected(self, region_id: str | None) -> None:
        self._selected = region_id or None
        self._invalidate()

    def set_view(self, t0: float, t1: float) -> None:
        """Show ``[t0, t1]`` instead of the whole duration."""
        if t1 > t0:
            self._view = (float(t0), float(t1))
            self._invalidate()

    def clear_view(self) -> None:
        self._view = None
        self._invalidate()

    def set_playhead(self, t: float) -> None:
        t = float(t)
        if t == self._playhead:
            return
        old = self.playhead_x()
        self._playhead = t
        new = self.playhead_x()
        if new != old:
            h = self.height()
            self.update(QRect(old - 4, 0, 9, h))
            self.update(QRect(new - 4, 0, 9, h))

    def set_key_map(self, mapping: dict[str, Sequence[str]]) -> None:
        keys = preset()
        keys.update({k: tuple(v) for k, v in mapping.items()})
        self._keys = keys

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(640, 96)

    # ------------------------------------------------------------ geometry
    def view_range(self) -> tuple[float, float]:
        if self._view is not None:
            return self._view
        return 0.0, max(self._duration, 1e-9)

    def time_to_x(self, t: float) -> float:
        t0, t1 = self.view_range()
        return (t - t0) / (t1 - t0) * max(1, self.width())

    def x_to_time(self, x: float) -> float:
        t0, t1 = self.view_range()
        t = t0 + x / max(1, self.width()) * (t1 - t0)
        return min(max(0.0, t), self._duration) if self._duration else max(0.0, t)

    def playhead_x(self) -> int:
        return int(math.floor(self.time_to_x(self._playhead)))

    def _geometry(self) -> tuple[QRectF, float, float]:
        """(thumb rect, lanes top, lane height)."""
        w, h = self.width(), self.height()
        n = len(self._lanes.tiers)
        lane_h = 0.0
        if n:
            lane_h = min(self.MAX_LANE_H, max(self.MIN_LANE_H, (h - self.RULER_H) * 0.4 / n))
        lanes_h = lane_h * n
        thumb = QRectF(0, self.RULER_H, w, max(0.0, h - self.RULER_H - lanes_h))
        return thumb, thumb.bottom(), lane_h

    def _invalidate(self) -> None:
        self._dirty = True
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        self._dirty = True
        super().resizeEvent(event)

    # ------------------------------------------------------------ painting
    def _scaled_thumb(self, i: int, h: int) -> QImage:
        key = (i, h)
        img = self._thumb_scaled.get(key)
        if img is None:
            img = self._thumbs[i].scaledToHeight(max(1, h), Qt.TransformationMode.SmoothTransformation)
            self._thumb_scaled[key] = img
        return img

    def _compose(self) -> None:
        dpr = self.devicePixelRatioF()
        w, h = max(1, self.width()), max(1, self.height())
        self._composed = sized_cache(self._composed, w, h, dpr)
        p = QPainter(self._composed)
        try:
            p.fillRect(QRectF(0, 0, w, h), BG)
            thumb, lanes_top, lane_h = self._geometry()
            self._paint_ruler(p, w)
            if self._thumbs and thumb.height() >= 4 and self._duration > 0:
                th = int(round(thumb.height() * dpr))
                first = self._scaled_thumb(0, th)
                tile_w = max(8.0, first.width() / dpr)
                n = int(math.ceil(w / tile_w))
                t0, t1 = self.view_range()
                for k in range(n):
                    x = k * tile_w
                    tc = t0 + (x + tile_w / 2) / w * (t1 - t0)
                    if tc > self._duration:
                        break
                    j = bisect.bisect_left(self._thumb_times, tc)
                    if j >= len(self._thumb_times) or (
                        j > 0 and tc - self._thumb_times[j - 1] <= self._thumb_times[j] - tc
                    ):
                        j -= 1
                    img = self._scaled_thumb(max(0, j), th)
                    iw = img.width() / dpr
                    # centre-crop tiles whose thumbnail aspect differs
                    src_x = max(0.0, (iw - tile_w) / 2.0) * dpr
                    src = QRectF(src_x, 0, min(iw, tile_w) * dpr, img.height())
                    p.drawImage(QRectF(x, thumb.top(), min(iw, tile_w), thumb.height()), img, src)
                    p.fillRect(QRectF(x + min(iw, tile_w) - 1, thumb.top(), 1, thumb.height()), BG)
            if lane_h > 0:
                t0, t1 = self.view_range()
                gap = 1.0 if lane_h < 10 else 2.0
                lanes = self._lanes.visible(top=lanes_top, lane_h=lane_h, width=w, t0=t0, spp=(t1 - t0) / w, gap=gap)
                p.end()  # the lanes are rasterised with numpy into the buffer
                self._lanes.raster(image_array(self._composed), lanes, dpr=dpr)
                p.begin(self._composed)
                p.setFont(self._font)
                self._lanes.overlay(p, lanes, selected=self._selected, labels=lane_h >= 12, names=False)
        finally:
            p.end()
        self._dirty = False

    def _paint_ruler(self, p: QPainter, w: int) -> None:
        p.fillRect(QRectF(0, 0, w, self.RULER_H), QColor("#1f2229"))
        if self._duration <= 0:
            return
        t0, t1 = self.view_range()
        span = t1 - t0
        p.setFont(self._font)
        fm = p.fontMetrics()
        hours = self._duration >= 3600
        label_px = fm.horizontalAdvance("0:00:00") + 14
        steps = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)
        step = next((s for s in steps if s / span * w >= label_px), steps[-1])
        p.setPen(QColor("#8f98a8"))
        k = math.ceil(t0 / step)
        lines = []
        labels = []
        while k * step <= t1:
            x = (k * step - t0) / span * w
            lines.append(QLineF(x, 3, x, self.RULER_H))
            labels.append((x, k * step))
            k += 1
        p.drawLines(lines)
        p.setPen(QColor("#d0d5de"))
        base = (self.RULER_H + fm.ascent() - fm.descent()) / 2.0
        for x, t in labels:
            p.drawText(QPointF(x + 3, base), format_time(t, 0, hours))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        if self._dirty or self._composed is None:
            self._compose()
        p = QPainter(self)
        blit(p, self._composed, event.rect())
        x = self.playhead_x()
        if 0 <= x < self.width():
            p.fillRect(QRect(x, 0, 1, self.height()), PLAYHEAD)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(PLAYHEAD)
            p.drawPolygon(QPolygonF([QPointF(x - 4, 0), QPointF(x + 5, 0), QPointF(x + 0.5, 6)]))
        p.end()

    # ------------------------------------------------------------ input
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
            self.seekRequested.emit(self.x_to_time(event.position().x()))
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._dragging:
            self.seekRequested.emit(self.x_to_time(event.position().x()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        hit = _step_keys(self._keys, event)
        if hit is None:
            event.ignore()
            return
        kind, delta = hit
        (self.stepRequested if kind == "step" else self.keyframeStepRequested).emit(delta)
        event.accept()
