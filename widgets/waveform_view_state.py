"""Which stretch of the media `WaveformView` shows, without Qt: the time
under each pixel column, the zoom limits, and where to move when the
playhead leaves the view. The widget owns repaints and signals."""
from __future__ import annotations

__all__ = ["ViewState"]


class ViewState:
    """A view ``width`` pixels wide starting at ``t0`` seconds, ``spp``
    seconds per pixel, over media ``duration`` seconds long."""

    def __init__(self, max_px_per_sample: float) -> None:
        self.t0 = 0.0
        self.spp = 0.01
        self.duration = 0.0
        self.sample_rate = 48000.0
        # the whole file in view, kept so across resizes and new durations
        self.fitted = True
        self._max_px_per_sample = max_px_per_sample

    def time_to_x(self, t: float) -> float:
        return (t - self.t0) / self.spp

    def x_to_time(self, x: float) -> float:
        return self.t0 + x * self.spp

    def clamp_time(self, t: float) -> float:
        """``t`` within the media (or only non-negative while it has no length)."""
        return min(max(0.0, t), self.duration) if self.duration else max(0.0, t)

    def spp_limits(self, width: int) -> tuple[float, float]:
        """The closest zoom (a few pixels per sample) and the farthest (the
        whole file across the width)."""
        w = max(1, width)
        lo = 1.0 / (self.sample_rate * self._max_px_per_sample)
        hi = max(self.duration, lo * w) / w
        return lo, max(lo, hi)

    def scrollable(self, width: int) -> float:
        """Seconds of media that do not fit in the view."""
        return max(0.0, self.duration - width * self.spp)

    def move(self, t0: float, spp: float, width: int) -> bool:
        """Show ``t0`` at the left at zoom ``spp``, both kept within limits;
        False when that is what is shown already."""
        lo, hi = self.spp_limits(width)
        spp = min(hi, max(lo, float(spp)))
        w = max(1, width)
        max_t0 = max(0.0, self.duration - w * spp)
        # align the view to whole pixels of the current zoom so paging and
        # scrolling never shift columns by a fraction (no shimmer)
        t0 = round(float(t0) / spp) * spp
        t0 = min(max(0.0, t0), max_t0)
        if t0 == self.t0 and spp == self.spp:
            return False
        self.t0, self.spp = t0, spp
        return True

    def follow(self, t: float, width: int, playing: bool) -> float | None:
        """The ``t0`` that brings the playhead at ``t`` back into view, or
        None while it needs no move: playback pages on before the right edge,
        a seek out of view centres on it."""
        if width <= 0 or self.duration <= 0:
            return None
        x = self.time_to_x(t)
        if playing:
            if x >= width * 0.95 or x < 0:
                return t - width * 0.05 * self.spp
        elif x < 0 or x >= width:
            return t - width * 0.5 * self.spp
        return None
