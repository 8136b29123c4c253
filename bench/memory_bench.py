#!/usr/bin/env python3
"""Memory benchmark: RSS growth of the addon after 1,000,000 audited responses.

The real hook (`HeaderAudit.responseheaders`, through mitmproxy.test.taddons) audits
responses spread over 10,000 hosts whose audited values are new on every response: a
CSP img-src host, a session cookie name, an HSTS max-age, a Server version and an
X-Powered-By version — so every response brings new evidence, new findings for the
store, new keys for every cache. A pool of 64 flows (built with tflow) is reused, their
host and response header fields rewritten per response, so flow construction does not
dominate and no flow outlives its turn (as in mitmdump, which keeps no flows).

It runs in a fresh interpreter (this script re-invoked with --worker), without
tracemalloc: VmRSS from /proc/self/status after a warm-up (10,000 responses) and at the
end, after gc.collect(). The target is growth < 50 MB: the store caps its entries and
hosts and counts what it drops; every cache is bounded. Printed: growth, the store's
`dropped` counter, entries and hosts kept, PASS/FAIL.

    python bench/memory_bench.py             # 1,000,000 responses (a few minutes)
    python bench/memory_bench.py --quick     # 100,000 responses
    python bench/memory_bench.py --trace     # plus a second run under tracemalloc: top 10 growth
                                             # by allocation site (slower; its RSS is not reported)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TARGET_MB = 50.0
HOSTS = 10_000
POOL = 64
WARMUP = 10_000


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def response_fields(i: int) -> tuple[tuple[bytes, bytes], ...]:
    """Response header fields whose audited values are new for every i."""
    return (
        (b"Content-Type", b"text/html; charset=utf-8"),
        (b"Strict-Transport-Security", b"max-age=%d" % (i % 31_536_000)),  # hsts-max-age-low: evidence = value
        (b"Content-Security-Policy",
         b"default-src 'self'; script-src 'self' 'unsafe-inline'; img-src 'self' http://img%d.cdn.example" % i),
        (b"Set-Cookie", b"sess%d=v%d; Path=/" % (i, i)),  # cookie-no-secure etc.: evidence = cookie name
        (b"Server", b"nginx/1.%d.%d" % (i // 1000, i % 1000)),  # server-version-disclosure
        (b"X-Powered-By", b"PHP/8.%d" % i),  # tech-disclosure
        (b"X-Content-Type-Options", b"nosniff"),
        (b"Date", b"Tue, 14 Oct 2025 09:21:07 GMT"),
        (b"Content-Length", b"512"),
    )


async def drive(n: int, mode: str, trace: bool) -> dict:
    from mitmproxy.test import taddons, tflow
    from mitmproxy.test.tutils import treq, tresp

    from headeraudit.mitm import HeaderAudit

    if trace:
        import tracemalloc
        tracemalloc.start(1)
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_mode=mode)
        pool = [tflow.tflow(req=treq(), resp=tresp(content=b"x" * 512)) for _ in range(POOL)]
        for flow in pool:
            flow.request.scheme, flow.request.port = "https", 443
        hook = addon.responseheaders

        def run(start: int, stop: int) -> None:
            for i in range(start, stop):
                flow = pool[i % POOL]
                flow.request.host = f"h{i % HOSTS}.example.com"
                flow.response.headers.fields = response_fields(i)
                flow.comment = ""
                flow.marked = ""
                hook(flow)

        async def run_yielding(start: int, stop: int) -> None:
            # Yield to the event loop now and then: mitmproxy's log handler schedules every
            # log record on the loop, which a real mitmdump runs all the time.
            for chunk in range(start, stop, 1_000):
                run(chunk, min(chunk + 1_000, stop))
                await asyncio.sleep(0)

        t0 = time.perf_counter()
        await run_yielding(0, WARMUP)
        gc.collect()
        rss_warm = rss_mb()
        snap_warm = tracemalloc.take_snapshot() if trace else None
        await run_yielding(WARMUP, n)
        elapsed = time.perf_counter() - t0
        await asyncio.sleep(0)
        gc.collect()
        rss_end = rss_mb()
        result = {
            "responses": n, "mode": mode, "seconds": elapsed,
            "rss_warm_mb": rss_warm, "rss_end_mb": rss_end, "growth_mb": rss_end - rss_warm,
            "dropped": addon.store.dropped, "entries": len(addon.store.entries), "hosts": len(addon.store.hosts),
            "max_entries": addon.store.max_entries, "max_hosts": addon.store.max_hosts,
            "flows_audited": addon.store.flows_audited, "occurrences": addon.store.occurrences,
            "fixes": len(addon.store.fixes),
        }
        if trace:
            snap_end = tracemalloc.take_snapshot()
            top = snap_end.compare_to(snap_warm, "lineno")[:10]
            result["trace_top10"] = [
                {"where": f"{os.path.relpath(s.traceback[0].filename, REPO) if s.traceback[0].filename.startswith(REPO) else s.traceback[0].filename}:{s.traceback[0].lineno}",
                 "size_diff_kb": s.size_diff / 1024, "count_diff": s.count_diff} for s in top
            ]
        return result


def worker(args: argparse.Namespace) -> int:
    result = asyncio.run(drive(args.responses, args.mode, args.trace))
    print(json.dumps(result))
    return 0


def run_worker(responses: int, mode: str, trace: bool) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--responses", str(responses), "--mode", mode]
    if trace:
        cmd.append("--trace")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(REPO, "addon") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--responses", type=int, default=1_000_000, help="audited responses (default 1000000)")
    ap.add_argument("--quick", action="store_true", help="--responses 100000")
    ap.add_argument("--mode", default="audit", choices=("audit", "fix"), help="headeraudit_mode (default audit)")
    ap.add_argument("--trace", action="store_true", help="also a tracemalloc run: top 10 growth by line")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", default=None, help="also write the results as JSON to this file")
    args = ap.parse_args(argv)
    if args.quick:
        args.responses = 100_000
    if args.worker:
        return worker(args)

    log(f"[memory_bench] {args.responses:,} responses over {HOSTS:,} hosts in a fresh interpreter ({args.mode} mode) ...")
    result = run_worker(args.responses, args.mode, trace=False)
    log(f"[memory_bench] done in {result['seconds']:.0f} s: growth {result['growth_mb']:.1f} MB")
    traced = None
    if args.trace:
        log("[memory_bench] tracemalloc run ...")
        traced = run_worker(args.responses, args.mode, trace=True)

    import mitmproxy.version

    ok = result["growth_mb"] < TARGET_MB
    print(f"### Memory: RSS after {args.responses:,} audited responses (mitmproxy {mitmproxy.version.VERSION}, "
          f"Python {sys.version.split()[0]})")
    print()
    print(f"- the addon's `responseheaders` hook via mitmproxy.test.taddons, {args.mode} mode, in a fresh interpreter "
          f"without tracemalloc; {HOSTS:,} hosts; every response with new evidence (CSP img-src host, cookie name, "
          f"HSTS max-age, Server and X-Powered-By versions); {POOL} reused flows; "
          f"{result['seconds']:.0f} s ({result['responses'] / result['seconds']:,.0f} responses/s)")
    print()
    print("| RSS after warm-up | RSS at end | growth | store entries kept | hosts kept | dropped | occurrences |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {result['rss_warm_mb']:.1f} MB ({WARMUP:,} responses) | {result['rss_end_mb']:.1f} MB | "
          f"**{result['growth_mb']:.1f} MB** | {result['entries']:,} (cap {result['max_entries']:,}) | "
          f"{result['hosts']:,} (cap {result['max_hosts']:,}) | {result['dropped']:,} | {result['occurrences']:,} |")
    print()
    if traced:
        print("tracemalloc run (growth between warm-up and end, by line; total RSS of that run not comparable):")
        print()
        print("| where | KB | blocks |")
        print("|---|---:|---:|")
        for row in traced["trace_top10"]:
            print(f"| `{row['where']}` | {row['size_diff_kb']:+,.0f} | {row['count_diff']:+,} |")
        print()
    print(f"target < {TARGET_MB:g} MB growth: {'PASS' if ok else 'FAIL'} ({result['growth_mb']:.1f} MB)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"result": result, "traced": traced}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
