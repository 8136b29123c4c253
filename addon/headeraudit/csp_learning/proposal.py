"""From what a host was seen to need to the strictest policy that allows it: the proposing half.

`default-src 'none'`, then only the directives and sources seen, each with why it is there;
inline code by hash (CSP3 §2.3.1), never `'unsafe-inline'`; `data:` and `blob:` only where
seen and never for scripts; `object-src 'none'`; `base-uri`, `form-action` and
`frame-ancestors` (which do not fall back to default-src, §6.8.3) from what was seen, else
`'none'`; `upgrade-insecure-requests` for a host seen over https.

Two forms: the allowlist one, and the strict one Google's strict-CSP guidance recommends (the
inline scripts' hashes and `'strict-dynamic'`: what they load runs, host sources are ignored,
§8.2). The strict form exists only when no document loads a script by `<script src>` in its
HTML: such a parser-inserted script has neither nonce nor hash, and `'strict-dynamic'` blocks it.

Both forms are judged by the ruleset's own CSP rules (`judge_policy`): a high or medium finding
on a proposal is shown with it, never hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..model import Response
from ..rules import Ruleset
from .observations import HostLearning, Why

DIRECTIVE_ORDER = ("script-src", "script-src-attr", "style-src", "style-src-attr", "img-src", "font-src", "connect-src",
                   "media-src", "frame-src", "worker-src", "manifest-src")
NAVIGATION = ("base-uri", "form-action", "frame-ancestors")  # no fallback: 'none' unless something was seen
CSP = "Content-Security-Policy"
JUDGED_SEVERITIES = ("medium", "high", "critical")

Judge = Callable[[str, str], tuple[str, ...]]  # (policy, scheme) -> findings of high or medium severity


@dataclass(frozen=True)
class Source:
    directive: str
    source: str
    count: int
    why: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"directive": self.directive, "source": self.source, "count": self.count, "why": list(self.why)}


@dataclass(frozen=True)
class Proposal:
    host: str
    policy: str  # the allowlist form
    strict: str | None  # the strict form, None when the site's scripts do not allow it ...
    strict_reason: str  # ... and why (or what it rests on)
    sources: tuple[Source, ...]
    notes: tuple[Source, ...]  # what neither form allows though the site used it (directive: "")
    documents: int
    bodies: int
    requests: int
    reports: int
    findings: tuple[str, ...]  # the ruleset's high/medium findings on the policy (none expected)
    strict_findings: tuple[str, ...]

    def as_dict(self) -> dict:
        return {
            "host": self.host, "policy": self.policy,
            "strict": {"policy": self.strict, "reason": self.strict_reason},
            "seen": {"documents": self.documents, "documents_read": self.bodies, "requests": self.requests,
                     "reports": self.reports},
            "sources": [s.as_dict() for s in self.sources],
            "notes": [{"note": n.source, "count": n.count, "why": list(n.why)} for n in self.notes],
            "findings": list(self.findings), "strict_findings": list(self.strict_findings),
        }


def _order(source: str) -> tuple[int, str]:
    """Keywords first, then schemes, hosts, and hashes last: the text does not depend on the
    order things were seen in (the same browsing live and from a HAR gives the same policy)."""
    if source.startswith("'sha"):
        return 3, source
    if source.startswith("'"):
        return 0, source
    return (1 if source.endswith(":") else 2), source


def _sorted(items: dict[str, Why]) -> list[str]:
    return sorted(items, key=_order)


def _directives(learning: HostLearning, strict: bool) -> list[tuple[str, list[str]]]:
    hashes = learning.hashes
    out: list[tuple[str, list[str]]] = [("default-src", ["'none'"])]
    for name in DIRECTIVE_ORDER:
        if name == "script-src":
            if strict:
                keywords = [s for s in learning.sources.get(name, {}) if s == "'wasm-unsafe-eval'"]
                sources = [*keywords, *sorted(hashes["script"]), "'strict-dynamic'"]
            else:
                sources = _sorted({**learning.sources.get(name, {}), **hashes["script"]})
        elif name == "style-src":
            sources = _sorted({**learning.sources.get(name, {}), **hashes["style"]})
        elif name in ("script-src-attr", "style-src-attr"):
            attr = sorted(hashes[name.split("-src", 1)[0] + "-attr"])
            sources = ["'unsafe-hashes'", *attr] if attr else []
        else:
            sources = _sorted(learning.sources.get(name, {}))
            if name == "worker-src" and not strict and set(sources) <= set(learning.sources.get("script-src", {})):
                # worker-src falls back to script-src (CSP3 §6.8.1): one directive less, and the
                # same text whether a worker was seen as one (Sec-Fetch-Dest) or as a script.
                sources = []
        if sources:
            out.append((name, sources))
    out.append(("object-src", ["'none'"]))
    for name in NAVIGATION:
        seen = _sorted(learning.sources.get(name, {}))
        out.append((name, seen or ["'none'"]))
    if "https" in learning.schemes:
        out.append(("upgrade-insecure-requests", []))
    return out


def policy_text(directives: Sequence[tuple[str, Sequence[str]]]) -> str:
    return "; ".join(" ".join((name, *sources)) for name, sources in directives)


def _strict_reason(learning: HostLearning) -> str | None:
    """Why the strict form cannot be proposed; None when it can."""
    if learning.parser_scripts.count:
        examples = "; ".join(learning.parser_scripts.examples)
        return (f"{learning.parser_scripts.count} script(s) load by <script src> in the HTML (e.g. {examples}): "
                f"'strict-dynamic' runs only scripts with a hash or nonce and what they load; load these from an "
                f"inline script, or give them a nonce")
    if learning.bodies < learning.documents:
        return (f"{learning.documents - learning.bodies} of {learning.documents} documents were seen without their "
                f"HTML (streamed, or not text): whether their scripts would run under 'strict-dynamic' is unknown")
    if not learning.hashes["script"]:
        return "no inline script to trust: under 'strict-dynamic' nothing could load a script"
    return None


def propose(host: str, learning: HostLearning, judge: Judge | None = None) -> Proposal:
    allowlist = policy_text(_directives(learning, strict=False))
    reason = _strict_reason(learning)
    strict = policy_text(_directives(learning, strict=True)) if reason is None else None
    if reason is None:
        reason = ("the inline scripts' hashes and 'strict-dynamic': the scripts they load run, host sources are "
                  "ignored (CSP3 §8.2), so an allowlisted host cannot be used to run script")
    scheme = "https" if "https" in learning.schemes else "http"
    sources = tuple(
        Source(directive, source, why.count, tuple(why.examples))
        for directive in (*DIRECTIVE_ORDER, *NAVIGATION) for source, why in sorted(
            {**learning.sources.get(directive, {}),
             **(learning.hashes[directive.split("-src", 1)[0] + ("-attr" if directive.endswith("-attr") else "")]
                if directive in ("script-src", "style-src", "script-src-attr", "style-src-attr") else {})}.items(),
            key=lambda item: _order(item[0]))
    )
    notes = [Source("", message, why.count, tuple(why.examples)) for message, why in sorted(learning.notes.items())]
    for bound in sorted(learning.full):
        what = bound.split(":", 1)[1] + " hashes" if bound.startswith("hash:") else f"{bound} sources"
        notes.append(Source("", f"more {what} were seen than are kept: the page makes them per response "
                                f"(a token, a timestamp?); a hash cannot match such code, a nonce can", 1, ()))
    return Proposal(host, allowlist, strict, reason, sources, tuple(notes), learning.documents, learning.bodies,
                    learning.requests, learning.reports,
                    judge(allowlist, scheme) if judge else (), judge(strict, scheme) if judge and strict else ())


def judge_policy(ruleset: Ruleset, policy: str, scheme: str, host: str) -> tuple[str, ...]:
    """The ruleset's own CSP findings of medium severity or worse on `policy` served on an HTML
    document of `host`: a proposal must have none."""
    from ..audit import Auditor  # (audit imports the checks; a proposal needs them only here)

    response = Response(scheme, host, "/", "GET", 200, ((b"Content-Type", b"text/html; charset=utf-8"),
                                                        (CSP.encode(), policy.encode("utf-8", "surrogateescape"))))
    outcome = Auditor(ruleset).assess(response)
    return tuple(f"{f.rule} ({f.severity}): {f.evidence}" for f in outcome.findings
                 if f.header.lower() == CSP.lower() and f.severity in JUDGED_SEVERITIES)


def enforced(proposal: Proposal) -> str:
    """The form a snippet enforces: the strict one where the site allows it."""
    return proposal.strict or proposal.policy


def rules_snippet(proposals: Sequence[Proposal], csp_rules: Sequence[str], report_path: str) -> str:
    """A rules file extending the bundled rules whose CSP fixes set, for each learned host, its
    proposal (`override` merges the `hosts` mapping into each fix, rules.md): fix mode then
    enforces it, and the browser reports what it blocks to the proxy (`report-uri`), so a
    policy that blocks something shows it in the report, and, while learning, refines it."""
    lines = [
        "# headeraudit rules: the Content-Security-Policy learned for each host below, set by fix mode",
        "# (--set headeraudit_mode=fix; with --set headeraudit_csp_preview=report-only as a preview).",
        "version: 1",
        "extends: default",
    ]
    if not proposals or not csp_rules:
        lines.append("# (nothing learned yet)" if not proposals else "# (no rule of the ruleset fixes the CSP)")
        return "\n".join(lines) + "\n"
    lines.append("override:")
    first, *others = csp_rules
    lines += [f"  {first}:", "    fix:", "      hosts: &learned"]
    for proposal in proposals:
        value = f"{enforced(proposal)}; report-uri {report_path}"
        lines.append(f"        {yaml_quoted(proposal.host)}: {yaml_quoted(value)}")
    lines += [f"  {rule_id}: {{fix: {{hosts: *learned}}}}" for rule_id in others]
    return "\n".join(lines) + "\n"


def yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar (YAML 1.2 §7.3.1) holding `text` exactly, in printable ASCII:
    values come from the network, and the file is read by people and by terminals too."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def csp_fix_rules(ruleset: Ruleset) -> list[str]:
    """The rules whose fix sets Content-Security-Policy: the ones a learned policy overrides."""
    return [rule.id for rule in ruleset.rules if rule.fix is not None and rule.fix.set is not None
            and CSP.lower() in ((rule.fix.header.lower(),) if rule.fix.header else rule.keys)]


def proposals_section(proposals: Sequence[Proposal], ruleset: Ruleset | None, report_path: str) -> dict:
    """The report's `csp_proposals`: one rules file for every learned host, and each host's
    proposal with a rules file of its own."""
    rules = csp_fix_rules(ruleset) if ruleset else []
    return {
        "rules_snippet": rules_snippet(proposals, rules, report_path) if proposals else "",
        "hosts": [{**p.as_dict(), "rules_snippet": rules_snippet([p], rules, report_path)} for p in proposals],
    }


def reports_to(ruleset: Ruleset, path: str) -> bool:
    """Whether a fix of the ruleset sends CSP reports to `path` (a learned proposal's does)."""
    return any(rule.fix is not None and any(path in (value or "") for value in (rule.fix.set, *dict(rule.fix.hosts).values()))
               for rule in ruleset.rules)
