#!/usr/bin/env python3
"""Saved-traffic benchmark: `mitmdump -nr` of a 50,000-flow file, with and without headeraudit.

    bare:      mitmdump -q -nr flows.mitm
    addon:     mitmdump -q -nr flows.mitm -s addon/headeraudit_addon.py --set headeraudit_report=<tmp>.json
    addon-fix: the same plus --set headeraudit_mode=fix (saved flows are never changed; fix mode
               computes the fixed headers, re-audits them and records the edits)

The flow file is generated once and cached in bench/.cache/ (gitignored): responses of
2,000 sites, each site one of the 48 realistic header sets of bench/headersets.py under
its own host name; a third of the responses carry never-seen values (salted: a new
nonce, cookie value, max-age, Server comment...), the rest repeat one of 97 variants of
their site's values, as a proxy log of real browsing does. Each configuration reads the
whole file in a fresh mitmdump; rounds are interleaved A B C A B C. Wall-clock per run
(process start to exit, so mitmdump's own start-up is in every figure alike), flows/s,
medians per configuration and the ratio to bare (of the medians, and the median of the
per-round ratios). The addon runs also write the JSON report at exit, as a user auditing
a file would, and the bench checks from it that every flow was audited.

    python bench/saved_bench.py              # 50,000 flows, 3 rounds (~5 min on 2 cores)
    python bench/saved_bench.py --quick      # 5,000 flows, 1 round
    python bench/saved_bench.py --flows 20000 --rounds 5

Nothing is sent anywhere: -n starts no proxy server.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ADDON = os.path.join(REPO, "addon", "headeraudit_addon.py")
CACHE = os.path.join(HERE, ".cache")
FILE_VERSION = 1  # bump when the generator changes: the cached file name includes it
SITES = 2_000

sys.path.insert(0, HERE)
import headersets  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the flow file

def flow_file(n_flows: int) -> str:
    """Path of the cached n-flow file, generated on first use."""
    name = f"saved-{n_flows}-v{FILE_VERSION}-{headersets.corpus_digest()[:8]}.mitm"
    path = os.path.join(CACHE, name)
    if os.path.exists(path):
        return path
    os.makedirs(CACHE, exist_ok=True)
    log(f"[saved_bench] generating {n_flows} flows into {path} ...")
    t0 = time.monotonic()
    tmp = path + f".{os.getpid()}.tmp"
    try:
        write_flows(tmp, n_flows)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log(f"[saved_bench] generated in {time.monotonic() - t0:.0f} s, {os.path.getsize(path) / 1e6:.0f} MB")
    return path


def write_flows(path: str, n_flows: int) -> None:
    from mitmproxy import http, io
    from mitmproxy.test import tflow
    from mitmproxy.test.tutils import treq, tresp

    rng = random.Random(5)
    corpus = headersets.CORPUS
    body = b"<!doctype html><title>x</title><p>" + b"saved traffic " * 20 + b"</p>"
    # One template flow, mutated and serialised per response: building 50,000 flow objects
    # (connections, certificates) would cost more than writing them.
    flow = tflow.tflow(req=treq(), resp=tresp(content=body))
    with open(path, "wb") as fh:
        writer = io.FlowWriter(fh)
        for i in range(n_flows):
            site = rng.randrange(SITES)
            entry = corpus[site % len(corpus)]
            salt = i if i % 3 == 0 else site * 97 + rng.randrange(97)
            e = headersets.salted(entry, salt)
            host = f"s{site}.{e['host']}"
            flow.id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            req = flow.request
            req.scheme, req.host, req.port = e["scheme"], host, 443 if e["scheme"] == "https" else 80
            req.method, req.path = e["method"], e["path"]
            req.headers = http.Headers([(b"Host", host.encode()), *((n.encode(), v.encode()) for n, v in e["request_headers"])])
            resp = flow.response
            resp.status_code = e["status"]
            resp.headers = http.Headers([(n.encode(), v.encode("utf-8", "surrogateescape")) for n, v in e["headers"]])
            resp.raw_content = body
            writer.add(flow)


# --------------------------------------------------------------------------- runs

def run_once(mitmdump: str, path: str, extra: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([mitmdump, "-q", "-nr", path, *extra], capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"mitmdump {' '.join(extra)} exited {proc.returncode}: {proc.stderr[-3000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flows", type=int, default=50_000, help="flows in the file (default 50000)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--quick", action="store_true", help="--flows 5000 --rounds 1")
    ap.add_argument("--no-fix", action="store_true", help="skip the headeraudit_mode=fix configuration")
    ap.add_argument("--mitmdump", default=os.path.join(os.path.dirname(sys.executable), "mitmdump"),
                    help="mitmdump to run (default: the one beside this interpreter)")
    ap.add_argument("--addon", default=ADDON, help="the addon script (default: addon/headeraudit_addon.py)")
    ap.add_argument("--json", default=None, help="also write the results as JSON to this file")
    args = ap.parse_args(argv)
    if args.quick:
        args.flows, args.rounds = 5_000, 1

    path = flow_file(args.flows)
    version = subprocess.run([args.mitmdump, "--version"], capture_output=True, text=True).stdout
    mitm_version = next((line.split(":", 1)[1].strip() for line in version.splitlines() if line.startswith("Mitmproxy")), "?")
    py_version = next((line.split(":", 1)[1].strip().split()[0] for line in version.splitlines() if line.startswith("Python")), "?")

    with tempfile.TemporaryDirectory(prefix="saved-bench-") as tmp:
        report = os.path.join(tmp, "report.json")
        configs = {"bare": [], "addon": ["-s", args.addon, "--set", f"headeraudit_report={report}"]}
        if not args.no_fix:
            configs["addon-fix"] = [*configs["addon"], "--set", "headeraudit_mode=fix"]
        runs: dict[str, list[float]] = {name: [] for name in configs}
        audited: dict[str, list[int]] = {}
        t_start = time.monotonic()
        for r in range(args.rounds):
            for name, extra in configs.items():  # A B C A B C
                runs[name].append(run_once(args.mitmdump, path, extra))
                if name != "bare":
                    with open(report) as fh:
                        audited.setdefault(name, []).append(json.load(fh)["summary"]["flows_audited"])
                    os.unlink(report)
                log(f"[saved_bench] round {r + 1}/{args.rounds} {name}: {runs[name][-1]:.1f} s "
                    f"({args.flows / runs[name][-1]:.0f} flows/s; {time.monotonic() - t_start:.0f} s elapsed)")

    rate = {name: [args.flows / t for t in ts] for name, ts in runs.items()}
    med = {name: statistics.median(v) for name, v in rate.items()}
    print(f"### Saved traffic: `mitmdump -nr` of a {args.flows:,}-flow file, mitmdump {mitm_version} (Python {py_version})")
    print()
    print(f"- {os.path.basename(path)} ({os.path.getsize(path) / 1e6:.0f} MB): {SITES:,} sites, each one of the "
          f"{len(headersets.CORPUS)} header sets of bench/headersets.py; a third of the responses with never-seen values")
    print(f"- {args.rounds} interleaved round(s), a fresh `mitmdump -q -nr` per run, wall-clock from start to exit "
          f"(start-up included alike); the addon runs write the JSON report at exit")
    for name, counts in audited.items():
        ok = all(c == args.flows for c in counts)
        print(f"- {name}: flows audited per run (from its report): {', '.join(map(str, counts))}" + ("" if ok else " — NOT ALL"))
    print()
    names = list(runs)
    print("| round | " + " | ".join(f"{n} s | {n} flows/s" for n in names) + " |")
    print("|---|" + "---:|---:|" * len(names))
    for i in range(args.rounds):
        print(f"| {i + 1} | " + " | ".join(f"{runs[n][i]:.1f} | {rate[n][i]:.0f}" for n in names) + " |")
    print("| **median** | " + " | ".join(f"**{statistics.median(runs[n]):.1f}** | **{med[n]:.0f}**" for n in names) + " |")
    print()
    ratios = {}
    for n in names:
        if n == "bare":
            continue
        ratios[n] = med[n] / med["bare"]
        paired = statistics.median(a / b for a, b in zip(rate[n], rate["bare"]))
        extra_us = (statistics.median(runs[n]) - statistics.median(runs["bare"])) / args.flows * 1e6
        print(f"- {n}/bare: {ratios[n] * 100:.1f}% of bare's flows/s (median of per-round ratios {paired * 100:.1f}%); "
              f"+{extra_us:.0f} µs wall-clock per flow")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"flows": args.flows, "runs_s": runs, "flows_per_s": rate, "median": med, "ratios": ratios,
                       "audited": audited}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
