"""Stage 4 — poisoning and quality filters, and label consistency.

Text rules (evaluated per text field unless said otherwise):

``filter.length_min`` / ``filter.length_max``
    the item's total text (all cleaned fields) is shorter than
    ``filters.length.min_chars`` / longer than ``max_chars`` characters.
``filter.repetition``
    a field whose word ``ngram``-grams (default 3) repeat: ratio
    ``1 - distinct/total`` >= ``max_ratio`` (0.35), for fields with at least
    ``min_ngrams`` n-grams; or a run of one character longer than
    ``max_char_run`` (200).  Catches degenerate generations ("I'm sorry. I'm
    sorry. …") and padding attacks.
``filter.injection``
    a prompt-injection / jailbreak marker from ``filters.injection.markers``
    (case-insensitive regexes: "ignore all previous instructions", "disregard
    the system prompt", "you are now DAN", chat-template tokens such as
    ``<|im_start|>`` or ``[INST]``…).  Items that carry a safety verdict of
    ``unsafe``/``borderline`` are exempt (``exempt_safety_labeled``): a
    safety dataset holds attacks on purpose, labelled.
``filter.hidden_text``
    invisible characters that change what a model reads but not what a
    person sees: zero-width space/joiner-less marks (U+200B, U+2060–2064,
    U+180E, U+FEFF not at the start), bidi embeddings/overrides/isolates
    (U+202A–202E, U+2066–2069) and Unicode tag characters (U+E0000–E007F,
    "ASCII smuggling").  ZWJ/ZWNJ (U+200C/U+200D) count only between two ASCII
    characters — in emoji sequences and Indic/Persian text they are legitimate.
    Action ``strip`` deletes them (item kept) *before* PII detection; with
    ``review``/``flag`` the text is kept as it is, so PII split by an invisible
    character (``bob\u200b@example.com``) is not redacted — such items are
    in the review queue anyway.

Label consistency (item-level, rule ``label.*``) — an item whose content
contradicts a label it carries:

``label.safe_with_pii``          ``safety.verdict == "safe"`` and the item
                                 contained PII (found by the PII stage, before
                                 redaction).
``label.safe_with_injection``    ``safety.verdict == "safe"`` and an injection
                                 marker is present.
``label.safety_behavior_mismatch`` verdict ``safe`` with expected_behavior
                                 ``refuse``, or verdict ``unsafe`` with
                                 ``comply``.
``label.refusal_mismatch``       ``expected_behavior == "comply"`` but the
                                 response (the chosen one, the responses, or
                                 the last assistant message) starts with a
                                 refusal (``filters.refusal_markers``).
``label.preference_invalid``     a preference item (``kind: preference`` or a
                                 ``ranking``) with fewer than 2 responses, or
                                 a ranking that names an unknown response.
``label.preference_empty_chosen`` the rank-1 ("chosen") response is empty.
``label.preference_identical``   the chosen response equals (normalised) a
                                 lower-ranked one: no preference signal.

The safety verdict is read from ``safety.verdict`` (record schema) or, for
raw imports, from ``labels.safety.verdict`` / ``labels.safety`` (a string).
"""

from __future__ import annotations

import re
from typing import Any

from .config import CleanConfig
from .text import fast_words, normalize_for_hash

__all__ = ["TextFilters", "label_checks", "safety_labels", "required_literals"]

_HIDDEN_RE = re.compile(
    "[\u200b\u2060-\u2064\u180e\ufeff\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]"
    "|(?<=[\x21-\x7e])[\u200c\u200d](?=[\x21-\x7e])"
)


# --------------------------------------------------------------------------- literal prefilter

_MAX_EXPANSION = 64


def _exact(seq) -> set[str] | None:
    """Every string ``seq`` can match, when that is a small finite set of literals."""
    from re import _constants as C  # noqa: N812

    out = {""}
    for op, av in seq:
        if op is C.LITERAL:
            out = {x + chr(av) for x in out}
        elif op is C.AT:
            continue
        elif op is C.SUBPATTERN:
            sub = _exact(av[-1])
            if sub is None:
                return None
            out = {x + y for x in out for y in sub}
        elif op is C.BRANCH:
            alts = set()
            for br in av[1]:
                sub = _exact(br)
                if sub is None:
                    return None
                alts |= sub
            out = {x + y for x in out for y in alts}
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] == 0 and av[1] == 1:
            sub = _exact(av[2])
            if sub is None:
                return None
            out = {x + y for x in out for y in sub | {""}}
        else:
            return None
        if len(out) > _MAX_EXPANSION:
            return None
    return out


