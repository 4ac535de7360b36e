"""Consensus rules: hand-computed cases, tie-breaks and determinism."""

from __future__ import annotations

import random

import numpy as np
import pytest

from labeldesk.app.workflow.agreement import question_agreement
from labeldesk.app.workflow.consensus import Consensus, consensus, consensus_values

CHOICE = {"name": "verdict", "type": "choice", "options": ["keep", "fix", "reject"]}
RATING = {"name": "quality", "type": "rating", "min": 1, "max": 5, "scale": "ordinal"}
RANKING = {"name": "ranking", "type": "ranking", "ties": True}
SPANS = {"name": "errors", "type": "spans", "labels": ["unsupported-claim", "factual-error"],
         "severities": ["minor", "major", "critical"]}
SEGMENTS = {"name": "segments", "type": "segments",
            "tiers": [{"name": "speaker", "labels": ["spk1", "spk2"]}, {"name": "transcript"}]}
SAFETY = {"name": "safety", "type": "safety", "categories": ["violence", "hate", "privacy"],
          "behaviors": ["comply", "refuse", "safe-complete"]}


def ranks(order):
    """["b", ("a", "c")] -> b first, a and c tied second."""
    out = []
    for r, group in enumerate(order, start=1):
        for resp in (group if isinstance(group, tuple) else (group,)):
            out.append({"response": resp, "rank": r})
    return out


def sp(start, end, label="unsupported-claim", target="responses.a", **kw):
    return {"target": target, "start": start, "end": end, "label": label, **kw}


def seg(start, end, label="spk1", tier="speaker", media="m1", **kw):
    d = {"media": media, "start": start, "end": end, "tier": tier, **kw}
    if label is not None:
        d["label"] = label
    return d


# ---------------------------------------------------------------- choice


def test_choice_majority_plurality_and_tie():
    c = consensus(CHOICE, ["fix", "fix", "keep"])
    assert c == Consensus("fix", "majority", pytest.approx(2 / 3), False, 3)
    c = consensus(CHOICE, ["fix", "keep", "reject", "fix", "keep", "reject", "reject"])
    assert (c.value, c.method, c.contradictory) == ("reject", "plurality", False)
    # a tie is contradictory and broken by the options order, whatever the input order
    for values in (["reject", "fix"], ["fix", "reject"]):
        c = consensus(CHOICE, values)
        assert (c.value, c.method, c.contradictory, c.agreement) == ("fix", "plurality-tie", True, 0.5)
    # values outside the options come after them, in str order
    assert consensus(CHOICE, ["zzz", "aaa"]).value == "aaa"
    assert consensus(CHOICE, ["zzz", "keep"]).value == "keep"


def test_missing_values_and_single_answer():
    assert consensus(CHOICE, []) == Consensus(None, "none", None, False, 0)
    assert consensus(CHOICE, [None, None]).value is None
    c = consensus(CHOICE, [None, "keep"])
    assert (c.value, c.agreement, c.n) == ("keep", 1.0, 1)
    with pytest.raises(ValueError):
        consensus({"type": "colour"}, ["red"])


# ---------------------------------------------------------------- multi choice


def test_multi_choice_per_option_majority():
    q = {"name": "tags", "type": "multi_choice", "options": ["a", "b", "c"]}
    c = consensus(q, [["a", "b"], ["a"], ["c", "a"]])
    assert c.value == ["a"] and not c.contradictory
    assert c.agreement == pytest.approx(1 / 3)
    c = consensus(q, [["b", "a"], ["a", "b"], ["a", "b"]])
    assert c.value == ["a", "b"] and c.agreement == 1.0  # order-free, result in options order
    c = consensus(q, [["a"], ["b"]])  # exactly half: left out, contradictory
    assert c.value == [] and c.contradictory
    assert consensus(q, [[], []]).value == []


# ---------------------------------------------------------------- rating


def test_rating_median_and_lower_median():
    c = consensus(RATING, [5, 1, 3])
    assert (c.value, c.method, c.contradictory, c.agreement) == (3, "median", False, pytest.approx(1 / 3))
    c = consensus(RATING, [4, 2, 5, 1])
    assert (c.value, c.method, c.contradictory) == (2, "lower-median", True)
    c = consensus(RATING, [4, 4, 5, 1])
    assert (c.value, c.contradictory, c.agreement) == (4, False, 0.5)
    assert consensus(RATING, [3, 3]).agreement == 1.0


# ---------------------------------------------------------------- ranking


def test_borda_hand_case():
    # a: 2+2+0 = 4, b: 1+0+2 = 3, c: 0+1+1 = 2 points
    c = consensus(RANKING, [ranks(["a", "b", "c"]), ranks(["a", "c", "b"]), ranks(["b", "c", "a"])])
    assert c.value == ranks(["a", "b", "c"])
    assert c.method == "borda" and not c.contradictory
    # tau-b of the pairs: abc~acb 1/3, abc~bca -1/3, acb~bca -1
    assert c.agreement == pytest.approx((1 / 3 - 1 / 3 - 1) / 3)


