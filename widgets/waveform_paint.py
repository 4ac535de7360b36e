"""What `WaveformView` paints, as functions of plain values: the envelope
raster, the spectrogram image, the time ruler and the translucent marks over
the signal. The view decides when (its caches) and where (its layout)."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

__all__ = [
    "envelope_columns",
    "format_time",
    "magma_lut",
    "paint_drag_preview",
    "paint_pending_mark",
    "paint_region_band",
    "paint_ruler",
    "raster_envelope",
    "spectrogram_image",
]

BG = QColor("#15171c")
WAVE_BG = 0xFF15171C
WAVE_AXIS = 0xFF2B313B
WAVE_FG = 0xFF56B4E0
WAVE_FG_CLIP = 0xFFE0675A  # columns that reach full scale
RULER_BG = QColor("#1f2229")
RULER_FG = QColor("#8f98a8")
RULER_TEXT = QColor("#d0d5de")
PLAYHEAD = QColor("#ff5252")
MARK = QColor("#ffd54f")


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


# ------------------------------------------------------------- envelope
def envelope_columns(
    mins: np.ndarray, maxs: np.ndarray, width_px: int, end_x: int
) -> tuple[np.ndarray, np.ndarray]:
    """A provider's answer as ``(width_px, channels)`` float32, NaN from
    column ``end_x`` on (past the end of the media nothing is drawn)."""
    mins = np.asarray(mins, dtype=np.float32)
    maxs = np.asarray(maxs, dtype=np.float32)
    if mins.ndim == 1:
        mins = mins[:, None]
        maxs = maxs[:, None]
    if mins.shape[0] != width_px:  # tolerate a provider that returns fewer columns
        n = min(mins.shape[0], width_px)
        pad = np.full((width_px, mins.shape[1]), np.nan, dtype=np.float32)
        m2 = pad.copy()
        pad[:n] = mins[:n]
        m2[:n] = maxs[:n]
        mins, maxs = pad, m2
    if end_x < width_px:
        mins[max(end_x, 0):] = np.nan
        maxs[max(end_x, 0):] = np.nan
    return mins, maxs


def raster_envelope(buf: np.ndarray, columns: tuple[np.ndarray, np.ndarray] | None, gain: float) -> int:
    """Fill the ARGB ``buf`` with one band per channel (axis lines, and the
    min/max columns if there are any); returns the channel count drawn."""
    buf.fill(WAVE_BG)
    nch = columns[0].shape[1] if columns is not None else 1
    band = buf.shape[0] / nch
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
        if columns is not None:
            _raster_band(sub, columns[0][:, c], columns[1][:, c], mid, gain)
    return nch if columns is not None else 0


def _join_neighbours(top: np.ndarray, bot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # join neighbouring columns half-way so a zoomed-in signal is a line,
    # not a dotted trail: extend towards each neighbour's far edge midpoint
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
    return top2, bot2


def _raster_band(sub: np.ndarray, lo: np.ndarray, hi: np.ndarray, mid: float, gain: float) -> None:
    bh = sub.shape[0]
    amp = (bh / 2.0 - 1.0) * gain
    top = mid - hi * amp  # rows grow downwards
    bot = mid - lo * amp
    valid = np.isfinite(top) & np.isfinite(bot)
    if not valid.any():
        return
    top = np.where(valid, top, mid)
    bot = np.where(valid, bot, mid)
    if len(top) > 1:
        top, bot = _join_neighbours(top, bot)
    clipped = valid & ((hi * gain >= 0.999) | (lo * gain <= -0.999))
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


def spectrogram_image(data: np.ndarray) -> tuple[QImage, np.ndarray]:
    """A provider's uint8 ``(h, w)`` gray (shown in magma) or ``(h, w, 3)``
    RGB image as a QImage, and the array it borrows (keep it alive)."""
    img = np.asarray(data)
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    img = np.ascontiguousarray(img)
    h, w = img.shape[:2]
    if img.ndim == 2:
        q = QImage(img.data, w, h, img.strides[0], QImage.Format.Format_Indexed8)
        q.setColorTable(_MAGMA)
    else:
        q = QImage(img.data, w, h, img.strides[0], QImage.Format.Format_RGB888)
    return q, img


# ---------------------------------------------------------------- ruler
# ruler steps (seconds) and how many minor ticks split each
_STEPS: tuple[tuple[float, int], ...] = (
    (1e-5, 5), (2e-5, 4), (5e-5, 5), (1e-4, 5), (2e-4, 4), (5e-4, 5),
    (1e-3, 5), (2e-3, 4), (5e-3, 5), (0.01, 5), (0.02, 4), (0.05, 5),
    (0.1, 5), (0.2, 4), (0.5, 5), (1, 5), (2, 4), (5, 5), (10, 5), (15, 3),
    (30, 3), (60, 4), (120, 4), (300, 5), (600, 5), (900, 3), (1800, 3),
    (3600, 4), (7200, 4), (14400, 4),
)


def _ruler_step(spp: float, label_px: float) -> tuple[float, int]:
    """The finest labelled step (and its minor division) a label fits in."""
    for step, div in _STEPS:
        if step / spp >= label_px:
            return step, div
    return _STEPS[-1]


def paint_ruler(
    p: QPainter, font: QFont, *, width: int, height: int, t0: float, t1: float, spp: float, duration: float
) -> None:
    """Labelled major and short minor ticks over ``[t0, t1]``."""
    rh = height
    p.fillRect(QRectF(0, 0, width, rh), RULER_BG)
    if duration <= 0:
        return
    p.setFont(font)
    fm = p.fontMetrics()
    major, minor_div = _ruler_step(spp, fm.horizontalAdvance("0:00:00.000") + 16)
    minor = major / minor_div
    k0 = math.floor(t0 / minor)
    k1 = math.ceil(min(t1, duration) / minor)
    lines = []
    labels = []
    for k in range(k0, k1 + 1):
        t = k * minor
        x = (t - t0) / spp
        if x < -1 or x > width + 1:
            continue
        if k % minor_div == 0:
            lines.append(QLineF(x, 2, x, rh))
            labels.append((x, t))
        else:
            lines.append(QLineF(x, rh - 5, x, rh))
    p.setPen(RULER_FG)
    p.drawLines(lines)
    p.drawLine(QLineF(0, rh - 0.5, width, rh - 0.5))
    decimals = 0 if major >= 1 else min(6, int(math.ceil(-math.log10(major) - 1e-9)))
    hours = duration >= 3600
    p.setPen(RULER_TEXT)
    base = (rh - 5 + fm.ascent() - fm.descent()) / 2.0  # centred above minor ticks
    for x, t in labels:
        p.drawText(QPointF(x + 4, base), format_time(t, decimals, hours))


# -------------------------------------------------------------- overlays
def paint_region_band(p: QPainter, x0: float, x1: float, top: float, bottom: float, color: QColor) -> None:
    """A region's span across the signal: a tint between its two edges."""
    tint = QColor(color)
    tint.setAlpha(55)
    p.fillRect(QRectF(x0, top, max(1.0, x1 - x0), bottom - top), tint)
    p.setPen(QPen(color.lighter(140), 1.0))
    p.drawLine(QLineF(x0, top, x0, bottom))
    p.drawLine(QLineF(x1, top, x1, bottom))


def paint_pending_mark(p: QPainter, xs: float, xe: float, top: float, bottom: float) -> None:
    """A marked start (dashed line) and the span it would close at ``xe``."""
    c = QColor(MARK)
    c.setAlpha(45)
    p.fillRect(QRectF(min(xs, xe), top, abs(xe - xs), bottom - top), c)
    p.setPen(QPen(MARK, 1.0, Qt.PenStyle.DashLine))
    p.drawLine(QLineF(xs, 0, xs, bottom))


def paint_drag_preview(p: QPainter, xa: float, xb: float, top: float, bottom: float, color: QColor) -> None:
    """The span a create or edge drag would give, in its tier's colour."""
    fill = QColor(color)
    fill.setAlpha(70)
    p.fillRect(QRectF(min(xa, xb), top, max(1.0, abs(xb - xa)), bottom - top), fill)
    p.setPen(QPen(color.lighter(150), 1.0))
    p.drawLine(QLineF(xa, top, xa, bottom))
    p.drawLine(QLineF(xb, top, xb, bottom))
