"""Fix planning: closed (no finding of a fixed rule remains), idempotent, and safe on plain http."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headeraudit.engine import Engine, ResponseView
from headeraudit.fixes import Fixer
from headeraudit.parsers.cookies import parse_set_cookie
from headeraudit.rules import load_ruleset

from strategies import header_sets


@pytest.fixture(scope="module")
def ruleset():
    return load_ruleset()


def run(ruleset, headers, scheme="https", host="www.example.com", status=200, opt_in=False):
    engine, fixer = Engine(ruleset), Fixer(ruleset, opt_in=opt_in)
    before = engine.evaluate(ResponseView(scheme, host, "/", "GET", status, headers))
    result = fixer.fix(before, headers, scheme, host)
    after = engine.evaluate(ResponseView(scheme, host, "/", "GET", status, list(result.headers)))
    return fixer, before, result, after


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
    fixer, _, result, after = run(ruleset, headers, scheme=scheme, status=status, opt_in=opt_in)
    leftover = [f for f in after if fixer.fixable(f.rule)]
    assert leftover == [], (leftover, result.headers)
    again = fixer.fix(after, result.headers, scheme, "www.example.com")
    assert again.edits == () and again.headers == result.headers


# ---------------------------------------------------------------- planned once, applied per response

def test_rewrite_is_shared_for_the_same_findings_and_touched_lines_and_keeps_other_lines(ruleset):
    engine, fixer = Engine(ruleset), Fixer(ruleset)
    first = [("Date", "Mon, 23 Nov 2026 10:00:00 GMT"), ("Content-Type", "text/html"), ("X-Powered-By", "PHP/8"), ("ETag", '"1"')]
    second = [("Date", "Mon, 23 Nov 2026 10:00:01 GMT"), ("Content-Type", "text/html"), ("X-Powered-By", "PHP/8"), ("ETag", '"2"')]
    findings = engine.evaluate(ResponseView("https", "www.example.com", "/", "GET", 200, first))
    assert engine.evaluate(ResponseView("https", "www.example.com", "/", "GET", 200, second)) is findings  # the engine memo
    a = fixer.rewrite(findings, first, "https", "www.example.com")
    b = fixer.rewrite(findings, second, "https", "www.example.com")
    assert a is b, "Date and ETag are not touched by any fix: one rewrite serves both"
    fixed = a.apply(second)
    assert fixed[:3] == (("Date", "Mon, 23 Nov 2026 10:00:01 GMT"), ("Content-Type", "text/html"), ("ETag", '"2"'))
    assert ("X-Powered-By", "PHP/8") not in fixed and any(n == "Content-Security-Policy" for n, _ in fixed)
    # A touched line that differs (another X-Powered-By value) gets its own rewrite.
    third = [*second[:2], ("X-Powered-By", "PHP/7"), second[3]]
    assert fixer.rewrite(findings, third, "https", "www.example.com") is not a
    # Another host may have its own fix values: its own plan.
    assert fixer.rewrite(findings, second, "https", "api.example.com") is not a


def test_splice_keeps_raw_lines_for_untouched_headers_and_encodes_only_new_ones(ruleset):
    engine, fixer = Engine(ruleset), Fixer(ruleset)
    text = [("Content-Type", "text/html"), ("Server", "Apache/2.4.1 (Unix)"), ("X-Odd", "caf\udce9")]
    raw = [(b"Content-Type", b"text/html"), (b"Server", b"Apache/2.4.1 (Unix)"), (b"X-Odd", b"caf\xe9")]
    findings = engine.evaluate(ResponseView("https", "h.example", "/", "GET", 200, text))
    rewrite, positions = fixer.locate(findings, text, "https", "h.example")
    assert positions == [1]  # only Server is touched (removed)
    out = rewrite.encoded(lambda p: (p[0].encode(), p[1].encode())).splice(raw, positions)
    assert out[0] is raw[0] and (b"X-Odd", b"caf\xe9") in out  # kept byte for byte
    assert [(n.decode(), v.decode("utf-8", "surrogateescape")) for n, v in out] == list(rewrite.apply(text))


def test_touched_positions_memo_stays_small_and_positions_stay_right():
    """The per-plan memo of names (fixes.touched_positions) is bounded: a response stream with
    ever new header names (no rule reads them, so they do not change the plan) cannot grow it
    past MAX_NAMES_MEMO, nor keep a name over 256 characters; the positions are right throughout."""
    from headeraudit.fixes import MAX_NAMES_MEMO, touched_positions

    memo: dict = {}
    touched = frozenset({"x-powered-by", "server"})
    for i in range(3 * MAX_NAMES_MEMO):
        lines = [(f"x-unread-{i}-{j}", "1") for j in range(3)] + [("Server", "a/1"), ("x-long-" + "n" * 300 + str(i), "1"),
                                                                  ("X-Powered-By", "b")]
        assert touched_positions(lines, touched, memo) == [3, 5]
        assert len(memo) <= MAX_NAMES_MEMO
        assert all(len(name) <= 256 for name in memo)
