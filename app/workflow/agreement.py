"""Inter-annotator agreement: the math of quality control.

Qt-free and database-free; the only dependency is numpy.  The reference
packages (``krippendorff``, scikit-learn, statsmodels, scipy) are used by the
tests only, never at run time.

Two layers:

* **Primitives** on plain arrays / lists, re-exported here —
  :func:`krippendorff_alpha`, :func:`coincidence_matrix`
  (:mod:`.agreement_alpha`); :func:`cohen_kappa`, :func:`fleiss_kappa`
  (+ :func:`category_table`) (:mod:`.agreement_kappa`); :func:`kendall_w`,
  :func:`kendall_tau_b`, :func:`mean_pairwise_kendall_tau`
  (:mod:`.agreement_rank`); :func:`span_f1`, :func:`segment_f1`,
  :func:`mean_pairwise_span_f1` (:mod:`.agreement_spans`).
* **Question layer** on submissions ``(item_id, annotator, value)`` of one
  question — :func:`question_agreement` and :func:`gold_accuracy`, in this
  module.  Answers are read as :mod:`.consensus` reads them
  (:mod:`.answers`), and per-annotator figures compare with its consensus.

Conventions
-----------
* Primitives **raise** ``ValueError`` for input that cannot be measured at all
  (fewer than two annotators, no unit coded twice, a single value in the
  domain — exactly where ``krippendorff.alpha`` raises) and **return NaN**
  when the statistic is mathematically undefined (0/0), as the reference
  implementations do.
* The question layer never raises for thin data: an undefined or
  uncomputable figure is ``None`` (JSON-safe) and ``extra["reason"]`` says why.
* Missing values are ``None`` or NaN (and the string ``"nan"`` in numpy
  string arrays, which is what ``np.asarray`` turns ``np.nan`` into — the
  ``krippendorff`` package does the same).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Callable, Collection, Hashable, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from labeldesk.app.workflow.agreement_alpha import LEVELS, coincidence_matrix, krippendorff_alpha
from labeldesk.app.workflow.agreement_kappa import category_table, cohen_kappa, fleiss_kappa
from labeldesk.app.workflow.agreement_rank import (
    kendall_tau_b,
    kendall_w,
    mean_pairwise_kendall_tau,
    rank_similarity,
)
from labeldesk.app.workflow.agreement_spans import (
    OverlapCounts,
    SpanF1,
    mean_pairwise_span_f1,
    segment_f1,
    segment_intervals,
    span_f1,
    span_intervals,
)
from labeldesk.app.workflow.answers import VERDICT_ORDER, as_set, is_missing, ranking_map, verdict
from labeldesk.app.workflow.consensus import consensus

__all__ = [
    "LEVELS",
    "Submission",
    "QuestionAgreement",
    "SpanF1",
    "krippendorff_alpha",
    "coincidence_matrix",
    "cohen_kappa",
    "fleiss_kappa",
    "category_table",
    "kendall_w",
    "kendall_tau_b",
    "mean_pairwise_kendall_tau",
    "span_f1",
    "segment_f1",
    "mean_pairwise_span_f1",
    "question_agreement",
    "gold_accuracy",
]

_ByItem = dict[str, dict[str, Any]]  # {item: {annotator: value}}


class Submission(NamedTuple):
    """One annotator's answer to one question on one item (plain tuples work too)."""

    item_id: str
    annotator: str
    value: Any


@dataclass(frozen=True)
class QuestionAgreement:
    """Agreement on one question.

    ``value`` is the headline figure named by ``metric_name`` (None when it is
    undefined or not computed — ``extra["reason"]`` says why).  ``n_items``
    counts items with at least one answer, ``n_annotators`` distinct
    annotators; ``extra["n_items_overlap"]`` counts items answered by two or
    more (the ones agreement is measured on).  ``per_annotator`` is each
    annotator's agreement with the consensus of the items they share with
    others; its meaning is in ``extra["per_annotator_metric"]``.  ``pairwise``
    maps ``(a, b)`` (a < b, pairs sharing an item) to the pairwise figure in
    ``extra["pairwise_metric"]``; None when the type has none.
    """

    question: str
    type: str
    metric_name: str
    value: float | None
    n_items: int
    n_annotators: int
    per_annotator: dict = field(default_factory=dict)
    pairwise: dict | None = None
    extra: dict = field(default_factory=dict)


