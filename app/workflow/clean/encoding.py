"""Stage 1 — encoding repair.

Per text, in this order (each step is one rule, counted separately):

``encoding.surrogates``       surrogate code points (from ``surrogateescape``
                              decoding or broken JSON) are joined into real
                              characters when they pair up, else become U+FFFD
                              (lone surrogates cannot be written as UTF-8).
``encoding.terminal_escapes`` ANSI escape sequences (``ESC[31m``) removed.
``encoding.html_entities``    ``&amp;`` → ``&`` (off by default: code samples).
``encoding.mojibake``         ftfy repairs text that was decoded with the
                              wrong codec (``CafÃ©`` → ``Café``).
``encoding.line_breaks``      CRLF, CR, U+0085, U+2028, U+2029 → LF.
``encoding.control_chars``    C0/C1 control characters removed, ``\\n`` and
                              ``\\t`` kept; a leading BOM removed.
``encoding.nfc``              Unicode NFC normalisation (or NFKC if configured).

Speed: pure-ASCII text (the bulk of most corpora) cannot contain mojibake,
surrogates or non-NFC sequences, so it only gets three cheap regex checks.
ftfy (about 30 µs per 200 characters) runs only on lines that contain a
*mojibake signature* — a character that UTF-8 lead bytes turn into in
Windows-1252/Latin-1/Windows-1251 followed by one that a continuation byte
turns into (``Ã©``, ``â€™``, ``Ð¿``, ``Ñ‚``).  Other mojibake that ftfy
knows about (e.g. MacRoman, CP437) is only found with
``encoding.ftfy_prefilter: false``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

import ftfy

from .config import CleanConfig

__all__ = ["EncodingRepairer", "binary_ratio", "first_difference"]

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_ANSI_RE = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_ENTITY_RE = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,30}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_LINEBREAK_RE = re.compile("\r\n?|[\u0085\u2028\u2029]")
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BINARY_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ud800-\udfff\ue000-\uf8ff]")

# Continuation bytes 0x80–0xBF as decoded by Windows-1252 / Latin-1.
_CONT_1252 = "\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
# The same bytes as decoded by Windows-1251.
_CONT_1251 = "\u0402-\u040f\u0452-\u045f\u0490\u0491\u00a0-\u00bf\u2013-\u2022\u2026\u2030\u2039\u203a\u20ac\u2116\u2122"
_MOJIBAKE_HINT_RE = re.compile(
    rf"[\xc2-\xf4][{_CONT_1252}]|[\u0420\u0421\u0432\u0438][{_CONT_1251}]|\ufffd|[\x80-\x9f]"
)


def binary_ratio(text: str) -> float:
    """Share of characters that no real text is made of (controls, U+FFFD, surrogates, private use)."""
    if not text:
        return 0.0
    if text.isascii():
        if not _CONTROL_RE.search(text):
            return 0.0
    bad = len(text) - len(_BINARY_RE.sub("", text))
    return bad / len(text)


def first_difference(a: str, b: str) -> int:
    """Index of the first character where ``a`` and ``b`` differ (binary search, C speed)."""
    lo, hi = 0, min(len(a), len(b))
    if a[:hi] == b[:hi]:
        return hi
    while lo < hi:  # invariant: a[:lo] == b[:lo], a[:hi] != b[:hi]
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass
class EncodingResult:
    text: str  # the repaired text (the original if nothing was applied)
    counts: dict  # rule -> count of what was found (fixed or only flagged)


class EncodingRepairer:
    """Repairs one text at a time; build once per configuration."""

    def __init__(self, config: CleanConfig):
        self.act = {r: config.action(r) for r in (
            "encoding.surrogates", "encoding.terminal_escapes", "encoding.html_entities",
            "encoding.mojibake", "encoding.line_breaks", "encoding.control_chars", "encoding.nfc")}
        enc = config["encoding"]
        self.prefilter = bool(enc["ftfy_prefilter"])
        self.normalization = enc["normalization"]
        self.ftfy_config = ftfy.TextFixerConfig(
            unescape_html=False,
            remove_terminal_escapes=False,
            fix_encoding=True,
            restore_byte_a0=True,
            replace_lossy_sequences=True,
            decode_inconsistent_utf8=True,
            fix_c1_controls=True,
            fix_latin_ligatures=bool(enc["fix_latin_ligatures"]),
            fix_character_width=bool(enc["fix_character_width"]),
            uncurl_quotes=bool(enc["uncurl_quotes"]),
            fix_line_breaks=False,
            fix_surrogates=False,
            remove_control_chars=False,
            normalization=None,
            explain=True,
        )

    # Each step: returns (new_text, count).  The caller keeps or discards the
    # new text depending on the rule's action (fix vs flag).
    def _surrogates(self, t: str):
        n = len(_SURROGATE_RE.findall(t))
        if not n:
            return t, 0
        return t.encode("utf-16", "surrogatepass").decode("utf-16", "replace"), n

    def _terminal(self, t: str):
        if "\x1b" not in t:
            return t, 0
        new, n = _ANSI_RE.subn("", t)
        return new, n

    def _entities(self, t: str):
        if "&" not in t:
            return t, 0
        n = len(_ENTITY_RE.findall(t))
        if not n:
            return t, 0
        return html.unescape(t), n

    def _mojibake(self, t: str):
        if self.prefilter and not _MOJIBAKE_HINT_RE.search(t):
            return t, 0
        lines = t.splitlines(keepends=True) if "\n" in t else [t]
        n = 0
        out = []
        for line in lines:
            if line.isascii() or (self.prefilter and not _MOJIBAKE_HINT_RE.search(line)):
                out.append(line)
                continue
            fixed = ftfy.fix_and_explain(line, self.ftfy_config).text
            if fixed != line:
                n += 1
            out.append(fixed)
        return ("".join(out), n) if n else (t, 0)

    def _line_breaks(self, t: str):
        if "\r" not in t and t.isascii():
            return t, 0
        new, n = _LINEBREAK_RE.subn("\n", t)
        return new, n

    def _control(self, t: str):
        n = 0
        if t.startswith("\ufeff"):
            t = t[1:]
            n = 1
        if not _CONTROL_RE.search(t):
            return t, n
        new, k = _CONTROL_RE.subn("", t)
        return new, n + k

    def _nfc(self, t: str):
        if self.normalization is None or unicodedata.is_normalized(self.normalization, t):
            return t, 0
        return unicodedata.normalize(self.normalization, t), 1

    def repair(self, text: str) -> EncodingResult:
        counts: dict[str, int] = {}
        ascii_ = text.isascii()
        steps = (
            ("encoding.terminal_escapes", self._terminal),
            ("encoding.html_entities", self._entities),
            ("encoding.line_breaks", self._line_breaks),
            ("encoding.control_chars", self._control),
        ) if ascii_ else (
            ("encoding.surrogates", self._surrogates),
            ("encoding.terminal_escapes", self._terminal),
            ("encoding.html_entities", self._entities),
            ("encoding.mojibake", self._mojibake),
            ("encoding.line_breaks", self._line_breaks),
            ("encoding.control_chars", self._control),
            ("encoding.nfc", self._nfc),
        )
        if ascii_ and "\x1b" not in text and "&" not in text and "\r" not in text and not _CONTROL_RE.search(text):
            return EncodingResult(text, counts)
        cur = text
        for rule, fn in steps:
            action = self.act[rule]
            if action == "off":
                continue
            new, n = fn(cur)
            if n:
                counts[rule] = n
                if action == "fix":
                    cur = new
        # Surrogates are never allowed to leave this stage (they cannot be
        # encoded to UTF-8 and would break every writer downstream).
        if not ascii_ and _SURROGATE_RE.search(cur):
            cur = cur.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            counts.setdefault("encoding.surrogates", 1)
        return EncodingResult(cur, counts)
