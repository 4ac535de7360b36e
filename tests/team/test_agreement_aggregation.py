"""Agreement and aggregation through the database, on generated data with known answers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import krippendorff
import numpy as np
import orjson
import pytest

from labeldesk.app.workflow import export, quality, review
from labeldesk.app.workflow.agreement import question_agreement
from labeldesk.app.workflow.projects import get_project
from labeldesk.app.workflow.records import iter_records

OPTIONS = ["a", "b", "c", "d"]
ACCURACY = {"ann0": 1.0, "ann1": 0.9, "ann2": 0.8, "ann3": 0.7, "ann4": 0.4}


def generated(n: int, seed: int = 7):
    """Items with a true label and rating; each annotator right with their accuracy, ~10% missing."""
    rng = np.random.default_rng(seed)
    truth = [(OPTIONS[rng.integers(4)], int(rng.integers(1, 6))) for _ in range(n)]
    rows, answers = [], {}
    for i, (label, rating) in enumerate(truth):
        entries = []
        for who, acc in ACCURACY.items():
            if rng.random() < 0.1:
                continue
            right = rng.random() < acc
            given = label if right else OPTIONS[(OPTIONS.index(label) + 1 + rng.integers(3)) % 4]
            score = rating if right else int(np.clip(rating + rng.choice([-1, 1]), 1, 5))
            day = "2026-11-02" if i % 2 else "2026-11-03"
            entries.append({"annotator": who, "values": {"label": given, "quality": score},
                            "submitted_at": f"{day}T10:00:00+00:00", "seconds": 30.0})
            answers[(i, who)] = (given, score)
        rows.append({"id": f"g{i:03d}", "messages": [{"role": "user", "content": f"q{i}"}], "annotations": entries})
    return rows, truth, answers


def expected_consensus_accuracy(answers: dict, items: range) -> dict[str, float]:
    """Plurality label per item (ties: option order), then each annotator's share of matches."""
    hits: dict[str, list[bool]] = {}
    for i in items:
        given = {who: answers[(i, who)][0] for who in ACCURACY if (i, who) in answers}
        if len(given) < 2:
            continue
        counts = Counter(given.values())
        top = max(counts.values())
        winner = min((v for v, c in counts.items() if c == top), key=OPTIONS.index)
        for who, value in given.items():
            hits.setdefault(who, []).append(value == winner)
    return {who: sum(h) / len(h) for who, h in hits.items()}


def test_agreement_matches_the_reference_package(team) -> None:
    rows, truth, answers = generated(60)
    team.project("p", rows=rows, overlap=5)
    ws = team.ws
    gold_items = range(50, 60)
    quality.set_gold(ws, team.lead, "p", {f"g{i:03d}": {"label": truth[i][0]} for i in gold_items})
    reviewer = team.user("rev", "reviewer")
    report = quality.agreement_report(ws, reviewer, "p")
    assert report.items == 50 and report.submissions == len(answers)

    names = list(ACCURACY)
    matrix = np.full((5, 50), np.nan)
    ratings = np.full((5, 50), np.nan)
    for (i, who), (label, score) in answers.items():
        if i < 50:
            matrix[names.index(who), i] = OPTIONS.index(label)
            ratings[names.index(who), i] = score
    by_question = {q.question: q for q in report.questions}
    assert by_question["label"].value == pytest.approx(krippendorff.alpha(matrix, level_of_measurement="nominal"), abs=1e-12)
    assert by_question["quality"].value == pytest.approx(krippendorff.alpha(ratings, level_of_measurement="ordinal"), abs=1e-12)
    assert by_question["note"].value is None and by_question["note"].metric_name == "none"
    tuples = [(i, who, label) for (i, who), (label, _s) in answers.items() if i < 50]
    direct = question_agreement(tuples, {"name": "label", "type": "choice", "options": OPTIONS})
    assert by_question["label"].per_annotator == pytest.approx(direct.per_annotator)
    assert report.overall == pytest.approx((by_question["label"].value + by_question["quality"].value) / 2)

    people = {a.annotator: a for a in report.annotators}
    expected = expected_consensus_accuracy(answers, range(50))
    for who in names:
        assert people[who].per_question["label"]["consensus"] == pytest.approx(expected[who])
        on_gold = [answers[(i, who)][0] == truth[i][0] for i in gold_items if (i, who) in answers]
        assert people[who].gold_items == len(on_gold)
        assert people[who].gold_accuracy == pytest.approx(sum(on_gold) / len(on_gold))
    assert people["ann0"].gold_accuracy == 1.0 and people["ann4"].gold_accuracy < 0.8

    single = quality.agreement_report(ws, team.lead, "p", question="label")
    assert [q.question for q in single.questions] == ["label"] and single.questions[0].value == by_question["label"].value
    with pytest.raises(quality.QualityError, match="no question 'nope'"):
        quality.agreement_report(ws, team.lead, "p", question="nope")

    points = quality.agreement_over_time(ws, team.lead, "p", question="label")
    assert {p.day.isoformat() for p in points} == {"2026-11-02", "2026-11-03"}
    odd = [i for i in range(1, 50, 2)]
    expected_odd = expected_consensus_accuracy(answers, odd)
    for p in points:
        if p.day.isoformat() == "2026-11-02":
            assert p.consensus_accuracy == pytest.approx(expected_odd[p.annotator])


