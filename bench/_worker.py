"""Timing worker for engine_bench.py: one interpreter, one analyser, JSON lines on stdio.

    python _worker.py engine      # headeraudit's verdict per response (needs headeraudit importable)
    python _worker.py drheader    # drHEADer 2.0.0 Drheader(headers=...).analyze(rules=preloaded)

Protocol (one JSON object per line; stdout carries only protocol lines):
    -> {"cmd": "hello"}
    <- {"ok": true, "impl": ..., "version": ..., "python": ..., "digest": <corpus sha256>, "timer_ns": <median empty-timer ns>}
    -> {"cmd": "run", "variant": "warm"|"unseen"|"cold", "reps": R, "seed": S}
    <- {"ok": true, "samples": [ns, ...], "errors": E, "findings": F, "first_error": "..."}
    -> {"cmd": "profile", "variant": ..., "reps": R, "top": N}        (engine only)
    <- {"ok": true, "text": "<pstats output>"}
    -> {"cmd": "quit"}

All timing happens here with time.perf_counter_ns around each single call, so
interpreter start-up and JSON traffic never enter a sample. Inputs are built before the
timer starts. For headeraudit a call is what the proxy does for one response's verdict:
the memo's outcome (mitm/memo.py: the judged lines, a lookup, and on a miss the Auditor's
whole judgement: findings, grade, annotation). "warm" reuses one auditor and memo for
every call; "unseen" reuses them too but every call gets a salted copy of its header set
whose values were never seen before (bench/headersets.py: salted; a new nonce or cookie
value is the same verdict, a new max-age or host is a miss); "cold" gives every call a
fresh auditor and memo (built outside the timer) and a salted copy. drHEADer keeps nothing
between calls, so its three variants differ only by their inputs.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import random
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import headersets as H  # noqa: E402

pc = time.perf_counter_ns


def _timer_overhead() -> int:
    s = []
    for _ in range(20000):
        t0 = pc()
        t1 = pc()
        s.append(t1 - t0)
    s.sort()
    return s[len(s) // 2]


class EngineImpl:
    impl = "headeraudit"

    def __init__(self) -> None:
        import headeraudit
        from headeraudit.audit import Auditor
        from headeraudit.mitm.memo import Memo
        from headeraudit.rules import load_ruleset

        self.Auditor, self.Memo = Auditor, Memo
        self.ruleset = load_ruleset(os.environ.get("HEADERAUDIT_BENCH_RULES") or None)
        self.memo = Memo(Auditor(self.ruleset))
        self.unseen_memo = Memo(Auditor(self.ruleset))
        self.version = getattr(headeraudit, "__version__", "?")
        self.views = [self._call(e) for e in H.CORPUS]

    @staticmethod
    def _call(entry: dict) -> tuple:
        """(view, flow) for Memo.outcome; the flow stands in for what a miss reads of the request."""
        from headeraudit.mitm.flows import FlowView

        raw = tuple((n.encode(), v.encode("utf-8", "surrogateescape")) for n, v in entry["headers"])
        view = FlowView(entry["host"], entry["host"], entry["scheme"], entry["method"], entry["path"], entry["status"], raw, True, False, time.time())
        origin = next((v for n, v in entry["request_headers"] if n.lower() == "origin"), None)
        request = types.SimpleNamespace(headers={"origin": origin} if origin is not None else {})
        return view, types.SimpleNamespace(request=request)

    @staticmethod
    def _on(memo):
        return lambda call: memo.outcome(*call)

    def prepare_warm(self, i: int):
        return self._on(self.memo), self.views[i]

    def prepare_unseen(self, i: int, salt: int):
        return self._on(self.unseen_memo), self._call(H.salted(H.CORPUS[i], salt))

    def prepare_cold(self, i: int, salt: int):
        return self._on(self.Memo(self.Auditor(self.ruleset))), self._call(H.salted(H.CORPUS[i], salt))

    @staticmethod
    def count(result) -> int:
        return len(result.findings)


class DrheaderImpl:
    impl = "drheader"

    def __init__(self) -> None:
        from drheader import Drheader, utils
        try:
            from importlib.metadata import version
            self.version = version("drheader")
        except Exception:  # pragma: no cover
            self.version = "?"
        self.Drheader = Drheader
        # "preloaded": the default ruleset read from drheader/resources/rules.yml once, up
        # front (utils.default_rules() is what analyze() would otherwise run on every call).
        self.rules = utils.default_rules()
        self.inputs = [H.drheader_headers(e) for e in H.CORPUS]

    def prepare_warm(self, i: int):
        headers = self.inputs[i]
        D, rules = self.Drheader, self.rules
        return (lambda h: D(headers=h).analyze(rules=rules)), headers

    def prepare_cold(self, i: int, salt: int):  # drHEADer keeps no cache: unseen == cold
        headers = H.drheader_headers(H.salted(H.CORPUS[i], salt))
        D, rules = self.Drheader, self.rules
        return (lambda h: D(headers=h).analyze(rules=rules)), headers

    @staticmethod
    def count(result) -> int:
        return len(result)

    prepare_unseen = prepare_cold


def _order(reps: int, seed: int) -> list[int]:
    order = list(range(len(H.CORPUS))) * reps
    random.Random(seed).shuffle(order)
    return order


def run(impl, variant: str, reps: int, seed: int) -> dict:
    order = _order(reps, seed)
    samples: list[int] = []
    errors = findings = 0
    first_error = ""
    gc.collect()
    salt = seed * 1_000_000
    for i in order:
        if variant == "warm":
            fn, arg = impl.prepare_warm(i)
        else:
            salt += 1
            fn, arg = getattr(impl, f"prepare_{variant}")(i, salt)
        t0 = pc()
        try:
            res = fn(arg)
        except Exception as exc:  # counted, reported, still timed
            t1 = pc()
            errors += 1
            first_error = first_error or f"{H.CORPUS[i]['id']}: {exc!r}"[:300]
        else:
            t1 = pc()
            findings += impl.count(res)
        samples.append(t1 - t0)
    return {"ok": True, "samples": samples, "errors": errors, "findings": findings, "first_error": first_error}


def profile(impl, variant: str, reps: int, top: int) -> dict:
    import cProfile
    import io
    import pstats

    order = _order(reps, 1)
    salt = 10**9
    calls = []
    for i in order:
        if variant == "warm":
            calls.append(impl.prepare_warm(i))
        else:
            salt += 1
            calls.append(getattr(impl, f"prepare_{variant}")(i, salt))
    prof = cProfile.Profile()
    prof.enable()
    for fn, arg in calls:
        fn(arg)
    prof.disable()
    out = io.StringIO()
    st = pstats.Stats(prof, stream=out)
    st.sort_stats("tottime").print_stats(top)
    st.sort_stats("cumulative").print_stats(top)
    return {"ok": True, "text": out.getvalue()}


def main() -> None:
    kind = sys.argv[1]
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but protocol lines on the real stdout
    impl = None
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg["cmd"]
        try:
            if cmd == "hello":
                impl = EngineImpl() if kind == "engine" else DrheaderImpl()
                # warm-up: every entry a few times, both variants
                for v in ("warm", "unseen", "cold"):
                    run(impl, v, 3, 999)
                reply = {"ok": True, "impl": impl.impl, "version": impl.version,
                         "python": platform.python_version(), "digest": H.corpus_digest(),
                         "entries": len(H.CORPUS), "timer_ns": _timer_overhead()}
            elif cmd == "run":
                reply = run(impl, msg["variant"], int(msg["reps"]), int(msg["seed"]))
            elif cmd == "profile":
                reply = profile(impl, msg["variant"], int(msg["reps"]), int(msg.get("top", 25)))
            elif cmd == "quit":
                break
            else:
                reply = {"ok": False, "error": f"unknown cmd {cmd!r}"}
        except Exception as exc:
            import traceback
            reply = {"ok": False, "error": repr(exc), "traceback": traceback.format_exc()}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
