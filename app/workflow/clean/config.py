"""Configuration of the cleaning pipeline.

The defaults live here, in code (``DEFAULTS``), so the library works without
any resource file; ``resources/clean/default.yaml`` is the same configuration
written out with comments for people to copy and edit (a test keeps the two
equal).  A user configuration is *merged over* the defaults: give only what
you change (mappings are merged key by key; a list — ``fields``, injection
``markers``… — replaces the default list as a whole).  Unknown keys are
errors (a typo must not silently do nothing).

Every rule the pipeline can report has a name (``pii.email``,
``duplicate.near``, ``filter.injection`` …) and one *action*, set in the flat
``actions`` table:

``remove``  the item is dropped (decision ``remove``)
``review``  the item goes to the review queue (decision ``review``)
``flag``    recorded in provenance and the report only (decision ``keep``)
``redact``  PII rules: the match is replaced by a typed placeholder
``fix``     encoding rules: the text is repaired
``strip``   ``filter.hidden_text``: the hidden characters are deleted
``off``     the rule is not evaluated

The decision of an item is the strongest action of its entries:
``remove`` > ``review`` > everything else (``keep``).
"""

from __future__ import annotations

import importlib.util

import copy
import os
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Mapping

__all__ = ["CleanConfig", "ConfigError", "CleanCancelled", "RULES", "DEFAULTS", "default_config_path"]


class ConfigError(ValueError):
    """The cleaning configuration is invalid."""


class CleanCancelled(Exception):
    """The run was cancelled (``cancel()`` returned true); nothing was produced."""


