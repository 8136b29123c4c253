#!/usr/bin/env python3
"""Proxy benchmark: mitmdump + headeraudit vs bare mitmdump, under wrk, on loopback.

    upstream: nginx (Debian package) with a generated config in a temp dir, serving a
              small HTML page with a realistic security-header set (add_header ... always)
    proxy:    mitmdump -q --mode reverse:http://127.0.0.1:<nginx> [-s addon/headeraudit_addon.py]
    load:     wrk -t1 -c10 -d<duration>s --latency http://127.0.0.1:<mitmdump>/

Configurations run interleaved A B A B (each run: fresh mitmdump, a short discarded
warm-up, then the measured run). Printed: per-run req/s and p99, medians per
configuration, and the RATIO addon/bare measured in this one run, plus mitmdump's own
CPU time per request (from /proc, less sensitive to other load on a shared machine
than req/s). On a 2-core machine
mitmdump is pinned to CPU 0 and nginx + wrk to CPU 1 (taskset) unless --no-pin.

    python bench/proxy_bench.py            # 4 rounds x 10 s per configuration (~2 min)
    python bench/proxy_bench.py --quick    # 2 rounds x 3 s
    python bench/proxy_bench.py --rounds 5 --duration 15

Only 127.0.0.1 is ever contacted. Every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import json
import os
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

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ADDON = os.path.join(REPO, "addon", "headeraudit_addon.py")
TARGET_RATIO = 0.97

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


# Context column: a script addon whose responseheaders hook reads the headers and does
# nothing else, to tell mitmproxy's own cost of running a script hook from headeraudit's.
NOOP_ADDON = """
class Noop:
    def responseheaders(self, flow):
        if flow.response is not None:
            len(flow.response.headers)


addons = [Noop()]
"""


# Diagnostic run: the real HeaderAudit addon with its responseheaders hook timed from
# inside mitmdump (perf_counter_ns per flow), samples written at exit.
TIMED_ADDON = """
import json
import os
import time

