"""Encoding repair: mojibake, control characters, NFC, surrogates, robustness."""

import unicodedata

import pytest

from labeldesk.app.workflow.clean.config import CleanConfig
from labeldesk.app.workflow.clean.encoding import EncodingRepairer, binary_ratio, first_difference


@pytest.fixture(scope="module")
def rep():
    return EncodingRepairer(CleanConfig.default())


@pytest.mark.parametrize(
    "broken, fixed",
    [
        ("CafÃ© au lait", "Café au lait"),
        ("naÃ¯ve rÃ©sumÃ©", "naïve résumé"),
        ("It doesnâ€™t work", "It doesn’t work"),
        ("â€œquotedâ€\x9d", "“quoted”"),
        ("Ãœber straÃŸe", "Über straße"),
        ("РџСЂРёРІРµС‚, РјРёСЂ", "Привет, мир"),  # UTF-8 read as Windows-1251
    ],
)
def test_mojibake_repaired(rep, broken, fixed):
    res = rep.repair(broken)
    assert res.text == fixed
    assert res.counts.get("encoding.mojibake", 0) >= 1


def test_mojibake_only_broken_line_is_touched(rep):
    text = "première ligne correcte\nCafÃ© cassÃ©"
    res = rep.repair(text)
    assert res.text == "première ligne correcte\nCafé cassé"
    assert res.counts["encoding.mojibake"] == 1


@pytest.mark.parametrize(
    "text",
    [
        "plain ascii text, nothing to do.",
        "naïve café — “curly quotes” stay curly",
        "Привет, мир! Ελληνικά. 日本語のテキスト。",
        "Emoji 👨‍👩‍👧 and ﬁ ligature stay",
        "",
    ],
)
def test_clean_text_is_left_alone(rep, text):
    res = rep.repair(text)
    assert res.text is text or res.text == text
    assert res.counts == {}


def test_control_chars_removed_newline_and_tab_kept(rep):
    res = rep.repair("a\x00b\x07c\n\td\x1b")
    assert res.text == "abc\n\td"
    assert res.counts == {"encoding.control_chars": 3}


def test_c1_controls_are_cp1252_mojibake_and_leading_bom_goes(rep):
    # C1 controls in text are Windows-1252 bytes decoded as Latin-1: ftfy maps them back
    res = rep.repair("\ufeffhello\x85 world\x99")
    assert res.text == "hello… world™"
    assert res.counts == {"encoding.mojibake": 1, "encoding.control_chars": 1}


def test_line_breaks(rep):
    res = rep.repair("one\r\ntwo\rthree\u2028four")
    assert res.text == "one\ntwo\nthree\nfour"
    assert res.counts["encoding.line_breaks"] == 3


def test_terminal_escapes(rep):
    res = rep.repair("\x1b[31mred\x1b[0m text")
    assert res.text == "red text"
    assert res.counts["encoding.terminal_escapes"] == 2


def test_nfc(rep):
    nfd = unicodedata.normalize("NFD", "crème brûlée")
    assert nfd != "crème brûlée"
    res = rep.repair(nfd)
    assert res.text == "crème brûlée"
    assert res.counts == {"encoding.nfc": 1}


def test_surrogates_joined_or_replaced(rep):
    res = rep.repair("smile \ud83d\ude00 lone \ud800 end")
    assert res.text == "smile 😀 lone \ufffd end"
    assert res.counts["encoding.surrogates"] == 3
    res.text.encode("utf-8")  # must be encodable


def test_flag_action_keeps_text():
    cfg = CleanConfig.from_dict({"actions": {"encoding.mojibake": "flag", "encoding.control_chars": "off"}})
    rep = EncodingRepairer(cfg)
    res = rep.repair("CafÃ©\x00")
    assert res.text == "CafÃ©\x00"
    assert res.counts == {"encoding.mojibake": 1}


def test_html_entities_off_by_default_and_on_request(rep):
    assert rep.repair("a &amp; b").text == "a &amp; b"
    on = EncodingRepairer(CleanConfig.from_dict({"actions": {"encoding.html_entities": "fix"}}))
    res = on.repair("a &amp; b &lt;tag&gt;")
    assert res.text == "a & b <tag>"
    assert res.counts["encoding.html_entities"] == 3


def test_prefilter_off_still_fixes():
    rep = EncodingRepairer(CleanConfig.from_dict({"encoding": {"ftfy_prefilter": False}}))
    assert rep.repair("CafÃ©").text == "Café"


def test_binary_ratio():
    assert binary_ratio("hello world") == 0.0
    assert binary_ratio("") == 0.0
    garbage = bytes(range(256)).decode("latin-1") * 4
    assert binary_ratio(garbage) > 0.2
    assert binary_ratio("\ufffd" * 10 + "abc") > 0.7


def test_first_difference():
    assert first_difference("abcdef", "abcxef") == 3
    assert first_difference("abc", "abc") == 3
    assert first_difference("abc", "abcd") == 3
    assert first_difference("", "x") == 0
