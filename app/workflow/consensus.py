"""Consensus: one item's submissions for one question -> one answer.

Qt-free and database-free (numpy only).  Answers are read with the helpers of
:mod:`.answers`, :mod:`.agreement_rank` and :mod:`.agreement_spans`, which
:mod:`.agreement` shares, so that its per-annotator figures compare with this
consensus.

Rules by question type (``Consensus.method`` names the one used):

* ``choice`` — plurality.  ``majority`` when the winner has more than half
  of the answers, ``plurality`` otherwise.  A tie for first place is
  ``contradictory`` (method ``plurality-tie``) and is broken
  deterministically by the order of the question's ``options`` (earlier
  wins), options not in the config after them in ``str`` order.
* ``multi_choice`` — per-option majority: an option is in the result when
  more than half of the answers chose it.  An option chosen by exactly half
  is left out and makes the item ``contradictory``.  Result in ``options``
  order.  ``agreement``: share of answers equal to the result set.
* ``rating`` — median; for an even count the **lower** median (an answer
  someone actually gave, and the cautious side of a quality scale).  When the
  two middle ratings differ the median is not unique: ``contradictory``.
  ``agreement``: share of ratings equal to the result.
* ``ranking`` — Borda count.  From each annotator a response scores one point
  for every response it ranks strictly better than and half a point for every
  response it ties with; a response the annotator did not rank counts as tied
  last for that annotator.  Responses with equal totals share a rank; ranks are
  dense (1, 2, 2, 3) and 1 = best, output as ``[{"response", "rank"}]``.
  ``agreement``: mean pairwise Kendall tau-b between the annotators (on the
  responses both ranked; two rankings that tie everything identically count
  as 1.0).  ``contradictory`` when several responses share rank 1 although not
  every annotator tied exactly those responses first (the preferred response
  is undecided).
* ``spans`` — union with overlap: a character is kept when at least
  ``ceil(k/2)`` of the ``k`` answers marked it (any label; an empty list is an
  answer that marks nothing), and it takes the label most of those annotators
  gave it (ties: the question's ``labels`` order, then ``str``; a tie makes the
  item ``contradictory``).  Adjacent kept characters with the same target and
  label form one span.  ``severity``, if any contributing span had one, is
  the most common severity among the overlapping same-label spans (ties: the
  more severe = later in ``severities``).  Notes are dropped.  ``agreement``:
  mean pairwise character F1.
* ``segments`` — the same on time at 10 ms resolution, voted separately for
  each (media, tier, label): a time is kept when at least ``ceil(k/2)``
  answers have a segment there with the same media, tier and label.  The text
  of a kept segment is the most common (whitespace-normalised) text of the
  overlapping source segments, ties broken by total overlap, a remaining tie
  of different texts is ``contradictory``.  ``agreement``: mean pairwise F1 on
  time.
* ``safety`` — plurality verdict (tie: the more cautious, ``unsafe`` >
  ``borderline`` > ``safe``); categories chosen by more than half of the
  answers; plurality ``expected_behavior`` (tie: ``refuse`` >
  ``safe-complete`` > ``comply``, then config order).  A tie on the verdict,
  the behaviour or a category (exactly half) is ``contradictory``.
  ``agreement``: share of verdicts equal to the result.
* ``text`` — not merged: the answer when all are equal after whitespace
  normalisation (method ``unanimous``), else ``None`` (method ``none``);
  ``agreement`` is the share of the most common text.  Not contradictory.

Missing answers (``None``) are ignored everywhere; with none left the value is
``None`` and the method ``none``.  ``agreement`` is None when it needs two
answers (rankings, spans, segments) and only one is there.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from labeldesk.app.workflow.agreement_rank import rank_similarity
from labeldesk.app.workflow.agreement_spans import (
    mean_pairwise_f1,
    merge_intervals,
    segment_intervals,
    span_intervals,
    to_ticks,
)
from labeldesk.app.workflow.answers import VERDICT_ORDER, as_set, ranking_map

__all__ = ["Consensus", "consensus", "consensus_values", "SEGMENT_RESOLUTION"]

SEGMENT_RESOLUTION = 0.01  # seconds
BEHAVIOR_ORDER = ("refuse", "safe-complete", "comply")  # tie-break: most cautious first


@dataclass(frozen=True)
class Consensus:
    """The aggregated answer of one item for one question.

    ``agreement`` is the share of answers that agree with ``value`` (choice,
    multi_choice, rating, safety verdict, text) or the mean pairwise measure
    (Kendall tau-b for rankings, F1 for spans/segments); ``n`` is the number of
    answers it was built from.
    """

    value: Any
    method: str
    agreement: float | None
    contradictory: bool
    n: int = 0


def _order_key(order: Sequence[Any]):
    pos = {v: i for i, v in enumerate(order)}
    return lambda v: (pos.get(v, len(pos)), str(v))


def _plurality(values: list[Any], order: Sequence[Any]) -> tuple[Any, int, bool]:
    """(winner, its count, tied) with the deterministic tie-break of ``order``."""
    counts = Counter(values)
    top = max(counts.values())
    winners = sorted((v for v, c in counts.items() if c == top), key=_order_key(order))
    return winners[0], top, len(winners) > 1


def _choice(question: Mapping[str, Any], values: list[Any]) -> Consensus:
    k = len(values)
    win, top, tied = _plurality(values, list(question.get("options") or ()))
    method = "plurality-tie" if tied else ("majority" if 2 * top > k else "plurality")
    return Consensus(win, method, top / k, tied, k)


def _multi_choice(question: Mapping[str, Any], values: list[Any]) -> Consensus:
    k = len(values)
    sets = [as_set(v) for v in values]
    counts = Counter(o for s in sets for o in s)
    order = list(question.get("options") or ())
    chosen = sorted((o for o, c in counts.items() if 2 * c > k), key=_order_key(order))
    tied = any(2 * c == k for c in counts.values())
    result = frozenset(chosen)
    agreement = sum(1 for s in sets if s == result) / k
    return Consensus(chosen, "per-option-majority", agreement, tied, k)


def _rating(question: Mapping[str, Any], values: list[Any]) -> Consensus:
    k = len(values)
    s = sorted(values)
    med = s[(k - 1) // 2]
    tied = k % 2 == 0 and s[k // 2 - 1] != s[k // 2]
    agreement = sum(1 for v in values if v == med) / k
    return Consensus(med, "lower-median" if k % 2 == 0 else "median", agreement, tied, k)


def _ranking(question: Mapping[str, Any], values: list[Any]) -> Consensus:
    k = len(values)
    maps = [ranking_map(v) for v in values]
    responses = list(dict.fromkeys(r for m in maps for r in m))
    if not responses:
        return Consensus([], "borda", None, False, k)
    score = dict.fromkeys(responses, 0)  # doubled Borda points (integers)
    for m in maps:
        ranks = {r: m.get(r, math.inf) for r in responses}
        for r in responses:
            worse = sum(1 for o in responses if ranks[o] > ranks[r])
            tied = sum(1 for o in responses if o != r and ranks[o] == ranks[r])
            score[r] += 2 * worse + tied
    levels = sorted(set(score.values()), reverse=True)
    rank_of = {s: i + 1 for i, s in enumerate(levels)}
    result = sorted(({"response": r, "rank": rank_of[score[r]]} for r in responses),
                    key=lambda e: (e["rank"], e["response"]))
    top = {e["response"] for e in result if e["rank"] == 1}
    contradictory = False
    if len(top) > 1:
        def first(m: Mapping[str, float]) -> set[str]:
            best = min(m.values()) if m else None
            return {r for r, v in m.items() if v == best}
        contradictory = not all(first(m) == top for m in maps)
    sims = [s for a, b in combinations(maps, 2) if (s := rank_similarity(a, b)) is not None]
    agreement = float(np.mean(sims)) if sims else None
    return Consensus(result, "borda", agreement, contradictory, k)


def _pairwise_f1(sets: list[dict]) -> float | None:
    return mean_pairwise_f1(sets) if len(sets) >= 2 else None


def _vote(per_annotator: list[list[tuple[int, int]]]) -> tuple[list[int], list[int]]:
    """Elementary pieces between all boundaries and how many annotators cover each."""
    bounds = sorted({x for iv in per_annotator for s, e in iv for x in (s, e)})
    if len(bounds) < 2:
        return bounds, []
    idx = {b: i for i, b in enumerate(bounds)}
    diff = [0] * len(bounds)
    for iv in per_annotator:
        for s, e in iv:
            diff[idx[s]] += 1
            diff[idx[e]] -= 1
    counts, run = [], 0
    for d in diff[:-1]:
        run += d
        counts.append(run)
    return bounds, counts


def _spans(question: Mapping[str, Any], values: list[Any]) -> Consensus:
    k = len(values)
    need = math.ceil(k / 2)
    sets = [span_intervals(v) for v in values]
    label_key = _order_key(list(question.get("labels") or ()))
    targets = sorted({t for st in sets for (t, _l) in st}, key=lambda t: (t is None, str(t)))
    result: list[dict[str, Any]] = []
    tied_any = False
    for target in targets:
        cover = [merge_intervals(iv for (t, _l), ivs in st.items() if t == target for iv in ivs) for st in sets]
        bounds, counts = _vote(cover)
        labels = sorted({lab for st in sets for (t, lab) in st if t == target}, key=label_key)
        label_votes = {lab: [0] * len(counts) for lab in labels}
        if counts:
            idx = {b: i for i, b in enumerate(bounds)}
            for st in sets:
                for (t, lab), ivs in st.items():
                    if t != target:
                        continue
                    for s, e in ivs:  # bounds include s and e; pieces idx[s]..idx[e]-1
                        for p in range(idx[s], idx[e]):
                            label_votes[lab][p] += 1
        current: dict[str, Any] | None = None
        for p, c in enumerate(counts):
            if c < need:
                current = None
                continue
            best = max(label_votes[lab][p] for lab in labels)
            winners = [lab for lab in labels if label_votes[lab][p] == best]
            tied_any |= len(winners) > 1
            lab = winners[0]
            if current is not None and current["label"] == lab and current["end"] == bounds[p]:
                current["end"] = bounds[p + 1]
            else:
                current = {"target": target, "start": bounds[p], "end": bounds[p + 1], "label": lab}
                result.append(current)
    severities = list(question.get("severities") or ())
    sev_rank = {s: i for i, s in enumerate(severities)}
    for span in result:
        found = [sp.get("severity") for v in values for sp in (v or ())
                 if sp.get("target") == span["target"] and sp.get("label") == span["label"]
                 and sp.get("severity") is not None
                 and int(sp["start"]) < span["end"] and int(sp["end"]) > span["start"]]
        if found:
            cnt = Counter(found)
            top = max(cnt.values())
            span["severity"] = max((s for s, n in cnt.items() if n == top),
                                   key=lambda s: (sev_rank.get(s, -1), str(s)))
    return Consensus(result, "span-majority", _pairwise_f1(sets), tied_any, k)


def _norm_text(t: Any) -> str:
    return " ".join(str(t).split())


def _segments(question: Mapping[str, Any], values: list[Any]) -> Consensus:
    k = len(values)
    need = math.ceil(k / 2)
    res = SEGMENT_RESOLUTION
    sets = [segment_intervals(v, res) for v in values]
    keys = sorted({key for st in sets for key in st}, key=lambda x: tuple(str(p) for p in (*x[0], x[1])))
    result: list[dict[str, Any]] = []
    tied_any = False
    for key in keys:
        (media, tier), label = key
        bounds, counts = _vote([st.get(key, []) for st in sets])
        kept: list[list[int]] = []
        for p, c in enumerate(counts):
            if c >= need:
                if kept and kept[-1][1] == bounds[p]:
                    kept[-1][1] = bounds[p + 1]
                else:
                    kept.append([bounds[p], bounds[p + 1]])
        for s, e in kept:
            seg: dict[str, Any] = {"media": media, "start": round(s * res, 6), "end": round(e * res, 6),
                                   "tier": tier}
            if label is not None:
                seg["label"] = label
            texts: dict[str, list[float]] = {}
            for v in values:
                for sg in v or ():
                    if (sg.get("media"), sg.get("tier"), sg.get("label")) != (media, tier, label):
                        continue
                    if sg.get("text") in (None, ""):
                        continue
                    a, b = to_ticks(sg["start"], res), to_ticks(sg["end"], res)
                    ov = min(b, e) - max(a, s)
                    if ov > 0:
                        t = _norm_text(sg["text"])
                        entry = texts.setdefault(t, [0, 0.0])
                        entry[0] += 1
                        entry[1] += ov
            if texts:
                ranked = sorted(texts.items(), key=lambda kv: (-kv[1][0], -kv[1][1]))
                if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
                    tied_any = True
                seg["text"] = ranked[0][0]
            result.append(seg)
    result.sort(key=lambda g: (str(g["media"]), g["start"], str(g["tier"]), str(g.get("label"))))
    return Consensus(result, "time-majority", _pairwise_f1(sets), tied_any, k)


def _safety(question: Mapping[str, Any], values: list[Any]) -> Consensus:
    answers = [v for v in values if isinstance(v, Mapping)]
    k = len(answers)
    if k == 0:
        return Consensus(None, "none", None, False, 0)
    verdicts = [a["verdict"] for a in answers if a.get("verdict") is not None]
    out: dict[str, Any] = {}
    tied = False
    agreement = None
    if verdicts:
        verdict, top, t = _plurality(verdicts, VERDICT_ORDER)
        out["verdict"] = verdict
        tied |= t
        agreement = top / len(verdicts)
    counts = Counter(c for a in answers for c in set(a.get("categories") or ()))
    out["categories"] = sorted((c for c, n in counts.items() if 2 * n > k),
                               key=_order_key(list(question.get("categories") or ())))
    tied |= any(2 * n == k for n in counts.values())
    behaviors = [a["expected_behavior"] for a in answers if a.get("expected_behavior") is not None]
    if behaviors:
        order = list(BEHAVIOR_ORDER) + [b for b in question.get("behaviors") or () if b not in BEHAVIOR_ORDER]
        beh, _, t = _plurality(behaviors, order)
        out["expected_behavior"] = beh
        tied |= t
    return Consensus(out, "majority", agreement, tied, k)


def _text(question: Mapping[str, Any], values: list[Any]) -> Consensus:
    k = len(values)
    counts = Counter(_norm_text(v) for v in values)
    top = max(counts.values())
    if len(counts) == 1:
        return Consensus(values[0], "unanimous", 1.0, False, k)
    return Consensus(None, "none", top / k, False, k)


_RULES = {
    "choice": _choice,
    "multi_choice": _multi_choice,
    "rating": _rating,
    "ranking": _ranking,
    "spans": _spans,
    "segments": _segments,
    "safety": _safety,
    "text": _text,
}


def consensus(question: Mapping[str, Any], values: Iterable[Any]) -> Consensus:
    """Aggregate one item's answers to one question (rules in the module docstring)."""
    qtype = question.get("type")
    rule = _RULES.get(qtype)  # type: ignore[arg-type]
    if rule is None:
        raise ValueError(f"unknown question type {qtype!r}")
    present = [v for v in values if v is not None]
    if not present:
        return Consensus(None, "none", None, False, 0)
    return rule(question, present)


def consensus_values(questions: Sequence[Mapping[str, Any]], submissions: Sequence[Mapping[str, Any]]
                     ) -> tuple[dict[str, Any], dict[str, Consensus]]:
    """Consensus of one item over all its questions.

    ``submissions`` are annotation dicts with a ``"values"`` mapping (as in the
    record's ``annotations``) or bare ``{question name: answer}`` mappings.
    Returns ``values`` — ``{name: consensus value}`` leaving out questions whose
    consensus is None (no answers, or free texts that differ) — and the full
    :class:`Consensus` of every question.
    """
    answer_maps = [s["values"] if isinstance(s.get("values"), Mapping) else s for s in submissions]
    values: dict[str, Any] = {}
    per_question: dict[str, Consensus] = {}
    for q in questions:
        name = q["name"]
        c = consensus(q, [m.get(name) for m in answer_maps])
        per_question[name] = c
        if c.value is not None:
            values[name] = c.value
    return values, per_question