# rule name -> (default action, allowed actions, description)
_DECIDE = ("remove", "review", "flag", "off")
RULES: dict[str, tuple[str, tuple[str, ...], str]] = {
    # input robustness
    "input.invalid": ("remove", _DECIDE, "item is not a mapping / has no usable structure"),
    "input.empty": ("remove", _DECIDE, "item has no text at all (every message/response empty)"),
    "input.binary": ("remove", _DECIDE, "text is mostly control/replacement characters (binary garbage)"),
    "input.replacement_char": ("flag", _DECIDE, "text contains U+FFFD (bytes that could not be decoded)"),
    "input.bytes_decoded": ("flag", _DECIDE, "a content was bytes and was decoded as UTF-8"),
    "input.unsupported_content": ("flag", _DECIDE, "a content is not text (list/number/…) and was left alone"),
    "input.missing_id": ("flag", _DECIDE, "item has no id"),
    "input.error": ("review", _DECIDE, "an unexpected error while cleaning this item (item left unchanged)"),
    "spans.remapped": ("flag", _DECIDE, "span offsets moved to follow a change of their text"),
    "spans.dropped": ("review", _DECIDE, "a span could not follow a change of its text (inside removed text / text too large)"),
    # encoding
    "encoding.mojibake": ("fix", ("fix", "flag", "off"), "mis-decoded text repaired by ftfy"),
    "encoding.html_entities": ("off", ("fix", "flag", "off"), "HTML entities unescaped (off: code samples keep &amp;)"),
    "encoding.terminal_escapes": ("fix", ("fix", "flag", "off"), "ANSI terminal escape sequences removed"),
    "encoding.surrogates": ("fix", ("fix", "flag", "off"), "surrogate code points joined or replaced by U+FFFD"),
    "encoding.line_breaks": ("fix", ("fix", "flag", "off"), "CRLF / CR / U+2028 line breaks made LF"),
    "encoding.control_chars": ("fix", ("fix", "flag", "off"), "control characters removed (\\n and \\t kept)"),
    "encoding.nfc": ("fix", ("fix", "flag", "off"), "Unicode NFC normalisation"),
    # duplicates
    "duplicate.exact": ("remove", _DECIDE, "same normalised text as an earlier item"),
    "duplicate.near": ("remove", _DECIDE, "shingle Jaccard >= threshold with an earlier kept item"),
    "duplicate.reference": ("remove", _DECIDE, "exact or near duplicate of a reference text (e.g. an evaluation set)"),
    # pii
    "pii.email": ("redact", ("redact",) + _DECIDE, "e-mail address"),
    "pii.phone": ("redact", ("redact",) + _DECIDE, "phone number"),
    "pii.card": ("redact", ("redact",) + _DECIDE, "payment card number (Luhn + issuer prefix)"),
    "pii.iban": ("redact", ("redact",) + _DECIDE, "IBAN (length + mod-97)"),
    "pii.ip": ("redact", ("redact",) + _DECIDE, "IPv4 / IPv6 address"),
    "pii.national_id": ("redact", ("redact",) + _DECIDE, "national identifier (SSN, NINO, SIN, DNI, NIR, CF, Aadhaar)"),
    "pii.secret": ("redact", ("redact",) + _DECIDE, "API key / token / private key with a known format"),
    "pii.secret_entropy": ("redact", ("redact",) + _DECIDE, "high-entropy token that looks like a secret"),
    "pii.url": ("redact", ("redact",) + _DECIDE, "URL with credentials or a token query parameter"),
    "pii.presidio": ("flag", ("redact",) + _DECIDE, "entity found by Microsoft Presidio (when installed)"),
    # filters
    "filter.length_min": ("review", _DECIDE, "item text shorter than filters.length.min_chars"),
    "filter.length_max": ("review", _DECIDE, "item text longer than filters.length.max_chars"),
    "filter.repetition": ("review", _DECIDE, "repeated word n-grams / long character runs"),
    "filter.injection": ("review", _DECIDE, "prompt-injection / jailbreak marker or chat-template token"),
    "filter.hidden_text": ("review", ("strip",) + _DECIDE, "zero-width, bidi-override or tag characters"),
    # label consistency
    "label.safe_with_pii": ("review", _DECIDE, "safety.verdict is 'safe' but the item contains PII"),
    "label.safe_with_injection": ("review", _DECIDE, "safety.verdict is 'safe' but the item contains an injection marker"),
    "label.safety_behavior_mismatch": ("review", _DECIDE, "verdict and expected_behavior contradict (safe+refuse, unsafe+comply)"),
    "label.refusal_mismatch": ("review", _DECIDE, "expected_behavior is 'comply' but the (chosen) response is a refusal"),
    "label.preference_invalid": ("review", _DECIDE, "ranking names unknown responses / fewer than 2 responses"),
    "label.preference_empty_chosen": ("review", _DECIDE, "the chosen (rank 1) response is empty"),
    "label.preference_identical": ("review", _DECIDE, "the chosen response equals a rejected one"),
}

DEFAULT_INJECTION_MARKERS = [
    r"\b(?:ignore|disregard|forget|skip|override)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+)*(?:previous|prior|above|earlier|preceding|former|original|initial)\s+(?:instructions?|prompts?|directions?|rules|guidelines|messages?|context)",
    r"\b(?:disregard|ignore|forget)\s+(?:the\s+|your\s+)?system\s+(?:prompt|message|instructions?)",
    r"\byou\s+are\s+(?:now\s+)?(?:DAN|in\s+developer\s+mode|jailbroken|unfiltered|unrestricted)\b",
    r"\bdo\s+anything\s+now\b",
    r"\b(?:DAN|developer|god)\s+mode\s+(?:enabled|activated|on)\b",
    r"\b(?:reveal|print|show|repeat|output|leak)\s+(?:me\s+)?(?:your|the)\s+(?:system\s+prompt|hidden\s+instructions|initial\s+instructions|instructions\s+above)",
    r"\bnew\s+instructions\s*:",
    r"\bpretend\s+(?:that\s+)?(?:you\s+are|to\s+be)\s+(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|evil)\b",
    r"\b(?:bypass|override|disable)\s+(?:your|all|the)\s+(?:safety|content)\s+(?:guidelines|filters?|polic(?:y|ies)|restrictions)",
    r"<\|(?:im_start|im_end|endoftext|system|user|assistant|eot_id|start_header_id|end_header_id|begin_of_text)\|>",
    r"\[/?INST\]|<</?SYS>>",
]

