"""Fix planning: closed (no finding of a fixed rule remains), idempotent, and safe on plain http."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataclasses import dataclass

from auditing import assess, decoded, encoded, findings, fix_auditor
from headeraudit.audit import Auditor
from headeraudit.parsers.cookies import parse_set_cookie
from headeraudit.rules import load_ruleset

from strategies import header_sets


@pytest.fixture(scope="module")
def ruleset():
    return load_ruleset()


@dataclass
class Fixed:
    edits: tuple
    headers: list[tuple[str, str]]


def run(ruleset, headers, scheme="https", host="www.example.com", status=200, opt_in=False):
    """Fix mode's outcome, the rewrite applied as the proxy applies it (to every line of the
    response), and a fresh audit of the fixed response."""
    auditor = fix_auditor(ruleset, fix_opt_in=opt_in)
    outcome = assess(auditor, headers, scheme=scheme, host=host, status=status)
    lines = encoded(headers)
    fixed = outcome.fix.rewrite.apply(lines) if outcome.fix else lines
    after = findings(Auditor(ruleset), decoded(fixed), scheme=scheme, host=host, status=status)
    return auditor, outcome.findings, Fixed(outcome.fix.edits if outcome.fix else (), decoded(fixed)), after


def header(result, name):
    return [v for n, v in result.headers if n.lower() == name.lower()]


def test_missing_headers_are_added_with_owasp_values(ruleset):
    _, _, result, after = run(ruleset, [("Content-Type", "text/html")])
    labels = {e.label for e in result.edits}
    assert {"+Strict-Transport-Security", "+Content-Security-Policy", "+X-Frame-Options", "+X-Content-Type-Options"} <= labels
    assert header(result, "Strict-Transport-Security") == ["max-age=63072000; includeSubDomains"]
    assert after == ()


def test_disclosing_headers_are_removed(ruleset):
    _, _, result, _ = run(ruleset, [("Content-Type", "image/png"), ("X-Content-Type-Options", "nosniff"), ("X-Powered-By", "PHP/8"), ("Server", "nginx/1.2")])
    assert not header(result, "X-Powered-By") and not header(result, "Server")
    assert {"-X-Powered-By", "-Server"} <= {e.label for e in result.edits}


def test_a_replaced_header_keeps_one_line(ruleset):
    headers = [("Content-Type", "image/png"), ("X-Content-Type-Options", "nosniff"),
               ("Strict-Transport-Security", "max-age=1"), ("Strict-Transport-Security", "max-age=2")]
    _, _, result, after = run(ruleset, headers)
    assert header(result, "Strict-Transport-Security") == ["max-age=63072000; includeSubDomains"] and after == ()


def test_hsts_is_never_injected_on_plain_http(ruleset):
    _, _, result, _ = run(ruleset, [("Content-Type", "text/html")], scheme="http")
    assert not header(result, "Strict-Transport-Security")


def test_cookie_attributes_are_added_to_flagged_cookies_only(ruleset):
    headers = [("Content-Type", "image/png"), ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"),
               ("Set-Cookie", "sessionid=s3cr3t; Path=/"), ("Set-Cookie", "theme=dark; Secure; SameSite=Lax")]
    _, _, result, after = run(ruleset, headers)
    lines = header(result, "Set-Cookie")
    assert lines[0] == "sessionid=s3cr3t; Path=/; Secure; HttpOnly; SameSite=Lax"
    assert lines[1] == "theme=dark; Secure; SameSite=Lax"
    assert after == ()


def test_secure_is_never_added_on_http_samesite_none_becomes_lax(ruleset):
    _, _, result, after = run(ruleset, [("Content-Type", "image/png"), ("X-Content-Type-Options", "nosniff"), ("Set-Cookie", "id=1; SameSite=None")], scheme="http")
    assert header(result, "Set-Cookie") == ["id=1; SameSite=Lax"]
    assert after == ()


@pytest.mark.parametrize("name", ["__Secure-id", "__Host-id", "__Http-id", "__host-http-id"])
def test_prefixed_cookie_over_http_is_dropped_because_browsers_reject_it(ruleset, name):
    _, _, result, _ = run(ruleset, [("Content-Type", "image/png"), ("X-Content-Type-Options", "nosniff"), ("Set-Cookie", f"{name}=1; SameSite=Lax")], scheme="http")
    assert header(result, "Set-Cookie") == []
    assert any("dropped" in e.detail for e in result.edits)


def test_host_prefix_cookie_gets_root_path_and_loses_domain(ruleset):
    _, _, result, after = run(ruleset, [("Content-Type", "image/png"), ("X-Content-Type-Options", "nosniff"),
                                        ("Set-Cookie", "__Host-id=1; Domain=example.com; Path=/app; SameSite=Lax")])
    cookie = parse_set_cookie(header(result, "Set-Cookie")[0])
    assert cookie.secure and cookie.path == "/" and cookie.domain is None and not cookie.prefix_problems()
    assert after == ()


def test_opt_in_fixes_only_when_enabled(ruleset):
    headers = [("Content-Type", "text/html"), ("Cross-Origin-Opener-Policy", "bogus")]
    _, _, result, after = run(ruleset, headers)
    assert header(result, "Cross-Origin-Opener-Policy") == ["bogus"] and "coop-invalid" in {f.rule for f in after}
    _, _, result, after = run(ruleset, headers, opt_in=True)
    assert header(result, "Cross-Origin-Opener-Policy") == ["same-origin"] and "coop-invalid" not in {f.rule for f in after}


@pytest.mark.parametrize("headers, rule, changed", [
    ([("Access-Control-Allow-Origin", "*")], "cors-wildcard", "Access-Control-Allow-Origin"),
    ([("Access-Control-Allow-Origin", "null")], "cors-null-origin", "Access-Control-Allow-Origin"),
])
def test_cors_fixes_are_opt_in(ruleset, headers, rule, changed):
    """Removing a public API's CORS header breaks the very pages being previewed, so only on request."""
    headers = [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff"), *headers]
    _, _, result, after = run(ruleset, headers)
    assert header(result, changed) == [headers[-1][1]] and rule in {f.rule for f in after}
    _, _, result, after = run(ruleset, headers, opt_in=True)
    assert header(result, changed) == [] and rule not in {f.rule for f in after}


def test_every_cors_fix_is_opt_in(ruleset):
    cors = [r for r in ruleset.rules if r.id.startswith("cors-") and r.fix is not None]
    assert {r.id for r in cors} == {"cors-wildcard", "cors-null-origin", "cors-origin-reflected-credentials"}
    assert all(r.fix.opt_in for r in cors)


def test_per_host_fix_value(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        "extends: default\noverride:\n  csp-missing:\n    fix:\n      hosts: {\"app.example.com\": \"default-src 'self' https://cdn.example.com; object-src 'none'; base-uri 'none'; frame-ancestors 'none'\"}\n"
    )
    _, _, result, _ = run(load_ruleset(str(path)), [("Content-Type", "text/html")], host="app.example.com")
    assert header(result, "Content-Security-Policy")[0].startswith("default-src 'self' https://cdn.example.com")
    _, _, result, _ = run(load_ruleset(str(path)), [("Content-Type", "text/html")], host="www.example.com")
    assert header(result, "Content-Security-Policy")[0].startswith("default-src 'self'; form-action")


def test_no_findings_no_edits(ruleset):
    headers = [("Content-Type", "image/png"), ("X-Content-Type-Options", "nosniff")]
    _, before, result, _ = run(ruleset, headers, scheme="http")
    assert before == () and result.edits == () and list(result.headers) == headers


# ---------------------------------------------------------------- properties over generated header sets

@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=header_sets,
    scheme=st.sampled_from(["https", "http"]),
    status=st.sampled_from([200, 404, 500, 302]),
    opt_in=st.booleans(),
)
def test_fixes_are_closed_and_idempotent(ruleset, headers, scheme, status, opt_in):
    """Auditing a fixed response shows no finding of any rule whose fix applies; fixing again changes nothing."""
    auditor, _, result, after = run(ruleset, headers, scheme=scheme, status=status, opt_in=opt_in)
    leftover = [f for f in after if auditor.fixer.fixable(f.rule)]
    assert leftover == [], (leftover, result.headers)
    again = assess(auditor, result.headers, scheme=scheme, status=status)
    assert again.fix is None, again.fix


