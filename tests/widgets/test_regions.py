import numpy as np

from labeldesk.widgets.regions import IntervalIndex, Region, RegionIndex, Tier


def _brute_overlap(starts, ends, t0, t1):
    return sorted(i for i in range(len(starts)) if starts[i] < t1 and ends[i] > t0)


def test_interval_index_matches_brute_force():
    rng = np.random.default_rng(7)
    starts = rng.uniform(0, 3600, 2000)
    ends = starts + rng.exponential(5, 2000)  # overlapping, varied lengths
    idx = IntervalIndex(starts, ends)
    for _ in range(300):
        a, b = sorted(rng.uniform(-10, 3700, 2))
        got = sorted(idx.original(idx.overlapping(a, b)).tolist())
        assert got == _brute_overlap(starts, ends, a, b)
        t = rng.uniform(0, 3600)
        got_at = sorted(idx.original(idx.at(t)).tolist())
        assert got_at == sorted(i for i in range(2000) if starts[i] <= t < ends[i])


def test_region_index_queries():
    regs = [Region(str(i), "t", i * 1.0, i * 1.0 + 0.5, label=f"l{i}") for i in range(1000)][::-1]
    ri = RegionIndex(regs)
    assert [r.id for r in ri.at(10.25)] == ["10"]
    assert ri.at(10.75) == []
    assert [r.id for r in ri.in_range(10.6, 12.2)] == ["11", "12"]
    assert ri.get("999").start == 999.0
    assert len(ri) == 1000 and ri.regions[0].id == "0"  # sorted by start


def test_tier_labels_tuple_and_frozen():
    t = Tier("spk", "#ff0000", ["a", "b"])
    assert t.labels == ("a", "b")
    r = Region("x", "spk", 0.0, 1.0)
    try:
        r.start = 2.0  # type: ignore[misc]
    except Exception as e:  # dataclasses.FrozenInstanceError
        assert "cannot assign" in str(e)
    else:
        raise AssertionError("Region must be frozen")