DEFAULT_REFUSAL_MARKERS = [
    r"^\W*(?:I['’]?m\s+sorry|I\s+am\s+sorry|sorry)[,.!]?\s+(?:but\s+)?I\s+(?:can(?:['’]|no)?t|cannot|won['’]?t|am\s+(?:not\s+able|unable))",
    r"^\W*I\s+(?:can(?:['’]|no)?t|cannot|won['’]?t|am\s+(?:not\s+able|unable)\s+to)\s+(?:help|assist|comply|provide|do\s+that|fulfil)",
    r"^\W*As\s+an\s+AI(?:\s+language\s+model)?,\s+I\s+(?:can(?:['’]|no)?t|cannot|am\s+not\s+able)",
]

DEFAULTS: dict[str, Any] = {
    "version": 1,
    "run": {
        "workers": "auto",
        "chunk_size": 2000,
        "parallel_min_items": 20000,
    },
    "fields": ["messages", "responses"],
    "actions": {name: spec[0] for name, spec in RULES.items()},
    "input": {
        "binary_threshold": 0.10,
        "binary_min_chars": 16,
    },
    "encoding": {
        "ftfy_prefilter": True,
        "fix_latin_ligatures": False,
        "fix_character_width": False,
        "uncurl_quotes": False,
        "normalization": "NFC",
    },
    "pii": {
        "placeholders": {
            "email": "[EMAIL]",
            "phone": "[PHONE]",
            "card": "[CARD]",
            "iban": "[IBAN]",
            "ip": "[IP]",
            "national_id": "[NATIONAL_ID]",
            "secret": "[SECRET]",
            "secret_entropy": "[SECRET]",
            "url": "[URL]",
            "presidio": "[{entity}]",
        },
        "phone": {"min_digits": 7, "max_digits": 15},
        "ip": {"ignore_loopback": True, "exclude_version_context": True},
        "national_id": {"countries": ["us", "uk", "ca", "es", "fr", "it", "in"]},
        "secrets": {
            "entropy_min_length": 20,
            "entropy_threshold": 3.5,
            "entropy_max_mean_segment": 3.0,
            "entropy_skip_hex": True,
        },
        "url_token_params": [
            "token", "access_token", "refresh_token", "id_token", "auth", "auth_token",
            "api_key", "apikey", "key", "secret", "client_secret", "password", "passwd",
            "pwd", "sig", "signature", "x-amz-signature", "x-amz-credential",
            "x-amz-security-token", "sessionid", "session_id", "sid", "code",
        ],
        "presidio": {
            "enabled": "auto",
            "entities": ["PERSON", "LOCATION", "US_DRIVER_LICENSE", "US_PASSPORT", "MEDICAL_LICENSE"],
            "score_threshold": 0.7,
            "language": "en",
        },
    },
    "duplicates": {
        "key": "all",
        "keep": "first",
        "threshold": 0.8,
        "shingle_size": 2,
        "num_perm": 64,
        "bands": None,
        "rows": None,
        "min_candidate_probability": 0.985,
        "lsh": "numpy",
        "max_leaders_per_bucket": 64,
        "seed": 1,
    },
    "filters": {
        "length": {"min_chars": 2, "max_chars": 200000},
        "repetition": {"ngram": 3, "min_ngrams": 12, "max_ratio": 0.35, "max_char_run": 200},
        "injection": {"exempt_safety_labeled": True, "markers": DEFAULT_INJECTION_MARKERS},
        "refusal_markers": DEFAULT_REFUSAL_MARKERS,
    },
    "report": {
        "max_examples": 5,
        "snippet_chars": 60,
        "show_pii": False,
    },
}