# ---------------------------------------------------------------- one rewrite, applied to each response

def test_responses_differing_only_in_lines_no_verdict_reads_share_one_outcome(ruleset):
    """Date, ETag and the like change on every response; no rule, grade test or fix reads them,
    so the outcome (and its rewrite) is the same, and applying it keeps each response's own."""
    auditor = fix_auditor(ruleset)
    first = [("Date", "Mon, 23 Nov 2026 10:00:00 GMT"), ("Content-Type", "text/html"), ("X-Powered-By", "PHP/8"), ("ETag", '"1"')]
    second = [("Date", "Mon, 23 Nov 2026 10:00:01 GMT"), ("Content-Type", "text/html"), ("X-Powered-By", "PHP/8"), ("ETag", '"2"')]
    assert assess(auditor, first) == assess(auditor, second)
    fixed = decoded(assess(auditor, first).fix.rewrite.apply(encoded(second)))
    assert fixed[:3] == [("Date", "Mon, 23 Nov 2026 10:00:01 GMT"), ("Content-Type", "text/html"), ("ETag", '"2"')]
    assert ("X-Powered-By", "PHP/8") not in fixed and any(n == "Content-Security-Policy" for n, _ in fixed)


def test_a_rewritten_cookie_keeps_its_own_value_whatever_value_the_rewrite_was_planned_on(ruleset):
    """Session cookies carry a fresh value per response; the rewrite keeps the name=value pair of
    the line it rewrites and only changes the attributes (canonical.py: values are not judged)."""
    auditor = fix_auditor(ruleset)
    base = [("Content-Type", "image/png"), ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store")]
    one = assess(auditor, [*base, ("Set-Cookie", "sessionid=AAAA; Path=/")])
    two = assess(auditor, [*base, ("Set-Cookie", "sessionid=BBBB; Path=/")])
    assert one == two
    fixed = decoded(one.fix.rewrite.apply(encoded([*base, ("Set-Cookie", "sessionid=BBBB; Path=/")])))
    assert ("Set-Cookie", "sessionid=BBBB; Path=/; Secure; HttpOnly; SameSite=Lax") in fixed
    assert "BBBB" not in str(one.fix.edit_dicts) and "AAAA" not in str(one.fix.edit_dicts)  # values are never kept


def test_untouched_lines_keep_their_raw_bytes_and_new_lines_are_lower_case_on_http2(ruleset):
    auditor = fix_auditor(ruleset)
    raw = ((b"Content-Type", b"text/html"), (b"Server", b"Apache/2.4.1 (Unix)"), (b"X-Odd", b"caf\xe9"))
    outcome = assess(auditor, decoded(raw), host="h.example")
    out = outcome.fix.rewrite.apply(raw)
    assert out[0] is raw[0] and (b"X-Odd", b"caf\xe9") in out  # kept byte for byte
    assert b"Server" not in {n for n, _ in out}
    appended = {n for n, _ in outcome.fix.rewrite.apply(raw, lower_case_names=True)} - {n for n, _ in raw}
    assert appended and all(n == n.lower() for n in appended)  # RFC 9113 §8.2.1


@pytest.mark.parametrize(("policy", "previewed"), [
    # default-src governs scripts and styles when neither has its own directive (CSP3 §6.8.3)
    ("default-src 'self'; object-src 'none'", "default-src 'self' 'report-sample'; object-src 'none'"),
    ("script-src 'self'; style-src https://a.example; img-src *",
     "script-src 'self' 'report-sample'; style-src https://a.example 'report-sample'; img-src *"),
    # 'none' stands alone (CSP3 §2.3.1 serialized-source-list); nothing runs there to be sampled
    ("default-src 'self'; script-src 'none'", "default-src 'self'; script-src 'none'"),
    ("script-src 'self' 'REPORT-SAMPLE'", "script-src 'self' 'REPORT-SAMPLE'"),
    ("img-src *", "img-src *"),
])
def test_the_csp_preview_asks_for_samples_of_blocked_scripts_and_styles(policy, previewed):
    """CSP3 §5.3: a violation report carries the first 40 characters of the blocked inline code
    only when the governing directive has 'report-sample'."""
    from headeraudit.fixes import with_report_sample
    assert with_report_sample(policy) == previewed
