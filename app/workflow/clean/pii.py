"""Stage 3 — private data and secrets.

Detectors (rule ``pii.<type>``; placeholder in brackets):

``secret`` [SECRET]     known credential formats: AWS access key ids
                        (AKIA/ASIA/…), GitHub tokens (ghp_/gho_/ghu_/ghs_/ghr_,
                        github_pat_), OpenAI/Anthropic style ``sk-…``, Slack
                        ``xox?-``, Google ``AIza…``, Stripe ``sk_live_``/``rk_``,
                        JWTs, ``-----BEGIN … PRIVATE KEY-----`` blocks.
``secret_entropy`` [SECRET]  any other token of >= 20 characters of
                        ``[A-Za-z0-9+/=_-]`` that mixes letters and digits, has a
                        Shannon entropy >= ``pii.secrets.entropy_threshold``
                        bits/char (default 3.5) *and* is made of short case/digit
                        fragments, not words (see :meth:`PiiDetector.looks_random`).
                        Pure hex strings (git SHAs, checksums) and UUIDs are
                        skipped by default.
``url`` [URL]           URLs with ``user:password@`` or a query parameter
                        named like a credential (token, api_key, sig, …).
``email`` [EMAIL]
``iban`` [IBAN]         country code + check digits + BBAN, the country's
                        length, mod-97 == 1.  Bad checksums are not flagged.
``card`` [CARD]         13–19 digits (single spaces/dashes between groups,
                        consistently), Luhn-valid *and* a known issuer prefix
                        (Visa, Mastercard, Amex, Discover, JCB, Diners,
                        UnionPay, Maestro).  Luhn-failing order numbers and
                        ISBNs are not flagged; an unseparated 13-digit number
                        (usually an EAN-13 barcode) only after "card", "visa",
                        "credit", "debit", "payment".
``national_id`` [NATIONAL_ID]  US SSN (dashed, valid area/group/serial;
                        undashed only after "SSN"/"social security"), UK NINO,
                        Canadian SIN (Luhn, after "SIN"/"social insurance"),
                        Spanish DNI/NIE (check letter), French NIR (key
                        mod 97), Italian codice fiscale (pattern), Indian
                        Aadhaar (4-4-4 groups, Verhoeff check digit).
``phone`` [PHONE]       ``+<country code>`` international numbers (7–15
                        digits); national formats that need separators:
                        NANP ``(212) 555-0123`` / ``212-555-0123`` (area and
                        exchange codes 2–9), UK ``020 7946 0958`` /
                        ``07700 900123``, French ``01 23 45 67 89``, German
                        ``030 1234567`` / ``089/1234567``; and any 7–15 digit
                        number right after "tel", "phone", "call", "mobile",
                        "fax"….  Numbers right after "order", "invoice",
                        "ISBN", "ref", "#" … are not phones.  Dates
                        (``2024-01-15``, ``15.01.2024``, ``01/15/2024``) do not
                        match any format.
``ip`` [IP]             IPv4 with valid octets (no leading zeros), IPv6
                        validated by :mod:`ipaddress`.  **Version strings:** an
                        address directly after ``v``, ``version``, ``ver``,
                        ``release``, ``build``, ``rev`` (``version 1.2.3.4``,
                        ``v1.2.3.4``) is not an IP, nor one followed by another
                        ``.digit`` (``1.2.3.4.5``).  Loopback/unspecified
                        addresses (127.0.0.1, ::1, 0.0.0.0) are skipped by
                        default (``pii.ip.ignore_loopback``).
``presidio``            optional: when ``presidio_analyzer`` can be imported
                        and ``pii.presidio.enabled`` is ``auto``/``true``, its
                        entities from ``pii.presidio.entities`` are added
                        (placeholder ``[<ENTITY>]``, default action ``flag``).

Overlapping matches are resolved by the order above (a card number inside a
URL with credentials is part of the URL), then by length.  Every detector has
a cheap prefilter (``'@' in text``, a digit present, ``'://' in text`` …) so
plain prose costs a handful of C-level scans.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from dataclasses import dataclass
from typing import Callable, Iterable

from .checksums import IBAN_LENGTHS, iban_valid, luhn_valid, shannon_entropy, verhoeff_valid
from .config import CleanConfig

__all__ = ["Finding", "PiiDetector", "luhn_valid", "iban_valid", "shannon_entropy", "verhoeff_valid"]


@dataclass(frozen=True, slots=True)
class Finding:
    type: str  # email, phone, card, iban, ip, national_id, secret, secret_entropy, url, presidio
    start: int
    end: int
    value: str
    detail: str = ""  # sub-kind (e.g. "aws_access_key", "ssn", "ipv6", presidio entity)


# --------------------------------------------------------------------------- patterns

_NUM_CLUSTER_RE = re.compile(r"\d+(?:[ .\-/()]{1,3}\d+)*")

_EMAIL_RE = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)

_PRIVATE_KEY_RE = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=:\-\s]*)"
)
_SECRET_RES: list[tuple[str, re.Pattern]] = [
    ("aws_access_key", re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])")),
    ("github_token", re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])")),
    ("api_key_sk", re.compile(r"(?<![A-Za-z0-9_-])sk-(?:ant-|proj-|svcacct-|admin-|or-)?[A-Za-z0-9_-]{20,}")),
    ("slack_token", re.compile(r"(?<![A-Za-z0-9_-])xox[abposre]-[A-Za-z0-9-]{10,}")),
    ("google_api_key", re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])")),
    ("stripe_key", re.compile(r"(?<![A-Za-z0-9_])(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}")),
    ("jwt", re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
]
_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{20,}(?![A-Za-z0-9+/=_-])")
_SEGMENT_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_HEX_RE = re.compile(r"(?:0x)?[0-9a-fA-F]+")
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

_URL_RE = re.compile(
    r"(?<![\w.+-])(?:https?|ftps?|sftp|wss?|ssh|git|s3|postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|jdbc:[a-z]+)://[^\s<>\"'`]+",
    re.IGNORECASE,
)
_URL_CRED_RE = re.compile(r"^[a-z0-9+:.-]+://[^/\s@?#]*:[^/\s@?#]+@", re.IGNORECASE)

_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![a-z0-9])")
_IBAN_HINT_RE = re.compile(r"[A-Z]{2}\d{2}")

_CARD_RE = re.compile(r"(?<![\w.+/-])\d(?:[ -]?\d){12,18}(?![\w/]|[.,-]\d)")
_CARD_PREFIX_RE = re.compile(
    r"4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|6(?:011|5|4[4-9]|2)|35(?:2[89]|[3-8]\d)|3(?:0[0-5]|[689])|5[06-8]|6\d"
)
_CARD_CTX_RE = re.compile(r"card|visa|credit|debit|\bcc\b|payment", re.IGNORECASE)
_ISBN_CONTEXT_RE = re.compile(r"isbn(?:-1[03])?[\s:#]*$", re.IGNORECASE)

# between a context word and its number: "SSN: ", "number is ", "no. #"
_CTX_GAP = r"[\s:#=.-]{0,3}(?:(?:is|was|of)[\s:#]{1,3})?"
_SSN_RE = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])")
_SSN_CTX_RE = re.compile(
    r"\b(?:ssn|social security(?: number| no\.?)?)" + _CTX_GAP + r"((?!000|666|9\d\d)\d{3}[ ]?(?!00)\d{2}[ ]?(?!0000)\d{4})(?!\d)",
    re.IGNORECASE,
)
_NINO_RE = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"
)
_SIN_CTX_RE = re.compile(
    r"(?:\bsin\b|\bsocial insurance(?: number| no\.?)?)" + _CTX_GAP + r"([1-79]\d{2}[ -]?\d{3}[ -]?\d{3})(?!\d)", re.IGNORECASE
)
_DNI_RE = re.compile(r"(?<![A-Za-z0-9])([XYZ]?)(\d{7,8})-?([A-Z])(?![A-Za-z0-9])")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_NIR_RE = re.compile(
    r"(?<![\w])([12]) ?(\d{2}) ?(0[1-9]|1[0-2]|[2-9]\d) ?(\d{2}|2[AB]) ?(\d{3}) ?(\d{3}) ?(\d{2})(?![\w])"
)
_CF_HINT_RE = re.compile(r"[A-Z]{6}\d\d")
_NINO_HINT_RE = re.compile(r"[A-Z]{2} ?\d\d")
_CF_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{6}\d{2}[ABCDEHLMPRST]\d{2}[A-Z]\d{3}[A-Z](?![A-Za-z0-9])")
_AADHAAR_RE = re.compile(r"(?<![\w-])([2-9]\d{3})[ -](\d{4})[ -](\d{4})(?![\w-])")

_PHONE_INTL_RE = re.compile(r"(?<![\w+])\+[1-9](?:[ .\-/]?(?:\(\d{1,4}\)|\d)){6,16}(?![\w])")
_PHONE_NATIONAL_RES: list[tuple[str, re.Pattern]] = [
    ("nanp", re.compile(r"(?<![\w.+/-])(?<!\d[ ./-])(?:1[ .-])?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}([ .-]))[2-9]\d{2}(?(1)\1|[ .-])\d{4}(?![\w]|[.-]\d)")),
    ("uk", re.compile(r"(?<![\w.+/-])(?<!\d[ ./-])0(?:\d{2} \d{4} \d{4}|\d{3} \d{3} \d{4}|\d{4} \d{6}|\d{4} \d{3} \d{3}|7\d{3} \d{3} ?\d{3})(?![\w]|[.-]\d)")),
    ("fr", re.compile(r"(?<![\w.+/-])(?<!\d[ ./-])0[1-9]([ .-])\d{2}(?:\1\d{2}){3}(?![\w]|[.-]\d)")),
    ("de", re.compile(r"(?<![\w.+/-])(?<!\d[ ./-])\(?0[1-9]\d{1,4}\)?(?: |/|-)\d{3,4}[ -]?\d{2,5}(?![\w]|[.-]\d)")),
]
_PHONE_CTX_RE = re.compile(
    r"(?:\b(?:tel|tél|phone|telephone|call|mobile|cell|fax|whatsapp|ph|mob)\b\.?|☎|📞)\s*[:.#-]?\s*(\+?\(?\d[\d ()./-]{5,20}\d)",
    re.IGNORECASE,
)
_NOT_PHONE_CTX_RE = re.compile(
    r"(?:\b(?:order|invoice|isbn|issn|ref|reference|tracking|serial|sku|account|acct|id|ticket|case|po|part|model|batch|lot)"
    r"(?:\s+(?:no|nr|num|number|id|code))?\.?|#)\s*[:.#-]?\s*$",
    re.IGNORECASE,
)
_DATE_RE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")

_IPV4_RE = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)"
)
_IPV6_RE = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])")
_VERSION_CTX_RE = re.compile(r"(?:\bv|\bver|\bversion|\brelease|\bbuild|\brev|\brevision)\.?\s*[:#]?\s*$", re.IGNORECASE)


class PiiDetector:
    """Finds PII in a text and applies the configured actions.

    ``find(text)`` returns non-overlapping :class:`Finding` objects sorted by
    position; ``redact(text, findings)`` replaces the ones whose rule action
    is ``redact`` by their placeholder.
    """

    ORDER = ("secret", "url", "email", "iban", "card", "national_id", "phone", "ip", "secret_entropy", "presidio")

    def __init__(self, config: CleanConfig):
        p = config["pii"]
        self.actions = {t: config.action(f"pii.{t}") for t in self.ORDER}
        self.placeholders = dict(p["placeholders"])
        self.min_digits = int(p["phone"]["min_digits"])
        self.max_digits = int(p["phone"]["max_digits"])
        self.ignore_loopback = bool(p["ip"]["ignore_loopback"])
        self.version_ctx = bool(p["ip"]["exclude_version_context"])
        self.countries = set(p["national_id"]["countries"])
        s = p["secrets"]
        self.entropy_min_len = int(s["entropy_min_length"])
        self.entropy_threshold = float(s["entropy_threshold"])
        self.entropy_skip_hex = bool(s["entropy_skip_hex"])
        self.entropy_max_seg = float(s["entropy_max_mean_segment"])
        self.url_params = {x.lower() for x in p["url_token_params"]}
        tok_len = min(20, self.entropy_min_len)
        self._token_re = (
            _TOKEN_RE if tok_len == 20
            else re.compile(rf"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{{{tok_len},}}(?![A-Za-z0-9+/=_-])")
        )
        self._need_tokens = self.actions["secret"] != "off" or self.actions["secret_entropy"] != "off"
        self._presidio = None
        pres = p["presidio"]
        if self.actions["presidio"] != "off" and pres["enabled"] in (True, "auto"):
            self._presidio = _load_presidio(pres)
        self._rank = {t: i for i, t in enumerate(self.ORDER)}
        self._detectors: list[tuple[str, Callable[[str, list], None]]] = [
            (t, getattr(self, f"_find_{t}")) for t in self.ORDER if self.actions[t] != "off" and t != "presidio"
        ]

    @property
    def presidio_active(self) -> bool:
        return self._presidio is not None

    # -- detectors (each appends to ``out``) --------------------------------
    def _find_secret(self, text: str, out: list, maxd: int, tokens: list) -> None:
        if "-----BEGIN" in text:
            for m in _PRIVATE_KEY_RE.finditer(text):
                out.append(Finding("secret", m.start(), m.end(), m.group(), "private_key"))
        if not tokens:  # every known format is a run of >= 20 token characters
            return
        for kind, rx in _SECRET_RES:
            for m in rx.finditer(text):
                out.append(Finding("secret", m.start(), m.end(), m.group(), kind))

    def _find_secret_entropy(self, text: str, out: list, maxd: int, tokens: list) -> None:
        if maxd == 0:  # a token must mix letters and digits
            return
        for m in tokens:
            tok = m.group()
            if self.looks_random(tok):
                out.append(Finding("secret_entropy", m.start(), m.end(), tok, "entropy"))

    def looks_random(self, tok: str) -> bool:
        """A token of >= ``entropy_min_length`` characters that looks machine-generated.

        Short strings have an entropy close to log2(number of distinct
        characters), so entropy alone cannot tell ``myVariableName12345`` from
        ``aZ3kQ9xP…``.  Two tests must both pass:

        * Shannon entropy >= ``pii.secrets.entropy_threshold`` bits/char;
        * the token, cut into case/digit "segments" (``Variable``, ``12345``,
          ``RSA``) after splitting on ``-_/+=``, has a mean segment length <=
          ``pii.secrets.entropy_max_mean_segment`` (3.0): identifiers and
          product names are made of words, random strings of 1–3 character
          fragments.
        """
        if len(tok) < self.entropy_min_len or not _has_letter_and_digit(tok):
            return False
        if self.entropy_skip_hex and (_HEX_RE.fullmatch(tok) or _UUID_RE.fullmatch(tok)):
            return False
        segs = _SEGMENT_RE.findall(tok)
        if not segs or sum(map(len, segs)) / len(segs) > self.entropy_max_seg:
            return False
        return shannon_entropy(tok) >= self.entropy_threshold

    def _find_url(self, text: str, out: list, maxd: int, tokens: list) -> None:
        if "://" not in text:
            return
        for m in _URL_RE.finditer(text):
            url = m.group().rstrip(".,;:!?)]}>'\"")
            end = m.start() + len(url)
            if _URL_CRED_RE.match(url):
                out.append(Finding("url", m.start(), end, url, "credentials"))
                continue
            q = url.find("?")
            if q < 0:
                continue
            query = url[q + 1:].split("#", 1)[0]
            for pair in query.split("&"):
                name, eq, value = pair.partition("=")
                if eq and value and name.lower() in self.url_params:
                    out.append(Finding("url", m.start(), end, url, f"param:{name.lower()}"))
                    break

    def _find_email(self, text: str, out: list, maxd: int, tokens: list) -> None:
        if "@" not in text:
            return
        for m in _EMAIL_RE.finditer(text):
            out.append(Finding("email", m.start(), m.end(), m.group()))

    def _find_iban(self, text: str, out: list, maxd: int, tokens: list) -> None:
        if maxd < 2 or not _IBAN_HINT_RE.search(text):
            return
        for m in _IBAN_RE.finditer(text):
            cand = m.group()
            compact = cand.replace(" ", "")
            length = IBAN_LENGTHS.get(compact[:2])
            if not length or len(compact) < length:
                continue
            # the match may have swallowed a following upper-case word: cut it
            # at the country's length
            compact = compact[:length]
            if not iban_valid(compact):
                continue
            taken, end = 0, m.start()
            while taken < length:
                if text[end] != " ":
                    taken += 1
                end += 1
            out.append(Finding("iban", m.start(), end, text[m.start():end]))

    def _find_card(self, text: str, out: list, maxd: int, tokens: list) -> None:
        if maxd < 13:
            return
        for m in _CARD_RE.finditer(text):
            raw = m.group()
            digits = raw.replace(" ", "").replace("-", "")
            if not 13 <= len(digits) <= 19:
                continue
            seps = {c for c in raw if c in " -"}
            if len(seps) > 1:
                continue
            if seps:
                groups = re.split(r"[ -]", raw)
                if any(len(g) < 3 for g in groups):  # card groups are 4-4-4-4 / 4-6-5 / 4-4-4-4-3
                    continue
            if not _CARD_PREFIX_RE.match(digits) or not luhn_valid(digits):
                continue
            if _ISBN_CONTEXT_RE.search(text, max(0, m.start() - 12), m.start()):
                continue
            if len(digits) == 13 and not seps and not _CARD_CTX_RE.search(text, max(0, m.start() - 30), m.start()):
                continue  # an unseparated 13-digit number is far more often an EAN-13 barcode
            out.append(Finding("card", m.start(), m.end(), raw))

    def _find_national_id(self, text: str, out: list, maxd: int, tokens: list) -> None:
        c = self.countries
        if "it" in c and maxd >= 2 and _CF_HINT_RE.search(text):
            for m in _CF_RE.finditer(text):
                out.append(Finding("national_id", m.start(), m.end(), m.group(), "it_cf"))
        if "uk" in c and maxd >= 2 and _NINO_HINT_RE.search(text):
            for m in _NINO_RE.finditer(text):
                out.append(Finding("national_id", m.start(), m.end(), m.group(), "uk_nino"))
        if maxd < 7:
            return
        if "us" in c and "-" in text:
            for m in _SSN_RE.finditer(text):
                out.append(Finding("national_id", m.start(), m.end(), m.group(), "us_ssn"))
        if "us" in c:
            for m in _SSN_CTX_RE.finditer(text):
                out.append(Finding("national_id", m.start(1), m.end(1), m.group(1), "us_ssn"))
        if "ca" in c:
            for m in _SIN_CTX_RE.finditer(text):
                digits = re.sub(r"\D", "", m.group(1))
                if luhn_valid(digits):
                    out.append(Finding("national_id", m.start(1), m.end(1), m.group(1), "ca_sin"))
        if "es" in c:
            for m in _DNI_RE.finditer(text):
                prefix, num, letter = m.groups()
                if prefix:
                    if len(num) != 7:
                        continue
                    num = str("XYZ".index(prefix)) + num
                elif len(num) != 8:
                    continue
                if _DNI_LETTERS[int(num) % 23] == letter:
                    out.append(Finding("national_id", m.start(), m.end(), m.group(), "es_dni"))
        if "fr" in c:
            for m in _NIR_RE.finditer(text):
                g = m.groups()
                body = "".join(g[:6])
                dept = g[3]
                if dept == "2A":
                    body = body.replace("2A", "19", 1)
                    n = int(body) - 1000000
                elif dept == "2B":
                    body = body.replace("2B", "18", 1)
                    n = int(body) - 2000000
                else:
                    n = int(body)
                if 97 - (n % 97) == int(g[6]):
                    out.append(Finding("national_id", m.start(), m.end(), m.group(), "fr_nir"))
        if "in" in c:
            for m in _AADHAAR_RE.finditer(text):
                if verhoeff_valid("".join(m.groups())):
                    out.append(Finding("national_id", m.start(), m.end(), m.group(), "in_aadhaar"))

    def _phone_ok(self, text: str, start: int, value: str) -> bool:
        nd = sum(ch.isdigit() for ch in value)
        if not self.min_digits <= nd <= self.max_digits:
            return False
        if _NOT_PHONE_CTX_RE.search(text, max(0, start - 24), start):
            return False
        if _DATE_RE.search(value):
            return False
        return True

    def _find_phone(self, text: str, out: list, maxd: int, tokens: list) -> None:
        if maxd < self.min_digits:
            return
        if "+" in text:
            for m in _PHONE_INTL_RE.finditer(text):
                if self._phone_ok(text, m.start(), m.group()):
                    out.append(Finding("phone", m.start(), m.end(), m.group(), "international"))
        for kind, rx in _PHONE_NATIONAL_RES:
            for m in rx.finditer(text):
                if self._phone_ok(text, m.start(), m.group()):
                    out.append(Finding("phone", m.start(), m.end(), m.group(), kind))
        for m in _PHONE_CTX_RE.finditer(text):
            val = m.group(1)
            if self._phone_ok(text, m.start(1), val):
                out.append(Finding("phone", m.start(1), m.end(1), val, "context"))

    def _find_ip(self, text: str, out: list, maxd: int, tokens: list) -> None:
        if maxd >= 4 and "." in text:
            for m in _IPV4_RE.finditer(text):
                if self.version_ctx and _VERSION_CTX_RE.search(text, max(0, m.start() - 12), m.start()):
                    continue
                if self.ignore_loopback and (m.group().startswith("127.") or m.group() == "0.0.0.0"):
                    continue
                out.append(Finding("ip", m.start(), m.end(), m.group(), "ipv4"))
        if text.count(":") >= 2:
            for m in _IPV6_RE.finditer(text):
                cand = m.group()
                if cand.count(":") < 2 or sum(1 for g in cand.split(":") if g) < 2:
                    continue
                try:
                    addr = ipaddress.IPv6Address(cand)
                except ValueError:
                    continue
                if self.ignore_loopback and (addr.is_loopback or addr.is_unspecified):
                    continue
                out.append(Finding("ip", m.start(), m.end(), cand, "ipv6"))

    def _find_presidio(self, text: str, out: list) -> None:
        if self._presidio is None:
            return
        analyzer, entities, threshold, language = self._presidio
        try:
            results = analyzer.analyze(text=text, entities=entities, language=language)
        except Exception:  # an optional helper must never break a run
            return
        for r in results:
            if r.score >= threshold:
                out.append(Finding("presidio", r.start, r.end, text[r.start:r.end], r.entity_type))

    # -- public API ------------------------------------------------------------
    def find(self, text: str) -> list[Finding]:
        """Non-overlapping findings in ``text``, by position."""
        if not text:
            return []
        found: list[Finding] = []
        maxd = _max_digit_cluster(text) if any(d in text for d in "0123456789") else 0
        tokens = list(self._token_re.finditer(text)) if self._need_tokens else []
        for _t, fn in self._detectors:
            fn(text, found, maxd, tokens)
        if self._presidio is not None:
            self._find_presidio(text, found)
        if not found:
            return found
        return _resolve(found, self._rank)

    def placeholder(self, f: Finding) -> str:
        ph = self.placeholders.get(f.type, f"[{f.type.upper()}]")
        if "{entity}" in ph:
            ph = ph.replace("{entity}", f.detail or "PII")
        return ph

    def redact(self, text: str, findings: Iterable[Finding]) -> str:
        """``text`` with every finding whose action is ``redact`` replaced."""
        parts: list[str] = []
        pos = 0
        for f in findings:
            if self.actions.get(f.type) != "redact":
                continue
            parts.append(text[pos:f.start])
            parts.append(self.placeholder(f))
            pos = f.end
        if not parts:
            return text
        parts.append(text[pos:])
        return "".join(parts)


def _max_digit_cluster(text: str) -> int:
    """Most digits in one run of digits joined by short separators (``+44 (0)20 7946-0958`` → 13)."""
    best = 0
    for m in _NUM_CLUSTER_RE.finditer(text):
        g = m.group()
        n = len(g) if g.isdigit() else sum(1 for ch in g if ch.isdigit())
        if n > best:
            best = n
    return best


def _has_letter_and_digit(tok: str) -> bool:
    has_d = has_a = False
    for ch in tok:
        if ch.isdigit():
            has_d = True
        elif ch.isalpha():
            has_a = True
        if has_d and has_a:
            return True
    return False


def _resolve(found: list[Finding], rank: dict[str, int]) -> list[Finding]:
    """Keep non-overlapping findings: detector order first, then longer first."""
    if len(found) == 1:
        return found
    found.sort(key=lambda f: (rank[f.type], -(f.end - f.start), f.start))
    starts: list[int] = []  # kept intervals, sorted by start (non-overlapping)
    kept: list[Finding] = []
    for f in found:
        i = bisect.bisect_right(starts, f.start)
        if i > 0 and kept[i - 1].end > f.start:
            continue
        if i < len(kept) and kept[i].start < f.end:
            continue
        starts.insert(i, f.start)
        kept.insert(i, f)
    return kept


_PRESIDIO_CACHE: dict = {}


def _load_presidio(cfg: dict):
    """An AnalyzerEngine when presidio_analyzer imports, else None (silently)."""
    key = (tuple(cfg["entities"]), cfg["score_threshold"], cfg["language"])
    if key in _PRESIDIO_CACHE:
        return _PRESIDIO_CACHE[key]
    engine = None
    try:
        from presidio_analyzer import AnalyzerEngine  # type: ignore

        engine = (AnalyzerEngine(), list(cfg["entities"]), float(cfg["score_threshold"]), cfg["language"])
    except Exception:
        engine = None
    _PRESIDIO_CACHE[key] = engine
    return engine
