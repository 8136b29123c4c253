#!/usr/bin/env python3
"""Proxy overhead of headeraudit: instructions per proxied request, counted by callgrind.

Why instructions, not req/s: on the project's shared 2-core machines req/s moves by 10-20% from
run to run, several times the differences being measured. With a fixed PYTHONHASHSEED the work
mitmdump does per request does not move, whatever else the machine does. Instructions are not
time (no cache misses in them), but for a CPU-bound single-threaded proxy they track it.

Upstream: a Python http.server in its own process on 127.0.0.1 (not measured), one 1.6 KB HTML page
with a realistic security-header set; `static` sends the same headers every time, `dynamic` a fresh
CSP nonce and `sid` cookie value in every response, as most dynamic sites do. Proxy: a fresh
`valgrind --tool=callgrind --instr-atstart=no mitmdump -q --mode reverse:...` per run, one of
bare (no script), noop (a script with headeraudit's two hooks doing nothing), audit (the addon with
its default options; its JSON report, written at exit, shows that every request was audited) and
fix (audit + headeraudit_mode=fix). Per run: warm-up requests, `callgrind_control -i on`, N
sequential GETs on one keep-alive connection, `callgrind_control -d`; the dump's total / N is the
figure, printed with the part spent in CPython's cyclic GC. The four run twice, interleaved, and the
lower count of each is kept (a run can read high: a GC collection in its window, a busy machine).
Why a 1000-request warm-up and no idle correction: bench/README.md.

    python bench/proxy_bench.py                  # both upstreams, 300 requests, 2 rounds (~9 min)
    python bench/proxy_bench.py --quick          # static, 1 round, 100 requests (~1.5 min)
    python bench/proxy_bench.py --upstream dynamic --addon /tmp/baseline/addon/headeraudit_addon.py

Only 127.0.0.1 is contacted. Every process started here is stopped here, also on errors.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ADDON = os.path.join(os.path.dirname(HERE), "addon", "headeraudit_addon.py")
CONFIGS = ("bare", "noop", "audit", "fix")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bench page</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/app.3f9a1c.css"></head>
<body><header><nav><a href="/">Home</a> <a href="/products">Products</a> <a href="/about">About</a></nav></header>
<main><h1>Welcome</h1><p>%s</p></main>
<footer>&copy; 2025 Example Shop</footer><script src="/assets/app.9c1e2b.js" defer></script></body></html>
""" % ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20)

# Mostly good, with a few things an audit flags (version disclosure, a cookie without
# Secure/HttpOnly, 'unsafe-inline' in style-src).
NONCE, SID = "rAnd0m123", "8f14e45fceea167a5a36dedd4bea2543"
UPSTREAM_HEADERS = [
    ("Content-Security-Policy",
     f"default-src 'self'; script-src 'self' 'nonce-{NONCE}' 'strict-dynamic' https://cdn.shop.example; "
     "style-src 'self' 'unsafe-inline' https://fonts.shop.example; img-src 'self' data: https://img.shop.example; "
     "font-src 'self' https://fonts.shop.example; connect-src 'self' https://api.shop.example; "
     "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"),
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(self)"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cache-Control", "no-cache, private"),
    ("Set-Cookie", f"sid={SID}; Path=/; HttpOnly; Secure; SameSite=Lax"),
    ("Set-Cookie", "prefs=theme%3Ddark; Path=/; Max-Age=31536000"),
    ("X-Powered-By", "PHP/8.1.2-1ubuntu2.14"),
]

# Self-contained on purpose: the no-op must not change when the addon does. The loop is what
# headeraudit's settle_hook_lookups does: a script module without an event's name makes
# mitmproxy raise and format an AttributeError for every event of every flow.
NOOP_ADDON = """
from mitmproxy import hooks


class Noop:
    def request(self, flow):
        pass

    def responseheaders(self, flow):
        pass


addons = [Noop()]
for _name in (*hooks.all_hooks, "requestheaders", "request", "responseheaders", "response", "error", "update"):
    if _name != "add_log":  # deprecated; mitmproxy warns about a script defining it
        globals().setdefault(_name, None)
"""


def log(msg: str) -> None:
    print(f"[proxy_bench] {msg}", file=sys.stderr, flush=True)


def response_headers(dynamic: bool) -> list[tuple[str, str]]:
    if not dynamic:
        return UPSTREAM_HEADERS
    nonce, sid = base64.b64encode(os.urandom(16)).decode(), os.urandom(16).hex()
    return [(n, v.replace(NONCE, nonce).replace(SID, sid)) for n, v in UPSTREAM_HEADERS]


