#!/usr/bin/env python3
"""Saved-traffic benchmark: what headeraudit costs on `mitmdump -nr flows.mitm`, compared with a
no-op script, in CPU time.

    noop:  mitmdump -q -nr flows.mitm -s noop_addon.py   (the no-op script of proxy_bench.py:
           the same two hooks as headeraudit, doing nothing)
    audit: mitmdump -q -nr flows.mitm -s addon/headeraudit_addon.py --set headeraudit_report=<tmp>.json
    fix:   audit + --set headeraudit_mode=fix (saved flows are never changed; fix mode computes
           the fixed headers, re-audits them and records the edits)
    bare:  no script (context only)

The figure is CPU time, user + sys of the mitmdump process (os.wait4), not wall-clock: on a
shared machine CPU time moves far less than elapsed time. Start-up and the report written at
exit are in it, as for a user auditing a file. Rounds are interleaved (bare noop audit fix,
bare noop audit fix, ...), every run a fresh mitmdump with PYTHONHASHSEED=0. Printed: CPU
seconds per run, flows per CPU-second (median over the rounds), and audit/noop and fix/noop:
the median of the per-round ratios of flows per CPU-second, with their range. The target is
>= 85% of the no-op script's throughput.

The flow file is generated once and cached in bench/.cache/ (gitignored). 2,000 sites, each one
of the 48 realistic header sets of bench/headersets.py under its own host name (`s<k>.<host>`):

    nonce  (default) every response carries a fresh CSP nonce and a fresh session-cookie value,
           as dynamic sites send: an existing 'nonce-...' gets a new value, else one is added to
           the CSP's script-src (a strict CSP line if there is none); the first Set-Cookie gets
           a new value (a `sid=` cookie if there is none). The rest repeats per site.
    salted the previous corpus: a third of the responses with never-seen values everywhere
           (headersets.salted), the rest repeat one of 97 salted variants of their site.

    python bench/saved_bench.py              # nonce file, 50,000 flows, 3 rounds (~15 min)
    python bench/saved_bench.py --quick      # 5,000 flows, 1 round
    python bench/saved_bench.py --corpus salted --rounds 5

Nothing is sent anywhere: -n starts no proxy server.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ADDON = os.path.join(os.path.dirname(HERE), "addon", "headeraudit_addon.py")
CACHE = os.path.join(HERE, ".cache")
FILE_VERSION = 2  # bump when the generator changes: the cached file name includes it
SITES = 2_000
TARGET = 0.85  # audit and fix mode: at least 85% of the no-op script's flows per CPU-second
CONFIGS = ("bare", "noop", "audit", "fix")

sys.path.insert(0, HERE)
import headersets  # noqa: E402
from proxy_bench import NOOP_ADDON  # noqa: E402


def log(msg: str) -> None:
    print(f"[saved_bench] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the flow file

def flow_file(n_flows: int, corpus: str) -> str:
    """Path of the cached n-flow file, generated on first use."""
    name = f"saved-{corpus}-{n_flows}-v{FILE_VERSION}-{headersets.corpus_digest()[:8]}.mitm"
    path = os.path.join(CACHE, name)
    if os.path.exists(path):
        return path
    os.makedirs(CACHE, exist_ok=True)
    log(f"generating {n_flows} flows into {path} ...")
    t0 = time.monotonic()
    tmp = path + f".{os.getpid()}.tmp"
    try:
        write_flows(tmp, n_flows, corpus)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log(f"generated in {time.monotonic() - t0:.0f} s, {os.path.getsize(path) / 1e6:.0f} MB")
    return path


NONCE = re.compile(r"'nonce-[^']*'")
SCRIPT_SRC = re.compile(r"(^|;\s*)(script-src)(?=\s|;|$)", re.I)


def with_fresh_values(headers: list[list[str]], rng: random.Random) -> list[list[str]]:
    """A fresh CSP nonce and a fresh session-cookie value, as a dynamic site sends every time."""
    nonce = f"'nonce-{base64.b64encode(rng.randbytes(16)).decode()}'"
    sid = rng.randbytes(16).hex()
    out, csp, cookie = [], False, False
    for name, value in headers:
        low = name.lower()
        if low == "content-security-policy" and not csp:
            csp = True
            if NONCE.search(value):
                value = NONCE.sub(nonce, value)
            elif SCRIPT_SRC.search(value):
                value = SCRIPT_SRC.sub(rf"\1\2 {nonce}", value, count=1)
            else:
                value = value.rstrip("; ") + f"; script-src 'self' {nonce}"
        elif low == "set-cookie" and not cookie and "=" in value.partition(";")[0]:
            cookie = True
            pair, semi, attrs = value.partition(";")
            value = f"{pair.partition('=')[0]}={sid}{semi}{attrs}"
        out.append([name, value])
    if not csp:
        out.append(["Content-Security-Policy", f"script-src {nonce} 'strict-dynamic'; object-src 'none'; base-uri 'none'"])
    if not cookie:
        out.append(["Set-Cookie", f"sid={sid}; Path=/; HttpOnly; Secure; SameSite=Lax"])
    return out


def write_flows(path: str, n_flows: int, corpus: str) -> None:
    from mitmproxy import http, io
    from mitmproxy.test import tflow
    from mitmproxy.test.tutils import treq, tresp

    rng = random.Random(5)
    body = b"<!doctype html><title>x</title><p>" + b"saved traffic " * 20 + b"</p>"
    # One template flow, mutated and serialised per response: building 50,000 flow objects
    # (connections, certificates) would cost more than writing them.
    flow = tflow.tflow(req=treq(), resp=tresp(content=body))
    with open(path, "wb") as fh:
        writer = io.FlowWriter(fh)
        for i in range(n_flows):
            site = rng.randrange(SITES)
            entry = headersets.CORPUS[site % len(headersets.CORPUS)]
            if corpus == "salted":
                e = headersets.salted(entry, i if i % 3 == 0 else site * 97 + rng.randrange(97))
                headers = e["headers"]
            else:
                e, headers = entry, with_fresh_values(entry["headers"], rng)
            host = f"s{site}.{e['host']}"
            flow.id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            req = flow.request
            req.scheme, req.host, req.port = e["scheme"], host, 443 if e["scheme"] == "https" else 80
            req.method, req.path = e["method"], e["path"]
            req.headers = http.Headers([(b"Host", host.encode()), *((n.encode(), v.encode()) for n, v in e["request_headers"])])
            resp = flow.response
            resp.status_code = e["status"]
            resp.headers = http.Headers([(n.encode(), v.encode("utf-8", "surrogateescape")) for n, v in headers])
            resp.raw_content = body
            writer.add(flow)


# --------------------------------------------------------------------------- runs

def run_once(cmd: list[str], env: dict, tmp: str) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one mitmdump run, CPU = user + sys from os.wait4."""
    errpath = os.path.join(tmp, "stderr")
    t0 = time.perf_counter()
    with open(errpath, "w") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env)
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:  # Ctrl-C: stop our own child before going
        proc.kill()
        proc.wait()
        raise
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    stderr = open(errpath).read()
    if proc.returncode != 0 or stderr.strip():  # -q prints errors only: the addon failed to load or broke
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{stderr[-3000:]}")
    return usage.ru_utime + usage.ru_stime, wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flows", type=int, default=50_000, help="flows in the file (default 50000)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--corpus", choices=("nonce", "salted"), default="nonce", help="which flow file (default nonce)")
    ap.add_argument("--quick", action="store_true", help="--flows 5000 --rounds 1")
    ap.add_argument("--no-bare", action="store_true", help="skip the bare (no script) context runs")
    ap.add_argument("--mitmdump", default=os.path.join(os.path.dirname(sys.executable), "mitmdump"),
                    help="mitmdump to run (default: the one beside this interpreter)")
    ap.add_argument("--addon", default=ADDON, help="the addon script (default: addon/headeraudit_addon.py)")
    ap.add_argument("--json", default=None, help="also write the results as JSON to this file")
    args = ap.parse_args(argv)
    if args.quick:
        args.flows, args.rounds = 5_000, 1
    args.addon = os.path.abspath(args.addon)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run_once then stops its child

    path = flow_file(args.flows, args.corpus)
    version = dict(line.split(":", 1) for line in subprocess.run(
        [args.mitmdump, "--version"], capture_output=True, text=True, check=True).stdout.splitlines() if ":" in line)
    env = dict(os.environ, PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join(filter(None, [os.path.dirname(args.addon), os.environ.get("PYTHONPATH")])))
    names = [c for c in CONFIGS if not (args.no_bare and c == "bare")]
    cpu: dict[str, list[float]] = {c: [] for c in names}
    wall: dict[str, list[float]] = {c: [] for c in names}
    audited: dict[str, list[int]] = {"audit": [], "fix": []}
    with tempfile.TemporaryDirectory(prefix="saved-bench-") as tmp:
        noop, report = os.path.join(tmp, "noop_addon.py"), os.path.join(tmp, "report.json")
        with open(noop, "w") as fh:
            fh.write(NOOP_ADDON)
        audit = ["-s", args.addon, "--set", f"headeraudit_report={report}"]
        extra = {"bare": [], "noop": ["-s", noop], "audit": audit, "fix": audit + ["--set", "headeraudit_mode=fix"]}
        t_start = time.monotonic()
        for r in range(args.rounds):
            for name in names:  # bare noop audit fix, bare noop audit fix
                c, w = run_once([args.mitmdump, "-q", "-nr", path, *extra[name]], env, tmp)
                cpu[name].append(c)
                wall[name].append(w)
                if name in audited:
                    with open(report) as fh:
                        audited[name].append(json.load(fh).get("summary", {}).get("flows_audited"))
                    os.unlink(report)
                log(f"round {r + 1}/{args.rounds} {name}: {c:.1f} CPU s, {w:.1f} s wall "
                    f"({args.flows / c:.0f} flows per CPU-s; {time.monotonic() - t_start:.0f} s elapsed)")
        one = flow_file(1, args.corpus)  # context: what start-up and exit cost, with one flow
        fixed = {name: run_once([args.mitmdump, "-q", "-nr", one, *extra[name]], env, tmp)[0] for name in names}

    rate = {n: [args.flows / c for c in cs] for n, cs in cpu.items()}
    med = {n: statistics.median(v) for n, v in rate.items()}
    print(f"### Saved traffic: CPU time of `mitmdump -nr`, {args.flows:,} flows, mitmproxy {version['Mitmproxy'].strip()}, "
          f"Python {version['Python'].strip()}")
    print()
    print(f"- {os.path.basename(path)} ({os.path.getsize(path) / 1e6:.0f} MB): {SITES:,} sites, each one of the "
          f"{len(headersets.CORPUS)} header sets of bench/headersets.py; "
          + ("every response with a fresh CSP nonce and session-cookie value" if args.corpus == "nonce"
             else "a third of the responses with never-seen values (salted)"))
    print(f"- {args.rounds} interleaved round(s), a fresh `mitmdump -q -nr` per run, PYTHONHASHSEED=0; CPU = user + sys of "
          f"mitmdump (start-up and the JSON report written at exit included); addon {args.addon}")
    print("- of which start-up and exit, CPU s with a 1-flow file: " + ", ".join(f"{n} {fixed[n]:.2f}" for n in names))
    for name, counts in audited.items():
        if any(c != args.flows for c in counts):
            print(f"- WARNING {name}: flows audited per run (from its report) {counts}, expected {args.flows}")
    print()
    print("| round | " + " | ".join(f"{n} CPU s" for n in names) + " |")
    print("|---|" + "---:|" * len(names))
    for i in range(args.rounds):
        print(f"| {i + 1} | " + " | ".join(f"{cpu[n][i]:.1f}" for n in names) + " |")
    print()
    print("| configuration | flows per CPU-second | of noop's (median of per-round ratios, range) | CPU µs per flow more than noop |")
    print("|---|---:|---:|---:|")
    ratios = {}
    for n in names:
        per_round = sorted(a / b for a, b in zip(rate[n], rate["noop"]))
        ratios[n] = statistics.median(per_round)
        more = (statistics.median(cpu[n]) - statistics.median(cpu["noop"])) / args.flows * 1e6
        rel = "—" if n == "noop" else f"{ratios[n] * 100:.1f}% ({per_round[0] * 100:.1f}–{per_round[-1] * 100:.1f}%)"
        print(f"| {n} | {med[n]:.0f} | {rel} | {'—' if n == 'noop' else f'{more:+.0f}'} |")
    print()
    for n, label in (("audit", "audit mode"), ("fix", "fix mode")):
        word = "PASS" if ratios[n] >= TARGET else "FAIL"
        print(f"target ≥ {TARGET * 100:.0f}% of the no-op script's flows per CPU-second, {label}: {word} ({ratios[n] * 100:.1f}%)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"flows": args.flows, "corpus": args.corpus, "file": path, "addon": args.addon, "cpu_s": cpu,
                       "wall_s": wall, "one_flow_cpu_s": fixed, "flows_per_cpu_s": rate, "median": med, "ratio_to_noop": ratios,
                       "audited": audited}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
