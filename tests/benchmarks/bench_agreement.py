"""Benchmark: Krippendorff's alpha, ours vs the ``krippendorff`` package.

    python tests/benchmarks/bench_agreement.py [--items 100000] [--annotators 5] [--repeat 5]

100,000 items x 5 annotators, ~10% missing: a choice question (nominal, 4
options) and a rating question (1..5, ordinal and interval).  Both
implementations get the same matrix in the same run; the best of ``--repeat``
runs is reported, with the ratio package / ours (> 1 means we are faster).
Also times the whole question layer (submissions -> QuestionAgreement), which
includes building the matrix from Python tuples and the per-annotator figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from labeldesk.app.workflow.agreement import krippendorff_alpha, question_agreement  # noqa: E402


def best_of(fn, repeat: int) -> tuple[float, float]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def matrix(rng: np.random.Generator, annotators: int, items: int, values: int, offset: int) -> np.ndarray:
    truth = rng.integers(0, values, items)
    data = np.where(rng.random((annotators, items)) < 0.7, truth, rng.integers(0, values, (annotators, items)))
    data = data.astype(float) + offset
    data[rng.random((annotators, items)) < 0.10] = np.nan
    return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--annotators", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    try:
        import krippendorff
    except ImportError:
        print("the krippendorff package is needed for the comparison")
        return 1

    rng = np.random.default_rng(2024)
    choice = matrix(rng, args.annotators, args.items, 4, 0)
    rating = matrix(rng, args.annotators, args.items, 5, 1)
    print(f"{args.items:,} items x {args.annotators} annotators, "
          f"{np.isnan(choice).mean():.1%} / {np.isnan(rating).mean():.1%} missing; best of {args.repeat}")
    print(f"{'question':<10} {'level':<9} {'ours ms':>9} {'package ms':>11} {'ratio':>7} {'|diff|':>9}")
    cases = [("choice", choice, "nominal"), ("rating", rating, "ordinal"), ("rating", rating, "interval")]
    for name, data, level in cases:
        t_ours, a_ours = best_of(lambda: krippendorff_alpha(data, level), args.repeat)
        t_ref, a_ref = best_of(lambda: krippendorff.alpha(data, level_of_measurement=level), args.repeat)
        print(f"{name:<10} {level:<9} {t_ours * 1e3:9.1f} {t_ref * 1e3:11.1f} {t_ref / t_ours:6.1f}x "
              f"{abs(a_ours - a_ref):9.1e}   alpha={a_ours:.6f}")

    options = ["keep", "fix", "reject", "other"]
    subs_choice = [(f"item{u}", f"ann{a}", options[int(choice[a, u])])
                   for a in range(args.annotators) for u in range(args.items) if not np.isnan(choice[a, u])]
    subs_rating = [(f"item{u}", f"ann{a}", int(rating[a, u]))
                   for a in range(args.annotators) for u in range(args.items) if not np.isnan(rating[a, u])]
    q_choice = {"name": "verdict", "type": "choice", "options": options}
    q_rating = {"name": "quality", "type": "rating", "min": 1, "max": 5, "scale": "ordinal"}
    t, res = best_of(lambda: question_agreement(subs_choice, q_choice), 1)
    print(f"question_agreement(choice, {len(subs_choice):,} submissions): {t * 1e3:.0f} ms "
          f"(alpha={res.value:.6f}, fleiss={res.extra['fleiss_kappa']})")
    t, res = best_of(lambda: question_agreement(subs_rating, q_rating), 1)
    print(f"question_agreement(rating, {len(subs_rating):,} submissions): {t * 1e3:.0f} ms (alpha={res.value:.6f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