class _Figures(NamedTuple):
    """What one question type measures; :func:`question_agreement` adds the counts."""

    metric: str
    value: float | None
    per_annotator: dict[str, float]
    pairwise: dict | None
    extra: dict[str, Any]


def question_agreement(submissions: Iterable[Sequence[Any]], question: Mapping[str, Any]) -> QuestionAgreement:
    """Agreement on one question from ``(item_id, annotator, value)`` submissions.

    Metrics by question type (``metric_name``, then ``extra``):

    * ``choice`` — nominal alpha; ``fleiss_kappa`` (only when every item has
      the same number of raters, else None + ``fleiss_kappa_reason``);
      ``pairwise`` Cohen's kappa; per annotator: share of items where they
      match the plurality consensus.
    * ``multi_choice`` — mean over options of the nominal alpha of "option
      chosen" (``per_option``; options never or always chosen are undefined
      and left out of the mean); per annotator: share of items where their set
      equals the per-option-majority set.
    * ``rating`` — ordinal alpha (interval if ``scale == "interval"``; the other
      level in ``extra``); ``pairwise`` quadratic-weighted Cohen's kappa over
      ``min..max``; per annotator: mean |rating - consensus (lower) median|
      in scale points (lower is better).
    * ``ranking`` — mean Kendall's W over items (responses ranked by all the
      item's annotators); ``mean_pairwise_tau`` (tau-b, over item x pair),
      ``alpha_ordinal`` over (item, response) units of the stored ranks;
      ``pairwise`` mean tau-b per annotator pair; per annotator: mean tau-b
      against the Borda consensus.
    * ``spans`` / ``segments`` — mean over annotator pairs of the pooled
      (micro) character / 10 ms F1 on shared items, label-sensitive;
      ``per_label`` and ``unlabeled_f1`` pooled over all pairs; per annotator:
      pooled F1 against the consensus spans/segments.
    * ``safety`` — nominal alpha of the verdict; ``per_category`` alpha of each
      category (chosen / not), ``alpha_behavior``, ``fleiss_kappa``;
      ``pairwise`` Cohen's kappa of verdicts; per annotator: verdict matches
      consensus verdict.
    * ``text`` — not scored (value None), counts only.

    Per-annotator figures include the annotator in the consensus they are
    compared with (the consensus that is exported), so they run higher than a
    leave-one-out figure, most with two annotators per item.
    """
    name = str(question.get("name", ""))
    qtype = str(question.get("type", ""))
    by_item, annotators = _collect(submissions)
    n_overlap = sum(1 for answers in by_item.values() if len(answers) >= 2)
    if qtype == "text":
        figures = _Figures("none", None, {}, None, {"reason": "free text is not scored"})
    elif qtype not in _RULES:
        raise ValueError(f"unknown question type {qtype!r}")
    elif n_overlap == 0:
        figures = _Figures("none", None, {}, None, {"reason": "needs at least two annotators on the same item"})
    else:
        figures = _RULES[qtype](by_item, annotators, question)
    return QuestionAgreement(name, qtype, figures.metric, _clean(figures.value), len(by_item), len(annotators),
                             figures.per_annotator, figures.pairwise,
                             {"n_items_overlap": n_overlap, **figures.extra})


# --------------------------------------------------------------------------
# one rule per question type
# --------------------------------------------------------------------------


def _choice_agreement(by_item: _ByItem, annotators: list[str], question: Mapping[str, Any]) -> _Figures:
    nominal = _nominal(by_item, annotators, question.get("options"), lambda v: v)
    return _Figures("krippendorff_alpha_nominal", nominal.value, nominal.per_annotator,
                    _pairwise_kappa(nominal.mat, annotators, None, None),
                    {"pairwise_metric": "cohen_kappa", "per_annotator_metric": "match_rate_with_consensus",
                     **nominal.extra})


