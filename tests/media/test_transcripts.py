from __future__ import annotations

import pytest

from labeldesk.storage.formats.transcripts import Segment, read_transcript, sniff_format, write_transcript

MULTI_TIER = [
    Segment(0.0, 1.234, "spk1", label="greeting", text='Hello "world" & <you>', speaker="Ann"),
    Segment(1.5, 2.001, "spk1", text="second\nline", speaker="Ann"),
    Segment(2.001, 3.5, "spk1", label="laugh", speaker="Ann"),  # a label without words
    Segment(0.5, 2.5, "spk2", text="olá — ñ 日本語", speaker="Bob"),
    Segment(3.0, 4.0, "spk2", text="someone else", speaker="Carl"),  # speakers vary within a tier
    Segment(3.5, 4.5, "topic", label="weather"),
    Segment(3661.007, 3662.999, "topic", label="late"),
]

SINGLE_TIER = [
    Segment(0.0, 1.234, "transcript", text='Hello "world" & <you> -- ok', speaker="Ann"),
    Segment(61.5, 3725.001, "transcript", text="two\nlines"),
    Segment(3725.001, 3726.0, "transcript"),
    Segment(3726.5, 3727.25, "transcript", text="Ünïcödé", speaker="Dr. Bob Smith"),
]


def _sorted(segments):
    return sorted(segments, key=lambda s: (s.start, s.end, s.tier))


@pytest.mark.parametrize("ext", ["eaf", "TextGrid"])
def test_multi_tier_round_trip_is_unchanged(tmp_path, wav, ext):
    path = tmp_path / f"t.{ext}"
    write_transcript(path, MULTI_TIER, media_path=wav.path)
    assert read_transcript(path) == _sorted(MULTI_TIER)
    write_transcript(path, read_transcript(path))  # and again, over the old file
    assert read_transcript(path) == _sorted(MULTI_TIER)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # atomic: no temporary or .bak files


def test_eaf_links_the_media_and_uses_participants(tmp_path, wav):
    path = tmp_path / "t.eaf"
    write_transcript(path, MULTI_TIER, media_path=wav.path)
    text = path.read_text(encoding="utf-8")
    assert wav.path.as_uri() in text and 'PARTICIPANT="Ann"' in text
    assert 'TIER_ID="spk2::speaker"' in text and 'TIER_ID="spk1::label"' in text


def test_times_round_to_the_millisecond(tmp_path):
    segs = [Segment(0.0004, 1.2346, "a", text="x"), Segment(2.0, 2.0015, "a", text="y")]
    for ext in ("eaf", "vtt", "srt"):
        path = tmp_path / f"r.{ext}"
        write_transcript(path, segs)
        back = read_transcript(path, tier="a")
        assert [(s.start, s.end) for s in back] == [(0.0, 1.235), (2.0, 2.002)]


@pytest.mark.parametrize("ext", ["vtt", "srt"])
def test_subtitle_round_trip_is_unchanged(tmp_path, ext):
    path = tmp_path / f"s.{ext}"
    write_transcript(path, SINGLE_TIER)
    expected = SINGLE_TIER if ext == "vtt" else [
        Segment(s.start, s.end, s.tier, s.label, s.text) for s in SINGLE_TIER]  # SRT has no speakers
    assert read_transcript(path) == expected


def test_vtt_reading_of_other_tools_files(tmp_path):
    path = tmp_path / "other.vtt"
    path.write_text(
        "\ufeffWEBVTT - made elsewhere\nKind: captions\nLanguage: en\n\n"
        "NOTE a comment\nspanning lines\n\n"
        "STYLE\n::cue { color: red }\n\n"
        "intro\n00:01.000 --> 00:02.500 align:start line:0\n<v.loud Esme Smith>It's a <b>blue</b> apple&amp;pear</v>\n\n"
        "01:00:00.000 --> 01:00:01.000\n<c.yellow>plain</c> text\n",
        encoding="utf-8")
    segs = read_transcript(path, tier="subs")
    assert segs == [
        Segment(1.0, 2.5, "subs", text="It's a blue apple&pear", speaker="Esme Smith"),
        Segment(3600.0, 3601.0, "subs", text="plain text"),
    ]


def test_srt_reading_with_crlf_and_dots(tmp_path):
    path = tmp_path / "other.srt"
    path.write_bytes("1\r\n00:00:01,000 --> 00:00:02,000\r\nHi\r\nthere\r\n\r\n"
                     "2\r\n00:00:03.500 --> 00:00:04.000\r\nBye\r\n".encode("utf-8"))
    assert read_transcript(path) == [Segment(1.0, 2.0, "transcript", text="Hi\nthere"),
                                     Segment(3.5, 4.0, "transcript", text="Bye")]


@pytest.mark.parametrize("name, content, line", [
    ("bad.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\n00:0x.000 --> 00:03.000\nbroken\n", 6),
    ("bad.vtt", "WEBVTT\n\n00:03.000 --> 00:02.000\nbackwards\n", 3),
    ("nohead.vtt", "00:01.000 --> 00:02.000\nno header\n", 1),
    ("bad.srt", "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 -> 00:00:04,000\nbroken\n", 6),
    ("bad.srt", "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n", 5),
    ("bad.eaf", '<?xml version="1.0"?>\n<ANNOTATION_DOCUMENT>\n<HEADER>\n</ANNOTATION_DOCUMENT>\n', 4),
    ("bad.TextGrid", 'File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = oops\n', 5),
])
def test_bad_input_names_the_file_and_line(tmp_path, name, content, line):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as err:
        read_transcript(path)
    assert str(err.value).startswith(f"{path}:{line}:")


def test_bad_encoding_and_unknown_extension(tmp_path):
    path = tmp_path / "latin.srt"
    path.write_bytes(b"1\n00:00:01,000 --> 00:00:02,000\ncaf\xe9\n")
    with pytest.raises(ValueError, match=r"latin\.srt:3: not valid utf-8"):
        read_transcript(path)
    with pytest.raises(ValueError, match="unknown transcript format"):
        sniff_format(tmp_path / "x.txt")


def test_what_a_format_cannot_hold_is_refused(tmp_path):
    overlapping = [Segment(0, 2, "a", text="x"), Segment(1, 3, "a", text="y")]
    for ext in ("eaf", "TextGrid"):
        with pytest.raises(ValueError, match="overlapping"):
            write_transcript(tmp_path / f"o.{ext}", overlapping)
    with pytest.raises(ValueError, match="blank line"):
        write_transcript(tmp_path / "b.vtt", [Segment(0, 1, "a", text="para one\n\npara two")])
    with pytest.raises(ValueError, match="shorter than 1 ms"):
        write_transcript(tmp_path / "z.eaf", [Segment(1.0, 1.0, "a", text="point")])
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_textgrid_point_tiers(tmp_path):
    points = [Segment(1.5, 1.5, "events", label="click"), Segment(2.25, 2.25, "events", label="beep")]
    path = tmp_path / "p.TextGrid"
    write_transcript(path, points + [Segment(0, 3, "words", text="hello")])
    assert read_transcript(path) == _sorted(points + [Segment(0, 3, "words", text="hello")])
