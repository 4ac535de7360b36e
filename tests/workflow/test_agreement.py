"""Agreement math against the reference implementations and hand-computed cases.

References (test-only): krippendorff, scikit-learn, statsmodels, scipy.
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from itertools import combinations
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from labeldesk.app.workflow.agreement import (
    QuestionAgreement,
    Submission,
    category_table,
    coincidence_matrix,
    cohen_kappa,
    fleiss_kappa,
    gold_accuracy,
    kendall_tau_b,
    kendall_w,
    krippendorff_alpha,
    mean_pairwise_kendall_tau,
    mean_pairwise_span_f1,
    question_agreement,
    segment_f1,
    span_f1,
)

try:
    from scipy import stats as scipy_stats
except ImportError:  # pragma: no cover - scipy comes with scikit-learn
    scipy_stats = None

needs_scipy = pytest.mark.skipif(scipy_stats is None, reason="scipy not installed")

TOL = 1e-9
LEVELS = ["nominal", "ordinal", "interval", "ratio"]


def noisy_matrix(rng, coders, units, values, agree=0.6, missing=0.3, offset=1):
    """Coders x units with a latent truth, noise and NaN holes."""
    truth = rng.integers(0, values, units)
    data = np.where(rng.random((coders, units)) < agree, truth, rng.integers(0, values, (coders, units)))
    data = data.astype(float) + offset
    data[rng.random((coders, units)) < missing] = np.nan
    return data


def ref_alpha(data, level, **kw):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the package's 0/0
            return krippendorff.alpha(reliability_data=data, level_of_measurement=level, **kw)
    except ValueError as exc:
        return exc


def assert_same_alpha(data, level, **kw):
    ref = ref_alpha(data, level, **kw)
    if isinstance(ref, Exception):
        with pytest.raises(ValueError):
            krippendorff_alpha(data, level, **kw)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = krippendorff_alpha(data, level, **kw)
    if math.isnan(ref):
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(ref, abs=TOL)


# ---------------------------------------------------------------- Krippendorff


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", range(12))
def test_alpha_matches_package_random(level, seed):
    rng = np.random.default_rng(seed)
    coders = int(rng.integers(2, 8))
    units = int(rng.integers(2, 80))
    values = int(rng.integers(2, 9))
    data = noisy_matrix(rng, coders, units, values, agree=rng.uniform(0, 1), missing=rng.uniform(0, 0.5))
    assert_same_alpha(data, level)


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_matches_package_non_integer_values(level):
    rng = np.random.default_rng(42)
    data = rng.normal(3, 1, size=(4, 60)).round(2)
    data[rng.random(data.shape) < 0.25] = np.nan
    assert_same_alpha(data, level)
    # wide range integers take the np.unique path
    wide = noisy_matrix(rng, 3, 50, 6) * 1_000_003
    assert_same_alpha(wide, level)


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_matches_package_larger(level):
    rng = np.random.default_rng(7)
    data = noisy_matrix(rng, 5, 20_000, 5, agree=0.7, missing=0.1)
    assert_same_alpha(data, level)


def test_alpha_single_valued_units_and_empty_units():
    data = np.array([
        [1, 2, np.nan, 3, np.nan, 5],
        [1, np.nan, np.nan, 3, 4, np.nan],
        [2, np.nan, np.nan, 3, np.nan, np.nan],
    ])
    for level in LEVELS:
        assert_same_alpha(data, level)


def test_alpha_given_value_domain_matches_package():
    rng = np.random.default_rng(3)
    data = noisy_matrix(rng, 3, 40, 4)
    for level in LEVELS:
        assert_same_alpha(data, level, value_domain=[1, 2, 3, 4, 5, 6])
    with pytest.raises(ValueError):
        krippendorff_alpha(data, "nominal", value_domain=[1, 2])


def test_alpha_package_docstring_examples():
    data = [[np.nan, np.nan, np.nan, np.nan, np.nan, 3, 4, 1, 2, 1, 1, 3, 3, np.nan, 3],
            [1, np.nan, 2, 1, 3, 3, 4, 3, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
            [np.nan, np.nan, 2, 1, 3, 4, 4, np.nan, 2, 1, 1, 3, 3, np.nan, 4]]
    assert round(krippendorff_alpha(data, "nominal"), 6) == 0.691358
    assert round(krippendorff_alpha(data, "interval"), 6) == 0.810845
    data2 = [[1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
             [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
             [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
             [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan]]
    assert round(krippendorff_alpha(data2, "ordinal"), 3) == 0.815
    assert round(krippendorff_alpha(data2, "ordinal", value_domain=[1, 2, 3, 4, 5]), 3) == 0.815
    assert round(krippendorff_alpha(data2, "ratio"), 3) == 0.797


def test_alpha_strings_and_objects():
    words = [["very low", "low", "mid", "mid", "low", "very low", "high", "very low", "low", np.nan, np.nan, np.nan],
             ["very low", "low", "mid", "mid", "low", "low", "high", "very low", "low", "very high", np.nan, "mid"],
             [np.nan, "mid", "mid", "mid", "low", "mid", "high", "low", "low", "very high", "very low", np.nan],
             ["very low", "low", "mid", "mid", "low", "high", "high", "very low", "low", "very high", "very low",
              np.nan]]
    domain = ["very low", "low", "mid", "high", "very high"]
    assert_same_alpha(words, "nominal")
    assert_same_alpha(words, "ordinal", value_domain=domain)
    assert round(krippendorff_alpha(words, "ordinal", value_domain=domain), 3) == 0.815
    with pytest.raises(ValueError):
        krippendorff_alpha(words, "ordinal")  # strings need an ordered domain
    # object arrays with None as missing give the same numbers
    objects = [[None if isinstance(v, float) else v for v in row] for row in words]
    assert krippendorff_alpha(objects, "nominal") == pytest.approx(krippendorff.alpha(words, level_of_measurement="nominal"), abs=TOL)
    assert krippendorff_alpha(objects, "ordinal", value_domain=domain) == pytest.approx(0.8153875, abs=1e-6)


def test_alpha_perfect_agreement_and_systematic_disagreement():
    data = np.array([[1, 2, 3, 1, 2], [1, 2, 3, 1, 2], [1, 2, 3, 1, 2]], dtype=float)
    for level in LEVELS:
        assert krippendorff_alpha(data, level) == pytest.approx(1.0)
    # two coders who always disagree on a binary code: alpha below zero
    flip = np.array([[0, 1, 0, 1], [1, 0, 1, 0]], dtype=float)
    assert krippendorff_alpha(flip, "nominal") < 0
    assert_same_alpha(flip, "nominal")


def test_alpha_edge_cases_like_package():
    # a single coder: no unit is pairable -> error
    with pytest.raises(ValueError, match="at least two coders"):
        krippendorff_alpha([[1, 2, 3, 4]], "nominal")
    assert isinstance(ref_alpha([[1, 2, 3, 4]], "nominal"), ValueError)
    # all values identical -> a one-value domain -> error (as the package)
    same = [[2, 2, 2], [2, 2, np.nan]]
    with pytest.raises(ValueError, match="more than one value"):
        krippendorff_alpha(same, "nominal")
    assert isinstance(ref_alpha(same, "nominal"), ValueError)
    # identical pairable values, but a second value in the domain -> 0/0 = NaN (as the package)
    for level in LEVELS:
        assert_same_alpha([[2, 2, 2, 5], [2, 2, 2, np.nan]], level)
        assert math.isnan(krippendorff_alpha([[2, 2, 2], [2, 2, 2]], level, value_domain=[1, 2]))
    with pytest.raises(ValueError):
        krippendorff_alpha([1, 2, 3], "nominal")  # not a matrix
    with pytest.raises(ValueError):
        krippendorff_alpha([[1, 2], [1, 2]], "cardinal")


def test_coincidence_matrix_matches_package():
    from krippendorff.krippendorff import _coincidences, _reliability_data_to_value_counts

    rng = np.random.default_rng(11)
    data = noisy_matrix(rng, 4, 50, 5)
    o, domain = coincidence_matrix(data)
    expected = _coincidences(_reliability_data_to_value_counts(data, domain))
    np.testing.assert_allclose(o, expected, atol=1e-12)
    # the column sums are the pairable value counts n_c
    assert o.sum() == pytest.approx(np.sum((~np.isnan(data))[:, (~np.isnan(data)).sum(0) >= 2]))


# ---------------------------------------------------------------- kappas


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", range(6))
def test_cohen_matches_sklearn(weights, seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(5, 300))
    k = int(rng.integers(2, 7))
    a = rng.integers(0, k, n)
    b = np.where(rng.random(n) < rng.uniform(0, 1), a, rng.integers(0, k, n))
    ref = cohen_kappa_score(a, b, weights=weights)
    assert cohen_kappa(a, b, weights=weights) == pytest.approx(ref, abs=TOL)  # numpy fast path
    assert cohen_kappa(a.tolist(), b.tolist(), weights=weights) == pytest.approx(ref, abs=TOL)  # generic path
    assert cohen_kappa(a.astype(float), b.astype(float), weights=weights) == pytest.approx(ref, abs=TOL)
    labels = list(range(k + 2))  # an explicit label set (unused labels change weighted kappa)
    ref = cohen_kappa_score(a, b, weights=weights, labels=labels)
    assert cohen_kappa(a, b, weights=weights, labels=labels) == pytest.approx(ref, abs=TOL)
    assert cohen_kappa(a.tolist(), b.tolist(), weights=weights, labels=labels) == pytest.approx(ref, abs=TOL)
    # labels in a non-sorted order: weights follow the given order, as in scikit-learn
    shuffled = labels[::-1]
    ref = cohen_kappa_score(a, b, weights=weights, labels=shuffled)
    assert cohen_kappa(a, b, weights=weights, labels=shuffled) == pytest.approx(ref, abs=TOL)
    assert cohen_kappa(a.tolist(), b.tolist(), weights=weights, labels=shuffled) == pytest.approx(ref, abs=TOL)


def test_cohen_strings_missing_and_textbook():
    a = ["yes", "yes", "no", "yes", "no", "maybe", "no", "yes"]
    b = ["yes", "no", "no", "yes", "no", "maybe", "yes", "yes"]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=TOL)
    # missing pairs are dropped
    assert cohen_kappa(a + [None], b + ["yes"]) == pytest.approx(cohen_kappa_score(a, b), abs=TOL)
    # Wikipedia: 50 proposals, 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> 0.4
    x = ["Y"] * 25 + ["N"] * 25
    y = ["Y"] * 20 + ["N"] * 5 + ["Y"] * 10 + ["N"] * 15
    assert cohen_kappa(x, y) == pytest.approx(0.4)
    assert cohen_kappa([1, 2, 3], [1, 2, 3]) == 1.0
    assert math.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))  # undefined, sklearn gives NaN as well
    assert math.isnan(cohen_kappa(np.array([1.0, 1.0]), np.array([1.0, 1.0])))
    fa = np.array([1.0, 2.0, np.nan, 2.0, 1.0])
    fb = np.array([1.0, 2.0, 1.0, np.nan, 2.0])
    assert cohen_kappa(fa, fb) == pytest.approx(cohen_kappa_score([1, 2, 1], [1, 2, 2]), abs=TOL)
    with pytest.raises(ValueError):
        cohen_kappa([1, 2], [1])


@pytest.mark.parametrize("seed", range(6))
def test_fleiss_matches_statsmodels(seed):
    rng = np.random.default_rng(200 + seed)
    raters = int(rng.integers(2, 8))
    cats = int(rng.integers(2, 6))
    table = rng.multinomial(raters, rng.dirichlet(np.ones(cats)), size=int(rng.integers(3, 100)))
    assert fleiss_kappa(table) == pytest.approx(sm_fleiss_kappa(table), abs=TOL)


def test_fleiss_from_reliability_matrix_and_textbook():
    rng = np.random.default_rng(5)
    data = noisy_matrix(rng, 4, 60, 3, missing=0.0)
    table, domain = category_table(data)
    sm_table, sm_cats = aggregate_raters(data.T)
    np.testing.assert_array_equal(table, sm_table)
    np.testing.assert_array_equal(domain, sm_cats)
    assert fleiss_kappa(table) == pytest.approx(sm_fleiss_kappa(sm_table), abs=TOL)
    # Fleiss (1971) as on Wikipedia: 10 subjects, 14 raters, 5 categories -> 0.210
    wiki = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert round(fleiss_kappa(wiki), 3) == 0.210
    with pytest.raises(ValueError, match="same number of raters"):
        fleiss_kappa([[2, 1], [1, 1]])
    with pytest.raises(ValueError):
        fleiss_kappa([[1, 0], [0, 1]])  # one rater per unit


# ---------------------------------------------------------------- ranks


@needs_scipy
@pytest.mark.parametrize("seed", range(8))
def test_kendall_w_matches_friedman(seed):
    rng = np.random.default_rng(300 + seed)
    m = int(rng.integers(2, 7))
    n = int(rng.integers(3, 9))
    ranks = rng.integers(1, n, size=(m, n))  # plenty of ties
    chi2 = scipy_stats.friedmanchisquare(*ranks.T).statistic
    assert kendall_w(ranks) == pytest.approx(chi2 / (m * (n - 1)), abs=TOL)


def test_kendall_w_textbook():
    perfect = [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]
    assert kendall_w(perfect) == pytest.approx(1.0)
    assert kendall_w([[1, 2, 3], [3, 2, 1]]) == pytest.approx(0.0)
    # m=3 raters, n=4 objects; rank sums 4, 7, 8, 11 -> S = 25, W = 12*25/(9*60) = 5/9
    assert kendall_w([[1, 2, 3, 4], [2, 1, 3, 4], [1, 4, 2, 3]]) == pytest.approx(12 * 25 / (9 * 60))
    # scores, not ranks: only the order matters
    assert kendall_w([[10, 20, 30], [0.1, 0.2, 0.3]]) == pytest.approx(1.0)
    assert math.isnan(kendall_w([[1, 1, 1], [2, 2, 2]]))
    with pytest.raises(ValueError):
        kendall_w([[1, 2, 3]])
    with pytest.raises(ValueError):
        kendall_w([[1, 2, np.nan], [1, 2, 3]])


@needs_scipy
@pytest.mark.parametrize("seed", range(8))
def test_tau_b_matches_scipy(seed):
    rng = np.random.default_rng(400 + seed)
    n = int(rng.integers(2, 40))
    x = rng.integers(0, 5, n)
    y = np.where(rng.random(n) < 0.5, x, rng.integers(0, 5, n))
    ref = scipy_stats.kendalltau(x, y).statistic
    ours = kendall_tau_b(x, y)
    if math.isnan(ref):
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(ref, abs=TOL)


@needs_scipy
def test_tau_b_long_sequences_cross_blocks():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 50, 2500)
    y = x + rng.integers(-20, 20, 2500)
    assert kendall_tau_b(x, y) == pytest.approx(scipy_stats.kendalltau(x, y).statistic, abs=TOL)


@needs_scipy
def test_mean_pairwise_tau_matches_scipy():
    rng = np.random.default_rng(10)
    ranks = rng.integers(1, 5, size=(5, 6))
    ranks[2] = 3  # a rater tying everything: undefined pairs are left out
    ref = [scipy_stats.kendalltau(ranks[i], ranks[j]).statistic for i, j in combinations(range(5), 2)]
    ref = [r for r in ref if not math.isnan(r)]
    assert mean_pairwise_kendall_tau(ranks) == pytest.approx(np.mean(ref), abs=TOL)
    assert kendall_tau_b([1, 2, 3], [1, 2, 3]) == 1.0
    assert kendall_tau_b([1, 2, 3], [3, 2, 1]) == -1.0
    assert math.isnan(kendall_tau_b([1], [1]))
    with pytest.raises(ValueError):
        mean_pairwise_kendall_tau([[1, 2, 3]])


# ---------------------------------------------------------------- spans


def sp(start, end, label="x", target="responses.a", **kw):
    return {"target": target, "start": start, "end": end, "label": label, **kw}


def brute_char_f1(a, b):
    ca = {(s["target"], s["label"], i) for s in a for i in range(s["start"], s["end"])}
    cb = {(s["target"], s["label"], i) for s in b for i in range(s["start"], s["end"])}
    if not ca and not cb:
        return 1.0
    return 2 * len(ca & cb) / (len(ca) + len(cb))


def test_span_f1_hand_cases():
    assert span_f1([sp(0, 10)], [sp(0, 10)]).f1 == 1.0
    assert span_f1([sp(0, 10)], [sp(10, 20)]).f1 == 0.0
    r = span_f1([sp(0, 10)], [sp(5, 20)])
    assert r.f1 == pytest.approx(2 * 5 / 25)
    assert r.precision == pytest.approx(0.5) and r.recall == pytest.approx(5 / 15)
    # same characters, different labels: labelled F1 0, unlabelled 1
    r = span_f1([sp(0, 10, "a")], [sp(0, 10, "b")])
    assert r.f1 == 0.0 and r.unlabeled_f1 == 1.0 and r.per_label == {"a": 0.0, "b": 0.0}
    # different targets never overlap
    assert span_f1([sp(0, 10, target="messages.0")], [sp(0, 10, target="messages.1")]).f1 == 0.0
    # an annotator's overlapping spans count each character once
    assert span_f1([sp(0, 6), sp(4, 10)], [sp(0, 10)]).f1 == 1.0
    # nothing marked by either: agreement that there is nothing to mark
    assert span_f1([], []).f1 == 1.0 and span_f1(None, []).f1 == 1.0
    assert span_f1([sp(0, 3)], []).f1 == 0.0
    # per label
    r = span_f1([sp(0, 10, "a"), sp(20, 30, "b")], [sp(0, 10, "a"), sp(25, 30, "b")])
    assert r.per_label["a"] == 1.0 and r.per_label["b"] == pytest.approx(2 * 5 / 15)
    assert r.f1 == pytest.approx(2 * 15 / 35)


def test_span_f1_matches_brute_force():
    rng = np.random.default_rng(12)
    for _ in range(200):
        def rand_spans():
            out = []
            for _ in range(int(rng.integers(0, 5))):
                s = int(rng.integers(0, 40))
                out.append(sp(s, s + int(rng.integers(1, 15)), str(rng.choice(["a", "b"])),
                              str(rng.choice(["t1", "t2"]))))
            return out
        a, b = rand_spans(), rand_spans()
        assert span_f1(a, b).f1 == pytest.approx(brute_char_f1(a, b))
    sets = [[sp(0, 10)], [sp(0, 10)], [sp(5, 10)]]
    assert mean_pairwise_span_f1(sets) == pytest.approx((1 + 2 * 5 / 15 + 2 * 5 / 15) / 3)
    with pytest.raises(ValueError):
        mean_pairwise_span_f1([[sp(0, 1)]])


def test_segment_f1_time_resolution():
    a = [{"media": "m1", "start": 1.0, "end": 2.0, "tier": "speaker", "label": "spk1"}]
    b = [{"media": "m1", "start": 1.004, "end": 2.5, "tier": "speaker", "label": "spk1"}]
    assert segment_f1(a, b).f1 == pytest.approx(2 * 100 / (100 + 150))
    other_tier = [{"media": "m1", "start": 1.0, "end": 2.0, "tier": "events", "label": "spk1"}]
    assert segment_f1(a, other_tier).f1 == 0.0
    other_media = [{"media": "m2", "start": 1.0, "end": 2.0, "tier": "speaker", "label": "spk1"}]
    assert segment_f1(a, other_media).f1 == 0.0


# ---------------------------------------------------------------- question layer


def subs_from_matrix(data, values_of=lambda v: v):
    out = []
    for a in range(data.shape[0]):
        for u in range(data.shape[1]):
            if not np.isnan(data[a, u]):
                out.append(Submission(f"item{u:04d}", f"ann{a}", values_of(data[a, u])))
    return out


def test_choice_agreement_matches_references():
    rng = np.random.default_rng(20)
    data = noisy_matrix(rng, 4, 150, 3, agree=0.7, missing=0.2, offset=0)
    options = ["keep", "fix", "reject"]
    subs = subs_from_matrix(data, lambda v: options[int(v)])
    q = {"name": "verdict", "type": "choice", "options": options}
    res = question_agreement(subs, q)
    assert isinstance(res, QuestionAgreement)
    assert res.metric_name == "krippendorff_alpha_nominal"
    assert res.value == pytest.approx(krippendorff.alpha(data, level_of_measurement="nominal"), abs=TOL)
    assert res.n_annotators == 4
    assert res.n_items == int(((~np.isnan(data)).sum(0) > 0).sum())
    assert res.extra["fleiss_kappa"] is None  # raters per item vary
    assert res.extra["fleiss_kappa_reason"]
    for (a, b), kappa in res.pairwise.items():
        i, j = int(a[3:]), int(b[3:])
        both = ~np.isnan(data[i]) & ~np.isnan(data[j])
        assert kappa == pytest.approx(cohen_kappa_score(data[i, both], data[j, both]), abs=TOL)
    assert set(res.per_annotator) == {"ann0", "ann1", "ann2", "ann3"}
    assert all(0.0 <= v <= 1.0 for v in res.per_annotator.values())

    full = noisy_matrix(rng, 3, 80, 3, missing=0.0, offset=0)
    res = question_agreement(subs_from_matrix(full, lambda v: options[int(v)]), q)
    assert res.extra["fleiss_kappa"] == pytest.approx(sm_fleiss_kappa(aggregate_raters(full.T)[0]), abs=TOL)


def test_choice_per_annotator_hand_case():
    q = {"name": "c", "type": "choice", "options": ["a", "b"]}
    subs = [("i1", "x", "a"), ("i1", "y", "a"), ("i1", "z", "b"),
            ("i2", "x", "b"), ("i2", "y", "b"), ("i2", "z", "b"),
            ("i3", "x", "a")]  # single answer: not counted for per-annotator
    res = question_agreement(subs, q)
    assert res.per_annotator == {"x": 1.0, "y": 1.0, "z": 0.5}
    assert res.extra["n_items_overlap"] == 2 and res.n_items == 3
    # perfect agreement
    perfect = [(f"i{i}", a, "ab"[i % 2]) for i in range(10) for a in "xyz"]
    res = question_agreement(perfect, q)
    assert res.value == 1.0 and res.extra["fleiss_kappa"] == pytest.approx(1.0)
    assert all(v == 1.0 for v in res.pairwise.values())


def test_rating_agreement():
    rng = np.random.default_rng(21)
    data = noisy_matrix(rng, 5, 120, 5, agree=0.6, missing=0.15)
    subs = subs_from_matrix(data, int)
    q = {"name": "quality", "type": "rating", "min": 1, "max": 5, "scale": "ordinal"}
    res = question_agreement(subs, q)
    assert res.metric_name == "krippendorff_alpha_ordinal"
    assert res.value == pytest.approx(krippendorff.alpha(data, level_of_measurement="ordinal"), abs=TOL)
    assert res.extra["alpha_interval"] == pytest.approx(krippendorff.alpha(data, level_of_measurement="interval"), abs=TOL)
    res_i = question_agreement(subs, {**q, "scale": "interval"})
    assert res_i.metric_name == "krippendorff_alpha_interval"
    assert res_i.value == pytest.approx(krippendorff.alpha(data, level_of_measurement="interval"), abs=TOL)
    a, b = "ann0", "ann1"
    both = ~np.isnan(data[0]) & ~np.isnan(data[1])
    assert res.pairwise[(a, b)] == pytest.approx(
        cohen_kappa_score(data[0, both], data[1, both], weights="quadratic", labels=[1, 2, 3, 4, 5]), abs=TOL)
    # per annotator: mean |rating - lower median| by hand
    small = [("i1", "x", 1), ("i1", "y", 3), ("i1", "z", 5), ("i2", "x", 2), ("i2", "y", 4)]
    res = question_agreement(small, q)
    # i1 median 3; i2 lower median 2
    assert res.per_annotator == {"x": pytest.approx((2 + 0) / 2), "y": pytest.approx((0 + 2) / 2), "z": 2.0}


def test_multi_choice_agreement():
    rng = np.random.default_rng(22)
    options = ["a", "b", "c"]
    chosen = rng.random((3, 40, 3)) < 0.5
    chosen[1] = np.where(rng.random((40, 3)) < 0.7, chosen[0], chosen[1])
    subs = [(f"i{u}", f"ann{a}", [o for k, o in enumerate(options) if chosen[a, u, k]])
            for a in range(3) for u in range(40)]
    res = question_agreement(subs, {"name": "tags", "type": "multi_choice", "options": options})
    per_option = {o: krippendorff.alpha(chosen[:, :, k].astype(float), level_of_measurement="nominal")
                  for k, o in enumerate(options)}
    for o in options:
        assert res.extra["per_option"][o] == pytest.approx(per_option[o], abs=TOL)
    assert res.value == pytest.approx(np.mean(list(per_option.values())), abs=TOL)
    assert res.metric_name == "mean_option_alpha_nominal"


def rank_value(order):
    """["b", ("a", "c")] -> b first, a and c tied second."""
    out = []
    for r, group in enumerate(order, start=1):
        for resp in (group if isinstance(group, tuple) else (group,)):
            out.append({"response": resp, "rank": r})
    return out


@needs_scipy
def test_ranking_agreement():
    rng = np.random.default_rng(23)
    responses = ["a", "b", "c", "d"]
    subs = []
    per_item = {}
    for i in range(30):
        base = rng.permutation(4) + 1
        rows = []
        for a in range(3):
            r = base.copy() if rng.random() < 0.6 else rng.permutation(4) + 1
            rows.append(r)
            subs.append((f"i{i}", f"ann{a}", [{"response": x, "rank": int(k)} for x, k in zip(responses, r)]))
        per_item[i] = np.array(rows)
    res = question_agreement(subs, {"name": "ranking", "type": "ranking", "ties": False})
    ws = [kendall_w(m) for m in per_item.values()]
    assert res.metric_name == "kendall_w_mean"
    assert res.value == pytest.approx(np.mean(ws), abs=TOL)
    taus = [scipy_stats.kendalltau(m[i], m[j]).statistic for m in per_item.values()
            for i, j in combinations(range(3), 2)]
    assert res.extra["mean_pairwise_tau"] == pytest.approx(np.mean(taus), abs=TOL)
    units = np.full((3, 30 * 4), np.nan)
    for i, m in per_item.items():
        units[:, i * 4:(i + 1) * 4] = m
    assert res.extra["alpha_ordinal"] == pytest.approx(krippendorff.alpha(units, level_of_measurement="ordinal"), abs=TOL)
    assert set(res.pairwise) == {("ann0", "ann1"), ("ann0", "ann2"), ("ann1", "ann2")}
    assert all(-1.0 <= v <= 1.0 for v in res.per_annotator.values())

    same = [(f"i{i}", a, rank_value(["b", ("a", "c")])) for i in range(3) for a in "xy"]
    res = question_agreement(same, {"name": "ranking", "type": "ranking", "ties": True})
    assert res.value == pytest.approx(1.0) and res.extra["mean_pairwise_tau"] == pytest.approx(1.0)


def test_spans_agreement():
    q = {"name": "errors", "type": "spans", "labels": ["x", "y"]}
    subs = [("i1", "p", [sp(0, 10)]), ("i1", "q", [sp(5, 10)]),
            ("i2", "p", []), ("i2", "q", [sp(0, 4, "y")]),
            ("i3", "p", [sp(0, 4)])]
    res = question_agreement(subs, q)
    # pooled over i1 and i2: overlap 5, |p| = 10, |q| = 5 + 4
    assert res.pairwise[("p", "q")] == pytest.approx(2 * 5 / 19)
    assert res.value == pytest.approx(2 * 5 / 19)
    assert res.metric_name == "mean_pairwise_char_f1"
    assert res.extra["per_label"]["y"] == 0.0


def test_spans_per_annotator_and_segments_agreement():
    q = {"name": "errors", "type": "spans", "labels": ["x"]}
    subs = [("i1", "p", [sp(0, 10)]), ("i1", "q", [sp(0, 10)]), ("i1", "r", [sp(20, 30)])]
    res = question_agreement(subs, q)
    # consensus (2 of 3 characters) is [0, 10): p and q match it, r does not
    assert res.per_annotator == {"p": 1.0, "q": 1.0, "r": 0.0}
    assert res.value == pytest.approx((1.0 + 0.0 + 0.0) / 3)

    def seg(start, end, label="spk1"):
        return {"media": "m1", "start": start, "end": end, "tier": "speaker", "label": label}

    sq = {"name": "segments", "type": "segments", "tiers": [{"name": "speaker", "labels": ["spk1", "spk2"]}]}
    subs = [("i1", "p", [seg(0.0, 1.0)]), ("i1", "q", [seg(0.5, 1.0)]),
            ("i2", "p", [seg(0.0, 1.0, "spk2")]), ("i2", "q", [seg(0.0, 1.0, "spk1")])]
    res = question_agreement(subs, sq)
    assert res.metric_name == "mean_pairwise_time_f1"
    # i1: overlap 50 ticks of 100 + 50; i2: labels differ -> overlap 0 of 100 + 100
    assert res.pairwise[("p", "q")] == pytest.approx(2 * 50 / 350)
    assert res.extra["unlabeled_f1"] == pytest.approx(2 * 150 / 350)


def test_safety_agreement():
    q = {"name": "safety", "type": "safety", "categories": ["hate", "violence"],
         "behaviors": ["comply", "refuse", "safe-complete"]}
    rng = np.random.default_rng(24)
    verdicts = ["safe", "unsafe", "borderline"]
    data = noisy_matrix(rng, 3, 60, 3, agree=0.7, missing=0.1, offset=0)
    subs = subs_from_matrix(data, lambda v: {"verdict": verdicts[int(v)],
                                              "categories": ["hate"] if v == 1 else [],
                                              "expected_behavior": "refuse" if v == 1 else "comply"})
    res = question_agreement(subs, q)
    assert res.value == pytest.approx(krippendorff.alpha(data, level_of_measurement="nominal"), abs=TOL)
    hate = np.where(np.isnan(data), np.nan, (data == 1).astype(float))
    assert res.extra["per_category"]["hate"] == pytest.approx(krippendorff.alpha(hate, level_of_measurement="nominal"), abs=TOL)
    assert res.extra["per_category"]["violence"] is None  # never chosen: undefined
    assert res.extra["alpha_behavior"] == pytest.approx(res.extra["per_category"]["hate"], abs=TOL)


def test_thin_data_and_text():
    single = [("i1", "x", "a"), ("i2", "x", "b")]
    res = question_agreement(single, {"name": "c", "type": "choice", "options": ["a", "b"]})
    assert res.value is None and "two annotators" in res.extra["reason"]
    assert res.n_items == 2 and res.n_annotators == 1
    same = [("i1", "x", "a"), ("i1", "y", "a"), ("i2", "x", "a"), ("i2", "y", "a")]
    res = question_agreement(same, {"name": "c", "type": "choice", "options": ["a", "b"]})
    assert res.value is None and "more than one value" in res.extra["reason"]
    res = question_agreement([("i1", "x", "hello"), ("i1", "y", "bye")], {"name": "t", "type": "text"})
    assert res.value is None and res.metric_name == "none" and res.n_items == 1 and res.n_annotators == 2
    # None answers are skipped; a repeated (item, annotator) keeps the last answer
    res = question_agreement([("i1", "x", "a"), ("i1", "x", "b"), ("i1", "y", "b"), ("i1", "z", None)],
                             {"name": "c", "type": "choice", "options": ["a", "b"]})
    assert res.n_annotators == 2 and res.per_annotator == {"x": 1.0, "y": 1.0}
    with pytest.raises(ValueError):
        question_agreement(single, {"name": "c", "type": "colour"})


def test_gold_accuracy():
    q = {"name": "c", "type": "choice", "options": ["a", "b"]}
    subs = [("i1", "x", "a"), ("i2", "x", "b"), ("i1", "y", "b"), ("i3", "y", "a")]
    assert gold_accuracy(subs, {"i1": "a", "i2": "a"}, q) == {"x": 0.5, "y": 0.0}
    rq = {"name": "r", "type": "ranking"}
    gold = {"i1": rank_value(["a", "b", "c"])}
    acc = gold_accuracy([("i1", "x", rank_value(["a", "c", "b"])), ("i1", "y", rank_value(["a", "b", "c"]))], gold, rq)
    assert acc == {"x": pytest.approx(2 / 3), "y": 1.0}
    sq = {"name": "e", "type": "spans"}
    acc = gold_accuracy([("i1", "x", [sp(0, 10)]), ("i2", "x", [])], {"i1": [sp(5, 10)], "i2": []}, sq)
    assert acc == {"x": pytest.approx(2 * 5 / 15)}
    mq = {"name": "m", "type": "multi_choice"}
    assert gold_accuracy([("i1", "x", ["b", "a"])], {"i1": ["a", "b"]}, mq) == {"x": 1.0}
    safety = {"name": "s", "type": "safety"}
    assert gold_accuracy([("i1", "x", {"verdict": "safe"})], {"i1": {"verdict": "unsafe"}}, safety) == {"x": 0.0}


def test_modules_import_no_qt_db_or_reference_packages():
    code = ("import sys; import labeldesk.app.workflow.agreement, labeldesk.app.workflow.consensus; "
            "bad = [m for m in ('PySide6', 'sqlalchemy', 'krippendorff', 'sklearn', 'statsmodels', 'scipy') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