def default_config_path() -> Traversable:
    """``resources/clean/default.yaml`` wherever the package is installed (a file on disk in practice)."""
    return resources.files("labeldesk.resources").joinpath("clean", "default.yaml")


def _merge(base: dict, over: Mapping, path: str) -> dict:
    out = dict(base)
    for key, value in over.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in base:
            raise ConfigError(f"unknown configuration key: {where}")
        if isinstance(base[key], dict) and key != "actions" and key != "placeholders":
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where} must be a mapping")
            out[key] = _merge(base[key], value, where)
        elif key in ("actions", "placeholders"):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where} must be a mapping")
            merged = dict(base[key])
            for k, v in value.items():
                if k not in base[key]:
                    raise ConfigError(f"unknown {key[:-1]} name: {where}.{k}")
                if key == "actions" and v is False:
                    v = "off"  # YAML 1.1 reads a bare `off` as false
                merged[k] = v
            out[key] = merged
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_number(d: Mapping, key: str, where: str, lo: float | None = None, hi: float | None = None, integer: bool = False):
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
        raise ConfigError(f"{where}.{key} must be a{'n integer' if integer else ' number'}, got {v!r}")
    if lo is not None and v < lo:
        raise ConfigError(f"{where}.{key} must be >= {lo}, got {v!r}")
    if hi is not None and v > hi:
        raise ConfigError(f"{where}.{key} must be <= {hi}, got {v!r}")


def _validate(d: dict) -> None:
    for rule, action in d["actions"].items():
        allowed = RULES[rule][1]
        if action not in allowed:
            raise ConfigError(f"actions.{rule}: {action!r} is not one of {', '.join(allowed)}")
    run = d["run"]
    if run["workers"] != "auto":
        _check_number(run, "workers", "run", 1, 256, integer=True)
    _check_number(run, "chunk_size", "run", 1, 10_000_000, integer=True)
    _check_number(run, "parallel_min_items", "run", 0, integer=True)
    if not isinstance(d["fields"], list) or not d["fields"] or any(f not in ("messages", "responses") for f in d["fields"]):
        raise ConfigError("fields must be a non-empty list of 'messages' / 'responses'")
    _check_number(d["input"], "binary_threshold", "input", 0.0, 1.0)
    _check_number(d["input"], "binary_min_chars", "input", 0, integer=True)
    if d["encoding"]["normalization"] not in ("NFC", "NFKC", None):
        raise ConfigError("encoding.normalization must be NFC, NFKC or null")
    dup = d["duplicates"]
    _check_number(dup, "threshold", "duplicates", 0.0, 1.0)
    _check_number(dup, "shingle_size", "duplicates", 1, 32, integer=True)
    _check_number(dup, "num_perm", "duplicates", 4, 1024, integer=True)
    _check_number(dup, "min_candidate_probability", "duplicates", 0.0, 1.0)
    _check_number(dup, "max_leaders_per_bucket", "duplicates", 1, integer=True)
    _check_number(dup, "seed", "duplicates", 0, integer=True)
    if dup["key"] not in ("all", "prompt"):
        raise ConfigError("duplicates.key must be 'all' or 'prompt'")
    if dup["keep"] not in ("first", "id"):
        raise ConfigError("duplicates.keep must be 'first' or 'id'")
    if dup["lsh"] not in ("numpy", "datasketch"):
        raise ConfigError("duplicates.lsh must be 'numpy' or 'datasketch'")
    if dup["lsh"] == "datasketch" and importlib.util.find_spec("datasketch") is None:
        raise ConfigError("duplicates.lsh: datasketch is not installed: pip install 'labeldesk[datasketch]', "
                          "or use the built-in 'numpy'")
    if (dup["bands"] is None) != (dup["rows"] is None):
        raise ConfigError("duplicates.bands and duplicates.rows are given together (or both null = automatic)")
    if dup["bands"] is not None:
        _check_number(dup, "bands", "duplicates", 1, integer=True)
        _check_number(dup, "rows", "duplicates", 1, integer=True)
        if dup["bands"] * dup["rows"] > dup["num_perm"]:
            raise ConfigError("duplicates.bands * duplicates.rows must be <= duplicates.num_perm")
    f = d["filters"]
    _check_number(f["length"], "min_chars", "filters.length", 0, integer=True)
    _check_number(f["length"], "max_chars", "filters.length", 1, integer=True)
    _check_number(f["repetition"], "ngram", "filters.repetition", 1, 32, integer=True)
    _check_number(f["repetition"], "min_ngrams", "filters.repetition", 1, integer=True)
    _check_number(f["repetition"], "max_ratio", "filters.repetition", 0.0, 1.0)
    _check_number(f["repetition"], "max_char_run", "filters.repetition", 2, integer=True)
    import re

    for key in ("markers",):
        for pat in f["injection"][key]:
            try:
                re.compile(pat)
            except re.error as exc:
                raise ConfigError(f"filters.injection.markers: bad regex {pat!r}: {exc}") from None
    for pat in f["refusal_markers"]:
        try:
            re.compile(pat)
        except re.error as exc:
            raise ConfigError(f"filters.refusal_markers: bad regex {pat!r}: {exc}") from None
    s = d["pii"]["secrets"]
    _check_number(s, "entropy_min_length", "pii.secrets", 8, integer=True)
    _check_number(s, "entropy_threshold", "pii.secrets", 0.0, 8.0)
    _check_number(s, "entropy_max_mean_segment", "pii.secrets", 1.0)
    if d["pii"]["presidio"]["enabled"] not in (True, False, "auto"):
        raise ConfigError("pii.presidio.enabled must be true, false or auto")
    unknown = set(d["pii"]["national_id"]["countries"]) - {"us", "uk", "ca", "es", "fr", "it", "in"}
    if unknown:
        raise ConfigError(f"pii.national_id.countries: unknown {sorted(unknown)}")
    _check_number(d["report"], "max_examples", "report", 0, integer=True)
    _check_number(d["report"], "snippet_chars", "report", 10, integer=True)


