#!/usr/bin/env python3
"""Proxy benchmark: mitmdump + headeraudit vs bare mitmdump, under wrk, on loopback.

    upstream: nginx (Debian package) with a generated config in a temp dir, serving a
              small HTML page with a realistic security-header set (add_header ... always)
    proxy:    mitmdump -q --mode reverse:http://127.0.0.1:<nginx> [-s addon/headeraudit_addon.py]
    load:     wrk -t1 -c10 -d<duration>s --latency http://127.0.0.1:<mitmdump>/

Every round starts one fresh mitmdump per configuration, warms it, loads each once,
A B C D, the order rotated from round to round (B C D A, ...), and stops them. Fresh processes
every round (`--restart-every`, default 1): a process's memory layout and hash seed can make it
a few percent faster or slower for its whole life, so a verdict drawn from a few long-lived
processes inherits their luck; many short-lived ones average it out. The processes of one
round share a PYTHONHASHSEED (a new one each round, `--seed-base` + round): they differ only
by the code under test, not by how their dicts happen to be laid out. Slow drifts of a shared
machine hit every configuration alike and no run pays for a start-up. Printed: per-run req/s,
p99 and mitmdump's own CPU time per request, medians, and per configuration the median of its
per-round ratios to bare with its bootstrap 90% interval and the range of the middle half of
the rounds. A second bare mitmdump (`bare-twin`) is the run's noise control. The verdict is
PASS or FAIL only when the interval lies wholly on one side of the target, with at least 10
rounds and a twin whose own interval holds 100%; otherwise UNRESOLVED.

Throughput on a shared machine moves by several percent from minute to minute, more than
the 3% the target allows. `--instructions` adds a measure that does not move: each
configuration once more under valgrind's callgrind, which counts the instructions mitmdump
executes per request (a fixed number of sequential requests after a warm-up; time-driven
work measured while idle and taken out). On a 2-core machine mitmdump is pinned to CPU 0
and nginx + wrk to CPU 1 (taskset) unless --no-pin.

    python bench/proxy_bench.py                  # 10 rounds x 5 s per configuration (~5 min)
    python bench/proxy_bench.py --quick          # 2 rounds x 3 s
    python bench/proxy_bench.py --rounds 20 --duration 3 --instructions

Only 127.0.0.1 is ever contacted. Every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import NamedTuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ADDON = os.path.join(REPO, "addon", "headeraudit_addon.py")
TARGET_RATIO = 0.97
TWIN = "bare-twin"  # a second bare mitmdump: what this run reads as a difference where there is none

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bench page</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/app.3f9a1c.css"></head>
<body><header><nav><a href="/">Home</a> <a href="/products">Products</a> <a href="/about">About</a></nav></header>
<main><h1>Welcome</h1><p>%s</p></main>
<footer>&copy; 2025 Example Shop</footer><script src="/assets/app.9c1e2b.js" defer></script></body></html>
""" % ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20)

