"""Findings -> a Rewrite of the response's header lines (pure), and the one way to apply it.

A fix must be idempotent and closed: auditing the fixed headers shows no finding of a rule
whose fix was applied. So each header gets one value (the first violated rule in ruleset
order wins), every line of a replaced header goes, and cookie fixes follow what the
browser needs rather than a fixed attribute list where those differ (name prefixes).

Plain http is special: HSTS is never injected there (RFC 6797 §8.1: ignored anyway) and
`Secure` is never added to a cookie (the browser would refuse to store it). Where Secure
is what a rule asks for, the http fallback keeps the preview honest: `SameSite=None`
becomes `SameSite=Lax`; a `__Secure-`/`__Host-`/`__Http-` cookie, which no browser stores
over http, is dropped: removing it changes nothing the browser would have done.

A Rewrite works on raw lines and never holds a value it did not write: a rewritten cookie
keeps the response's own name=value pair (the part before the first ";") and gets new
attributes, so one Rewrite serves every response whose judged lines are the same, whatever
their cookie values.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from .checks import cookie_label
from .facts import Facts
from .model import Finding, RawLine
from .parsers.cookies import SetCookie
from .rules import Rule, Ruleset
from .text import escape_controls, terminal_safe

STS = "strict-transport-security"
CSP = "content-security-policy"
CSP_REPORT_ONLY = "Content-Security-Policy-Report-Only"
REPORT_GROUP = "headeraudit"
_WSP = " \t"  # the whitespace a Set-Cookie parser trims (RFC 6265bis §5.6)


def encode(text: str) -> bytes:
    """Text back to header bytes: undecodable bytes (surrogateescape) come back as they were."""
    return text.encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class Edit:
    action: str  # "set", "remove" or "cookie"
    header: str
    value: str | None  # the new value ("set"), the rewritten Set-Cookie line ("cookie"; None = dropped)
    rule: str
    detail: str = ""  # "+" added / "~" replaced (set); for cookies what changed, e.g. "sessionid +HttpOnly"

    @property
    def label(self) -> str:
        """Short form for flow comments: +Header (added), ~Header (replaced), -Header (removed);
        shown in the console and mitmweb, so cookie names from the response are terminal-safe."""
        if self.action == "cookie":
            return f"~Set-Cookie {terminal_safe(self.detail)}"
        return f"{'-' if self.action == 'remove' else self.detail or '+'}{terminal_safe(self.header)}"

    def as_dict(self) -> dict[str, str | None]:
        """For flow metadata and reports: a value kept from the response may hold undecodable
        bytes; shown escaped, so the flow can be saved (-w) and logged."""
        value = None if self.value is None else escape_controls(self.value)
        return {"action": self.action, "header": escape_controls(self.header), "value": value, "rule": self.rule,
                "detail": escape_controls(self.detail)}


# What becomes of one line a Rewrite touches: (KEEP | DROP | VALUE | COOKIE, bytes).
KEEP, DROP, VALUE, COOKIE = "keep", "drop", "value", "cookie"
Action = tuple[str, bytes]
_KEEP: Action = (KEEP, b"")


@dataclass(frozen=True, slots=True)
class Rewrite:
    """How to rewrite a response: for each line whose lower-cased name is in `actions`, one
    action, the n-th line of a name getting its n-th (keep it; drop it; VALUE: the same name with
    a new value; COOKIE: its own name=value pair followed by new attributes); lines of a name past
    its actions (a header longer than was judged, limits.py) get its `rest` action: dropped where
    the header is replaced or removed, else kept. Every other line stays as it is; `appended`
    lines go at the end."""

    actions: dict[bytes, tuple[Action, ...]]  # read-only
    rest: dict[bytes, Action]  # read-only
    appended: tuple[RawLine, ...]

    @property
    def touched(self) -> frozenset[bytes]:
        """The lower-cased names whose lines this Rewrite may change."""
        return frozenset(self.actions)

    def apply(self, lines: Sequence[RawLine], lower_case_names: bool = False) -> tuple[RawLine, ...]:
        """The rewritten lines. `lower_case_names`: HTTP/2 and HTTP/3 forbid upper-case field
        names (RFC 9113 §8.2.1), so the appended lines are spelt in lower case there."""
        out: list[RawLine] = []
        actions = self.actions
        seen: dict[bytes, int] = {}
        for line in lines:
            name = line[0].lower()
            planned = actions.get(name)
            if planned is None:
                out.append(line)
                continue
            index = seen[name] = seen.get(name, -1) + 1
            kind, data = planned[index] if index < len(planned) else self.rest.get(name, _KEEP)
            if kind == KEEP:
                out.append(line)
            elif kind == VALUE:
                out.append((line[0], data))
            elif kind == COOKIE:
                out.append((line[0], line[1].split(b";", 1)[0] + data))
        if lower_case_names:
            out.extend((name.lower(), value) for name, value in self.appended)
        else:
            out.extend(self.appended)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Planned:
    rewrite: Rewrite
    edits: tuple[Edit, ...]


class Fixer:
    """The fixes of one Ruleset, compiled once; `plan` is called per response."""

    def __init__(self, ruleset: Ruleset, opt_in: bool = False, csp_report_endpoint: str | None = None) -> None:
        """`csp_report_endpoint`: preview the proposed CSP without enforcing it: it is sent as
        Content-Security-Policy-Report-Only reporting to that same-origin path (report-uri and
        the Reporting API's report-to), and an enforced policy the site already has stays."""
        self.rules: dict[str, Rule] = {r.id: r for r in ruleset.rules if r.fix is not None and (opt_in or not r.fix.opt_in)}
        self.csp_report_endpoint = csp_report_endpoint
        touchable = {"set-cookie"} if any(r.target == "cookie" for r in self.rules.values()) else set()
        for rule in self.rules.values():
            if rule.target != "cookie":
                assert rule.fix is not None
                touchable.update((rule.fix.header.lower(),) if rule.fix.header else rule.keys)
        if csp_report_endpoint:
            touchable |= {CSP_REPORT_ONLY.lower(), "reporting-endpoints"}
        # Every header name (lower case) a Rewrite of this Fixer may touch.
        self.touchable = frozenset(touchable)
        self.needs_host = any(rule.fix is not None and rule.fix.hosts for rule in self.rules.values())

    def fixable(self, rule_id: str) -> bool:
        return rule_id in self.rules

    def plan(self, findings: Sequence[Finding], facts: Facts, lines: Sequence[RawLine]) -> Planned | None:
        """The Rewrite of `lines` (the response's, as `facts` were read from) that fixes the
        findings, with its edits; None when no fix applies or nothing changes."""
        sets: dict[str, tuple[str, str, str]] = {}  # lower name -> (name, value, rule id)
        removes: dict[str, tuple[str, str]] = {}
        cookie_rules: dict[str, list[Rule]] = {}  # cookie label -> rules to satisfy
        for finding in findings:
            rule = self.rules.get(finding.rule)
            if rule is None or rule.fix is None:
                continue
            fix = rule.fix
            if rule.target == "cookie":
                cookie_rules.setdefault(finding.evidence, []).append(rule)
                continue
            header = fix.header or finding.header
            key = header.lower()
            if fix.set is not None:
                if key == STS and facts.scheme != "https":
                    continue
                sets.setdefault(key, (header, _value_for(fix.set, fix.hosts, facts.host), rule.id))
            elif fix.remove:
                removes.setdefault(key, (header, rule.id))
        if not (sets or removes or cookie_rules):
            return None
        if self.csp_report_endpoint and CSP in sets:
            self._preview_csp(sets, facts.scheme)
        planned = _rewrite(sets, removes, cookie_rules, facts, lines)
        return planned if planned.edits else None

    def _preview_csp(self, sets: dict[str, tuple[str, str, str]], scheme: str) -> None:
        _, policy, rule_id = sets.pop(CSP)
        endpoint = self.csp_report_endpoint
        preview = f"{with_report_sample(without_reporting(policy)).rstrip('; ')}; report-uri {endpoint}"
        if scheme == "https":
            # Chromium ignores Reporting-Endpoints on non-secure responses and, when a
            # policy names report-to, ignores report-uri: on http, report-uri alone.
            preview += f"; report-to {REPORT_GROUP}"
            sets["reporting-endpoints"] = ("Reporting-Endpoints", f'{REPORT_GROUP}="{endpoint}"', rule_id)
        sets[CSP_REPORT_ONLY.lower()] = (CSP_REPORT_ONLY, preview, rule_id)


# The directives whose violation reports carry a sample of the blocked code with 'report-sample'
# (CSP3 §2.3.1, §5.3): script and style, or default-src when it governs them.
_SAMPLED = ("script-src", "script-src-elem", "script-src-attr", "style-src", "style-src-elem", "style-src-attr")


def without_reporting(policy: str) -> str:
    """The policy without its report-uri and report-to (a learned proposal's fix value names the
    proxy's path already): the preview names its own, and a repeated directive is ignored."""
    kept = [d.strip() for d in policy.split(";") if d.strip() and d.split(None, 1)[0].lower() not in ("report-uri", "report-to")]
    return "; ".join(kept)


def with_report_sample(policy: str) -> str:
    """The policy with 'report-sample' in each directive governing scripts and styles, so that a
    report says which inline script or style was blocked (its first 40 characters)."""
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    names = [d.split(None, 1)[0].lower() for d in directives]
    targets = {n for n in names if n in _SAMPLED} or ({"default-src"} & set(names))
    out = []
    for directive, name in zip(directives, names):
        tokens = directive.split()
        if name in targets and "'report-sample'" not in (t.lower() for t in tokens[1:]):
            if tokens[1:] == ["'none'"]:  # 'none' must stand alone; nothing runs to be sampled
                out.append(directive)
                continue
            directive += " 'report-sample'"
        out.append(directive)
    return "; ".join(out)


def _rewrite(sets: dict[str, tuple[str, str, str]], removes: dict[str, tuple[str, str]],
             cookie_rules: dict[str, list[Rule]], facts: Facts, lines: Sequence[RawLine]) -> Planned:
    touched = {*sets, *removes, *(("set-cookie",) if cookie_rules else ())}
    counts: dict[str, int] = {}
    for raw_name, _ in lines:
        name = raw_name.lower().decode("utf-8", "surrogateescape")
        if name in touched:
            counts[name] = counts.get(name, 0) + 1
    by_name: dict[str, list[Action]] = {name: [] for name in touched}
    edits: list[Edit] = []
    done: set[str] = set()
    cookies = iter(facts.cookies())
    for raw_name, raw_value in lines:
        name = raw_name.lower().decode("utf-8", "surrogateescape")
        if name not in touched:
            continue
        actions = by_name[name]
        if name == "set-cookie":
            cookie = next(cookies)
        first = name not in done
        done.add(name)
        if name in sets:
            header, new_value, rule_id = sets[name]
            if not first:
                actions.append((DROP, b""))
                continue
            if encode(new_value) == raw_value and counts[name] == 1:
                actions.append(_KEEP)
                continue
            actions.append((VALUE, encode(new_value)))
            edits.append(Edit("set", header, new_value, rule_id, "~"))
        elif name in removes:
            actions.append((DROP, b""))
            if first:
                edits.append(Edit("remove", removes[name][0], None, removes[name][1]))
        else:  # Set-Cookie, touched only when cookie rules apply
            wanted = cookie_rules.get(cookie_label(cookie.parsed))
            value = raw_value.decode("utf-8", "surrogateescape")
            new_line, detail = _fix_cookie(value, cookie.parsed, wanted, facts.scheme) if wanted else (value, "")
            if new_line is None:
                actions.append((DROP, b""))
            elif new_line == value:
                actions.append(_KEEP)
                continue
            else:
                head = value.split(";", 1)[0]
                actions.append((COOKIE, encode(new_line[len(head):])))
            assert wanted
            edits.append(Edit("cookie", "Set-Cookie", new_line, wanted[0].id, detail))
    appended = []
    for name, (header, new_value, rule_id) in sets.items():
        if name not in done:
            appended.append((encode(header), encode(new_value)))
            edits.append(Edit("set", header, new_value, rule_id, "+"))
    rest = {encode(name): (DROP, b"") for name in (*sets, *removes)}
    rewrite = Rewrite({encode(name): tuple(actions) for name, actions in by_name.items()}, rest, tuple(appended))
    return Planned(rewrite, tuple(edits))


def _value_for(default: str, hosts: tuple[tuple[str, str], ...], host: str) -> str:
    for pattern, value in hosts:
        if fnmatch.fnmatchcase(host.lower(), pattern):
            return value
    return default


def _fix_cookie(line: str, cookie: SetCookie, rules: Sequence[Rule], scheme: str) -> tuple[str | None, str]:
    """Rewrite one Set-Cookie line so the given rules pass; None drops the line."""
    name = cookie.name
    lower = name.lower()
    wanted: dict[str, str | None] = {}  # attribute (lower) -> value (None: flag)
    for rule in rules:
        for attribute in rule.fix.cookie_attributes if rule.fix else ():
            attr, _, value = attribute.partition("=")
            wanted[attr.lower()] = value if _ else None
        if getattr(rule.check, "valid_prefix", False):
            # 6265bis §4.1.3: what each prefix requires, whatever the rule's attribute list says.
            wanted["secure"] = None
            if lower.startswith("__host-"):
                wanted["path"] = "/"
                wanted["domain"] = ""  # remove
            if lower.startswith(("__http-", "__host-http-")):
                wanted["httponly"] = None
    if not name and any(getattr(rule.check, "valid_prefix", False) for rule in rules) and cookie.prefix_problems():
        # 6265bis §5.7: a nameless cookie whose value starts with a name prefix is always
        # dropped (prefix spoofing); no attribute saves it, so removing it changes nothing.
        spoofed = cookie.value.split("-", 1)[0]
        return None, f"(no name) dropped (a nameless cookie whose value starts with {spoofed}- is never stored)"
    if scheme != "https" and "secure" in wanted:
        del wanted["secure"]
        if lower.startswith(("__secure-", "__host-", "__http-")):  # every prefix requires Secure
            return None, f"{name} dropped (a {name.split('-', 1)[0]}- cookie is never stored over http)"
        if cookie.samesite == "none":
            wanted["samesite"] = "Lax"
    segments = line.split(";")
    head, attributes = segments[0], [s for s in segments[1:] if s.strip(_WSP)]
    changes: list[str] = []
    kept: list[str] = []
    for segment in attributes:
        # Trim exactly what the parser trims (RFC 6265bis §5.6: SP and HTAB). str.strip() also
        # eats NBSP, U+3000, \x1c-\x1f...: " \xa0Secure" would pass here as Secure while the
        # browser (and the audit) see an unknown attribute, and the fix would not be closed.
        attr, _, current = (part.strip(_WSP) for part in segment.partition("="))
        if attr.lower() in wanted:
            target = wanted[attr.lower()]
            if target == "":  # a removal (Domain on a __Host- cookie)
                changes.append(f"-{_ATTRIBUTE_SPELLING.get(attr.lower(), attr)}")
                continue
            if target is not None and current.lower() != target.lower():
                continue  # wrong value: the wanted one is appended below
        kept.append(segment)
    present = {s.split("=", 1)[0].strip(_WSP).lower(): (s.split("=", 1)[1].strip(_WSP) if "=" in s else None) for s in kept}
    for attr, target in wanted.items():
        if target == "":
            continue
        if attr in present and (target is None or (present[attr] or "").lower() == target.lower()):
            continue
        text = _ATTRIBUTE_SPELLING.get(attr, attr.capitalize()) + ("" if target is None else f"={target}")
        kept.append(" " + text)
        changes.append(f"+{text}")
    if not changes:
        return line, ""
    return ";".join([head, *kept]), f"{name} {' '.join(changes)}"


_ATTRIBUTE_SPELLING = {"secure": "Secure", "httponly": "HttpOnly", "samesite": "SameSite", "partitioned": "Partitioned", "path": "Path", "domain": "Domain"}
