"""Findings + Ruleset -> header edits (pure). Applying them to a flow is the addon's job.

A fix must be idempotent and closed: auditing the fixed headers shows no finding of a rule
whose fix was applied. So each header gets one value (the first violated rule in ruleset
order wins), every line of a replaced header goes, and cookie fixes follow what the
browser needs rather than a fixed attribute list where those differ (name prefixes).

Plain http is special: HSTS is never injected there (RFC 6797 §8.1: ignored anyway) and
`Secure` is never added to a cookie (the browser would refuse to store it). Where Secure
is what a rule asks for, the http fallback keeps the preview honest: `SameSite=None`
becomes `SameSite=Lax`; a `__Secure-`/`__Host-`/`__Http-` cookie, which no browser stores over http,
(or __Http-) is dropped — removing it changes nothing the browser would have done.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .bounded import BoundedCache, SharedBudget, size_of
from .checks import cookie_label, parse_cookie, printable
from .model import Finding
from .rules import Rule, Ruleset

STS = "strict-transport-security"
CSP = "content-security-policy"
CSP_REPORT_ONLY = "Content-Security-Policy-Report-Only"
REPORT_GROUP = "headeraudit"
_WSP = " \t"  # the whitespace a Set-Cookie parser trims (RFC 6265bis §5.6)


@dataclass(frozen=True, slots=True)
class Edit:
    action: str  # "set", "remove" or "cookie"
    header: str
    value: str | None  # the new value ("set"), the rewritten Set-Cookie line ("cookie"; None = dropped)
    rule: str
    detail: str = ""  # cookie edits: what changed, e.g. "sessionid +HttpOnly +SameSite=Lax"

    @property
    def label(self) -> str:
        """Short form for flow comments: +Header (added), ~Header (replaced), -Header (removed)."""
        if self.action == "cookie":
            return f"~Set-Cookie {printable(self.detail)}"
        return f"{'-' if self.action == 'remove' else self.detail or '+'}{printable(self.header)}"

    def as_dict(self) -> dict[str, str | None]:
        """For flow metadata and reports: a value kept from the response (a rewritten cookie)
        may hold undecodable bytes; shown escaped, so the flow can be saved (-w) and logged."""
        value = None if self.value is None else printable(self.value)
        return {"action": self.action, "header": printable(self.header), "value": value, "rule": self.rule,
                "detail": printable(self.detail)}


@dataclass(frozen=True, slots=True)
class FixResult:
    edits: tuple[Edit, ...]
    headers: tuple[tuple[str, str], ...]  # the response headers after the edits, in order


@dataclass(frozen=True, slots=True)
class Rewrite:
    """How to rewrite one response: for each header line whose name is in `touched`, in order,
    what it becomes (`slots`: a new (name, value) pair, or None to drop it); every other
    line stays as it is; `appended` lines go at the end. Shared by every response whose
    touched lines are the same, so applying it is one pass and no planning."""

    edits: tuple[Edit, ...]
    touched: frozenset[str]
    slots: tuple[tuple[str, str] | None, ...]
    appended: tuple[tuple[str, str], ...]
    _encoded: dict = field(default_factory=dict, compare=False, repr=False)

    def apply(self, headers: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        touched = self.touched
        return tuple(self.splice(headers, [i for i, (name, _) in enumerate(headers) if _lower(name) in touched]))

    def splice(self, lines: Sequence[Any], positions: Sequence[int]) -> list[Any]:
        """`lines` rewritten, given the positions of its touched lines (from Fixer.locate): the
        untouched runs are copied as slices, so the cost is in the touched lines only."""
        out: list[Any] = []
        start = 0
        for position, new in zip(positions, self.slots):
            if position > start:
                out.extend(lines[start:position])
            if new is not None:
                out.append(new)
            start = position + 1
        out.extend(lines[start:])
        out.extend(self.appended)
        return out

    def encoded(self, encode: Callable[[tuple[str, str]], Any]) -> Rewrite:
        """This rewrite with its new lines converted by `encode` (e.g. to raw bytes), once per
        encoder: every response it serves then reuses the same converted lines."""
        done = self._encoded.get(encode)
        if done is None:
            done = self._encoded[encode] = Rewrite(
                self.edits, self.touched, tuple(None if p is None else encode(p) for p in self.slots),
                tuple(encode(p) for p in self.appended),
            )
        return done


class _Plan:
    """What the findings of one response ask for, before looking at its header lines."""

    __slots__ = ("cookie_rules", "is_touched", "removes", "rewrites", "sets", "touched")

    def __init__(self, sets, removes, cookie_rules) -> None:
        self.sets, self.removes, self.cookie_rules = sets, removes, cookie_rules
        self.touched = frozenset((*sets, *removes, *(("set-cookie",) if cookie_rules else ())))
        self.rewrites: dict[tuple[tuple[str, str], ...], Rewrite] = {}
        self.is_touched: dict[str, bool] = {}  # header name as sent -> in touched

    def positions(self, headers: Sequence[tuple[str, str]]) -> list[int]:
        return touched_positions(headers, self.touched, self.is_touched)


# Names memoised per plan (a site sends a few dozen): one memo per fix plan, and up to 1 024 plans
# are kept, so 4 096 names of up to 256 characters each could hold ~1 GB in all.
MAX_NAMES_MEMO = 512


def touched_positions(lines: Sequence[Sequence[Any]], touched: frozenset[str], is_touched: dict[Any, bool],
                      name_text: Callable[[Any], str] | None = None) -> list[int]:
    """Where the lines whose name is in `touched` are: one lookup per line in `is_touched`, the
    caller's memo of names as sent (text, or raw bytes with `name_text` to decode them)."""
    try:
        return [i for i, line in enumerate(lines) if is_touched[line[0]]]
    except KeyError:  # a name not seen yet with this memo
        if len(is_touched) >= MAX_NAMES_MEMO:
            is_touched.clear()
        positions = []
        for i, line in enumerate(lines):
            name = line[0]
            hit = is_touched.get(name)
            if hit is None:
                hit = _lower(name if name_text is None else name_text(name)) in touched
                if len(name) <= 256:  # mitmproxy does not bound header size: long names are not memoised
                    is_touched[name] = hit
            if hit:
                positions.append(i)
        return positions