from headeraudit.mitm import HeaderAudit

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

    def start_proxy(self, extra: list[str], env: dict | None = None) -> tuple[subprocess.Popen, int, str]:
        port = free_port()
        errpath = os.path.join(self.tmp, f"mitmdump-{port}.stderr")
        cmd = self._prefix("0") + [
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
    env = dict(os.environ)
    env["HEADERAUDIT_BENCH_HOOKTIMES"] = out
    addon_dir = os.path.dirname(os.path.abspath(args.addon))
    env["PYTHONPATH"] = addon_dir + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds per configuration (default 4)")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per measured wrk run (default 10)")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of discarded wrk load per run (default 2)")
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="--rounds 2 --duration 3 --warmup 1")
    ap.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs with taskset")
    ap.add_argument("--no-fix", action="store_true", help="skip the headeraudit_mode=fix column")
    ap.add_argument("--no-noop", action="store_true", help="skip the no-op script addon context column")
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
    if args.mitmdump is None:
        beside = os.path.join(os.path.dirname(sys.executable), "mitmdump")
        args.mitmdump = beside if os.path.exists(beside) else (shutil.which("mitmdump") or "mitmdump")
    for tool, hint in ((args.wrk, "apt-get install -y wrk"), (args.nginx, "apt-get install -y nginx")):
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
    notes: list[str] = []
    runs: dict[str, list[dict]] = {}
    direct: dict | None = None
    hook: dict[str, dict | None] = {}
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

        for r in range(args.rounds):
            for name, extra in configs.items():  # A B A B ...
                proc, port, errpath = bench.start_proxy(extra)
                try:
                    if not wait_port(port, proc, 30):
                        raise RuntimeError(f"mitmdump ({name}) did not start: {open(errpath).read()[-3000:]}")
                    check = sanity_get(port)
                    if check["status"] != 200 or check["cookies"] != 2:
                        raise RuntimeError(f"{name}: unexpected response through the proxy: {check}")
                    if args.warmup > 0:
                        bench.wrk(port, args.warmup)
                    cpu0 = proc_cpu_seconds(proc.pid)
                    res = bench.wrk(port, args.duration)
                    cpu1 = proc_cpu_seconds(proc.pid)
                    if cpu0 is not None and cpu1 is not None and res.get("requests"):
                        res["cpu_us_per_req"] = (cpu1 - cpu0) / res["requests"] * 1e6
                finally:
                    stop(proc, signal.SIGINT)
                if name == "addon" and os.path.exists(report_path):
                    try:
                        with open(report_path) as fh:
                            rep = json.load(fh)
                        n = rep.get("flows_audited", rep.get("summary", {}).get("flows_audited"))
                        if isinstance(n, int):
                            audited.append(n)
                    except (OSError, ValueError):
                        pass
                    os.unlink(report_path)
                res["round"] = r + 1
                runs.setdefault(name, []).append(res)
                log(f"[proxy_bench] round {r + 1}/{args.rounds} {name}: {res['rps']:.0f} req/s, p99 {res['p99_ms']:.2f} ms")

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
    print(f"- wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency (after a {args.warmup:g} s discarded warm-up), "
          f"{args.rounds} interleaved rounds, a fresh mitmdump -q per run; upstream nginx on loopback serving a "
          f"{len(PAGE)} B HTML page with {len(UPSTREAM_HEADERS)} security-relevant header lines"
          + ("; mitmdump pinned to CPU 0, nginx + wrk to CPU 1" if bench.pin else "; no CPU pinning"))
    if direct:
        print(f"- context: wrk straight at nginx (no proxy): {direct['rps']:.0f} req/s, p99 {direct['p99_ms']:.2f} ms")
    if audited:
        print(f"- addon runs audited {', '.join(str(a) for a in audited)} flows (from its JSON report)")
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
    ratios = {}
    for n in names:
        if n == "bare":
            continue
        ratios[n] = med[n]["rps"] / med["bare"]["rps"]
        lat = med[n]["p99_ms"] / med["bare"]["p99_ms"]
        c_n, c_b = med[n]["cpu_us_per_req"], med["bare"]["cpu_us_per_req"]
        extra = (f", mitmdump CPU per request {c_n / c_b:.2f}× (+{c_n - c_b:.0f} µs)" if c_n and c_b else "")
        paired = statistics.median(a["rps"] / b["rps"] for a, b in zip(runs[n], runs["bare"]))
        print(f"- {n}/bare: throughput {ratios[n] * 100:.1f}% (median of per-round ratios {paired * 100:.1f}%), "
              f"p99 latency {lat:.2f}×{extra}")
    print()
    c_b = med.get("bare", {}).get("cpu_us_per_req")
    for mode, timing in hook.items():
        if not timing:
            continue
        share = f" = {timing['mean_us'] / c_b * 100:.1f}% of bare mitmdump's CPU per request (mean)" if c_b else ""
        print(f"- headeraudit's responseheaders hook timed inside mitmdump, {mode} mode (one extra run, {timing['flows']} flows): "
              f"median {timing['median_us']:.1f} µs, p99 {timing['p99_us']:.1f} µs, mean {timing['mean_us']:.1f} µs per flow{share}")
    if "noop-script" in ratios:
        print("- noop-script is context only: a script addon with an empty responseheaders hook "
              "(what any mitmproxy script costs before doing work)")
    for name, label in (("addon", "audit mode"), ("addon-fix", "fix mode")):
        r = ratios.get(name)
        if r is not None:
            verdict = "PASS" if r >= TARGET_RATIO else "FAIL"
            print(f"target ≥ {TARGET_RATIO * 100:.0f}%, {label}: {verdict} ({name}/bare req/s = {r * 100:.1f}%)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"runs": runs, "median": med, "ratios": ratios, "direct": direct, "notes": notes,
                       "hook": hook}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
