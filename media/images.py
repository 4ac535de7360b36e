"""Still images out of the media layer: an RGB frame as PNG, written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from labeldesk.media.files import write_atomically


def write_png(rgb: np.ndarray, path: str | os.PathLike[str]) -> Path:
    """Write an (h, w, 3) uint8 RGB array as a lossless PNG."""
    path = Path(path)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))  # OpenCV wants BGR
    if not ok:
        raise ValueError(f"{path}: could not encode the frame as PNG")
    write_atomically(path, lambda tmp: tmp.write_bytes(encoded.tobytes()))
    return path