_LOWER = BoundedCache(4096, 1 << 20)  # header name -> lower case


def _lower(name: str) -> str:
    low = _LOWER.get(name)
    if low is None:
        low = _LOWER.put(name, name.lower() if name.isascii() else name, 2 * len(name))  # ASCII case only, as the engine
    return low


_PLAN_LIMIT = 1024
_REWRITE_LIMIT = 256
_REWRITES_BUDGET = 16 << 20


class Fixer:
    """Compiled once per Ruleset; `fix` (or `rewrite`) is called per response.

    A proxy sees the same findings and the same security headers again and again (the engine
    hands out the same findings tuple for them), so what to do is planned once per findings
    tuple and the rewrite once per distinct set of touched lines; per response what is left is
    one pass that copies the other lines."""

    def __init__(self, ruleset: Ruleset, opt_in: bool = False, csp_report_endpoint: str | None = None) -> None:
        """`csp_report_endpoint`: preview the proposed CSP without enforcing it — it is sent as
        Content-Security-Policy-Report-Only reporting to that same-origin path (report-uri and
        the Reporting API's report-to), and an enforced policy the site already has stays."""
        self.rules: dict[str, Rule] = {r.id: r for r in ruleset.rules if r.fix is not None and (opt_in or not r.fix.opt_in)}
        self.csp_report_endpoint = csp_report_endpoint
        # Every header name (lower case) a Rewrite of this Fixer may touch.
        touchable = {"set-cookie"} if any(r.target == "cookie" for r in self.rules.values()) else set()
        for rule in self.rules.values():
            if rule.target != "cookie":
                touchable.update((rule.fix.header.lower(),) if rule.fix.header else rule.keys)
        if csp_report_endpoint:
            touchable |= {CSP_REPORT_ONLY.lower(), "reporting-endpoints"}
        self.touchable = frozenset(touchable)
        # (id of a findings tuple, scheme, host) -> (that tuple, kept so its id cannot be reused, its plan)
        self._plans: dict[tuple[int, str, str], tuple[Sequence[Finding], _Plan | None]] = {}
        # The plans' rewrites together hold at most _REWRITES_BUDGET characters (touched lines, their rewrite, encoded).
        self._rewrites = SharedBudget(_REWRITES_BUDGET, _REWRITE_LIMIT, self._clear_rewrites)

    def fixable(self, rule_id: str) -> bool:
        return rule_id in self.rules

    def fix(self, findings: Sequence[Finding], headers: Sequence[tuple[str, str]], scheme: str, host: str) -> FixResult:
        rewrite = self.rewrite(findings, headers, scheme, host)
        if rewrite is None:
            return FixResult((), tuple(headers))
        return FixResult(rewrite.edits, rewrite.apply(headers))

    def rewrite(self, findings: Sequence[Finding], headers: Sequence[tuple[str, str]], scheme: str, host: str) -> Rewrite | None:
        """The Rewrite for these headers, or None when no fix applies. The same object comes
        back for the same findings tuple and the same touched lines."""
        located = self.locate(findings, headers, scheme, host)
        return None if located is None else located[0]

    def locate(self, findings: Sequence[Finding], headers: Sequence[tuple[str, str]], scheme: str,
               host: str) -> tuple[Rewrite, list[int]] | None:
        """The Rewrite for these headers and the positions of the lines it touches (for
        Rewrite.splice), or None when no fix applies."""
        plan = self._plan(findings, scheme, host)
        if plan is None:
            return None
        positions = plan.positions(headers)
        key = tuple([headers[i] for i in positions])
        rewrite = plan.rewrites.get(key)
        if rewrite is None:
            rewrite = self._rewrites.put(plan.rewrites, key, self._rewrite(plan, key, scheme), 3 * size_of(key))
        return rewrite, positions

    def _clear_rewrites(self) -> None:
        for _, plan in self._plans.values():
            if plan is not None:
                plan.rewrites.clear()

    def _plan(self, findings: Sequence[Finding], scheme: str, host: str) -> _Plan | None:
        key = (id(findings), scheme, host)
        known = self._plans.get(key)
        if known is not None and known[0] is findings:
            return known[1]
        plan = self._make_plan(findings, scheme, host)
        if len(self._plans) >= _PLAN_LIMIT:
            self._plans.clear()
        self._plans[key] = (findings, plan)
        return plan

    def _make_plan(self, findings: Sequence[Finding], scheme: str, host: str) -> _Plan | None:
        sets: dict[str, tuple[str, str, str]] = {}  # lower name -> (name, value, rule id)
        removes: dict[str, tuple[str, str]] = {}
        cookie_rules: dict[str, list[Rule]] = {}  # cookie name -> rules to satisfy
        for finding in findings:
            rule = self.rules.get(finding.rule)
            if rule is None:
                continue
            fix = rule.fix
            if rule.target == "cookie":
                cookie_rules.setdefault(finding.evidence, []).append(rule)
                continue
            header = fix.header or finding.header
            key = header.lower()
            if fix.set is not None:
                if key == STS and scheme != "https":
                    continue
                sets.setdefault(key, (header, _value_for(fix.set, fix.hosts, host), rule.id))
            elif fix.remove:
                removes.setdefault(key, (header, rule.id))
        if not (sets or removes or cookie_rules):
            return None
        if self.csp_report_endpoint and CSP in sets:
            _, policy, rule_id = sets.pop(CSP)
            endpoint = self.csp_report_endpoint
            preview = f"{policy.rstrip('; ')}; report-uri {endpoint}"
            if scheme == "https":
                # Chromium ignores Reporting-Endpoints on non-secure responses and, when a
                # policy names report-to, ignores report-uri: on http, report-uri alone.
                preview += f"; report-to {REPORT_GROUP}"
                sets["reporting-endpoints"] = ("Reporting-Endpoints", f'{REPORT_GROUP}="{endpoint}"', rule_id)
            sets[CSP_REPORT_ONLY.lower()] = (CSP_REPORT_ONLY, preview, rule_id)
        return _Plan(sets, removes, cookie_rules)

    @staticmethod
    def _rewrite(plan: _Plan, touched: tuple[tuple[str, str], ...], scheme: str) -> Rewrite:
        sets, removes, cookie_rules = plan.sets, plan.removes, plan.cookie_rules
        slots: list[tuple[str, str] | None] = []
        edits: list[Edit] = []
        emitted: set[str] = set()
        removed: set[str] = set()
        for name, value in touched:
            key = _lower(name)
            if key in sets:
                new_pair = None
                if key not in emitted:
                    emitted.add(key)
                    header, new_value, rule_id = sets[key]
                    new_pair = (name, new_value)
                    if new_value != value or sum(1 for n, _ in touched if _lower(n) == key) > 1:
                        edits.append(Edit("set", header, new_value, rule_id, "~"))
                slots.append(new_pair)
                continue
            if key in removes:
                if key not in removed:
                    removed.add(key)
                    edits.append(Edit("remove", removes[key][0], None, removes[key][1]))
                slots.append(None)
                continue
            # Set-Cookie (touched only when cookie rules apply)
            cookie = parse_cookie(value)
            wanted = cookie_rules.get(cookie_label(cookie))
            if wanted:
                line, detail = _fix_cookie(value, cookie, wanted, scheme)
                if line != value:
                    edits.append(Edit("cookie", "Set-Cookie", line, wanted[0].id, detail))
                slots.append(None if line is None else (name, line))
            else:
                slots.append((name, value))
        appended = []
        for key, (header, new_value, rule_id) in sets.items():
            if key not in emitted:
                appended.append((header, new_value))
                edits.append(Edit("set", header, new_value, rule_id, "+"))
        return Rewrite(tuple(edits), plan.touched, tuple(slots), tuple(appended))


def _value_for(default: str, hosts: tuple[tuple[str, str], ...], host: str) -> str:
    for pattern, value in hosts:
        if fnmatch.fnmatchcase(host.lower(), pattern):
            return value
    return default


def _fix_cookie(line: str, cookie, rules: Sequence[Rule], scheme: str) -> tuple[str | None, str]:
    """Rewrite one Set-Cookie line so the given rules pass; None drops the line."""
    name = cookie.name
    lower = name.lower()
    wanted: dict[str, str | None] = {}  # attribute (lower) -> value (None: flag)
    for rule in rules:
        for attribute in rule.fix.cookie_attributes:
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
