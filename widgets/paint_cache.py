"""The paint cache of the media panes (waveform, timeline strip).

Each composes its static content into one 32-bit ``QImage`` at device
pixels, written partly by numpy straight into the buffer and partly by
QPainter, and blits rectangles of it on every paint event; only the playhead
and in-progress edits are drawn on top, so a playhead tick costs a blit.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QRectF, QSize
from PySide6.QtGui import QColor, QImage, QPainter

__all__ = ["argb", "blit", "image_array", "sized_cache"]


def argb(c: QColor) -> int:
    """``c`` as the opaque 0xAARRGGBB int numpy writes into the buffer."""
    return 0xFF000000 | (c.red() << 16) | (c.green() << 8) | c.blue()


def image_array(img: QImage) -> np.ndarray:
    """A writable ``(height, width)`` uint32 numpy view of a 32-bit QImage."""
    arr = np.frombuffer(img.bits(), dtype=np.uint32)
    return arr.reshape(img.height(), img.bytesPerLine() // 4)[:, : img.width()]


def sized_cache(img: QImage | None, width: int, height: int, dpr: float) -> QImage:
    """``img`` while it fits a ``width`` × ``height`` widget at ``dpr``, else a
    new image: reused so a repaint allocates nothing."""
    size = QSize(int(round(width * dpr)), int(round(height * dpr)))
    if img is None or img.size() != size:
        img = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
        img.setDevicePixelRatio(dpr)
    return img


def blit(p: QPainter, img: QImage, rect: QRect) -> None:
    """Copy the widget-coordinate ``rect`` of the cache onto ``p``."""
    dpr = img.devicePixelRatio()
    src = QRectF(rect.x() * dpr, rect.y() * dpr, rect.width() * dpr, rect.height() * dpr)
    p.drawImage(QRectF(rect), img, src)
