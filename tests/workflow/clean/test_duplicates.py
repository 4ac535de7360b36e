"""Exact / near / reference duplicates; MinHash compatibility with datasketch; recall."""

import random

import numpy as np
import pytest

from labeldesk.app.workflow.clean.config import CleanConfig
from labeldesk.app.workflow.clean.duplicates import (
    DedupSettings,
    Shingler,
    candidate_probability,
    find_duplicates,
    jaccard,
    lsh_params,
)

RND = random.Random(7)
VOCAB = sorted({"".join(RND.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(RND.randint(3, 9))) for _ in range(6000)})


def text(rnd, n=40):
    return " ".join(rnd.choice(VOCAB) for _ in range(n))


def mutate(rnd, t, k):
    """Replace k distinct word positions."""
    w = t.split()
    for p in rnd.sample(range(len(w)), k):
        w[p] = rnd.choice(VOCAB) + "x"
    return " ".join(w)


SH = Shingler(2, 64, 1)  # the default shingling


def exact_j(a, b):
    sa, sb = SH.shingle_sets([a, b])
    return jaccard(sa, sb)


def test_lsh_params_defaults():
    assert lsh_params(0.8, 64) == (12, 5)
    assert candidate_probability(0.8, 12, 5) > 0.99
    assert candidate_probability(0.5, 12, 5) < 0.35


def test_signatures_match_datasketch():
    from datasketch import MinHash

    texts = ["the quick brown fox jumps over the lazy dog", "hi", "Ünïcödé wörds und 東京都の天気", "one two three"]
    sig, has = SH.signatures(texts)
    s64, per = SH._shingles(texts)
    pos = 0
    for i, c in enumerate(per.tolist()):
        m = MinHash(num_perm=64, seed=1, hashfunc=lambda x: x, scheme="affine32")
        m.update_batch(SH.hash32(s64[pos:pos + c]).tolist())
        pos += c
        assert has[i]
        assert np.array_equal(m.hashvalues, sig[i])


def test_exact_duplicates_normalised():
    items = [("a", "Hello   World\nthis is it"), ("b", "hello world this is it"), ("c", "something else entirely")]
    assert find_duplicates(items) == {"b": ("duplicate.exact", "a", 1.0)}


def test_near_duplicate_at_0_9_found_and_0_5_not():
    rnd = random.Random(1)
    base = text(rnd, 60)
    near = mutate(rnd, base, 1)
    far = mutate(rnd, base, 9)
    assert 0.85 <= exact_j(base, near) <= 0.95
    assert 0.3 <= exact_j(base, far) <= 0.6
    out = find_duplicates([("base", base), ("near", near), ("far", far), ("other", text(rnd, 60))])
    assert set(out) == {"near"}
    rule, of, j = out["near"]
    assert rule == "duplicate.near" and of == "base" and j >= 0.8


def test_cluster_keeps_first_and_points_to_it():
    rnd = random.Random(2)
    base = text(rnd, 50)
    items = [("x0", text(rnd)), ("k", base)] + [(f"d{i}", mutate(rnd, base, 1)) for i in range(5)]
    out = find_duplicates(items)
    assert set(out) == {f"d{i}" for i in range(5)}
    assert all(v[1] == "k" for v in out.values())


def test_keep_by_id():
    rnd = random.Random(3)
    base = text(rnd, 50)
    cfg = CleanConfig.from_dict({"duplicates": {"keep": "id"}})
    from labeldesk.app.workflow.clean.pipeline import run_pipeline

    items = [{"id": "z", "messages": [{"role": "user", "content": base}]},
             {"id": "a", "messages": [{"role": "user", "content": base}]}]
    res = run_pipeline(items, cfg)
    assert [r.decision for r in res] == ["remove", "keep"]
    assert res.results[0].entries[-1]["duplicate_of"] == "a"


def test_reference_leakage_exact_and_near():
    rnd = random.Random(4)
    eval_q = text(rnd, 45)
    eval_q2 = text(rnd, 45)
    refs = [("eval-1", eval_q), ("eval-2", eval_q2)]
    items = [("t1", text(rnd)), ("t2", eval_q.upper()), ("t3", mutate(rnd, eval_q2, 1)), ("t4", text(rnd))]
    out = find_duplicates(items, refs)
    assert out == {
        "t2": ("duplicate.reference", "eval-1", 1.0),
        "t3": ("duplicate.reference", "eval-2", pytest.approx(out["t3"][2])),
    }
    assert out["t3"][2] >= 0.8


def test_datasketch_backend_agrees():
    rnd = random.Random(5)
    bases = [text(rnd, 45) for _ in range(30)]
    items = []
    for i, b in enumerate(bases):
        items.append((f"b{i}", b))
        if i % 2:
            items.append((f"n{i}", mutate(rnd, b, 1)))
        if i % 5 == 0:
            items.append((f"f{i}", mutate(rnd, b, 10)))
    refs = [("r0", mutate(rnd, bases[3], 1))]
    a = find_duplicates(items, refs, CleanConfig.default())
    b = find_duplicates(items, refs, CleanConfig.from_dict({"duplicates": {"lsh": "datasketch"}}))
    assert a == b
    assert len(a) >= 15


def test_recall_at_threshold():
    """Pairs with exact Jaccard in [0.8, 0.95] are found >= 95% of the time."""
    rnd = random.Random(6)
    items, truth = [], []
    while len(truth) < 250:
        base = text(rnd, rnd.randint(30, 45))  # ~200-300 characters
        var = mutate(rnd, base, 1) if rnd.random() < 0.7 else base + " " + " ".join(rnd.choice(VOCAB) for _ in range(3))
        j = exact_j(base, var)
        if not 0.8 <= j <= 0.95:
            continue
        k = len(truth)
        items += [(f"b{k}", base), (f"v{k}", var)]
        truth.append(k)
    out = find_duplicates(items)
    found = sum(1 for k in truth if out.get(f"v{k}", ("", ""))[1] == f"b{k}")
    assert found / len(truth) >= 0.95
    assert all(k.startswith("v") for k in out)  # precision: bases are never removed


def test_short_and_empty_texts():
    items = [("a", "hi"), ("b", "HI"), ("c", ""), ("d", "hi there"), ("e", "   "), ("f", "Hi!")]
    out = find_duplicates(items)
    # exact compares casefolded text with whitespace collapsed (punctuation counts);
    # shingles ignore punctuation, so "Hi!" is a near duplicate with Jaccard 1
    assert out == {"b": ("duplicate.exact", "a", 1.0), "f": ("duplicate.near", "a", 1.0)}


def test_features_chunking_equivalent():
    st = DedupSettings(CleanConfig.default())
    rnd = random.Random(8)
    texts = [text(rnd, 35) for _ in range(300)]
    sig_all, _ = st.shingler.signatures(texts)
    sig_parts = np.concatenate([st.shingler.signatures(texts[i:i + 37])[0] for i in range(0, 300, 37)])
    assert np.array_equal(sig_all, sig_parts)


def test_datasketch_backend_without_the_extra_says_how_to_install_it(monkeypatch):
    import sys

    from labeldesk.app.workflow.clean.config import ConfigError

    monkeypatch.setitem(sys.modules, "datasketch", None)  # as if labeldesk[datasketch] were not installed
    with pytest.raises(ConfigError, match=r"labeldesk\[datasketch\]"):
        CleanConfig.from_dict({"duplicates": {"lsh": "datasketch"}})