def test_borda_ties_become_tied_ranks_dense():
    c = consensus(RANKING, [ranks(["a", "b", "c"]), ranks(["b", "a", "c"])])
    assert c.value == ranks([("a", "b"), "c"])
    assert c.contradictory  # nobody tied a and b first: the preferred response is undecided
    c = consensus(RANKING, [ranks([("a", "b"), "c"]), ranks([("a", "b"), "c"])])
    assert c.value == ranks([("a", "b"), "c"])
    assert not c.contradictory and c.agreement == pytest.approx(1.0)
    # all tied by everyone: tau-b undefined, identical rankings count as agreement 1
    c = consensus(RANKING, [ranks([("a", "b")]), ranks([("a", "b")])])
    assert c.value == ranks([("a", "b")]) and c.agreement == 1.0 and not c.contradictory


def test_borda_input_forms_and_missing_responses():
    # a response an annotator did not rank counts as tied last for them
    c = consensus(RANKING, [ranks(["a", "b"]), ranks(["c", "a", "b"])])
    # a: (2 + 1) + (1 + 0)... doubled points: a 4+2=6, b 2+0=2, c 1+4=5
    assert c.value == ranks(["a", "c", "b"])
    # dict and list-of-ids inputs
    c = consensus(RANKING, [{"a": 1, "b": 2}, ["a", "b"]])
    assert c.value == ranks(["a", "b"]) and c.agreement == 1.0
    assert consensus(RANKING, [ranks(["a", "b"])]).agreement is None


def test_borda_is_order_independent():
    rnd = random.Random(5)
    answers = [ranks(rnd.sample(["a", "b", "c", "d"], 4)) for _ in range(5)]
    first = consensus(RANKING, answers)
    for _ in range(5):
        rnd.shuffle(answers)
        assert consensus(RANKING, answers).value == first.value


# ---------------------------------------------------------------- spans


def test_spans_majority_characters():
    c = consensus(SPANS, [[sp(0, 10)], [sp(5, 15)], []])
    assert c.value == [sp(5, 10)]
    assert c.method == "span-majority" and not c.contradictory
    # two annotators: ceil(2/2) = 1 -> the union, same label merged
    assert consensus(SPANS, [[sp(0, 10)], [sp(5, 15)]]).value == [sp(0, 15)]
    assert consensus(SPANS, [[sp(0, 10)]]).value == [sp(0, 10)]
    assert consensus(SPANS, [[], [], [sp(0, 3)]]).value == []


def test_spans_majority_label_and_ties():
    a = [sp(0, 10, "factual-error")]
    b = [sp(0, 10, "factual-error")]
    c_ = [sp(0, 10, "unsupported-claim")]
    c = consensus(SPANS, [a, b, c_])
    assert c.value == [sp(0, 10, "factual-error")] and not c.contradictory
    # 1 vs 1 label votes: tie broken by the labels order, flagged contradictory
    c = consensus(SPANS, [[sp(0, 10, "factual-error")], [sp(0, 10, "unsupported-claim")]])
    assert c.value == [sp(0, 10, "unsupported-claim")] and c.contradictory
    assert c.agreement == 0.0
    # the label can change inside a kept range
    c = consensus(SPANS, [[sp(0, 10, "factual-error")], [sp(0, 5, "factual-error"), sp(5, 10, "unsupported-claim")],
                          [sp(5, 10, "unsupported-claim")]])
    assert c.value == [sp(0, 5, "factual-error"), sp(5, 10, "unsupported-claim")]


def test_spans_targets_and_severity():
    c = consensus(SPANS, [[sp(0, 4, target="responses.b"), sp(0, 4, severity="major")],
                          [sp(0, 4, target="responses.b"), sp(2, 4, severity="minor")],
                          [sp(0, 4, severity="major")]])
    assert c.value == [sp(0, 4, severity="major"), sp(0, 4, target="responses.b")]
    c = consensus(SPANS, [[sp(0, 4, severity="major")], [sp(0, 4, severity="critical")]])
    assert c.value == [sp(0, 4, severity="critical")]  # tie -> the more severe


# ---------------------------------------------------------------- segments


def test_segments_majority_over_time():
    c = consensus(SEGMENTS, [[seg(0.0, 1.0)], [seg(0.5, 1.5)], [seg(0.2, 0.6)]])
    assert c.value == [seg(0.2, 1.0)]
    assert c.method == "time-majority"
    # different tier or label do not vote together
    c = consensus(SEGMENTS, [[seg(0.0, 1.0)], [seg(0.0, 1.0, "spk2")], [seg(0.0, 1.0, tier="events")]])
    assert c.value == []
    # 10 ms resolution: 1.004 and 1.0 are the same instant
    c = consensus(SEGMENTS, [[seg(1.0, 2.0)], [seg(1.004, 2.001)]])
    assert c.value == [seg(1.0, 2.0)] and c.agreement == 1.0


