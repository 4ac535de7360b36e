"""PNG frames: lossless, decodable by FFmpeg, refused when the array is not RGB."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from labeldesk.media.images import write_png


def test_png_round_trips_every_pixel(tmp_path: Path) -> None:
    rgb = np.random.default_rng(3).integers(0, 256, (45, 61, 3), dtype=np.uint8)
    path = write_png(rgb, tmp_path / "frame.png")
    with av.open(str(path)) as container:
        back = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(back, rgb)


def test_a_grey_array_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="frame.png"):
        write_png(np.zeros((4, 4), dtype=np.uint8), tmp_path / "frame.png")
    assert list(tmp_path.iterdir()) == []