def _better(a: set[str] | None, b: set[str] | None) -> set[str] | None:
    def score(x):  # longest shortest literal, then longer literals on average, then fewer
        if not x or "" in x:
            return (-1, 0, 0)
        return (min(map(len, x)), sum(map(len, x)) / len(x), -len(x))

    if a is None or score(a)[0] < 0:
        return b if b is not None and score(b)[0] >= 0 else None
    if b is None or score(b)[0] < 0:
        return a
    return a if score(a) >= score(b) else b


def _required(seq) -> set[str] | None:
    """A set of literals one of which every match of ``seq`` contains (None: unknown)."""
    from re import _constants as C  # noqa: N812

    best: set[str] | None = None
    cur = {""}
    for op, av in seq:
        ex = None
        if op is C.AT:
            continue
        if op is C.LITERAL:
            ex = {chr(av)}
        elif op is C.SUBPATTERN or op is C.BRANCH or (op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[:2] == (0, 1)):
            ex = _exact([(op, av)])
        if ex is not None and len(cur) * len(ex) <= _MAX_EXPANSION:
            cur = {x + y for x in cur for y in ex}
            continue
        best = _better(best, cur)
        cur = {""}
        if ex is not None:
            best = _better(best, ex)
            continue
        inner = None
        if op is C.SUBPATTERN:
            inner = _required(av[-1])
        elif op is C.BRANCH:
            parts = [_required(br) for br in av[1]]
            inner = set().union(*parts) if all(p for p in parts) else None
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] >= 1:
            inner = _required(av[2])
        best = _better(best, inner)
    return _better(best, cur)


def required_literals(pattern: str) -> set[str] | None:
    """Lower-case literals one of which every (case-insensitive) match of
    ``pattern`` contains, or None when none can be derived.  Used to skip the
    injection regexes on the vast majority of texts with a few ``in`` checks."""
    try:
        from re import _parser as P  # noqa: N812

        req = _required(P.parse(pattern, re.IGNORECASE))
    except Exception:
        return None
    if not req or "" in req:
        return None
    low = {x.lower() for x in req}
    # "instruction" makes "instructions" redundant
    return {x for x in low if not any(y != x and y in x for y in low)}


class TextFilters:
    """Per-text checks, compiled once per configuration."""

    def __init__(self, config: CleanConfig):
        f = config["filters"]
        self.min_chars = int(f["length"]["min_chars"])
        self.max_chars = int(f["length"]["max_chars"])
        rep = f["repetition"]
        self.ngram = int(rep["ngram"])
        self.min_ngrams = int(rep["min_ngrams"])
        self.max_ratio = float(rep["max_ratio"])
        self.max_run = int(rep["max_char_run"])
        self._run_re = re.compile(r"(.)\1{%d,}" % self.max_run, re.DOTALL)
        markers = f["injection"]["markers"]
        # each marker is tried only when one of its required literals is in the
        # lower-cased text: a few substring tests instead of a slow
        # case-insensitive alternation tried at every position
        self._markers = [(re.compile(m, re.IGNORECASE), tuple(sorted(required_literals(m) or ()))) for m in markers]
        self.exempt_safety_labeled = bool(f["injection"]["exempt_safety_labeled"])
        refusals = f["refusal_markers"]
        self.refusal_re = re.compile("|".join(f"(?:{m})" for m in refusals), re.IGNORECASE) if refusals else None

    # -- hidden text ------------------------------------------------------------
    @staticmethod
    def hidden(text: str) -> list[tuple[int, int]]:
        """Spans of hidden characters (a leading BOM is not hidden text)."""
        if text.isascii():
            return []
        return [(m.start(), m.end()) for m in _HIDDEN_RE.finditer(text) if not (m.start() == 0 and m.group() == "\ufeff")]

    @staticmethod
    def strip_hidden(text: str, spans: list[tuple[int, int]]) -> str:
        out, pos = [], 0
        for a, b in spans:
            out.append(text[pos:a])
            pos = b
        out.append(text[pos:])
        return "".join(out)

    # -- injection ----------------------------------------------------------------
    def injection(self, text: str) -> re.Match | None:
        low = None
        for rx, anchors in self._markers:
            if anchors:
                if low is None:
                    low = text.lower()
                for a in anchors:
                    if a in low:
                        break
                else:
                    continue
            m = rx.search(text)
            if m is not None:
                return m
        return None

    # -- repetition ------------------------------------------------------------------
    def repetition(self, text: str) -> dict | None:
        """``{"ratio": r, "ngram": n}`` or ``{"char_run": length, "char": c}`` when the text is repetitive."""
        if len(text) > self.max_run:
            m = self._run_re.search(text)
            if m and not m.group(1).isspace():
                return {"char_run": m.end() - m.start(), "char": m.group(1), "start": m.start()}
        n = self.ngram
        toks = fast_words(text)
        total = len(toks) - n + 1
        if total < self.min_ngrams:
            return None
        # every repeated n-gram starts at a repeated word, so the share of
        # repeated words bounds the share of repeated n-grams: most texts stop here
        distinct_words = len(set(toks))
        if (len(toks) - distinct_words) / total < self.max_ratio:
            return None
        if n == 1:
            distinct = len(set(toks))
        else:
            distinct = len(set(zip(*(toks[k:] for k in range(n)))))
        ratio = 1.0 - distinct / total
        if ratio >= self.max_ratio:
            return {"ratio": round(ratio, 3), "ngram": n}
        return None

    def is_refusal(self, text: str) -> bool:
        return bool(self.refusal_re is not None and text and self.refusal_re.search(text))


