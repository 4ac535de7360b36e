"""Still images out of the media layer: an RGB frame as PNG, written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np

from labeldesk.media.files import write_atomically


def encode_png(rgb: np.ndarray) -> bytes:
    """An (h, w, 3) uint8 RGB array as lossless PNG bytes, with FFmpeg's encoder (PyAV is here already)."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb, dtype=np.uint8), format="rgb24")
    codec = av.CodecContext.create("png", "w")
    codec.width, codec.height, codec.pix_fmt = frame.width, frame.height, "rgb24"
    return b"".join(bytes(packet) for packet in (*codec.encode(frame), *codec.encode(None)))


def write_png(rgb: np.ndarray, path: str | os.PathLike[str]) -> Path:
    """Write an (h, w, 3) uint8 RGB array as a lossless PNG."""
    path = Path(path)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"{path}: a PNG frame is (height, width, 3) RGB, not shape {rgb.shape}")
    encoded = encode_png(rgb)
    write_atomically(path, lambda tmp: tmp.write_bytes(encoded))
    return path