def _item(uid: str, *labels: str) -> dict:
    return {"id": uid, "messages": [{"role": "user", "content": uid}],
            "annotations": [{"annotator": f"x{k}", "values": {"label": v}} for k, v in enumerate(labels)]}


def test_aggregation_threshold_adjudication_and_drop(team, tmp_path: Path) -> None:
    rows = ([_item(f"u{i}", "a", "a", "a") for i in range(10)]          # unanimous: accepted
            + [_item(f"m{i}", "b", "b", "c") for i in range(5)]        # 2/3 < 0.7: escalated
            + [_item(f"t{i}", "a", "b", "c") for i in range(3)]        # a tie: escalated
            + [_item(f"s{i}", "c") for i in range(2)]                  # one unreviewed submission
            + [_item("r0", "d")])                                      # one, reviewed below
    questions = [{"name": "label", "type": "choice", "options": ["a", "b", "c", "d"]}]
    team.project("p", rows=rows, overlap=3, questions=questions, agreement_threshold=0.7)
    ws, lead = team.ws, team.lead
    rev = team.user("rev", "reviewer")
    [single] = [e for e in review.review_queue(ws, rev, "p", limit=1000) if e.uid == "r0"]
    review.accept(ws, rev, single.annotation_id)

    queue = {e.uid: e for e in quality.adjudication_queue(ws, lead, "p")}
    assert sorted(queue) == [f"m{i}" for i in range(5)] + [f"t{i}" for i in range(3)]
    assert queue["m0"].proposed == {"label": "b"} and queue["m0"].agreement == pytest.approx(2 / 3, abs=1e-6)
    assert queue["t0"].annotators == ("x0", "x1", "x2")
    quality.adjudicate(ws, lead, "p", queue["m0"].item_id, {"label": "c"}, "c per guideline 4.2")
    quality.adjudicate(ws, lead, "p", queue["t0"].item_id, {"label": "a"})
    assert len(quality.adjudication_queue(ws, lead, "p")) == 6

    out = tmp_path / "agg.jsonl"
    summary = export.aggregate(ws, lead, "p", out)
    written = {r["id"]: r for r in map(orjson.loads, out.read_bytes().splitlines())}
    assert sorted(written) == sorted([f"u{i}" for i in range(10)] + ["m0", "t0", "r0"])
    assert summary.written == 13 and summary.to_adjudicate == 6 and summary.dropped == 0
    assert summary.statuses == {"accepted": 11, "adjudicated": 2, "escalated": 6, "submitted": 2}
    assert written["m0"]["labels"] == {"label": "c"}
    assert written["m0"]["quality"] == {"status": "adjudicated", "annotators": 3, "reviewed_by": ["lead"], "corrections": 0,
                                        "method": "adjudicated", "agreement": pytest.approx(2 / 3, abs=1e-6)}
    assert written["u0"]["quality"]["method"] == "consensus" and written["u0"]["quality"]["status"] == "accepted"
    assert written["r0"]["quality"]["method"] == "reviewed"

    looser = export.aggregate(ws, lead, "p", threshold=0.6, keep_unreviewed=True)
    assert looser.written == 10 + 4 + 1 + 2 + 2 and looser.to_adjudicate == 2  # the 2/3 items pass at 0.6; ties never

    quality.set_threshold(ws, lead, "p", 0.7, policy="drop")
    assert quality.adjudication_queue(ws, lead, "p") == []
    dropped = export.aggregate(ws, lead, "p")
    assert (dropped.written, dropped.dropped, dropped.to_adjudicate) == (13, 6, 0)

    everything = {r["id"]: r for r in iter_records(ws, get_project(ws, "p"))}
    assert everything["m1"]["quality"]["status"] == "escalated", "the full export says why an item is out"
    accepted = export.export(ws, "p", "records", tmp_path / "acc.jsonl", include="accepted", actor=lead)
    assert accepted.records == 13
