"""The stages run on each text field, and the rules on a whole item, each logging what it finds.

A field stage takes the text as the stages before it left it and returns it as the next
stage should see it: encoding repair, then hidden characters and injection markers on the
repaired text, then PII, then repetition on the final text.
"""

from __future__ import annotations

from typing import Any, Mapping

from .encoding import EncodingResult, first_difference
from .fields import TextField
from .filters import TextFilters, label_checks
from .itemlog import ItemLog
from .pii import Finding, PiiDetector
from .text import mask, snippet


# --------------------------------------------------------------------------- encoding

def record_repairs(log: ItemLog, name: str, text: str, res: EncodingResult) -> str:
    """Log the encoding repairs found in ``text``; the text as repaired."""
    if not res.counts:
        return text
    for rule, n in res.counts.items():
        log.add(rule, field=name, count=n)
        if log.wants_example(rule):
            d = first_difference(text, res.text)
            log.example(rule, field=name, before=snippet(text, d, d + 1, log.width),
                        after=snippet(res.text, d, d + 1, log.width))
    return res.text


def flag_replacement_chars(log: ItemLog, name: str, text: str) -> None:
    """U+FFFD left after repair: text lost before it reached us."""
    if "\ufffd" not in text or not log.on("input.replacement_char"):
        return
    log.add("input.replacement_char", field=name, count=text.count("\ufffd"))
    if log.wants_example("input.replacement_char"):
        p = text.index("\ufffd")
        log.example("input.replacement_char", field=name, before=snippet(text, p, p + 1, log.width))


# --------------------------------------------------------------------------- filters

def hidden_text(filters: TextFilters, log: ItemLog, name: str, text: str) -> str:
    """Log hidden characters; the text without them when the action is ``strip``."""
    if not log.on("filter.hidden_text"):
        return text
    spans = filters.hidden(text)
    if not spans:
        return text
    log.add("filter.hidden_text", field=name, count=len(spans),
            chars=sorted({f"U+{ord(text[a]):04X}" for a, _ in spans})[:10])
    new = filters.strip_hidden(text, spans) if log.actions["filter.hidden_text"] == "strip" else text
    if log.wants_example("filter.hidden_text"):
        a0 = spans[0][0]
        log.example("filter.hidden_text", field=name, before=snippet(text, a0, a0 + 1, log.width),
                    after=snippet(new, a0, a0, log.width) if new is not text else None)
    return new


def injection(filters: TextFilters, log: ItemLog, name: str, text: str, exempt: bool) -> bool:
    """Whether ``text`` holds an injection marker; logged unless the item is ``exempt``.

    Found even when exempt or ``filter.injection`` is off: ``label.safe_with_injection`` needs it.
    """
    if not log.on("filter.injection") and not log.on("label.safe_with_injection"):
        return False
    m = filters.injection(text)
    if m is None:
        return False
    if not exempt and log.add("filter.injection", field=name, match=m.group()[:80]):
        if log.wants_example("filter.injection"):
            log.example("filter.injection", field=name, before=snippet(text, m.start(), m.end(), log.width))
    return True


def repetition(filters: TextFilters, log: ItemLog, name: str, text: str) -> None:
    if not log.on("filter.repetition"):
        return
    rep = filters.repetition(text)
    if rep is None:
        return
    start = rep.pop("start", 0)
    log.add("filter.repetition", field=name, **rep)
    if log.wants_example("filter.repetition"):
        log.example("filter.repetition", field=name, before=snippet(text, start, start, log.width))


# --------------------------------------------------------------------------- PII

def redact_pii(pii: PiiDetector, log: ItemLog, name: str, text: str, show_pii: bool) -> tuple[str, bool]:
    """(the text with PII redacted as configured, whether any was found); one entry per PII type."""
    findings = pii.find(text)
    if not findings:
        return text, False
    by_type: dict[str, list[Finding]] = {}
    for fd in findings:
        by_type.setdefault(fd.type, []).append(fd)
    redacted = pii.redact(text, findings)
    for typ, fds in by_type.items():
        rule = f"pii.{typ}"
        kinds = sorted({fd.detail for fd in fds if fd.detail})
        log.add(rule, field=name, count=len(fds), kinds=kinds or None)
        if log.wants_example(rule):
            log.example(rule, field=name, **_pii_example(pii, text, redacted, findings, fds[0], show_pii, log.width))
    return redacted, True


def _pii_example(pii: PiiDetector, before: str, after: str, findings: list[Finding], fd: Finding,
                 show_pii: bool, width: int) -> dict:
    # position of fd in the redacted text
    shift = 0
    for g in findings:
        if g.start >= fd.start:
            break
        if pii.actions.get(g.type) == "redact":
            shift += len(pii.placeholder(g)) - (g.end - g.start)
    if pii.actions.get(fd.type) == "redact":
        a_start, a_end = fd.start + shift, fd.start + shift + len(pii.placeholder(fd))
    else:
        a_start, a_end = fd.start + shift, fd.end + shift
    shown = before
    if not show_pii:
        # every finding, not only this one: the snippet around it may hold others
        for g in sorted(findings, key=lambda g: g.start, reverse=True):
            shown = shown[:g.start] + mask(g.value) + shown[g.end:]
    b_end = fd.start + (len(fd.value) if show_pii else len(mask(fd.value)))
    out = {"before": snippet(shown, fd.start, b_end, width)}
    if after is not before:
        out["after"] = snippet(after, a_start, a_end, width)
    if fd.detail:
        out["kind"] = fd.detail
    return out


# --------------------------------------------------------------------------- whole item

def length_bounds(fields: list[TextField], log: ItemLog, bounds: Mapping[str, Any]) -> None:
    """``filter.length_min`` / ``_max`` on the characters of all fields together, as cleaned."""
    total = sum(len(f.text) for f in fields)
    if total < bounds["min_chars"] and log.add("filter.length_min", chars=total, min_chars=bounds["min_chars"]):
        log.example("filter.length_min", chars=total, before=snippet(fields[0].text, 0, 0, log.width))
    if total > bounds["max_chars"] and log.add("filter.length_max", chars=total, max_chars=bounds["max_chars"]):
        log.example("filter.length_max", chars=total, before=snippet(fields[0].text[:200], 0, 0, log.width))


def label_consistency(item: dict, filters: TextFilters, log: ItemLog, pii_found: bool, injection_found: bool) -> None:
    for lab in label_checks(item, filters, pii_found, injection_found):
        rule = lab.pop("rule")
        if log.add(rule, **lab) and log.wants_example(rule):
            log.example(rule, **{k: str(v) for k, v in lab.items()})
