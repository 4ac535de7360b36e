"""Fixtures for the widget tests (offscreen Qt, synthetic envelopes)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from labeldesk.widgets.regions import Region, Tier  # noqa: E402

SAMPLE_RATE = 48000


def sine_envelope(freq: float = 3.0, amp: float = 0.8, sample_rate: int = SAMPLE_RATE):
    """Envelope provider of a sine: per-pixel min/max over sub-samples."""

    def provider(t0: float, t1: float, width: int):
        x = np.linspace(t0, t1, width * 8, endpoint=False).reshape(width, 8)
        y = amp * np.sin(2 * np.pi * freq * x)
        return y.min(axis=1)[:, None].astype(np.float32), y.max(axis=1)[:, None].astype(np.float32)

    provider.calls = 0  # type: ignore[attr-defined]
    return provider


@pytest.fixture
def tiers():
    return [
        Tier("speaker", "#4e79a7", ("spk1", "spk2", "spk3")),
        Tier("event", "#f28e2b", ("laugh", "noise")),
    ]


@pytest.fixture
def waveform(qtbot, tiers):
    """A 1000×240 waveform of a 100 s sine, showing 0–10 s (100 px/s)."""
    from labeldesk.widgets.waveform import WaveformView

    w = WaveformView()
    qtbot.addWidget(w)
    w.resize(1000, 240)
    w.set_envelope_provider(sine_envelope())
    w.set_duration(100.0)
    w.set_regions(
        [
            Region("a", "speaker", 1.0, 2.0, label="spk1"),
            Region("b", "speaker", 4.0, 6.0, label="spk2"),
            Region("c", "event", 3.0, 3.5, label="laugh"),
        ],
        tiers,
    )
    w.set_view(0.0, 10.0)
    w.show()
    qtbot.waitExposed(w)
    return w