def _multi_choice_agreement(by_item: _ByItem, annotators: list[str], question: Mapping[str, Any]) -> _Figures:
    sets = {i: {a: as_set(v) for a, v in answers.items()} for i, answers in by_item.items()}
    per_option = _presence_alphas(sets, annotators, question.get("options"), lambda s: s)
    hits: dict[str, list[float]] = defaultdict(list)
    for answers in sets.values():
        if len(answers) < 2:
            continue
        cons = frozenset(consensus(question, list(answers.values())).value or ())
        for a, s in answers.items():
            hits[a].append(1.0 if s == cons else 0.0)
    mean = _mean(per_option.values())
    extra: dict[str, Any] = {"per_option": per_option,
                             "per_annotator_metric": "exact_set_match_rate_with_consensus"}
    if mean is None:
        extra["reason"] = "no option has a defined alpha (each is chosen always or never)"
    return _Figures("mean_option_alpha_nominal", mean, {a: float(np.mean(v)) for a, v in hits.items()}, None, extra)


def _rating_agreement(by_item: _ByItem, annotators: list[str], question: Mapping[str, Any]) -> _Figures:
    level = "interval" if question.get("scale") == "interval" else "ordinal"
    other = "ordinal" if level == "interval" else "interval"
    mat = _matrix(by_item, annotators, float)
    alpha, reason = _safe_alpha(mat, level)
    alpha_other, _ = _safe_alpha(mat, other)
    pairwise = _pairwise_kappa(mat, annotators, "quadratic", _rating_labels(question, mat))
    extra: dict[str, Any] = {f"alpha_{other}": alpha_other, "pairwise_metric": "cohen_kappa_quadratic",
                             "per_annotator_metric": "mean_abs_diff_from_consensus_median"}
    if reason:
        extra["reason"] = reason
    return _Figures(f"krippendorff_alpha_{level}", alpha, _median_distances(mat, annotators), pairwise, extra)


def _ranking_agreement(by_item: _ByItem, annotators: list[str], question: Mapping[str, Any]) -> _Figures:
    rankings = {i: {a: ranking_map(v) for a, v in answers.items()} for i, answers in by_item.items()}
    tally = _RankTally()
    for answers in rankings.values():
        if len(answers) >= 2:
            tally.add_item(question, answers)
    alpha_ord, _ = _safe_alpha(_rank_unit_matrix(rankings, annotators), "ordinal")
    extra: dict[str, Any] = {"mean_pairwise_tau": _mean(tally.taus), "alpha_ordinal": alpha_ord,
                             "n_items_w": len(tally.ws), "pairwise_metric": "mean_kendall_tau_b",
                             "per_annotator_metric": "mean_kendall_tau_b_with_borda_consensus"}
    if not tally.ws:
        extra["reason"] = "Kendall's W is undefined on every item (fewer than two common responses or all tied)"
    return _Figures("kendall_w_mean", _mean(tally.ws), {a: float(np.mean(v)) for a, v in tally.per_taus.items()},
                    {k: float(np.mean(v)) for k, v in tally.pair_taus.items()}, extra)


def _span_agreement(by_item: _ByItem, annotators: list[str], question: Mapping[str, Any]) -> _Figures:
    spans = str(question.get("type", "")) == "spans"
    to_sets = span_intervals if spans else segment_intervals
    pair_counts: dict[tuple[str, str], OverlapCounts] = defaultdict(OverlapCounts)
    all_pairs = OverlapCounts()
    per_counts: dict[str, OverlapCounts] = defaultdict(OverlapCounts)
    for answers in by_item.values():
        if len(answers) < 2:
            continue
        names = sorted(answers)
        sets = {a: to_sets(answers[a]) for a in names}
        for a, b in combinations(names, 2):
            pair_counts[(a, b)].add(sets[a], sets[b])
            all_pairs.add(sets[a], sets[b])
        cons = to_sets(consensus(question, [answers[a] for a in names]).value)
        for a in names:
            per_counts[a].add(sets[a], cons)
    pairwise = {k: v.result().f1 for k, v in pair_counts.items()}
    pooled = all_pairs.result()
    unit = "char" if spans else "time"
    return _Figures(f"mean_pairwise_{unit}_f1", _mean(pairwise.values()),
                    {a: v.result().f1 for a, v in per_counts.items()}, pairwise,
                    {"per_label": pooled.per_label, "unlabeled_f1": pooled.unlabeled_f1, "pooled_f1": pooled.f1,
                     "pairwise_metric": f"{unit}_f1", "per_annotator_metric": f"{unit}_f1_with_consensus"})


