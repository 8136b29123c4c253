"""How much of a response is judged (limits.py): attacker-sized headers cost bounded work, what
is left out is reported, and hits, misses, fixes and the grade read the same prefix."""

from __future__ import annotations

import pytest

from auditing import assess, findings, fix_auditor
from headeraudit.audit import Auditor
from headeraudit.engine import MAX_FINDINGS_PER_RULE, MORE
from headeraudit.limits import MAX_HEADER_BYTES, MAX_HEADER_LINES, first_lines, within_limits
from headeraudit.rules import load_ruleset

HTML = ("Content-Type", "text/html")


@pytest.fixture(scope="module")
def ruleset():
    return load_ruleset()


def rules_of(found):
    return {f.rule for f in found}


def test_a_long_first_line_is_cut_at_its_last_separator_before_the_limit():
    value = b"default-src 'self'; " + b"img-src " + b"https://a.example " * 1000
    (name, kept), = within_limits([(b"content-security-policy", value)])[0]
    assert len(kept) <= MAX_HEADER_BYTES and value.startswith(kept)
    assert kept.endswith(b"https://a.example")  # a whole source, not half a host name


def test_lines_past_the_limits_are_left_out_and_the_header_named():
    lines = [(b"set-cookie", b"c%d=v; Secure" % i) for i in range(MAX_HEADER_LINES + 5)] + [(b"server", b"x")]
    kept, cut = within_limits(lines)
    assert [v for n, v in kept if n == b"set-cookie"] == [v for _, v in lines[:MAX_HEADER_LINES]]
    assert cut == ("set-cookie",)


def test_what_is_judged_of_a_header_is_a_prefix_of_its_lines():
    """A small line after one that did not fit is not judged either: the judged part is a prefix."""
    lines = [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=" + b"x" * MAX_HEADER_BYTES), (b"set-cookie", b"c=1")]
    kept, cut = within_limits(lines)
    assert kept == lines[:1] and cut == ("set-cookie",)


def test_a_response_of_many_lines_keeps_each_headers_first_lines_before_anything_else():
    lines = [(b"Set-Cookie", b"c=%d" % i) for i in range(5000)] + [(b"Server", b"nginx")]
    kept = first_lines(lines)
    assert len(kept) == MAX_HEADER_LINES + 2 and kept[-1] == (b"Server", b"nginx")


def test_header_too_long_reports_a_cut_header_and_nothing_within_the_limits(ruleset):
    auditor = Auditor(ruleset)
    long_csp = "default-src 'self'; " + "; ".join(f"img-src-x{i} a" for i in range(2000))
    assert "header-too-long" in rules_of(findings(auditor, [HTML, ("Content-Security-Policy", long_csp)]))
    assert "header-too-long" not in rules_of(findings(auditor, [HTML, ("Content-Security-Policy", long_csp[:4000])]))


def test_a_cut_value_and_the_same_prefix_sent_whole_are_told_apart(ruleset):
    """The memo key holds the cut names: the prefix alone is not 'too long'."""
    auditor = Auditor(ruleset)
    long_value = "max-age=63072000; includeSubDomains; " + "a=b; " * 4000
    cut_value = within_limits([(b"strict-transport-security", long_value.encode())])[0][0][1].decode()
    selected_long = auditor.select([(b"Strict-Transport-Security", long_value.encode())])
    selected_cut = auditor.select([(b"Strict-Transport-Security", cut_value.encode())])
    assert selected_long[0] == selected_cut[0] and selected_long[2] != selected_cut[2]


def test_a_policy_past_the_limit_is_judged_by_its_prefix_in_rules_and_grade(ruleset):
    """'unsafe-inline' beyond the first 8 KiB is not seen by either (one judgement)."""
    filler = "; ".join(f"x-{i} a" for i in range(3000))
    outcome = assess(Auditor(ruleset), [HTML, ("Content-Security-Policy",
                                               f"script-src 'self'; object-src 'none'; base-uri 'none'; {filler}; "
                                               "style-src 'unsafe-inline'")])
    assert "header-too-long" in rules_of(outcome.findings)
    assert outcome.grade is not None


def test_a_rule_gives_at_most_ten_findings_per_response_and_the_rest_as_one(ruleset):
    """20 000 unknown directive names made 20 000 findings, entries and log lines."""
    policy = "; ".join(f"unknown-{i}" for i in range(500)) + "; default-src 'self'"
    found = [f for f in findings(Auditor(ruleset), [HTML, ("Content-Security-Policy", policy)]) if f.rule == "csp-invalid"]
    assert len(found) == MAX_FINDINGS_PER_RULE + 1
    assert found[-1].evidence == MORE and "and more" in found[-1].message


def test_fix_mode_fixes_every_finding_not_only_the_shown_ones(ruleset):
    cookies = [("Set-Cookie", f"c{i}=v; Path=/") for i in range(30)]
    outcome = assess(fix_auditor(ruleset), [HTML, *cookies])
    assert sum(f.rule == "cookie-no-secure" for f in outcome.findings) == MAX_FINDINGS_PER_RULE + 1
    assert outcome.fix is not None
    assert not [f for f in outcome.fix.findings_after if f["rule"] == "cookie-no-secure"]


def test_a_replaced_header_loses_its_lines_past_the_limit_and_cookies_past_it_pass(ruleset):
    auditor = fix_auditor(ruleset)
    hsts = [("Strict-Transport-Security", "max-age=10")] * (MAX_HEADER_LINES + 10)
    cookies = [("Set-Cookie", f"c{i}=v") for i in range(MAX_HEADER_LINES + 3)]
    headers = [HTML, *hsts, *cookies]
    outcome = assess(auditor, headers)
    raw = tuple((n.encode(), v.encode()) for n, v in headers)
    fixed = outcome.fix.rewrite.apply(raw)
    assert [v for n, v in fixed if n.lower() == b"strict-transport-security"] == [b"max-age=63072000; includeSubDomains"]
    fixed_cookies = [v for n, v in fixed if n.lower() == b"set-cookie"]
    assert len(fixed_cookies) == len(cookies)
    assert fixed_cookies[-1] == b"c%d=v" % (len(cookies) - 1)  # not judged, so passed as it is
    assert b"Secure" in fixed_cookies[0]