def safety_labels(item: dict) -> tuple[str | None, str | None]:
    """(verdict, expected_behavior) from ``safety`` or ``labels.safety``."""
    verdict = behavior = None
    s = item.get("safety")
    if isinstance(s, dict):
        verdict, behavior = s.get("verdict"), s.get("expected_behavior")
    labels = item.get("labels")
    if verdict is None and isinstance(labels, dict):
        ls = labels.get("safety")
        if isinstance(ls, dict):
            verdict, behavior = ls.get("verdict"), behavior or ls.get("expected_behavior")
        elif isinstance(ls, str):
            verdict = ls
    v = verdict.strip().lower() if isinstance(verdict, str) else None
    b = behavior.strip().lower() if isinstance(behavior, str) else None
    return v, b


def _ranked_ids(item: dict) -> list[tuple[str, Any]] | None:
    ranking = item.get("ranking")
    if not isinstance(ranking, list):
        return None
    out = []
    for r in ranking:
        if isinstance(r, dict):
            out.append((r.get("response"), r.get("rank")))
    return out


def label_checks(item: dict, filters: TextFilters, pii_found: bool, injection_found: bool) -> list[dict]:
    """Label-consistency entries (``{"rule": ..., **detail}``) for a cleaned item."""
    out: list[dict] = []
    verdict, behavior = safety_labels(item)
    if verdict == "safe":
        if pii_found:
            out.append({"rule": "label.safe_with_pii"})
        if injection_found:
            out.append({"rule": "label.safe_with_injection"})
        if behavior == "refuse":
            out.append({"rule": "label.safety_behavior_mismatch", "verdict": verdict, "expected_behavior": behavior})
    elif verdict == "unsafe" and behavior == "comply":
        out.append({"rule": "label.safety_behavior_mismatch", "verdict": verdict, "expected_behavior": behavior})

    responses = item.get("responses") if isinstance(item.get("responses"), list) else []
    by_id = {r.get("id"): r for r in responses if isinstance(r, dict)}
    ranked = _ranked_ids(item)
    chosen: list[dict] = []
    is_pref = item.get("kind") == "preference" or ranked is not None
    if is_pref:
        if len(responses) < 2:
            out.append({"rule": "label.preference_invalid", "reason": "fewer than 2 responses"})
        if ranked:
            unknown = [rid for rid, _ in ranked if rid not in by_id]
            if unknown:
                out.append({"rule": "label.preference_invalid", "reason": "unknown response in ranking",
                            "responses": [str(u) for u in unknown][:5]})
            ranks = [rk for _, rk in ranked if isinstance(rk, (int, float)) and not isinstance(rk, bool)]
            if ranks:
                best = min(ranks)
                chosen = [by_id[rid] for rid, rk in ranked if rk == best and rid in by_id]
                rejected = [by_id[rid] for rid, rk in ranked if rk != best and rid in by_id]
                for c in chosen:
                    content = c.get("content")
                    if not isinstance(content, str) or not content.strip():
                        out.append({"rule": "label.preference_empty_chosen", "response": str(c.get("id"))})
                        break
                else:
                    norm_rej = {normalize_for_hash(r["content"]) for r in rejected if isinstance(r.get("content"), str)}
                    for c in chosen:
                        if normalize_for_hash(c["content"]) in norm_rej:
                            out.append({"rule": "label.preference_identical", "response": str(c.get("id"))})
                            break

    if behavior == "comply" and filters.refusal_re is not None:
        if chosen:
            targets = chosen
        elif responses:
            targets = responses
        else:
            msgs = item.get("messages") if isinstance(item.get("messages"), list) else []
            targets = [m for m in msgs if isinstance(m, dict) and m.get("role") == "assistant"][-1:]
        for t in targets:
            content = t.get("content") if isinstance(t, dict) else None
            if isinstance(content, str) and filters.is_refusal(content):
                out.append({"rule": "label.refusal_mismatch"})
                break
    return out
