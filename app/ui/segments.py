"""The `segments` answer as plain data: conversions to panes' regions and turns, and edits.

A segments answer is a list of ``{"media", "start", "end", "tier", "label"?,
"text"?}`` (seconds) covering every media file of the item; a pane shows the
segments of one media file at a time. Every edit here returns a *new* list and
never mutates the dicts of the old one: the undo stack keeps the old list as
the "before" value.

Regions are named by their position in the answer (``seg<i>``): an answer has
no ids of its own, and positions are stable between two edits, which is all a
pane needs to map a signal back to a segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from labeldesk.widgets.regions import Region, Tier
from labeldesk.widgets.transcript import Turn

__all__ = [
    "TRANSCRIPT_TIER", "tiers_from_question", "region_id", "segment_index", "regions_for", "turns_for",
    "created", "resized", "labeled", "with_text", "deleted", "transcript_edit",
]

Segment = dict[str, Any]
TRANSCRIPT_TIER = "transcript"
# Colours for tiers whose question config names none (the transcript view's speaker palette).
_TIER_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f")
# Times are stored to the microsecond: finer than a sample at 192 kHz is noise in the JSON.
_DECIMALS = 6
_SAME_TIME = 1e-6


def tiers_from_question(question: dict[str, Any]) -> list[Tier]:
    """The question's `tiers` (names, labels, optional colours), in order; one "segment" tier if none."""
    specs = question.get("tiers") or [{"name": "segment", "labels": question.get("labels", [])}]
    tiers = []
    for i, spec in enumerate(specs):
        if isinstance(spec, str):
            spec = {"name": spec}
        tiers.append(Tier(str(spec["name"]), str(spec.get("color") or _TIER_COLORS[i % len(_TIER_COLORS)]),
                          tuple(str(label) for label in spec.get("labels", ()))))
    return tiers


def region_id(index: int) -> str:
    return f"seg{index}"


def segment_index(rid: str, segments: Sequence[Segment]) -> int | None:
    """The answer position a region id names, or None when it no longer exists."""
    if not rid.startswith("seg") or not rid[3:].isdigit():
        return None
    i = int(rid[3:])
    return i if i < len(segments) else None


def regions_for(segments: Sequence[Segment], media_id: str | None) -> list[Region]:
    """The segments of one media file as regions (other media's segments are kept, not shown)."""
    return [
        Region(region_id(i), str(s["tier"]), float(s["start"]), float(s["end"]),
               str(s.get("label") or ""), str(s.get("text") or ""))
        for i, s in enumerate(segments)
        if s.get("media") == media_id
    ]


def _t(seconds: float) -> float:
    return round(float(seconds), _DECIMALS)


def created(segments: Sequence[Segment], media_id: str, tier: str, start: float, end: float) -> list[Segment]:
    start, end = sorted((_t(start), _t(end)))
    return [*segments, {"media": media_id, "start": start, "end": end, "tier": tier}]


def _replace(segments: Sequence[Segment], index: int, **changes: Any) -> list[Segment]:
    new = dict(segments[index])
    for key, value in changes.items():
        if value in (None, ""):
            new.pop(key, None)  # the schema leaves unused fields out rather than filling them with nulls
        else:
            new[key] = value
    return [new if i == index else s for i, s in enumerate(segments)]


def resized(segments: Sequence[Segment], index: int, start: float, end: float) -> list[Segment]:
    start, end = sorted((_t(start), _t(end)))
    return _replace(segments, index, start=start, end=end)


def labeled(segments: Sequence[Segment], index: int, label: str) -> list[Segment]:
    return _replace(segments, index, label=label)


def with_text(segments: Sequence[Segment], index: int, text: str) -> list[Segment]:
    return _replace(segments, index, text=text)


def deleted(segments: Sequence[Segment], index: int) -> list[Segment]:
    return [s for i, s in enumerate(segments) if i != index]


def _transcript_match(segments: Sequence[Segment], media_id: str | None, start: float, end: float) -> int | None:
    for i, s in enumerate(segments):
        if (s.get("media") == media_id and s.get("tier") == TRANSCRIPT_TIER
                and abs(float(s["start"]) - start) < _SAME_TIME and abs(float(s["end"]) - end) < _SAME_TIME):
            return i
    return None


def turns_for(messages: Iterable[dict[str, Any]], media_id: str | None,
              segments: Sequence[Segment] = ()) -> list[Turn]:
    """One turn per time range a message holds on this media file.

    Messages without a range on it cannot be placed on the timeline and are
    left out. A transcript-tier segment covering exactly a turn's range
    (a correction made in the transcript pane) replaces the turn's text.
    """
    turns = []
    for i, message in enumerate(messages):
        ranges = [r for r in message.get("media") or () if r.get("ref") == media_id]
        for k, r in enumerate(ranges):
            start, end = float(r["start"]), float(r["end"])
            text = str(message.get("content") or "")
            corrected = _transcript_match(segments, media_id, start, end)
            if corrected is not None:
                text = str(segments[corrected].get("text") or "")
            speaker = str(message.get("speaker") or message.get("role") or "")
            turns.append(Turn(f"msg{i}" if len(ranges) == 1 else f"msg{i}.{k}", speaker, start, end, text))
    return turns


def transcript_edit(segments: Sequence[Segment], media_id: str, turn: Turn, text: str) -> list[Segment]:
    """A turn's corrected text as a transcript-tier segment over the turn's range (replacing an earlier one)."""
    index = _transcript_match(segments, media_id, turn.start, turn.end)
    if index is not None:
        return with_text(segments, index, text)
    return [*segments, {"media": media_id, "start": _t(turn.start), "end": _t(turn.end),
                        "tier": TRANSCRIPT_TIER, "text": text}]
