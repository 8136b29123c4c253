#!/usr/bin/env python3
"""Engine benchmark: headeraudit's verdict per response vs drHEADer 2.0.0, side by side.

For headeraudit a call is what the proxy computes per response: the memo's Outcome
(findings, grade and annotation), a lookup for a header set seen before, the Auditor's whole
judgement for a new one.

Both analysers run in their own interpreter (drHEADer pins PyYAML/jsonschema versions
that may clash with mitmproxy's), each driven through bench/_worker.py over a small
JSON-lines protocol. Timing happens inside each worker with time.perf_counter_ns
around every single call; the coordinator only sends commands and collects samples.
Rounds are interleaved A B A B (same seed, so the same call order, for both), and
the figures that matter are the RATIOS from this one run.

    python bench/engine_bench.py                 # full run (~1-2 min)
    python bench/engine_bench.py --quick         # a few seconds
    python bench/engine_bench.py --profile       # plus cProfile of headeraudit's calls

The engine worker runs under this script's interpreter (sys.executable, or --python),
with <repo>/addon prepended to PYTHONPATH. The drHEADer worker runs under
bench/.venv-drheader/bin/python, created with `pip install drheader==2.0.0` if
missing (--drheader-python to use another interpreter).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORKER = os.path.join(HERE, "_worker.py")
DRH_VENV = os.path.join(HERE, ".venv-drheader")
DRH_SPEC = "drheader==2.0.0"

TARGET_MEDIAN_US = 15.0
TARGET_SPEEDUP = 6.0
VARIANTS = ("warm", "unseen", "cold")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- workers

class Worker:
    def __init__(self, kind: str, python: str, env: dict | None = None) -> None:
        self.kind = kind
        self.proc = subprocess.Popen(
            [python, WORKER, kind], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, env=env, cwd=HERE, bufsize=1,
        )

    def ask(self, **msg) -> dict:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.kind} worker died (exit {self.proc.wait()})")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise RuntimeError(f"{self.kind} worker: {reply.get('error')}\n{reply.get('traceback', '')}")
        return reply

    def close(self) -> None:
        try:
            if self.proc.poll() is None and self.proc.stdin:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def ensure_drheader(python_for_venv: str) -> str | None:
    """Path of an interpreter with drheader 2.0.0, creating bench/.venv-drheader if needed."""
    py = os.path.join(DRH_VENV, "bin", "python")
    check = [py, "-c", "import importlib.metadata as m, drheader; assert m.version('drheader') == '2.0.0'"]
    if os.path.exists(py) and subprocess.run(check, capture_output=True).returncode == 0:
        return py
    log(f"[engine_bench] creating {DRH_VENV} with {DRH_SPEC} ...")
    base = getattr(sys, "_base_executable", None) or python_for_venv
    r = subprocess.run([base, "-m", "venv", "--clear", DRH_VENV], capture_output=True, text=True)
    if r.returncode != 0:
        log(r.stderr)
        return None
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", DRH_SPEC],
                       capture_output=True, text=True)
    if r.returncode != 0 or subprocess.run(check, capture_output=True).returncode != 0:
        log(r.stdout[-2000:] + r.stderr[-2000:])
        return None
    return py


# --------------------------------------------------------------------------- stats

def pct(sorted_vals: list, q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, int(round(q / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def summarize(samples_ns: list[int]) -> dict:
    s = sorted(samples_ns)
    return {"n": len(s), "median": pct(s, 50) / 1000.0, "p99": pct(s, 99) / 1000.0,
            "mean": sum(s) / len(s) / 1000.0}


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=6, help="interleaved rounds per analyser and variant (default 6)")
    ap.add_argument("--reps", type=int, default=40, help="calls per corpus entry per round (default 40)")
    ap.add_argument("--quick", action="store_true", help="--rounds 2 --reps 5")
    ap.add_argument("--python", default=sys.executable, help="interpreter for the headeraudit worker")
    ap.add_argument("--drheader-python", default=None, help="interpreter with drheader 2.0.0 installed")
    ap.add_argument("--no-drheader", action="store_true", help="skip drHEADer (no ratio)")
    ap.add_argument("--rules", default=None, help="headeraudit rules file (default: the bundled rules.yaml)")
    ap.add_argument("--profile", action="store_true", help="print cProfile of headeraudit's calls (warm, unseen, cold)")
    ap.add_argument("--json", default=None, help="also write the summary as JSON to this file")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.reps = 2, 5

    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(REPO, "addon") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONHASHSEED"] = "0"
    if args.rules:
        env["HEADERAUDIT_BENCH_RULES"] = os.path.abspath(args.rules)
    drh_env = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "HEADERAUDIT_BENCH_RULES")}

    drh_py = None
    if not args.no_drheader:
        drh_py = args.drheader_python or ensure_drheader(args.python)
        if drh_py is None:
            log("[engine_bench] drHEADer unavailable: its column is skipped")

    workers: dict[str, Worker] = {}
    try:
        workers["engine"] = Worker("engine", args.python, env)
        if drh_py:
            workers["drheader"] = Worker("drheader", drh_py, drh_env)
        hello = {k: w.ask(cmd="hello") for k, w in workers.items()}
        digests = {h["digest"] for h in hello.values()}
        if len(digests) != 1:
            raise RuntimeError(f"workers see different corpora: {hello}")
        n_entries = hello["engine"]["entries"]

        samples: dict[tuple[str, str], list[int]] = {}
        round_medians: dict[tuple[str, str], list[float]] = {}
        findings: dict[tuple[str, str], int] = {}
        errors: dict[tuple[str, str], tuple[int, str]] = {}
        t_start = time.monotonic()
        for r in range(args.rounds):
            seed = 1000 + r
            for variant in VARIANTS:
                for kind, w in workers.items():  # A B A B ...
                    if kind == "drheader" and variant == "unseen":
                        continue  # drHEADer caches nothing: its "cold" run is its unseen figure too
                    rep = w.ask(cmd="run", variant=variant, reps=args.reps, seed=seed)
                    key = (kind, variant)
                    samples.setdefault(key, []).extend(rep["samples"])
                    round_medians.setdefault(key, []).append(summarize(rep["samples"])["median"])
                    findings[key] = findings.get(key, 0) + rep["findings"]
                    e0, m0 = errors.get(key, (0, ""))
                    errors[key] = (e0 + rep["errors"], m0 or rep["first_error"])
            log(f"[engine_bench] round {r + 1}/{args.rounds} done ({time.monotonic() - t_start:.1f}s)")

        profile_text = {}
        if args.profile:
            for variant in VARIANTS:
                profile_text[variant] = workers["engine"].ask(cmd="profile", variant=variant,
                                                              reps=max(args.reps, 20), top=25)["text"]
    finally:
        for w in workers.values():
            w.close()

    stats = {k: summarize(v) for k, v in samples.items()}
    calls_per_variant = args.rounds * args.reps * n_entries
    order = {v: i for i, v in enumerate(VARIANTS)}

    # ------------------------------------------------------------------ report
    eh, dh = hello["engine"], hello.get("drheader")
    print(f"### Engine: headeraudit's verdict per response (memo + Auditor) vs drHEADer {dh['version'] if dh else '(skipped)'}")
    print()
    print(f"- corpus: {n_entries} response header sets (bench/headersets.py, digest {eh['digest'][:12]}); "
          f"{args.rounds} interleaved rounds x {args.reps} calls per entry = {calls_per_variant} timed calls "
          f"per analyser and variant")
    print(f"- headeraudit {eh['version']} on Python {eh['python']}"
          + (f"; drHEADer {dh['version']} on Python {dh['python']} (own venv), rules preloaded once "
             f"with `drheader.utils.default_rules()`" if dh else ""))
    print(f"- empty-timer overhead per sample (included in every figure): engine {eh['timer_ns']} ns"
          + (f", drHEADer {dh['timer_ns']} ns" if dh else ""))
    print("- warm: one auditor and memo reused, the same header sets again (the steady state of a proxy); "
          "unseen: the same, every call with salted never-seen values (new cookies and nonces are the same verdict, "
          "new max-ages, versions and hosts are judged anew); cold: a fresh auditor and memo for every call. "
          "drHEADer keeps nothing, so its unseen and cold figures are one run on the salted inputs")
    print()
    print("| variant | headeraudit median µs | headeraudit p99 µs | drHEADer median µs | drHEADer p99 µs | ratio (median) | ratio (p99) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    ratio = {}
    for variant in VARIANTS:
        e = stats[("engine", variant)]
        if dh:
            d = stats[("drheader", "warm" if variant == "warm" else "cold")]
            ratio[variant] = d["median"] / e["median"]
            print(f"| {variant} | {e['median']:.1f} | {e['p99']:.1f} | {d['median']:.1f} | {d['p99']:.1f} "
                  f"| {ratio[variant]:.1f}x | {d['p99'] / e['p99']:.1f}x |")
        else:
            print(f"| {variant} | {e['median']:.1f} | {e['p99']:.1f} | n/a | n/a | n/a | n/a |")
    print()
    if dh:
        for variant in VARIANTS:
            d_rounds = round_medians[("drheader", "warm" if variant == "warm" else "cold")]
            e_rounds = round_medians[("engine", variant)]
            paired = sorted(d / e for d, e in zip(d_rounds, e_rounds))
            print(f"- {variant}: median of per-round ratios {paired[len(paired) // 2]:.1f}× "
                  f"(range {paired[0]:.1f}–{paired[-1]:.1f}×)")
    for key in sorted(round_medians, key=lambda k: (k[0], order[k[1]])):
        rm = ", ".join(f"{x:.1f}" for x in round_medians[key])
        print(f"- per-round medians µs, {key[0]} {key[1]}: {rm}")
    for key in sorted(findings, key=lambda k: (k[0], order[k[1]])):
        f_per = findings[key] / (args.rounds * args.reps * n_entries)
        e_n, e_msg = errors[key]
        print(f"- {key[0]} {key[1]}: {f_per:.1f} findings per response" + (f"; {e_n} calls raised ({e_msg})" if e_n else ""))
    print()
    warm_med = stats[("engine", "warm")]["median"]
    print(f"target ≤ {TARGET_MEDIAN_US:g} µs median: {'PASS' if warm_med <= TARGET_MEDIAN_US else 'FAIL'} "
          f"(warm {warm_med:.1f} µs; unseen {stats[('engine', 'unseen')]['median']:.1f} µs; "
          f"cold {stats[('engine', 'cold')]['median']:.1f} µs)")
    if dh:
        print(f"target ≥ {TARGET_SPEEDUP:g}× faster: {'PASS' if ratio['warm'] >= TARGET_SPEEDUP else 'FAIL'} "
              f"(warm {ratio['warm']:.1f}×; unseen {ratio['unseen']:.1f}×; cold {ratio['cold']:.1f}×)")
    else:
        print(f"target ≥ {TARGET_SPEEDUP:g}× faster: n/a (drHEADer skipped)")

    for variant, text in profile_text.items():
        print()
        print(f"#### cProfile, headeraudit, {variant}")
        print("```")
        print(text.rstrip())
        print("```")

    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"stats": {f"{k[0]}_{k[1]}": v for k, v in stats.items()}, "ratio": ratio,
                       "hello": hello, "rounds": args.rounds, "reps": args.reps}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
