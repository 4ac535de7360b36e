"""Review queues by level, accept / reject for rework / correct, revisions, claims, side by side."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from labeldesk.app.workflow import review, stats
from labeldesk.app.workflow.projects import get_project
from labeldesk.app.workflow.records import iter_records
from labeldesk.app.workflow.review import ReviewError
from labeldesk.app.workflow.tasks import TaskError, next_task, save_draft, submit
from labeldesk.storage.models import Annotation, Assignment, Review, ReviewClaim


def submitted(ws, who, n: int, project: str = "p") -> dict[str, int]:
    """`who` pulls and submits n items; uid -> annotation id."""
    ids = {}
    for _ in range(n):
        task = next_task(ws, who, project)
        submit(ws, who, task.item_id, {"label": "a", "quality": 3}, 4.0, task.guideline_version)
        with ws.sessions() as s:
            ids[task.uid] = s.scalar(select(Annotation.id).where(Annotation.item_id == task.item_id, Annotation.user_id == who.id))
    return ids


def records(ws, project: str = "p") -> dict[str, dict]:
    return {r["id"]: r for r in iter_records(ws, get_project(ws, project), "annotated")}


def test_two_levels_accept_correct_reject_and_rework(team) -> None:
    team.project("p", n=4, overlap=1, review_levels=2)
    ws, lead = team.ws, team.lead
    ann, rev = team.annotator("ann"), team.user("rev", "reviewer")
    ids = submitted(ws, ann, 4)
    assert [e.uid for e in review.review_queue(ws, rev, "p", 1)] == ["i0", "i1", "i2", "i3"]
    assert review.review_queue(ws, lead, "p", 2) == []

    with pytest.raises(ReviewError, match="has not passed level 1"):
        review.accept(ws, lead, ids["i0"], level=2)
    review.accept(ws, rev, ids["i0"])
    with pytest.raises(ReviewError, match="already reviewed at level 1 by rev"):
        review.reject(ws, lead, ids["i0"], "second thoughts")
    done = review.correct(ws, rev, ids["i1"], {"label": "c"}, reason="c fits")
    assert done.changes == {"label": {"from": "a", "to": "c"}}
    assert done.correction == {"label": "c", "quality": 3}
    with pytest.raises(ReviewError, match="needs a reason"):
        review.reject(ws, rev, ids["i2"], "  ")
    with pytest.raises(ReviewError, match="changes nothing"):
        review.correct(ws, rev, ids["i3"], {"label": "a"})
    review.reject(ws, rev, ids["i2"], "the question asks for b")

    level2 = {e.uid: e for e in review.review_queue(ws, lead, "p", 2)}
    assert sorted(level2) == ["i0", "i1"]
    assert level2["i1"].values["label"] == "c" and level2["i1"].original["label"] == "a"
    review.accept(ws, lead, ids["i1"], level=2)  # the level-1 correction stands

    task = next_task(ws, ann, "p")  # rework comes back first, with the reason
    assert (task.uid, task.status, task.feedback, task.values["label"]) == ("i2", "draft", "the question asks for b", "a")
    save_draft(ws, ann, task.item_id, {"label": "b"}, 6.0)
    submit(ws, ann, task.item_id, {"label": "b", "quality": 3}, 6.0, task.guideline_version)
    again = {e.uid: e for e in review.review_queue(ws, rev, "p", 1)}
    assert again["i2"].revision == 2 and again["i2"].values["label"] == "b", "a new revision starts at level 1"
    with pytest.raises(TaskError, match="reviewed"):
        submit(ws, ann, _item(ws, ids["i0"]), {"label": "b"}, 1.0, 1)  # accepted at level 1: locked

    recs = records(ws)
    assert recs["i1"]["labels"]["label"] == "c"
    assert recs["i1"]["quality"] == {"status": "accepted", "annotators": 1, "reviewed_by": ["lead", "rev"],
                                          "corrections": 1, "method": "reviewed"}
    assert recs["i2"]["quality"]["status"] == "submitted" and recs["i2"]["labels"]["label"] == "b"

    notes = review.feedback(ws, ann, "p")
    assert {(n.uid, n.review.decision, n.current) for n in notes} >= {("i2", "reject", False), ("i1", "correct", True)}
    figures = {a.annotator: a for a in stats.team_figures(ws, lead, "p").annotators}
    assert (figures["ann"].corrections, figures["ann"].rejections, figures["ann"].accepted) == (1, 1, 2)
    assert [r.decision for r in review.review_history(ws, ann, ids["i1"])] == ["correct", "accept"]


def _item(ws, annotation_id: int) -> int:
    with ws.sessions() as s:
        return s.scalar(select(Annotation.item_id).where(Annotation.id == annotation_id))


def test_a_stale_review_is_refused(team) -> None:
    team.project("p", n=1, overlap=1)
    ws = team.ws
    ann, rev = team.annotator("ann"), team.user("rev", "reviewer")
    ids = submitted(ws, ann, 1)
    seen = review.next_review(ws, rev, "p")
    assert seen.revision == 1
    submit(ws, ann, _item(ws, ids["i0"]), {"label": "b"}, 2.0, 1)  # ann edits it before any decision
    with pytest.raises(ReviewError, match="changed since you opened it"):
        review.accept(ws, rev, ids["i0"], revision=seen.revision)
    fresh = review.next_review(ws, rev, "p")
    assert (fresh.revision, fresh.values["label"]) == (2, "b")
    review.accept(ws, rev, ids["i0"], revision=fresh.revision)


def test_claims_keep_reviewers_apart_and_expire(team) -> None:
    team.project("p", n=3, overlap=1)
    ws = team.ws
    ann = team.annotator("ann")
    r1, r2 = team.user("r1", "reviewer"), team.user("r2", "reviewer")
    submitted(ws, ann, 3)
    a, b = review.next_review(ws, r1, "p"), review.next_review(ws, r2, "p")
    assert a.annotation_id != b.annotation_id
    assert review.next_review(ws, r1, "p").annotation_id == a.annotation_id, "my claim comes back to me"
    assert a.annotation_id not in {e.annotation_id for e in review.review_queue(ws, r2, "p")}
    assert review.queue_size(ws, r2, "p") == 2
    with pytest.raises(ReviewError, match="being reviewed by someone else"):
        review.accept(ws, r2, a.annotation_id)
    review.release_claim(ws, r1, a.annotation_id)
    review.accept(ws, r2, a.annotation_id)
    with ws.transaction() as s:
        s.execute(update(ReviewClaim).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert review.next_review(ws, r1, "p").annotation_id == b.annotation_id, "an abandoned claim returns to the queue"


def test_rejecting_an_imported_submission_sends_it_back(sqlite_team) -> None:
    team = sqlite_team
    rows = [{"id": "i0", "messages": [{"role": "user", "content": "q"}],
             "annotations": [{"annotator": "old", "values": {"label": "a"}}]}]
    team.project("p", rows=rows)
    rev = team.user("rev", "reviewer")
    [entry] = review.review_queue(team.ws, rev, "p")
    review.reject(team.ws, rev, entry.annotation_id, "not a")
    with team.ws.sessions() as s:
        assert s.scalar(select(Assignment.status)) == "rework"
    from labeldesk.app.workflow import accounts, tasks

    old = accounts.sign_in(team.ws, "old", None)
    tasks.acknowledge(team.ws, old, "p", 1)
    task = next_task(team.ws, old, "p")
    assert task.feedback == "not a"
    submit(team.ws, old, task.item_id, {"label": "b"}, 1.0, 1)
    with team.ws.sessions() as s:
        assert s.execute(select(Annotation.status, Annotation.revision)).one() == ("submitted", 2)
        assert s.scalar(select(Review.revision)) == 1


def test_side_by_side_marks_differences(team) -> None:
    rows = [{"id": "i0", "messages": [{"role": "user", "content": "q"}], "annotations": [
        {"annotator": "x", "values": {"label": "a", "quality": 4, "note": "fine  text"}},
        {"annotator": "y", "values": {"label": "a", "quality": 2, "note": "fine text"}},
        {"annotator": "z", "values": {"label": "a", "quality": 4.0}},
    ]}]
    team.project("p", rows=rows, overlap=3)
    ws = team.ws
    rev = team.user("rev", "reviewer")
    with ws.sessions() as s:
        item = s.scalar(select(Annotation.item_id))
    view = review.side_by_side(ws, rev, "p", item)
    marks = {q.question: q for q in view.questions}
    assert [a.annotator for a in view.answers] == ["x", "y", "z"]
    assert marks["label"].status == "equal" and marks["label"].consensus == "a"
    assert marks["quality"].status == "different" and marks["quality"].differs == ("y",)
    assert marks["note"].status == "equal", "spacing does not make free texts different"
    assert marks["note"].answers["z"] is None
    assert view.different == ("quality",)
    ann = team.annotator("w")
    with ws.sessions() as s:  # a draft: only a lead sees it, and only when asking
        s.add(Annotation(item_id=item, user_id=ann.id, status="draft", values={"label": "c"}))
        s.commit()
    assert len(review.side_by_side(ws, rev, "p", item).answers) == 3
    drafts = review.side_by_side(ws, team.lead, "p", item, include_drafts=True)
    assert marks["label"].status == "equal" and {q.question: q.status for q in drafts.questions}["label"] == "different"