@dataclass(frozen=True)
class CleanConfig:
    """A validated, complete cleaning configuration (defaults merged in).

    ``data`` is a plain nested dict (picklable, YAML/JSON friendly); use
    :meth:`action` for rule actions and ``data[...]`` for stage parameters.
    """

    data: dict = field(default_factory=lambda: copy.deepcopy(DEFAULTS))

    def __post_init__(self) -> None:
        _validate(self.data)

    # -- construction -------------------------------------------------------
    @classmethod
    def default(cls) -> "CleanConfig":
        return cls(copy.deepcopy(DEFAULTS))

    @classmethod
    def from_dict(cls, overrides: Mapping[str, Any] | None) -> "CleanConfig":
        if overrides is None:
            return cls.default()
        if not isinstance(overrides, Mapping):
            raise ConfigError("the cleaning configuration must be a mapping")
        return cls(_merge(copy.deepcopy(DEFAULTS), overrides, ""))

    @classmethod
    def from_yaml(cls, path: str | os.PathLike | Traversable) -> "CleanConfig":
        import yaml

        if isinstance(path, (str, os.PathLike)):
            opened = open(path, "r", encoding="utf-8-sig")
        else:  # a resource of an installed package that is not a folder on disk (a zip)
            opened = path.open("r", encoding="utf-8-sig")
        with opened as fh:
            try:
                loaded = yaml.safe_load(fh)
            except yaml.YAMLError as exc:
                raise ConfigError(f"{path}: invalid YAML: {exc}") from None
        return cls.from_dict(loaded or {})

    # -- access ---------------------------------------------------------------
    def action(self, rule: str) -> str:
        return self.data["actions"][rule]

    def enabled(self, rule: str) -> bool:
        return self.data["actions"][rule] != "off"

    def to_dict(self) -> dict:
        return copy.deepcopy(self.data)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __hash__(self) -> int:  # frozen dataclass over a dict: hash by identity
        return id(self)