def _safety_agreement(by_item: _ByItem, annotators: list[str], question: Mapping[str, Any]) -> _Figures:
    # verdict codes in the consensus tie-break order (most cautious first)
    nominal = _nominal(by_item, annotators, VERDICT_ORDER, verdict)
    per_category = _presence_alphas(by_item, annotators, question.get("categories"), _categories)
    behavior_mat, _ = _coded_matrix(by_item, annotators, question.get("behaviors"), _behavior)
    alpha_behavior, _ = _safe_alpha(behavior_mat, "nominal")
    return _Figures("krippendorff_alpha_nominal_verdict", nominal.value, nominal.per_annotator,
                    _pairwise_kappa(nominal.mat, annotators, None, None),
                    {**nominal.extra, "per_category": per_category, "alpha_behavior": alpha_behavior,
                     "pairwise_metric": "cohen_kappa_verdict",
                     "per_annotator_metric": "verdict_match_rate_with_consensus"})


_RULES: dict[str, Callable[[_ByItem, list[str], Mapping[str, Any]], _Figures]] = {
    "choice": _choice_agreement,
    "multi_choice": _multi_choice_agreement,
    "rating": _rating_agreement,
    "ranking": _ranking_agreement,
    "spans": _span_agreement,
    "segments": _span_agreement,
    "safety": _safety_agreement,
}


# --------------------------------------------------------------------------
# shared by the rules
# --------------------------------------------------------------------------