# A realistic header set: mostly good, with a few things an audit flags (version
# disclosure, a cookie without Secure/HttpOnly, 'unsafe-inline' in style-src).
UPSTREAM_HEADERS = [
    ("Content-Security-Policy",
     "default-src 'self'; script-src 'self' 'nonce-rAnd0m123' 'strict-dynamic' https://cdn.shop.example; "
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
    ("Set-Cookie", "sid=8f14e45fceea167a5a36dedd4bea2543; Path=/; HttpOnly; Secure; SameSite=Lax"),
    ("Set-Cookie", "prefs=theme%3Ddark; Path=/; Max-Age=31536000"),
    ("X-Powered-By", "PHP/8.1.2-1ubuntu2.14"),
]


# Context column: a script shaped like headeraudit's (the same two hooks, the same
# settle_hook_lookups) whose hooks do nothing: mitmproxy's own cost of running such a script,
# to tell it from headeraudit's work.
NOOP_ADDON = """
from headeraudit.mitm import settle_hook_lookups


class Noop:
    def request(self, flow):
        pass

    def responseheaders(self, flow):
        pass


addons = [Noop()]
settle_hook_lookups(globals())
"""


# Diagnostic run: the real HeaderAudit addon with its responseheaders hook timed from
# inside mitmdump (perf_counter_ns per flow), samples written at exit.
TIMED_ADDON = """
import json
import os
import time

from headeraudit.mitm import HeaderAudit, settle_hook_lookups

OUT = os.environ["HEADERAUDIT_BENCH_HOOKTIMES"]


class TimedHeaderAudit(HeaderAudit):
    def __init__(self):
        super().__init__()
        self._bench_ns = []

    def responseheaders(self, flow):
        t0 = time.perf_counter_ns()
        super().responseheaders(flow)
        self._bench_ns.append(time.perf_counter_ns() - t0)

    def done(self):
        super().done()
        with open(OUT, "w") as fh:
            json.dump(self._bench_ns, fh)


addons = [TimedHeaderAudit()]
settle_hook_lookups(globals())
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Stop one process we started, by its own pid."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def nginx_conf(tmp: str, port: int) -> str:
    www = os.path.join(tmp, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "index.html"), "w") as fh:
        fh.write(PAGE)
    user = ""
    if os.geteuid() == 0:  # as root nginx would switch its worker to "nobody"; stay the current user
        import grp
        import pwd
        user = f"user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};"
    adds = "\n".join(
        f'            add_header {name} "{value}" always;' for name, value in UPSTREAM_HEADERS
    )
    temp_paths = "\n".join(f"    {k}_temp_path {tmp}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = f"""{user}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp_paths}
    default_type application/octet-stream;
    types {{ text/html html; }}
    server_tokens on;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    server {{
        listen 127.0.0.1:{port};
        root {www};
        location / {{
            index index.html;
{adds}
        }}
    }}
}}
"""
    path = os.path.join(tmp, "nginx.conf")
    with open(path, "w") as fh:
        fh.write(conf)
    return path


WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_PCT = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
WRK_SOCKERR = re.compile(r"Socket errors:\s+(.*)")
WRK_REQS = re.compile(r"(\d+) requests in")


def parse_wrk(out: str) -> dict:
    m = WRK_RPS.search(out)
    if not m:
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    pcts = {int(p): float(v) * scale[u] for p, v, u in WRK_PCT.findall(out)}
    non2xx = WRK_NON2XX.search(out)
    sockerr = WRK_SOCKERR.search(out)
    reqs = WRK_REQS.search(out)
    return {"rps": float(m.group(1)), "p50_ms": pcts.get(50), "p99_ms": pcts.get(99),
            "requests": int(reqs.group(1)) if reqs else None,
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sockerr.group(1).strip() if sockerr else ""}


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: str) -> None:
        self.args = args
        self.tmp = tmp
        self.confdir = os.path.join(tmp, "mitmproxy-conf")
        os.makedirs(self.confdir, exist_ok=True)
        self.pin = (not args.no_pin) and shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
        self.nginx: subprocess.Popen | None = None
        self.up_port = 0

    def _prefix(self, cpu: str) -> list[str]:
        return ["taskset", "-c", cpu] if self.pin else []

    def start_upstream(self) -> None:
        self.up_port = free_port()
        conf = nginx_conf(self.tmp, self.up_port)
        self.nginx = subprocess.Popen(self._prefix("1") + [self.args.nginx, "-c", conf, "-p", self.tmp],
                                      stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.tmp, "nginx.stderr"), "w"))
        if not wait_port(self.up_port, self.nginx, 15):
            err = open(os.path.join(self.tmp, "nginx.stderr")).read()
            raise RuntimeError(f"nginx did not start: {err}")

    def stop_upstream(self) -> None:
        if self.nginx is not None:
            stop(self.nginx, signal.SIGQUIT)  # graceful; the master stops its worker

    def start_proxy(self, extra: list[str], env: dict | None = None, wrapper: list[str] | None = None,
                    port: int | None = None) -> tuple[subprocess.Popen, int, str]:
        port = port or free_port()
        if env is None:
            env = addon_env(self.args)
        errpath = os.path.join(self.tmp, f"mitmdump-{port}.stderr")
        cmd = self._prefix("0") + (wrapper or []) + [
            self.args.mitmdump, "-q", "--mode", f"reverse:http://127.0.0.1:{self.up_port}",
            "--listen-host", "127.0.0.1", "--listen-port", str(port),
            "--set", f"confdir={self.confdir}",
        ] + extra
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(errpath, "w"), stdin=subprocess.DEVNULL,
                                env=env)
        return proc, port, errpath

    def wrk(self, port: int, duration: float) -> dict:
        cmd = self._prefix("1") + [self.args.wrk, f"-t{self.args.threads}", f"-c{self.args.connections}",
                                   f"-d{max(1, int(round(duration)))}s", "--latency", "--timeout", "5s",
                                   f"http://127.0.0.1:{port}/"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
        if out.returncode != 0:
            raise RuntimeError(f"wrk failed: {out.stderr}")
        return parse_wrk(out.stdout)


def addon_env(args: argparse.Namespace) -> dict:
    """The environment for a mitmdump whose scripts import headeraudit from <repo>/addon."""
    env = dict(os.environ)
    addon_dir = os.path.dirname(os.path.abspath(args.addon))
    env["PYTHONPATH"] = addon_dir + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def proc_cpu_seconds(pid: int) -> float | None:
    """user+system CPU seconds of one process (all its threads), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def sanity_get(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
        body = resp.read()
        return {"status": resp.status, "bytes": len(body), "headers": len(resp.headers),
                "cookies": len(resp.headers.get_all("Set-Cookie") or [])}


def hook_timing(bench: Bench, args: argparse.Namespace, tmp: str, mode: str = "audit") -> dict | None:
    """One extra run with the addon's hook timed inside mitmdump (not part of the ratios)."""
    script = os.path.join(tmp, "timed_headeraudit.py")
    with open(script, "w") as fh:
        fh.write(TIMED_ADDON)
    out = os.path.join(tmp, f"hook-times-{mode}.json")
    env = addon_env(args)
    env["HEADERAUDIT_BENCH_HOOKTIMES"] = out
    proc, port, errpath = bench.start_proxy(["-s", script, "--set", f"headeraudit_mode={mode}"], env)
    try:
        if not wait_port(port, proc, 30):
            log(f"[proxy_bench] hook-timing run did not start: {open(errpath).read()[-2000:]}")
            return None
        if args.warmup > 0:
            bench.wrk(port, args.warmup)
        res = bench.wrk(port, args.duration)
    finally:
        stop(proc, signal.SIGINT)
    try:
        with open(out) as fh:
            ns = sorted(json.load(fh))
    except (OSError, ValueError):
        log(f"[proxy_bench] hook-timing run wrote no samples: {open(errpath).read()[-2000:]}")
        return None
    if not ns:
        return None
    return {"flows": len(ns), "median_us": ns[len(ns) // 2] / 1000, "p99_us": ns[int(len(ns) * 0.99)] / 1000,
            "mean_us": sum(ns) / len(ns) / 1000, "rps": res["rps"]}


def sequential_gets(port: int, n: int) -> None:
    """n GETs one after another on one keep-alive connection: the same work every time."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        for _ in range(n):
            conn.request("GET", "/")
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"unexpected status {resp.status} through the proxy")
    finally:
        conn.close()


def callgrind_total(path: str) -> int:
    with open(path, errors="replace") as fh:
        for line in fh:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no instruction total in {path}")


def instructions_per_request(bench: Bench, args: argparse.Namespace, tmp: str, name: str, extra: list[str]) -> dict:
    """Instructions mitmdump executes per request, counted by callgrind under each hash seed of
    `--instr-seeds`; their mean is the figure.

    With a fixed seed a count repeats to ~0.1%, whatever else the machine does. Between seeds
    it moves by up to ~0.5% of bare: the seed decides which (type, attribute) pairs collide in
    CPython's method cache, and a small change in code moves those collisions (more or fewer
    MRO walks per request) without doing more work of its own. One seed can flatter or punish a
    configuration by that much; several seeds average it out."""
    seeds = [int(s) for s in str(args.instr_seeds).split(",") if s.strip()]
    counts = [_count_instructions(bench, args, tmp, f"{name}.seed{seed}", extra, seed) for seed in seeds]
    mean = lambda key: sum(c[key] for c in counts) / len(counts)
    return {"requests": args.instr_requests, "seeds": seeds, "per_seed": [c["per_request"] for c in counts],
            "raw_per_request": mean("raw_per_request"), "idle_per_second": mean("idle_per_second"),
            "per_request": mean("per_request")}


def _count_instructions(bench: Bench, args: argparse.Namespace, tmp: str, name: str, extra: list[str], seed: int) -> dict:
    """One callgrind count. Counting is switched on after a warm-up, for `--instr-requests`
    sequential requests, then for `--instr-idle` seconds of no load: what mitmdump and the
    addon do by the clock (file watchers) runs ~50× more often per request under valgrind
    than at full speed, so that rate is taken out."""
    out = os.path.join(tmp, f"callgrind.{name}")
    env = addon_env(args)
    env["PYTHONHASHSEED"] = str(seed)  # the same dict layouts and method-cache slots in every run
    wrapper = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    proc, port, errpath = bench.start_proxy(extra, env, wrapper=wrapper)
    ctl = lambda *a: subprocess.run(["callgrind_control", *a, str(proc.pid)], check=True, capture_output=True, timeout=120)
    try:
        if not wait_port(port, proc, 600):
            raise RuntimeError(f"mitmdump ({name}) under valgrind did not start: {open(errpath).read()[-3000:]}")
        sequential_gets(port, args.instr_warmup)
        ctl("--instr=on")
        t0 = time.monotonic()
        sequential_gets(port, args.instr_requests)
        busy = time.monotonic() - t0
        ctl("--dump")
        t0 = time.monotonic()
        time.sleep(args.instr_idle)
        idle = time.monotonic() - t0
        ctl("--dump")
        ctl("--instr=off")
    finally:
        stop(proc, signal.SIGINT, timeout=120)
    dumps = sorted((f for f in os.listdir(tmp) if re.fullmatch(rf"callgrind\.{re.escape(name)}\.\d+", f)),
                   key=lambda f: int(f.rsplit(".", 1)[1]))
    if len(dumps) < 2:
        raise RuntimeError(f"callgrind wrote {dumps} for {name}")
    loaded, quiet = (callgrind_total(os.path.join(tmp, f)) for f in dumps[:2])
    per_second = quiet / idle
    return {"requests": args.instr_requests, "raw_per_request": loaded / args.instr_requests,
            "idle_per_second": per_second, "per_request": (loaded - per_second * busy) / args.instr_requests}


def bootstrap(values: list[float], stat, draws: int, rng: random.Random) -> tuple[float, float]:
    """A 90% bootstrap interval of stat(values)."""
    n = len(values)
    dist = sorted(stat([values[rng.randrange(n)] for _ in range(n)]) for _ in range(draws))
    return dist[int(0.05 * draws)], dist[int(0.95 * draws) - 1]


MIN_VERDICT_ROUNDS = 10


class Verdict(NamedTuple):
    word: str  # PASS, FAIL or UNRESOLVED
    low: float  # the 90% interval of the median per-round ratio
    high: float
    why: str  # why UNRESOLVED ("" otherwise)


def verdict(values: list[float], twin: list[float] | None = None, draws: int = 10000) -> Verdict:
    """PASS or FAIL only when the 90% bootstrap interval of the median per-round ratio lies wholly
    on one side of the target; otherwise UNRESOLVED: a point estimate on either side of a line
    that the run's own noise spans says nothing, and a run should say so rather than call it.
    Also UNRESOLVED with fewer than MIN_VERDICT_ROUNDS rounds (a bootstrap of a handful of values
    is far too narrow), or when the bare twin's interval leaves out 100%: then bare itself was
    off in this run and every ratio to it with it, by more than the intervals allow for.
    Fixed seed: the same rounds give the same verdict."""
    lo, hi = bootstrap(values, statistics.median, draws, random.Random(0))
    if len(values) < MIN_VERDICT_ROUNDS:
        return Verdict("UNRESOLVED", lo, hi, f"fewer than {MIN_VERDICT_ROUNDS} rounds")
    if twin and len(twin) >= MIN_VERDICT_ROUNDS:
        tlo, thi = bootstrap(twin, statistics.median, draws, random.Random(0))
        if not tlo <= 1.0 <= thi:
            return Verdict("UNRESOLVED", lo, hi, "the bare twin's interval leaves out 100%: bare itself was off in this run")
    if lo >= TARGET_RATIO:
        return Verdict("PASS", lo, hi, "")
    if hi < TARGET_RATIO:
        return Verdict("FAIL", lo, hi, "")
    return Verdict("UNRESOLVED", lo, hi, "the interval straddles the line: these rounds cannot tell; more rounds might")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=10, help="interleaved rounds per configuration (default 10)")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per measured wrk run (default 5)")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of discarded wrk load per mitmdump started (default 2)")
    ap.add_argument("--restart-every", type=int, default=1, help="start fresh mitmdumps every N rounds, 0 = never (default 1)")
    ap.add_argument("--seed-base", type=int, default=1000, help="the mitmdumps started for round r share PYTHONHASHSEED "
                    "seed-base + r (default 1000); -1: each process draws its own")
    ap.add_argument("--instructions", action="store_true", help="also count instructions per request under callgrind (valgrind)")
    ap.add_argument("--instr-requests", type=int, default=400, help="requests counted per configuration (default 400)")
    ap.add_argument("--instr-warmup", type=int, default=100, help="requests before counting starts (default 100)")
    ap.add_argument("--instr-idle", type=float, default=8.0, help="seconds of idle counting (default 8)")
    ap.add_argument("--instr-seeds", default="0,1,2", help="PYTHONHASHSEED values to count under, comma-separated; the figure "
                    "is their mean (default 0,1,2)")
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="--rounds 2 --duration 3 --warmup 1 (and 100 counted requests under seed 0)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs with taskset")
    ap.add_argument("--no-fix", action="store_true", help="skip the headeraudit_mode=fix column")
    ap.add_argument("--no-noop", action="store_true", help="skip the no-op script addon context column")
    ap.add_argument("--no-twin", action="store_true", help="skip the second bare mitmdump (the run's own noise control)")
    ap.add_argument("--no-hook-timing", action="store_true",
                    help="skip the extra run that times the addon's hook inside mitmdump")
    ap.add_argument("--mitmdump", default=None, help="mitmdump to run (default: the one beside this interpreter)")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    ap.add_argument("--addon", default=ADDON)
    ap.add_argument("--json", default=None, help="also write the results as JSON to this file")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup = 2, 3.0, 1.0
        args.instr_requests, args.instr_warmup, args.instr_idle, args.instr_seeds = 100, 30, 3.0, "0"
    if args.mitmdump is None:
        beside = os.path.join(os.path.dirname(sys.executable), "mitmdump")
        args.mitmdump = beside if os.path.exists(beside) else (shutil.which("mitmdump") or "mitmdump")
    tools = [(args.wrk, "apt-get install -y wrk"), (args.nginx, "apt-get install -y nginx")]
    if args.instructions:
        tools += [("valgrind", "apt-get install -y valgrind"), ("callgrind_control", "apt-get install -y valgrind")]
    for tool, hint in tools:
        if not (os.path.exists(tool) or shutil.which(tool)):
            print(f"proxy_bench: {tool} not found ({hint})", file=sys.stderr)
            return 2

    version = subprocess.run([args.mitmdump, "--version"], capture_output=True, text=True).stdout.split("\n")
    mitm_version = next((line.split(":", 1)[1].strip() for line in version if line.startswith("Mitmproxy")), "?")
    py_version = next((line.split(":", 1)[1].strip() for line in version if line.startswith("Python")), "?")

    tmp = tempfile.mkdtemp(prefix="headeraudit-proxybench-")
    bench = Bench(args, tmp)
    report_path = os.path.join(tmp, "audit-report.json")
    configs: dict[str, list[str]] = {
        "bare": [],
        "addon": ["-s", args.addon, "--set", f"headeraudit_report={report_path}"],
    }
    if not args.no_noop:
        noop = os.path.join(tmp, "noop_addon.py")
        with open(noop, "w") as fh:
            fh.write(NOOP_ADDON)
        configs["noop-script"] = ["-s", noop]
    if not args.no_twin:
        configs[TWIN] = []
    notes: list[str] = []
    runs: dict[str, list[dict]] = {}
    direct: dict | None = None
    hook: dict[str, dict | None] = {}
    instructions: dict[str, dict] = {}
    audited: list[int] = []
    try:
        bench.start_upstream()
        up = sanity_get(bench.up_port)
        log(f"[proxy_bench] nginx on 127.0.0.1:{bench.up_port}: {up}")
        direct = bench.wrk(bench.up_port, min(args.duration, 3.0))

        if not args.no_fix:
            proc, port, errpath = bench.start_proxy(["-s", args.addon, "--set", "headeraudit_mode=fix"])
            ok = wait_port(port, proc, 30)
            if ok:  # mitmdump listens first and may exit right after on an option error
                time.sleep(2.0)
                ok = proc.poll() is None
                if ok:
                    try:
                        ok = sanity_get(port)["status"] == 200
                    except OSError:
                        ok = False
            stop(proc)
            if ok:
                configs["addon-fix"] = ["-s", args.addon, "--set", "headeraudit_mode=fix"]
            else:
                err = open(errpath).read().strip().splitlines()
                reason = next((line for line in err if "fix" in line), err[-1] if err else f"exit {proc.returncode}")
                notes.append(f"`headeraudit_mode=fix` column skipped: mitmdump refused it ({reason.strip()})")

        procs: dict[str, tuple[subprocess.Popen, int, str]] = {}

        def start_all(r: int) -> None:
            env = addon_env(args)
            if args.seed_base >= 0:
                env["PYTHONHASHSEED"] = str(args.seed_base + r)
            for name, extra in configs.items():
                proc, port, errpath = procs[name] = bench.start_proxy(extra, env)
                if not wait_port(port, proc, 30):
                    raise RuntimeError(f"mitmdump ({name}) did not start: {open(errpath).read()[-3000:]}")
                check = sanity_get(port)
                if check["status"] != 200 or check["cookies"] != 2:
                    raise RuntimeError(f"{name}: unexpected response through the proxy: {check}")
                if args.warmup > 0:
                    bench.wrk(port, args.warmup)

        def stop_all() -> None:
            for proc, _, _ in procs.values():
                stop(proc, signal.SIGINT)
            procs.clear()
            if os.path.exists(report_path):  # written by the audit-mode addon as it exits
                try:
                    with open(report_path) as fh:
                        rep = json.load(fh)
                    n = rep.get("flows_audited", rep.get("summary", {}).get("flows_audited"))
                    if isinstance(n, int):
                        audited.append(n)
                    os.remove(report_path)
                except (OSError, ValueError):
                    pass

        try:
            start_all(0)
            names = list(configs)
            for r in range(args.rounds):
                if args.restart_every and r and r % args.restart_every == 0:
                    # Fresh processes: a process's memory layout and hash seed can make it a few
                    # percent faster or slower for its whole life; new ones average that out.
                    stop_all()
                    start_all(r)
                for name in names[r % len(names):] + names[:r % len(names)]:  # A B C D, B C D A, ...
                    proc, port, errpath = procs[name]
                    if proc.poll() is not None:
                        raise RuntimeError(f"mitmdump ({name}) exited: {open(errpath).read()[-3000:]}")
                    cpu0 = proc_cpu_seconds(proc.pid)
                    res = bench.wrk(port, args.duration)
                    cpu1 = proc_cpu_seconds(proc.pid)
                    if cpu0 is not None and cpu1 is not None and res.get("requests"):
                        res["cpu_us_per_req"] = (cpu1 - cpu0) / res["requests"] * 1e6
                    res["round"] = r + 1
                    runs.setdefault(name, []).append(res)
                    log(f"[proxy_bench] round {r + 1}/{args.rounds} {name}: {res['rps']:.0f} req/s, p99 {res['p99_ms']:.2f} ms")
        finally:
            stop_all()
        for name in runs:
            runs[name].sort(key=lambda res: res["round"])

        if args.instructions:
            for name, extra in configs.items():
                if name == TWIN:  # a count repeats to ~0.1%: a twin would only repeat bare's
                    continue
                log(f"[proxy_bench] counting instructions under callgrind: {name} ...")
                instructions[name] = instructions_per_request(bench, args, tmp, name, extra)
                log(f"[proxy_bench]   {name}: {instructions[name]['per_request'] / 1e6:.3f} M instructions per request")

        if not args.no_hook_timing:
            for mode in ("audit", *(() if args.no_fix else ("fix",))):
                hook[mode] = hook_timing(bench, args, tmp, mode)
    finally:
        bench.stop_upstream()
        shutil.rmtree(tmp, ignore_errors=True)

    # ------------------------------------------------------------------ report
    def cmed(rs: list[dict]) -> float | None:
        vals = [r["cpu_us_per_req"] for r in rs if r.get("cpu_us_per_req") is not None]
        return statistics.median(vals) if vals else None

    med = {name: {"rps": statistics.median(r["rps"] for r in rs),
                  "p99_ms": statistics.median(r["p99_ms"] for r in rs),
                  "p50_ms": statistics.median(r["p50_ms"] for r in rs),
                  "cpu_us_per_req": cmed(rs)} for name, rs in runs.items()}
    print(f"### Proxy: mitmdump {mitm_version} (Python {py_version}) reverse proxy, with and without headeraudit")
    print()
    every = ("every round" if args.restart_every == 1 else f"every {args.restart_every} rounds") if args.restart_every else "once"
    hashseed = (f"the mitmdumps of a round share PYTHONHASHSEED {args.seed_base}+round" if args.seed_base >= 0
                else "each mitmdump draws its own hash seed")
    print(f"- wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency, {args.rounds} rounds; one mitmdump -q "
          f"per configuration, started fresh {every} and warmed ({args.warmup:g} s of load), each loaded once per round in "
          f"rotating order; {hashseed}; upstream nginx on loopback serving a "
          f"{len(PAGE)} B HTML page with {len(UPSTREAM_HEADERS)} security-relevant header lines"
          + ("; mitmdump pinned to CPU 0, nginx + wrk to CPU 1" if bench.pin else "; no CPU pinning"))
    if direct:
        print(f"- context: wrk straight at nginx (no proxy): {direct['rps']:.0f} req/s, p99 {direct['p99_ms']:.2f} ms")
    if audited and "addon" in runs:
        measured = sum(r.get("requests") or 0 for r in runs["addon"])
        print(f"- the addon audited {sum(audited)} flows (from its JSON reports; wrk completed {measured} in the measured runs, "
              f"the rest are the warm-up and checks)")
    for n in notes:
        print(f"- {n}")
    print()
    names = list(runs)
    def cpu(v: float | None) -> str:
        return f"{v:.0f}" if v is not None else "n/a"

    print("| round | " + " | ".join(f"{n} req/s | {n} p99 ms | {n} CPU µs/req" for n in names) + " |")
    print("|---|" + "---:|---:|---:|" * len(names))
    for i in range(args.rounds):
        cells = []
        for n in names:
            r = runs[n][i]
            cells.append(f"{r['rps']:.0f} | {r['p99_ms']:.2f} | {cpu(r.get('cpu_us_per_req'))}")
        print(f"| {i + 1} | " + " | ".join(cells) + " |")
    print("| **median** | " + " | ".join(
        f"**{med[n]['rps']:.0f}** | **{med[n]['p99_ms']:.2f}** | **{cpu(med[n]['cpu_us_per_req'])}**" for n in names) + " |")
    print()
    bad = [f"{n} round {r['round']}: {r['non2xx']} non-2xx, socket errors {r['socket_errors']}"
           for n, rs in runs.items() for r in rs if r["non2xx"] or r["socket_errors"]]
    for b in bad:
        print(f"- WARNING {b}")
    ratios, paired, spread, judged = {}, {}, {}, {}
    ratio_rounds = {n: [a["rps"] / b["rps"] for a, b in zip(runs[n], runs["bare"])] for n in names if n != "bare"}
    twin_rounds = ratio_rounds.get(TWIN)
    for n in names:
        if n == "bare":
            continue
        ratios[n] = med[n]["rps"] / med["bare"]["rps"]
        per_round = sorted(ratio_rounds[n])
        paired[n] = statistics.median(per_round)
        judged[n] = verdict(per_round, None if n == TWIN else twin_rounds)
        quarter = len(per_round) // 4
        spread[n] = (per_round[quarter], per_round[-1 - quarter])
        lat = med[n]["p99_ms"] / med["bare"]["p99_ms"]
        c_n, c_b = med[n]["cpu_us_per_req"], med["bare"]["cpu_us_per_req"]
        extra = (f", mitmdump CPU per request {c_n / c_b:.2f}× ({c_n - c_b:+.0f} µs)" if c_n and c_b else "")
        print(f"- {n}/bare: throughput, median of the per-round ratios **{paired[n] * 100:.1f}%** (bootstrap 90% interval "
              f"{judged[n].low * 100:.1f}–{judged[n].high * 100:.1f}%; middle half of the rounds "
              f"{spread[n][0] * 100:.1f}–{spread[n][1] * 100:.1f}%; ratio of the medians {ratios[n] * 100:.1f}%), "
              f"p99 latency {lat:.2f}×{extra}")
    print()
    if instructions:
        base = instructions.get("bare", {}).get("per_request")
        seeds = next(iter(instructions.values()))["seeds"]
        print(f"Instructions per request, counted by callgrind ({args.instr_requests} sequential requests after "
              f"{args.instr_warmup} of warm-up, clock-driven work measured over {args.instr_idle:g} s idle and taken out; "
              f"the mean over PYTHONHASHSEED={','.join(map(str, seeds))}):")
        print()
        print("| configuration | M instructions per request | vs bare | vs bare, per seed |")
        print("|---|---:|---:|---|")
        for n, res in instructions.items():
            rel = f"{(res['per_request'] / base - 1) * 100:+.2f}%" if base and n != "bare" else "—"
            per_seed = "—"
            if base and n != "bare":
                per_seed = " ".join(f"{(mine / theirs - 1) * 100:+.2f}%" for mine, theirs in zip(res["per_seed"], instructions["bare"]["per_seed"]))
            print(f"| {n} | {res['per_request'] / 1e6:.3f} | {rel} | {per_seed} |")
        print()
    c_b = med.get("bare", {}).get("cpu_us_per_req")
    for mode, timing in hook.items():
        if not timing:
            continue
        share = f" = {timing['mean_us'] / c_b * 100:.1f}% of bare mitmdump's CPU per request (mean)" if c_b else ""
        print(f"- headeraudit's responseheaders hook timed inside mitmdump, {mode} mode (one extra run, {timing['flows']} flows): "
              f"median {timing['median_us']:.1f} µs, p99 {timing['p99_us']:.1f} µs, mean {timing['mean_us']:.1f} µs per flow{share}")
    if "noop-script" in ratios:
        print("- noop-script is context only: a script shaped like headeraudit's (the same two hooks) whose hooks do "
              "nothing: what mitmproxy itself spends on running such a script")
    if TWIN in ratios:
        print(f"- {TWIN} is the run's noise control: a second bare mitmdump, the same in every respect. It measured "
              f"{paired[TWIN] * 100:.1f}% of bare ({judged[TWIN].low * 100:.1f}–{judged[TWIN].high * 100:.1f}%); "
              f"a difference of that size between two configurations is this run's noise")
    for name, label in (("addon", "audit mode"), ("addon-fix", "fix mode")):
        r = paired.get(name)
        if r is not None:
            word, lo, hi, why = judged[name]
            instr = ""
            if instructions.get(name) and instructions.get("bare"):
                instr = f"; instructions per request {(instructions[name]['per_request'] / instructions['bare']['per_request'] - 1) * 100:+.2f}%"
            why = f" ({why}; pool runs with pool_proxy.py)" if why else ""
            print(f"target ≥ {TARGET_RATIO * 100:.0f}%, {label}: {word}{why} ({name}/bare req/s, median of "
                  f"{len(runs[name])} per-round ratios = {r * 100:.1f}%, 90% interval {lo * 100:.1f}–{hi * 100:.1f}%{instr})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"runs": runs, "median": med, "ratios": ratios, "paired_ratios": paired,
                       "verdicts": {n: {"verdict": v.word, "low": v.low, "high": v.high} for n, v in judged.items()}, "direct": direct,
                       "notes": notes, "hook": hook, "instructions": instructions}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
