"""Google's CSP Evaluator (csp_evaluator 1.1.8 from npm, run with node) as a differential
oracle: every HIGH finding it makes on a single enforced policy has a headeraudit finding of
the same concept, except where CSP Evaluator is wrong against CSP3 (EXCEPTIONS, each with its
reason). The corpus: generated policies, and every policy in CSP Evaluator's own test suite.

.ci/run installs the package and sets HEADERAUDIT_CSP_EVALUATOR; elsewhere:
    npm install --prefix .npm --ignore-scripts csp_evaluator@1.1.8
    HEADERAUDIT_CSP_EVALUATOR=.npm/node_modules/csp_evaluator scripts/test.sh tests/differential
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from peers import peer_package

from auditing import assess
from headeraudit.audit import Auditor
from headeraudit.rules import load_ruleset

HERE = Path(__file__).parent
RUNNER = HERE / "csp_evaluator.js"
VERSION = "1.1.8"

# CSP Evaluator's HIGH finding types -> the headeraudit rules that say the same.
CONCEPTS: dict[str, set[str]] = {
    "SCRIPT_UNSAFE_INLINE": {"csp-unsafe-inline"},
    "PLAIN_URL_SCHEMES": {"csp-broad-source"},
    "PLAIN_WILDCARD": {"csp-broad-source"},
    "SCRIPT_ALLOWLIST_BYPASS": {"csp-allowlist-bypass", "csp-broad-source"},
    "OBJECT_ALLOWLIST_BYPASS": {"csp-allowlist-bypass", "csp-broad-source"},
}
MISSING = {"object-src": {"csp-no-object-src"}, "script-src": {"csp-no-script-src"}, "base-uri": {"csp-no-base-uri"}}


def _empty_default_src(policy: str, finding: dict[str, Any]) -> bool:
    return finding["type"] == "MISSING_DIRECTIVES" and re.search(r"(^|;)\s*default-src\s*(;|$)", policy) is not None


def _extension_wildcard(policy: str, finding: dict[str, Any]) -> bool:
    value = finding["value"] or ""
    return finding["type"] == "PLAIN_WILDCARD" and "://" in value and value.split("://", 1)[0].lower() not in (
        "http", "https", "ws", "wss")


# (why CSP Evaluator is wrong, does this finding on this policy fall under it)
EXCEPTIONS: list[tuple[str, Callable[[str, dict[str, Any]], bool]]] = [
    ("CSP3 §2.3.1: a directive with no value has an empty source list, which matches nothing, as 'none' does; "
     "CSP Evaluator reads `default-src` with no value as if it were absent (missing object-src)", _empty_default_src),
    ("`chrome-extension://*` (any non-web scheme with a host wildcard) matches installed extensions, not a host an "
     "attacker can serve script from; CSP Evaluator counts it as a plain wildcard", _extension_wildcard),
]


def evaluator_dir() -> Path:
    return peer_package("HEADERAUDIT_CSP_EVALUATOR", "csp_evaluator", VERSION, "dist/evaluator.js")


def generated() -> list[str]:
    script = ["", "'self'", "'unsafe-inline'", "*", "https:", "http:", "data:", "https://*", "ajax.googleapis.com",
              "'nonce-abc'", "'nonce-abcdefgh12' 'strict-dynamic'", "'nonce-abcdefgh12' 'strict-dynamic' https: 'unsafe-inline'",
              "'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='", "cdnjs.cloudflare.com", "'self' 'unsafe-eval'",
              "chrome-extension://*", "https://*.example.com", "'none'", "www.google-analytics.com 'unsafe-eval'"]
    objects = [None, "'none'", "*", "data:", "vk.com", "'self'", "https:"]
    bases = [None, "'none'", "*", "https:", "'self'"]
    defaults = [None, "'self'", "", "*", "'none'", "https:"]
    out = []
    for s, o, b, d in itertools.product(script, objects, bases, defaults):
        parts = [("default-src " + d).strip()] if d is not None else []
        parts += [f"script-src {s}"] if s else []
        parts += [f"object-src {o}"] if o is not None else []
        parts += [f"base-uri {b}"] if b is not None else []
        if parts:
            out.append("; ".join(parts))
    return out


def from_its_test_suite(package: Path) -> list[str]:
    """The policies CSP Evaluator's own tests check (`const test = '...' + '...';`)."""
    policies = []
    for path in sorted(package.glob("**/*_test.ts")):
        if "node_modules" in path.parts[len(package.parts):]:
            continue
        for match in re.finditer(r"const test\s*=\s*((?:'(?:[^'\\]|\\.)*'\s*\+?\s*)+);", path.read_text()):
            text = "".join(re.findall(r"'((?:[^'\\]|\\.)*)'", match.group(1)))
            policies.append(re.sub(r"\\(.)", r"\1", text))
    return policies


