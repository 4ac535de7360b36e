"""Property suites over the transcript parsers (ELAN, TextGrid, WebVTT, SRT).

Rule 1: a damaged file gives segments or the parsers' documented ValueError, whose message
names the file and a line ("<path>:<line>: …") and quotes little of it. Rule 2: cue text
that a subtitle file can hold reads back exactly as written.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labeldesk.storage.formats.transcripts import Segment, read_transcript, write_transcript

MARK = "Ж"
LONG = (MARK * 5000).encode()
SEEDS = {
    "vtt": b"WEBVTT\nKind: captions\n\nNOTE a comment\n\ncue-1\n00:00:01.000 --> 00:00:02.500 align:start\n<v Ann>Hello <b>there</b> &amp; you\n\n"
           b"00:01:02.000 --> 00:01:03.000\ntwo\nlines\n",
    "srt": b"1\r\n00:00:01,000 --> 00:00:02,500\r\nHello\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\ntwo\r\nlines\r\n",
}
INSERTS = [b"-->", b"\n\n", b"\r", b"\x00", b"\xff", b"\xef\xbb\xbf", b"\xff\xfe", b"<", b">", b"&", b"99:99:99.999", b"\xe2\x80\xa8",
           b"<TIME_SLOT TIME_SLOT_ID=\"ts9\"/>", b"ANNOTATION_REF=\"a9\"", b"TIME_SLOT_REF1=\"nope\"", b"xmin = ", b"intervals [9]:",
           b'"', b"]]>", b"<!DOCTYPE x [<!ENTITY e \"e\">]>", LONG, b"1e308", b"-1", b"nan"]


def _seed(tmp_path_factory, fmt: str) -> bytes:
    """ELAN and TextGrid seeds are written by the writers; subtitles are the texts above."""
    if fmt in SEEDS:
        return SEEDS[fmt]
    path = tmp_path_factory.mktemp("seed") / f"s.{fmt}"
    write_transcript(path, [Segment(0.0, 1.5, "spk1", label="greet", text="Hello", speaker="Ann"),
                            Segment(2.0, 3.0, "spk1", text="again"), Segment(0.5, 0.5, "points", label="p")
                            if fmt == "textgrid" else Segment(0.5, 1.0, "spk2", speaker="Bob", text="hm")])
    return path.read_bytes()


@pytest.mark.parametrize("fmt", ["eaf", "textgrid", "vtt", "srt"])
@given(data=st.data())
def test_damaged_transcripts_give_segments_or_a_value_error_naming_file_and_line(tmp_path_factory, mutated, fmt: str,
                                                                                 data: st.DataObject) -> None:
    path = tmp_path_factory.mktemp("t") / f"t.{'TextGrid' if fmt == 'textgrid' else fmt}"
    path.write_bytes(data.draw(mutated(_seed(tmp_path_factory, fmt), INSERTS)))
    try:
        segments = read_transcript(path)
    except ValueError as exc:
        message = str(exc)
        assert re.match(rf"{re.escape(str(path))}:(\d+|\?): ", message), message[:200]
        assert MARK * 100 not in message and len(message) < 700, message[:200]
        return
    for seg in segments:
        assert isinstance(seg, Segment) and 0 <= seg.start <= seg.end


# cue text a subtitle cue can hold: no blank line, no "-->", no leading newline; VTT escapes <, > and &
cue_line = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), min_size=1, max_size=20).filter(
    lambda line: line.strip() and "-->" not in line)


@pytest.mark.parametrize("fmt", ["vtt", "srt"])
@given(cues=st.lists(st.lists(cue_line, min_size=1, max_size=3).map("\n".join), min_size=1, max_size=4))
def test_subtitle_text_reads_back_exactly(tmp_path_factory, fmt: str, cues: list[str]) -> None:
    if fmt == "srt":  # SRT has no escapes: a line that looks like a tag or a cue number is the file's own business
        cues = [c for c in cues if not c.split("\n")[0].strip().isdigit()] or ["x"]
    path = tmp_path_factory.mktemp("sub") / f"s.{fmt}"
    segments = [Segment(float(i), i + 0.5, "transcript", text=text) for i, text in enumerate(cues)]
    write_transcript(path, segments)
    assert [s.text for s in read_transcript(path)] == cues