def serve(variant: str) -> None:
    """The upstream (a child process): prints its port, then serves until stopped."""
    body, dynamic = PAGE.encode(), variant == "dynamic"

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version, server_version, sys_version = "HTTP/1.1", "nginx/1.22.1", ""

        def do_GET(self) -> None:  # one write per response (as nginx does), not one per header line
            lines = [("Server", self.server_version), ("Date", self.date_time_string()),
                     ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
                     *response_headers(dynamic)]
            head = "HTTP/1.1 200 OK\r\n" + "".join(f"{n}: {v}\r\n" for n, v in lines) + "\r\n"
            self.wfile.write(head.encode("latin-1") + body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


class Procs:
    """Every process started here, stopped by its own pid: when done, on errors, on Ctrl-C."""

    def __init__(self) -> None:
        self.live: list[subprocess.Popen] = []

    def start(self, cmd: list[str], **kw) -> subprocess.Popen:
        self.live.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, **kw))
        return self.live[-1]

    def stop(self, proc: subprocess.Popen, sig: int = signal.SIGINT, timeout: float = 180) -> None:
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc in self.live:
            self.live.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(self.live[:]):
            self.stop(proc, signal.SIGTERM, 60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def get(conn: http.client.HTTPConnection) -> http.client.HTTPResponse:
    conn.request("GET", "/")
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        raise RuntimeError(f"status {resp.status} through the proxy")
    return resp


def callgrind_counts(path: str, inclusive_of: str = "gc_collect_main") -> tuple[int, int]:
    """(total, inclusive count of one function) from a callgrind dump: by default the cyclic GC
    (CPython 3.11/3.12), which runs when allocations say so, not per request (see bench/README.md).
    Inclusive = the function's own cost lines plus the cost line after each `calls=` inside it."""
    names: dict[str, str] = {}
    total, inside, inclusive = None, False, 0
    with open(path, errors="replace") as fh:
        for line in fh:
            if line.startswith(("fn=", "cfn=")):  # fn=(id) name, or fn=(id) once named
                key, _, rest = line.rstrip("\n").partition("=")
                ref, _, name = rest.partition(" ")
                name = names.setdefault(ref, name) if name else names.get(ref, ref)
                if key == "fn":
                    inside = name.split("'")[0] == inclusive_of  # name'2: a recursion level
            elif inside and line[:1] in "0123456789+-*":
                fields = line.split()
                inclusive += int(fields[1]) if len(fields) > 1 else 0
            elif line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
    if total is None:
        raise RuntimeError(f"no instruction total in {path}")
    return total, inclusive


def count(args, procs: Procs, tmp: str, up_port: int, config: str, tag: str) -> dict:
    """One fresh mitmdump under callgrind: instructions per request over args.requests requests.

    Each run gets a confdir of its own, so each makes its own CA at start-up: a run that loads the
    CA an earlier run made counted ~0.9% more per request (its heap laid out otherwise), which
    made every configuration after the first look dearer than bare."""
    out, err, report = (os.path.join(tmp, f"{tag}.{x}") for x in ("callgrind", "stderr", "report.json"))
    audit = ["-s", args.addon, "--set", f"headeraudit_report={report}"]
    extra = {"bare": [], "noop": ["-s", os.path.join(tmp, "noop_addon.py")], "audit": audit,
             "fix": audit + ["--set", "headeraudit_mode=fix"]}[config]
    port = free_port()
    env = dict(os.environ, PYTHONHASHSEED=str(args.seed),
               PYTHONPATH=os.pathsep.join(filter(None, [os.path.dirname(args.addon), os.environ.get("PYTHONPATH")])))
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
           f"--log-file={out}.valgrind.log", args.mitmdump, "-q", "--mode", f"reverse:http://127.0.0.1:{up_port}",
           "--listen-host", "127.0.0.1", "--listen-port", str(port), "--set", f"confdir={tmp}/conf-{tag}", *extra]
    with open(err, "w") as errfh:
        proc = procs.start(cmd, stdout=subprocess.DEVNULL, stderr=errfh, env=env)
    ctl = lambda *a: subprocess.run(["callgrind_control", *a, str(proc.pid)], check=True, capture_output=True, timeout=300)
    try:
        if not wait_port(port, proc, 600):
            raise RuntimeError(f"mitmdump ({config}) under valgrind did not start:\n{open(err).read()[-3000:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        headers = [h for h in get(conn).getheaders() if h[0].lower() != "date"]
        for _ in range(args.warmup - 1):
            get(conn)
        ctl("-i", "on")
        t0 = time.monotonic()
        for _ in range(args.requests):
            get(conn)
        busy = time.monotonic() - t0
        ctl("-d")
        ctl("-i", "off")
        conn.close()
    finally:
        procs.stop(proc)
    stderr = open(err).read()
    if stderr.strip():  # -q prints errors only: the addon failed to load or broke; stop, do not fight it
        raise RuntimeError(f"mitmdump ({config}) reported errors:\n{stderr[-3000:]}")
    total, gc = callgrind_counts(f"{out}.1")
    audited = None
    if os.path.exists(report):
        with open(report) as fh:
            audited = json.load(fh).get("summary", {}).get("flows_audited")
    for f in os.listdir(tmp):
        if f.startswith(f"{tag}.callgrind"):
            os.unlink(os.path.join(tmp, f))
    return {"per_request": total / args.requests, "gc_per_request": gc / args.requests, "busy_s": busy,
            "headers": headers, "audited": audited}


def bench_upstream(args, procs: Procs, tmp: str, variant: str) -> dict[str, list[dict]]:
    server = procs.start([sys.executable, os.path.abspath(__file__), "--serve", variant], stdout=subprocess.PIPE, text=True)
    up_port = int(server.stdout.readline())
    runs: dict[str, list[dict]] = {c: [] for c in CONFIGS}
    try:
        for r in range(args.rounds):
            for config in CONFIGS:  # bare noop audit fix, bare noop audit fix
                t0 = time.monotonic()
                res = count(args, procs, tmp, up_port, config, f"{variant}-{config}-{r}")
                runs[config].append(res)
                log(f"{variant} round {r + 1}/{args.rounds} {config}: {res['per_request'] / 1e6:.3f} M instructions per "
                    f"request, of which GC {res['gc_per_request'] / 1e6:.3f} M ({res['busy_s']:.0f} s counted, "
                    f"{time.monotonic() - t0:.0f} s in all)")
    finally:
        procs.stop(server, signal.SIGTERM)
    return runs


def report(variant: str, runs: dict[str, list[dict]], args) -> dict:
    best = {c: min(rs, key=lambda r: r["per_request"]) for c, rs in runs.items()}
    bare = best["bare"]["per_request"]
    print(f"**{variant} upstream** ({'a fresh CSP nonce and sid cookie in every response' if variant == 'dynamic' else 'the same headers in every response'})")
    print()
    print("| configuration | M instructions per request | more than bare | of which cyclic GC (M) | runs (M) |")
    print("|---|---:|---:|---:|---|")
    for c in CONFIGS:
        more = "—" if c == "bare" else f"{(best[c]['per_request'] / bare - 1) * 100:+.2f}%"
        each = ", ".join(f"{r['per_request'] / 1e6:.3f}" for r in runs[c])
        print(f"| {c} | {best[c]['per_request'] / 1e6:.3f} | {more} | {best[c]['gc_per_request'] / 1e6:.3f} | {each} |")
    print()
    expected = args.warmup + args.requests
    for c in ("audit", "fix"):
        audited = [r["audited"] for r in runs[c]]
        if any(a != expected for a in audited):
            print(f"- WARNING {c}: flows audited per run (from its report) {audited}, expected {expected}")
    if runs["fix"][0]["headers"] == runs["audit"][0]["headers"]:
        print("- WARNING fix mode returned the same response headers as audit mode: did it fix anything?")
    return {"per_request": {c: r["per_request"] for c, r in best.items()}, "runs": runs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", choices=("static", "dynamic", "both"), help="default both (--quick: static)")
    ap.add_argument("--requests", type=int, default=300, help="requests counted per run (default 300)")
    ap.add_argument("--warmup", type=int, default=1000, help="requests before counting starts (default 1000: past "
                    "the full GC that start-up leaves behind, see bench/README.md)")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved runs per configuration; the lowest is kept (default 2)")
    ap.add_argument("--seed", type=int, default=0, help="PYTHONHASHSEED of every mitmdump (default 0)")
    ap.add_argument("--quick", action="store_true", help="1 round, 100 requests, static upstream unless --upstream")
    ap.add_argument("--addon", default=ADDON, help="the addon script (default: addon/headeraudit_addon.py)")
    ap.add_argument("--mitmdump", default=os.path.join(os.path.dirname(sys.executable), "mitmdump"))
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--serve", choices=("static", "dynamic"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        return serve(args.serve) or 0
    if args.quick:
        args.upstream, args.rounds, args.requests = args.upstream or "static", 1, 100
    args.upstream, args.addon = args.upstream or "both", os.path.abspath(args.addon)
    version = dict(line.split(":", 1) for line in subprocess.run(
        [args.mitmdump, "--version"], capture_output=True, text=True, check=True).stdout.splitlines() if ":" in line)
    mitm, py = version["Mitmproxy"].strip(), version["Python"].strip()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks below
    procs, results, t0 = Procs(), {}, time.monotonic()
    with tempfile.TemporaryDirectory(prefix="proxybench-") as tmp:
        with open(os.path.join(tmp, "noop_addon.py"), "w") as fh:
            fh.write(NOOP_ADDON)
        try:
            for variant in (("static", "dynamic") if args.upstream == "both" else (args.upstream,)):
                results[variant] = bench_upstream(args, procs, tmp, variant)
        finally:
            procs.stop_all()

    print(f"### Proxy: instructions per request (callgrind), mitmproxy {mitm}, Python {py}")
    print()
    print(f"`mitmdump -q --mode reverse:` to a Python http.server on loopback ({len(PAGE)} B HTML page, "
          f"{len(UPSTREAM_HEADERS)} security-relevant header lines); {args.requests} sequential requests on one keep-alive "
          f"connection counted after {args.warmup} of warm-up; PYTHONHASHSEED={args.seed}; a fresh mitmdump per run, "
          f"{args.rounds} interleaved run(s) per configuration, the lowest kept; addon {args.addon}; "
          f"{(time.monotonic() - t0) / 60:.0f} min.")
    print()
    out = {variant: report(variant, runs, args) for variant, runs in results.items()}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"mitmproxy": mitm, "python": py, "requests": args.requests, "warmup": args.warmup,
                       "seed": args.seed, "addon": args.addon, "results": out}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