def _clean(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def _safe_alpha(matrix: np.ndarray, level: str) -> tuple[float | None, str | None]:
    try:
        return _clean(krippendorff_alpha(matrix, level)), None
    except ValueError as exc:
        return None, str(exc)


def _mean(xs: Iterable[float | None]) -> float | None:
    vals = [x for x in xs if x is not None and not math.isnan(x)]
    return float(np.mean(vals)) if vals else None


def _collect(submissions: Iterable[Sequence[Any]]) -> tuple[_ByItem, list[str]]:
    """{item: {annotator: value}} in first-seen item order; None answers are
    skipped; a repeated (item, annotator) keeps the last answer."""
    by_item: _ByItem = {}
    for sub in submissions:
        item, annotator, value = sub[0], sub[1], sub[2]
        if is_missing(value):
            continue
        by_item.setdefault(item, {})[annotator] = value
    annotators = sorted({a for answers in by_item.values() for a in answers})
    return by_item, annotators


def _with_unseen(configured: Iterable[Hashable] | None, seen: Iterable[Hashable]) -> list[Any]:
    """Config order first, then values the config does not list in ``str`` order
    — the same order the consensus tie-break uses."""
    opts = list(configured or ())
    return opts + sorted(set(seen) - set(opts), key=str)


def _matrix(by_item: Mapping[str, Mapping[str, Any]], annotators: list[str],
            conv: Callable[[Any], float | None]) -> np.ndarray:
    """Annotators x items reliability matrix; NaN where ``conv`` gives None."""
    pos = {a: i for i, a in enumerate(annotators)}
    mat = np.full((len(annotators), len(by_item)), np.nan)
    for j, answers in enumerate(by_item.values()):
        for a, v in answers.items():
            cv = conv(v)
            if cv is not None:
                mat[pos[a], j] = cv
    return mat


def _coded_matrix(by_item: _ByItem, annotators: list[str], options: Iterable[Hashable] | None,
                  extract: Callable[[Any], Hashable]) -> tuple[np.ndarray, int]:
    """Reliability matrix of category codes (:func:`_with_unseen` order) and the number of codes."""
    raw = [extract(v) for answers in by_item.values() for v in answers.values()]
    codes = {v: i for i, v in enumerate(_with_unseen(options, [v for v in raw if v is not None]))}
    return _matrix(by_item, annotators, lambda v: None if extract(v) is None else codes[extract(v)]), len(codes)


def _presence_alphas(by_item: Mapping[str, Mapping[str, Any]], annotators: list[str],
                     configured: Iterable[Hashable] | None,
                     chosen: Callable[[Any], Collection | None]) -> dict[Any, float | None]:
    """Nominal alpha of each option as chosen / not chosen; ``chosen`` None = no answer."""
    seen = [o for answers in by_item.values() for v in answers.values() for o in (chosen(v) or ())]
    alphas: dict[Any, float | None] = {}
    for opt in _with_unseen(configured, seen):
        mat = _matrix(by_item, annotators,
                      lambda v, o=opt: None if (c := chosen(v)) is None else (1.0 if o in c else 0.0))
        alphas[opt], _ = _safe_alpha(mat, "nominal")
    return alphas


def _pairwise_kappa(mat: np.ndarray, annotators: list[str], weights: str | None,
                    labels: Sequence[Any] | None) -> dict[tuple[str, str], float | None]:
    out: dict[tuple[str, str], float | None] = {}
    for i, j in combinations(range(len(annotators)), 2):
        both = ~np.isnan(mat[i]) & ~np.isnan(mat[j])
        if both.any():
            out[(annotators[i], annotators[j])] = _clean(
                cohen_kappa(mat[i, both], mat[j, both], weights=weights, labels=labels))
    return out


def _fleiss_from_matrix(mat: np.ndarray) -> tuple[float | None, str | None]:
    present = ~np.isnan(mat)
    counts = present.sum(axis=0)
    counts = counts[counts > 0]
    if counts.size == 0 or counts.max() < 2:
        return None, "needs at least two raters per item"
    if counts.min() != counts.max():
        return None, "items have different numbers of raters"
    table, _ = category_table(mat)
    return _clean(fleiss_kappa(table)), None


# --------------------------------------------------------------------------
# nominal (choice, safety verdict)
# --------------------------------------------------------------------------


class _Nominal(NamedTuple):
    value: float | None
    mat: np.ndarray
    per_annotator: dict[str, float]
    extra: dict[str, Any]


def _nominal(by_item: _ByItem, annotators: list[str], options: Iterable[Hashable] | None,
             extract: Callable[[Any], Hashable]) -> _Nominal:
    """Nominal alpha and Fleiss' kappa of one category per answer, and each
    annotator's match rate with the plurality."""
    mat, n_codes = _coded_matrix(by_item, annotators, options, extract)
    alpha, reason = _safe_alpha(mat, "nominal")
    fleiss, f_reason = _fleiss_from_matrix(mat)
    extra: dict[str, Any] = {"fleiss_kappa": fleiss}
    if f_reason:
        extra["fleiss_kappa_reason"] = f_reason
    if reason:
        extra["reason"] = reason
    return _Nominal(alpha, mat, _plurality_match_rates(mat, n_codes, annotators), extra)


def _plurality_match_rates(mat: np.ndarray, n_codes: int, annotators: list[str]) -> dict[str, float]:
    """Share of each annotator's answers on items answered twice or more that equal
    the plurality; ties go to the lowest code (config order), as in the consensus."""
    multi = (~np.isnan(mat)).sum(axis=0) >= 2
    per: dict[str, float] = {}
    if not (multi.any() and n_codes):
        return per
    sub = mat[:, multi]
    counts = np.zeros((n_codes, sub.shape[1]))
    for c in range(n_codes):
        counts[c] = (sub == c).sum(axis=0)
    cons = counts.argmax(axis=0)
    for i, a in enumerate(annotators):
        has = ~np.isnan(sub[i])
        if has.any():
            per[a] = float((sub[i, has] == cons[has]).mean())
    return per


# --------------------------------------------------------------------------
# rating, ranking, safety details
# --------------------------------------------------------------------------


def _rating_labels(question: Mapping[str, Any], mat: np.ndarray) -> list[Any] | None:
    """The whole ``min..max`` scale, so that kappa weights count scale points —
    unless a rating falls outside it (then the ratings that occur)."""
    lo, hi = question.get("min"), question.get("max")
    if not (isinstance(lo, int) and isinstance(hi, int) and hi > lo):
        return None
    labels: list[Any] = [float(v) for v in range(lo, hi + 1)]
    observed = set(np.unique(mat[~np.isnan(mat)]).tolist())
    return labels if observed <= set(labels) else None


def _median_distances(mat: np.ndarray, annotators: list[str]) -> dict[str, float]:
    """Mean |rating - consensus median| per annotator over items rated twice or more;
    the lower median, as the consensus takes it."""
    multi = (~np.isnan(mat)).sum(axis=0) >= 2
    sub = np.sort(mat[:, multi], axis=0)  # NaN sort last
    cnt = (~np.isnan(sub)).sum(axis=0)
    med = sub[(cnt - 1) // 2, np.arange(sub.shape[1])]
    diffs = np.abs(mat[:, multi] - med[None, :])
    return {a: float(np.nanmean(diffs[i])) for i, a in enumerate(annotators) if (~np.isnan(diffs[i])).any()}


@dataclass
class _RankTally:
    """Per-item figures of a ranking question, gathered item by item."""

    ws: list[float] = field(default_factory=list)
    taus: list[float] = field(default_factory=list)
    pair_taus: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    per_taus: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add_item(self, question: Mapping[str, Any], answers: Mapping[str, Mapping[str, float]]) -> None:
        names = sorted(answers)
        common = [r for r in answers[names[0]] if all(r in answers[a] for a in names)]
        if len(common) >= 2:
            w = kendall_w([[answers[a][r] for r in common] for a in names])
            if not math.isnan(w):
                self.ws.append(w)
        for a, b in combinations(names, 2):
            t = rank_similarity(answers[a], answers[b])
            if t is not None:
                self.taus.append(t)
                self.pair_taus[(a, b)].append(t)
        cons = ranking_map(consensus(question, [answers[a] for a in names]).value)
        for a in names:
            t = rank_similarity(answers[a], cons)
            if t is not None:
                self.per_taus[a].append(t)


def _rank_unit_matrix(rankings: Mapping[str, Mapping[str, Mapping[str, float]]],
                      annotators: list[str]) -> np.ndarray:
    """Annotators x (item, response) units holding the stored ranks."""
    pos = {a: i for i, a in enumerate(annotators)}
    unit_index: dict[tuple[str, str], int] = {}
    cells: list[tuple[int, int, float]] = []
    for item, answers in rankings.items():
        for a, rk in answers.items():
            for resp, rank in rk.items():
                cells.append((pos[a], unit_index.setdefault((item, resp), len(unit_index)), rank))
    mat = np.full((len(annotators), len(unit_index)), np.nan)
    for i, u, rank in cells:
        mat[i, u] = rank
    return mat


def _categories(value: Any) -> Collection | None:
    return (value.get("categories") or ()) if isinstance(value, Mapping) else None


def _behavior(value: Any) -> Hashable:
    return value.get("expected_behavior") if isinstance(value, Mapping) else None


# --------------------------------------------------------------------------
# gold
# --------------------------------------------------------------------------


def gold_accuracy(submissions: Iterable[Sequence[Any]], gold: Mapping[str, Any],
                  question: Mapping[str, Any]) -> dict[str, float]:
    """Each annotator's mean score against gold answers, over the gold items
    they answered (annotators with none are left out).

    Score per item, all in [0, 1]: exact match for ``choice`` and ``rating``;
    exact set for ``multi_choice``; verdict match for ``safety``; whitespace-
    normalised exact match for ``text``; for ``ranking`` the share of response
    pairs ordered as in gold (ties must be ties) over the responses both rank;
    for ``spans`` / ``segments`` the pooled character / 10 ms F1 against gold
    over all the annotator's gold items (both empty counts as 1.0).
    """
    qtype = str(question.get("type", ""))
    by_item, _ = _collect(submissions)
    scores: dict[str, list[float]] = defaultdict(list)
    pooled: dict[str, OverlapCounts] = defaultdict(OverlapCounts)
    for item, answers in by_item.items():
        if item not in gold or is_missing(gold[item]):
            continue
        g = gold[item]
        for a, v in answers.items():
            if qtype in ("choice", "rating"):
                scores[a].append(float(v == g))
            elif qtype == "multi_choice":
                scores[a].append(float(as_set(v) == as_set(g)))
            elif qtype == "safety":
                scores[a].append(float(verdict(v) == verdict(g)))
            elif qtype == "text":
                scores[a].append(float(" ".join(str(v).split()) == " ".join(str(g).split())))
            elif qtype == "ranking":
                ra, rg = ranking_map(v), ranking_map(g)
                common = [r for r in rg if r in ra]
                pairs = list(combinations(common, 2))
                if pairs:
                    ok = sum(np.sign(ra[x] - ra[y]) == np.sign(rg[x] - rg[y]) for x, y in pairs)
                    scores[a].append(ok / len(pairs))
            elif qtype == "spans":
                pooled[a].add(span_intervals(v), span_intervals(g))
            elif qtype == "segments":
                pooled[a].add(segment_intervals(v), segment_intervals(g))
            else:
                raise ValueError(f"unknown question type {qtype!r}")
    if qtype in ("spans", "segments"):
        return {a: c.result().f1 for a, c in pooled.items()}
    return {a: float(np.mean(v)) for a, v in scores.items() if v}