def test_segments_text_vote():
    c = consensus(SEGMENTS, [[seg(0.0, 2.0, None, "transcript", text="hello  there")],
                             [seg(0.0, 2.0, None, "transcript", text="hello there")],
                             [seg(0.0, 2.0, None, "transcript", text="yellow there")]])
    assert c.value == [seg(0.0, 2.0, None, "transcript", text="hello there")] and not c.contradictory
    c = consensus(SEGMENTS, [[seg(0.0, 2.0, None, "transcript", text="a")],
                             [seg(0.0, 2.0, None, "transcript", text="b")]])
    assert c.contradictory


# ---------------------------------------------------------------- safety and text


def test_safety_majorities_and_cautious_tie_break():
    answers = [
        {"verdict": "unsafe", "categories": ["violence", "hate"], "expected_behavior": "refuse"},
        {"verdict": "unsafe", "categories": ["violence"], "expected_behavior": "safe-complete"},
        {"verdict": "borderline", "categories": ["privacy"], "expected_behavior": "refuse"},
    ]
    c = consensus(SAFETY, answers)
    assert c.value == {"verdict": "unsafe", "categories": ["violence"], "expected_behavior": "refuse"}
    assert c.agreement == pytest.approx(2 / 3) and not c.contradictory
    c = consensus(SAFETY, [{"verdict": "safe", "categories": [], "expected_behavior": "comply"},
                           {"verdict": "borderline", "categories": [], "expected_behavior": "safe-complete"}])
    assert c.value == {"verdict": "borderline", "categories": [], "expected_behavior": "safe-complete"}
    assert c.contradictory
    c = consensus(SAFETY, [{"verdict": "safe", "categories": []}] * 2)
    assert c.value == {"verdict": "safe", "categories": []} and not c.contradictory


def test_text_unanimous_or_none():
    q = {"name": "reference", "type": "text"}
    c = consensus(q, ["Paris is  the capital.", "Paris is the capital. "])
    assert (c.value, c.method, c.agreement) == ("Paris is  the capital.", "unanimous", 1.0)
    c = consensus(q, ["a", "b", "a"])
    assert (c.value, c.method, c.contradictory) == (None, "none", False)
    assert c.agreement == pytest.approx(2 / 3)


# ---------------------------------------------------------------- whole item


def test_consensus_values():
    questions = [CHOICE, RATING, RANKING, {"name": "notes", "type": "text"}, SAFETY]
    submissions = [
        {"annotator": "x", "values": {"verdict": "keep", "quality": 4, "ranking": ranks(["a", "b"]), "notes": "ok"}},
        {"annotator": "y", "values": {"verdict": "keep", "quality": 2, "ranking": ranks(["a", "b"]), "notes": "fine"}},
        {"verdict": "fix", "quality": 5, "ranking": ranks(["b", "a"])},  # bare values mapping
    ]
    values, per_q = consensus_values(questions, submissions)
    assert values == {"verdict": "keep", "quality": 4, "ranking": ranks(["a", "b"])}
    assert set(per_q) == {"verdict", "quality", "ranking", "notes", "safety"}
    assert per_q["safety"].method == "none" and per_q["notes"].value is None
    assert per_q["verdict"].agreement == pytest.approx(2 / 3)


def test_question_layer_per_annotator_uses_the_same_consensus():
    """The vectorised consensus inside question_agreement (choice, rating) must
    agree with consensus() item by item, tie-breaks included."""
    rng = np.random.default_rng(30)
    options = CHOICE["options"]
    subs, by_item = [], {}
    for i in range(300):
        k = int(rng.integers(2, 5))
        for a in rng.choice(6, size=k, replace=False):
            v = options[int(rng.integers(0, 3))]
            subs.append((f"i{i}", f"ann{a}", v))
            by_item.setdefault(f"i{i}", {})[f"ann{a}"] = v
    res = question_agreement(subs, CHOICE)
    hits = {}
    for answers in by_item.values():
        c = consensus(CHOICE, list(answers.values())).value
        for a, v in answers.items():
            hits.setdefault(a, []).append(v == c)
    assert res.per_annotator == {a: pytest.approx(np.mean(h)) for a, h in hits.items()}

    rsubs, rby = [], {}
    for (item, ann, _v) in subs:
        r = int(rng.integers(1, 6))
        rsubs.append((item, ann, r))
        rby.setdefault(item, {})[ann] = r
    res = question_agreement(rsubs, RATING)
    diffs = {}
    for answers in rby.values():
        m = consensus(RATING, list(answers.values())).value
        for a, v in answers.items():
            diffs.setdefault(a, []).append(abs(v - m))
    assert res.per_annotator == {a: pytest.approx(np.mean(d)) for a, d in diffs.items()}
