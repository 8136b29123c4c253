#!/usr/bin/env python3
"""Pool several proxy_bench.py runs: the per-round ratios to bare of every configuration, over
all the runs' rounds, with bootstrap 90% intervals of their median and mean.

One 20-round run's median moves by about ±1.5 points from run to run on the project's shared
machines; pooling runs of the same code narrows that (by √runs), and the interval says how far.

    python bench/pool_proxy.py run1.json run2.json ...     # files from proxy_bench.py --json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys

from proxy_bench import TARGET_RATIO, TWIN, bootstrap, verdict  # this folder is on sys.path when run as a script


def per_round_ratios(paths: list[str]) -> dict[str, list[float]]:
    ratios: dict[str, list[float]] = {}
    for path in paths:
        with open(path) as fh:
            runs = json.load(fh)["runs"]
        bare = {r["round"]: r["rps"] for r in runs["bare"]}
        for name, rounds in runs.items():
            if name != "bare":
                ratios.setdefault(name, []).extend(r["rps"] / bare[r["round"]] for r in rounds if r["round"] in bare)
    return ratios


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="JSON files written by proxy_bench.py --json")
    ap.add_argument("--draws", type=int, default=10000, help="bootstrap draws (default 10000)")
    args = ap.parse_args(argv)
    rng = random.Random(0)  # the same intervals for the same files
    print(f"Per-round ratios to bare, pooled over {len(args.runs)} runs:")
    print()
    print("| configuration | rounds | median | 90% interval | mean | 90% interval | rounds ≥ 97% |")
    print("|---|---:|---:|---|---:|---|---:|")
    pooled = per_round_ratios(args.runs)
    for name, values in pooled.items():
        lo, hi = bootstrap(values, statistics.median, args.draws, rng)
        mlo, mhi = bootstrap(values, statistics.fmean, args.draws, rng)
        share = sum(v >= TARGET_RATIO for v in values) / len(values)
        print(f"| {name} | {len(values)} | {statistics.median(values) * 100:.1f}% | {lo * 100:.1f}–{hi * 100:.1f}% | "
              f"{statistics.fmean(values) * 100:.1f}% | {mlo * 100:.1f}–{mhi * 100:.1f}% | {share * 100:.0f}% |")
    print()
    for name, label in (("addon", "audit mode"), ("addon-fix", "fix mode")):
        if name in pooled:
            word, lo, hi, why = verdict(pooled[name], pooled.get(TWIN), args.draws)
            why = f" ({why})" if why else ""
            print(f"target ≥ {TARGET_RATIO * 100:.0f}%, {label}, pooled: {word}{why} (median {statistics.median(pooled[name]) * 100:.1f}%, "
                  f"90% interval {lo * 100:.1f}–{hi * 100:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
