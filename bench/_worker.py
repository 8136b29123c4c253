"""Timing worker for engine_bench.py: one interpreter, one analyser, JSON lines on stdio.

    python _worker.py engine      # headeraudit Engine.evaluate   (needs headeraudit importable)
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
interpreter start-up and JSON traffic never enter a sample. Inputs (views / dicts) are
built before the timer starts. "warm" reuses one analyser for every call; "unseen"
reuses it too but every call gets a salted copy of its header set whose audited values
were never seen before (bench/headersets.py: salted); "cold" gives
every call a freshly built analyser (built outside the timer; for headeraudit also
Engine.reset_cache(), since the value caches live on the shared compiled rules) and a
salted copy of the header set whose audited values were never seen before, after
clearing any functools caches found in the analyser's modules.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import random
import sys
import time

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


def _module_caches(prefix: str) -> list:
    """The clear() of every cache defined at module level under `prefix`: functools ones
    (lru_cache / cache) and headeraudit's parse caches (checks._ParseCache), each once."""
    from headeraudit.checks import _ParseCache

    found = {}
    for name, mod in list(sys.modules.items()):
        if not (name == prefix or name.startswith(prefix + ".")) or mod is None:
            continue
        for attr in vars(mod).values():
            if callable(getattr(attr, "cache_clear", None)) and hasattr(attr, "cache_info"):
                found[id(attr)] = attr.cache_clear
            elif isinstance(attr, _ParseCache):
                found[id(attr)] = attr.clear
    return list(found.values())


class EngineImpl:
    impl = "headeraudit"

    def __init__(self) -> None:
        from headeraudit.engine import Engine, ResponseView
        from headeraudit.rules import load_ruleset
        import headeraudit

        self.Engine, self.ResponseView = Engine, ResponseView
        rules_path = os.environ.get("HEADERAUDIT_BENCH_RULES") or None
        # One compiled ruleset per variant: the value caches live on the compiled rules,
        # so sharing one would let the unseen/cold runs evict what the warm run relies on.
        self.engine = Engine(load_ruleset(rules_path))
        self.unseen_engine = Engine(load_ruleset(rules_path))
        self.ruleset = load_ruleset(rules_path)  # for the cold engines
        self.version = getattr(headeraudit, "__version__", "?")
        self.views = [ResponseView(**H.view_kwargs(e)) for e in H.CORPUS]
        self.caches = _module_caches("headeraudit")

    def prepare_warm(self, i: int):
        view = self.views[i]
        return self.engine.evaluate, view

    def prepare_unseen(self, i: int, salt: int):
        view = self.ResponseView(**H.view_kwargs(H.salted(H.CORPUS[i], salt)))
        return self.unseen_engine.evaluate, view

    def prepare_cold(self, i: int, salt: int):
        view = self.ResponseView(**H.view_kwargs(H.salted(H.CORPUS[i], salt)))
        for clear in self.caches:
            clear()
        engine = self.Engine(self.ruleset)
        # The per-value caches live on the compiled rules (shared by every Engine built
        # from the same Ruleset), so a fresh Engine alone would still hit them.
        reset = getattr(engine, "reset_cache", None)
        if reset is not None:
            reset()
        return engine.evaluate, view

    @staticmethod
    def count(result) -> int:
        return len(result)


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
                         "entries": len(H.CORPUS), "timer_ns": _timer_overhead(),
                         "module_caches": len(getattr(impl, "caches", []))}
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