def evaluate(package: Path, policies: list[str]) -> list[list[dict[str, Any]]]:
    run = subprocess.run(["node", str(RUNNER), str(package)], input=json.dumps(policies), capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_every_high_csp_evaluator_finding_has_a_headeraudit_finding_of_the_same_concept():
    package = evaluator_dir()
    suite = from_its_test_suite(package)
    assert len(suite) >= 40, "CSP Evaluator's test suite policies were not found"
    # Single enforced policies only: a comma starts a second policy (CSP3 §2.2.2), which CSP
    # Evaluator does not model.
    policies = sorted({p for p in generated() + suite if "," not in p})
    auditor = Auditor(load_ruleset())
    disagreements, excepted = [], 0
    for policy, findings in zip(policies, evaluate(package, policies)):
        ours = {f.rule for f in assess(auditor, [("Content-Type", "text/html"), ("Content-Security-Policy", policy)]).findings}
        for finding in findings:
            if finding["severity"] != "HIGH":
                continue
            if finding["type"] == "MISSING_DIRECTIVES":
                wanted = MISSING.get(finding["directive"], {f"(unmapped {finding['directive']})"})
            else:
                wanted = CONCEPTS.get(finding["type"], {f"(unmapped {finding['type']})"})
            if wanted & ours:
                continue
            if any(applies(policy, finding) for _, applies in EXCEPTIONS):
                excepted += 1
                continue
            disagreements.append((policy, finding, sorted(ours)))
    assert not disagreements, "\n".join(map(repr, disagreements[:20]))
    assert len(policies) > 2000 and excepted > 0  # the corpus is what it claims, and the exception is exercised


def learned_proposals() -> list[str]:
    """Both forms of the proposals learned from many sites: every kind of source, inline code,
    framing, forms, bases; a known bypass host's script; over http and https."""
    import random

    from headeraudit.csp_learning import CspLearner, Exchange, propose
    from headeraudit.csp_learning.observations import DESTINATIONS

    urls = ["/a.js", "https://cdn.example/b.js", "http://cdn.example:8080/c", "https://api.example:8443/d", "data:x",
            "blob:y", "https://www.google.com/recaptcha/api.js", "https://203.0.113.9/x", "wss://site.example/ws",
            "https://fonts.example/f.woff2", "https://cdnjs.cloudflare.com/ajax/libs/x.js"]
    html = ["<script>a()</script>", "<script src=/x.js></script>", "<style>p{}</style>", "<b onclick=x()>",
            "<a href=javascript:y()>", "<form action=https://pay.example/>", "<base href=https://cdn.example/>",
            "<iframe src=https://frame.example/>", "<p style=color:red>", "<img src=data:image/png;base64,AA>"]
    out = []
    pick = random.Random(18)
    for n in range(400):
        scheme = pick.choice(("https", "http"))
        site = f"{scheme}://site.example"
        learner = CspLearner()
        learner.globs = ("site.example",)
        learner.observe(Exchange(site + "/", "GET", 200, "text/html", "document"), "".join(pick.sample(html, pick.randint(0, 6))))
        for _ in range(pick.randint(0, 10)):
            url = pick.choice(urls)
            learner.observe(Exchange(site + url if url.startswith("/") else url, "GET", 200, "", pick.choice(sorted(DESTINATIONS)),
                                     "cross-site", site + "/"))
        proposal = propose("site.example", learner.hosts["site.example"])
        out += [proposal.policy] + ([proposal.strict] if proposal.strict else [])
    return out


def test_no_learned_proposal_has_a_high_csp_evaluator_finding():
    """CSP learning (issue: a proposal must pass CSP Evaluator with no HIGH finding)."""
    package = evaluator_dir()
    policies = learned_proposals()
    high = [(policy, f) for policy, findings in zip(policies, evaluate(package, policies))
            for f in findings if f["severity"] == "HIGH"]
    assert high == [], high[:5]
