"""The rules file: validation errors name file, line and rule; extends/disable/override merge."""

from __future__ import annotations

import os
import textwrap
import threading
from pathlib import Path

import pytest

from auditing import findings
from headeraudit.audit import Auditor
from headeraudit.rules import RulesError, default_rules_path, load_ruleset
from headeraudit.rules.loader import MAX_EXTENDS_DEPTH, MAX_RULES_BYTES

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def error_of(path: str) -> RulesError:
    with pytest.raises(RulesError) as info:
        load_ruleset(path)
    return info.value


def test_bundled_rules_load_and_root_copy_is_the_same_file():
    ruleset = load_ruleset()
    assert len(ruleset.rules) >= 40
    assert (REPO / "rules.yaml").read_bytes() == Path(default_rules_path()).read_bytes()
    assert len(ruleset.sha256) == 64


def test_default_rule_ids_are_the_documented_public_set():
    ids = {rule.id for rule in load_ruleset().rules}
    documented = {
        "hsts-missing", "hsts-invalid", "hsts-max-age-low", "hsts-no-subdomains", "hsts-on-http", "hsts-multiple",
        "csp-missing", "csp-report-only-only", "csp-invalid", "csp-unsafe-inline", "csp-unsafe-eval",
        "csp-broad-source", "csp-no-object-src", "csp-no-base-uri", "csp-http-source", "csp-no-script-src",
        "frame-protection-missing", "csp-frame-ancestors-broad", "xfo-invalid", "cookie-domain-rejected",
        "csp-allowlist-bypass", "csp-nonce-short", "csp-ip-source", "xcto-missing", "xcto-invalid", "referrer-policy-unsafe",
        "referrer-policy-invalid", "cookie-no-secure", "cookie-no-httponly", "cookie-samesite-missing",
        "cookie-samesite-none-insecure", "cookie-prefix-invalid", "cors-wildcard", "cors-origin-reflected-credentials",
        "cors-null-origin", "coop-invalid", "coep-invalid", "corp-invalid", "permissions-policy-missing",
        "feature-policy-deprecated", "xxss-enabled", "expect-ct-deprecated", "hpkp-deprecated",
        "server-version-disclosure", "tech-disclosure", "cache-sensitive-cacheable", "header-too-long",
    }
    assert ids == documented
    documentation = (REPO / "docs" / "rules.md").read_text()
    assert all(f"`{rule_id}`" in documentation for rule_id in ids), "every rule id is documented in docs/rules.md"


def test_every_default_rule_has_a_fix_except_csp_invalid_header_too_long_and_cookie_domain_rejected():
    """csp-invalid has no single right value: the fix is whatever csp-* fix replaces the policy;
    header-too-long says only that part of a header was judged, which no header value fixes;
    cookie-domain-rejected is a cookie the browser never stores: any fix would make the preview
    store a cookie the site cannot set."""
    missing = {r.id for r in load_ruleset().rules if r.fix is None}
    assert missing == {"csp-invalid", "header-too-long", "cookie-domain-rejected"}


def test_not_yaml_names_file_and_line(tmp_path):
    path = write(tmp_path, "rules:\n  - id: a\n    check: [present\n")
    err = error_of(path)
    assert err.file == path and err.line is not None and "invalid YAML" in str(err)
    assert str(err).startswith(f"{path}:")


def test_unknown_rule_key_names_line_and_rule(tmp_path):
    path = write(tmp_path, """\
        rules:
          - id: my-rule
            header: X-Test
            severity: low
            message: m
            chek: {present: true}
        """)
    err = error_of(path)
    assert (err.line, err.rule) == (6, "my-rule")
    assert "unknown key 'chek'" in str(err)


def test_bad_regex_names_rule_and_line(tmp_path):
    path = write(tmp_path, """\
        rules:
          - id: bad-regex
            header: Server
            severity: low
            message: m
            check: {matches: "(unclosed"}
        """)
    err = error_of(path)
    assert err.rule == "bad-regex" and err.line == 6 and "bad regular expression" in str(err)


def test_unknown_check_kind_lists_the_known_ones(tmp_path):
    path = write(tmp_path, """\
        rules:
          - id: odd
            header: Server
            severity: low
            message: m
            check: {contains_maybe: x}
        """)
    err = error_of(path)
    assert "unknown check kind 'contains_maybe'" in str(err) and "present" in str(err)


def test_unknown_severity(tmp_path):
    path = write(tmp_path, """\
        rules:
          - id: sev
            header: Server
            severity: urgent
            message: m
            check: {present: true}
        """)
    err = error_of(path)
    assert err.rule == "sev" and err.line == 4 and "unknown severity 'urgent'" in str(err)


def test_duplicate_id_points_at_both_definitions(tmp_path):
    path = write(tmp_path, """\
        rules:
          - id: twice
            header: A
            severity: low
            message: m
            check: {present: true}
          - id: twice
            header: B
            severity: low
            message: m
            check: {present: true}
        """)
    err = error_of(path)
    assert err.rule == "twice" and err.line == 7 and f"{path}:2" in str(err)


def test_id_clash_with_extended_default_suggests_override(tmp_path):
    path = write(tmp_path, """\
        extends: default
        rules:
          - id: hsts-missing
            header: Strict-Transport-Security
            severity: low
            message: m
            check: {present: true}
        """)
    err = error_of(path)
    assert err.rule == "hsts-missing" and "override" in str(err)


def test_duplicate_yaml_key_is_an_error(tmp_path):
    path = write(tmp_path, "rules: []\nrules: []\n")
    assert "duplicate key" in str(error_of(path))


def test_cookie_check_needs_cookie_target(tmp_path):
    path = write(tmp_path, """\
        rules:
          - id: c
            header: Set-Cookie
            severity: low
            message: m
            check: {cookie: {require_attributes: [secure]}}
        """)
    assert "target: cookie" in str(error_of(path))


def test_unknown_top_level_key(tmp_path):
    path = write(tmp_path, "rulez: []\n")
    err = error_of(path)
    assert err.line == 1 and "unknown top-level key 'rulez'" in str(err)


def test_missing_file_is_a_clear_error(tmp_path):
    err = error_of(str(tmp_path / "nope.yaml"))
    assert "cannot read rules file" in str(err)


def test_extends_loop_detected(tmp_path):
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    assert "loops back" in str(error_of(str(tmp_path / "a.yaml")))


ONE_RULE = """\
rules:
  - id: xcto-required
    header: X-Content-Type-Options
    severity: low
    message: nosniff is missing
    check: {present: true}
"""


def error_within(path: str, seconds: float = 10.0) -> RulesError:
    """error_of in a daemon thread: a FIFO's open() would block forever, so fail instead of hanging."""
    result: list[BaseException | None] = []

    def run() -> None:
        try:
            load_ruleset(path)
            result.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert result, f"load_ruleset({path!r}) still running after {seconds}s (blocked on the open or read?)"
    assert isinstance(result[0], RulesError), result[0]
    return result[0]


@pytest.mark.parametrize("how", ["rules file", "extends"])
def test_fifo_is_refused_without_opening_it(tmp_path, how):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    path = str(fifo) if how == "rules file" else write(tmp_path, "extends: pipe.yaml\n")
    err = error_within(path)
    assert err.file == str(fifo)
    assert str(err) == f"{fifo}: cannot read rules file: Is a FIFO (named pipe), not a regular file"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_extends_dev_zero_is_refused_without_reading_it(tmp_path):
    path = write(tmp_path, "extends: /dev/zero\n")
    err = error_within(path)
    assert err.file == "/dev/zero"
    assert str(err) == "/dev/zero: cannot read rules file: Is a character device, not a regular file"


def test_directory_is_refused_naming_it(tmp_path):
    (tmp_path / "base").mkdir()
    err = error_of(write(tmp_path, "extends: base\n"))
    assert err.file == str(tmp_path / "base")
    assert "Is a directory, not a regular file" in str(err)


def test_file_over_the_cap_is_refused_with_its_size_and_the_cap(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text(ONE_RULE + "#" * (MAX_RULES_BYTES - len(ONE_RULE)) + "\n")
    size = big.stat().st_size
    assert size == MAX_RULES_BYTES + 1
    err = error_of(str(big))
    assert err.file == str(big)
    assert f"rules file too large: {size} bytes; the limit is {MAX_RULES_BYTES} bytes (128 KiB)" in str(err)


def test_file_at_the_cap_loads(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(ONE_RULE + "#" * (MAX_RULES_BYTES - len(ONE_RULE) - 1) + "\n")
    assert path.stat().st_size == MAX_RULES_BYTES
    assert [r.id for r in load_ruleset(str(path)).rules] == ["xcto-required"]


def test_cap_is_for_the_whole_extends_chain(tmp_path):
    """Each file is under the cap, together they are over it: the file that crosses it is named."""
    base = tmp_path / "base.yaml"
    base.write_text(ONE_RULE + "#" * (MAX_RULES_BYTES // 2) + "\n")
    top = write(tmp_path, "extends: base.yaml\n" + "#" * (MAX_RULES_BYTES // 2) + "\n")
    err = error_of(top)
    assert err.file == str(base)
    top_size = os.path.getsize(top)
    assert (f"rules file too large: {base.stat().st_size} bytes, after {top_size} bytes in the files extending it; "
            f"the limit is {MAX_RULES_BYTES} bytes") in str(err)


def test_file_longer_than_its_stat_said_is_refused(tmp_path, monkeypatch):
    """A file growing between the stat and the read, or a /proc file (size 0, any content): at
    most cap + 1 bytes are read."""
    big = tmp_path / "big.yaml"
    big.write_text(ONE_RULE + "#" * (2 * MAX_RULES_BYTES) + "\n")
    real_stat, real_fstat = os.stat, os.fstat

    def shrunk(info: os.stat_result) -> os.stat_result:
        fields = list(info)
        fields[6] = 10  # st_size
        return os.stat_result(fields)


    def fake_stat(p, *args, **kwargs):
        info = real_stat(p, *args, **kwargs)
        return shrunk(info) if str(p) == str(big) else info

    monkeypatch.setattr(os, "stat", fake_stat)
    monkeypatch.setattr(os, "fstat", lambda fd: shrunk(real_fstat(fd)))
    err = error_of(str(big))
    assert err.file == str(big)
    assert f"rules file too large: more than {MAX_RULES_BYTES} bytes read" in str(err)


def test_extends_chain_length_is_bounded(tmp_path):
    for i in range(MAX_EXTENDS_DEPTH - 1):
        write(tmp_path, f"extends: {i + 1}.yaml\n", f"{i}.yaml")
    write(tmp_path, ONE_RULE, f"{MAX_EXTENDS_DEPTH - 1}.yaml")
    assert len(load_ruleset(str(tmp_path / "0.yaml")).files) == MAX_EXTENDS_DEPTH
    write(tmp_path, f"extends: {MAX_EXTENDS_DEPTH}.yaml\n", f"{MAX_EXTENDS_DEPTH - 1}.yaml")
    write(tmp_path, ONE_RULE, f"{MAX_EXTENDS_DEPTH}.yaml")
    err = error_of(str(tmp_path / "0.yaml"))
    assert err.file == str(tmp_path / f"{MAX_EXTENDS_DEPTH - 1}.yaml") and err.line == 1
    assert f"extends chain too long: at most {MAX_EXTENDS_DEPTH} files" in str(err)


def test_deeply_nested_yaml_is_a_rules_error(tmp_path):
    err = error_of(write(tmp_path, "rules: " + "[" * 5000 + "]" * 5000 + "\n"))
    assert "invalid YAML: nested too deeply" in str(err)


def test_seen_has_the_stat_of_every_file_tried_also_on_failure(tmp_path):
    """The watcher re-reads a failed chain only when one of these changes."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    top = write(tmp_path, "extends: pipe.yaml\n")
    seen: dict[str, os.stat_result] = {}
    with pytest.raises(RulesError):
        load_ruleset(top, seen=seen)
    assert set(seen) == {top, str(fifo)}
    assert seen[str(fifo)].st_ino == fifo.stat().st_ino


def test_filter_condition_needs_mitmproxy_compiler(tmp_path):
    path = write(tmp_path, """\
        rules:
          - id: f
            header: A
            severity: low
            message: m
            when: {filter: "~d example.com"}
            check: {present: true}
        """)
    assert "mitmproxy filter" in str(error_of(path))


def _found(auditor, headers, scheme="https", ctype="text/html", status=200, host="www.example.com"):
    return findings(auditor, [("Content-Type", ctype), *headers], scheme=scheme, status=status, host=host)


def test_extends_disable_and_override_threshold_without_copying(tmp_path):
    """A user's file changes one threshold, one severity and one condition; the rest is inherited."""
    path = write(tmp_path, """\
        extends: default
        disable: [permissions-policy-missing, xcto-missing]
        override:
          hsts-max-age-low:
            severity: medium
            check: {directives: {min: {max-age: 15552000}}}
          csp-missing:
            when: {host: "*.internal.example"}
        rules:
          - id: x-custom-required
            header: X-Custom
            severity: high
            message: X-Custom must be sent
            check: {present: true}
        """)
    ruleset = load_ruleset(path)
    ids = [r.id for r in ruleset.rules]
    assert "permissions-policy-missing" not in ids and "xcto-missing" not in ids
    assert ids[-1] == "x-custom-required"
    assert ruleset.files == (default_rules_path(), path)
    engine = Auditor(ruleset)
    # 200 days: below the default one year, above the overridden 180 days.
    found = {f.rule: f for f in _found(engine, [("Strict-Transport-Security", "max-age=17280000")])}
    assert "hsts-max-age-low" not in found
    found = {f.rule: f for f in _found(engine, [("Strict-Transport-Security", "max-age=86400")])}
    assert found["hsts-max-age-low"].severity == "medium"
    assert "csp-missing" not in found  # host condition now excludes www.example.com
    assert "csp-missing" in {f.rule for f in _found(engine, [], host="app.internal.example")}
    assert "x-custom-required" in found


def test_override_error_names_user_file_and_rule(tmp_path):
    path = write(tmp_path, """\
        extends: default
        override:
          hsts-max-age-low:
            check: {directives: {min: {max-age: -5}}}
        """)
    err = error_of(path)
    assert err.rule == "hsts-max-age-low" and "non-negative integer" in str(err) and f"overridden at {path}:3" in str(err)


def test_disable_unknown_rule_is_an_error(tmp_path):
    path = write(tmp_path, "extends: default\ndisable: [no-such-rule]\n")
    err = error_of(path)
    assert err.rule == "no-such-rule" and err.line == 2


def test_settings_session_cookie_pattern_is_overridable(tmp_path):
    path = write(tmp_path, """\
        extends: default
        settings: {session_cookie_pattern: "^appstate$"}
        """)
    engine = Auditor(load_ruleset(path))
    found = {f.rule for f in _found(engine, [("Set-Cookie", "appstate=1; Secure; SameSite=Lax")])}
    assert "cookie-no-httponly" in found
    found = {f.rule for f in _found(engine, [("Set-Cookie", "sessionid=1; Secure; SameSite=Lax")])}
    assert "cookie-no-httponly" not in found


@pytest.mark.parametrize(
    "check, message",
    [
        ("{valid: yaml}", "unknown grammar"),
        ("{valid: {grammar: structured-token}}", "needs 'allowed'"),
        ("{directives: {grammar: hsts}}", "at least one of"),
        ("{csp: {forbidden_sources: {script-src: [example.com]}}}", "not a keyword"),
        ("{present: false}", "takes the value true"),
        ("{present: true, absent: true}", "exactly one kind"),
        ("{equals: x, case_sensitive: maybe}", "true or false"),
        ("{tokens: {separator: ','}}", "contains or not_contains"),
        ("{referrer_policy: {forbidden: [leaky]}}", "unknown policy"),
        ("{cors_reflection: {min_origins: 0}}", ">= 1"),
        ("{present: true, missing_header: fail}", "applies to the directives and csp"),
    ],
)
def test_check_spec_errors_are_specific(tmp_path, check, message):
    path = write(tmp_path, f"""\
        rules:
          - id: r
            header: X
            severity: low
            message: m
            check: {check}
        """)
    err = error_of(path)
    assert err.rule == "r" and message in str(err)


@pytest.mark.parametrize(
    "when, message",
    [
        ("{scheme: ftp}", "http and/or https"),
        ("{status: [2xy]}", "not a status code"),
        ("{colour: red}", "unknown key 'colour'"),
        ("{document: yes-please}", "true or false"),
    ],
)
def test_condition_errors_are_specific(tmp_path, when, message):
    path = write(tmp_path, f"""\
        rules:
          - id: r
            header: X
            severity: low
            message: m
            when: {when}
            check: {{present: true}}
        """)
    assert message in str(error_of(path))


@pytest.mark.parametrize(
    "fix, message",
    [
        ("{set: a, remove: true}", "exactly one of"),
        ("{cookie_attributes: [HttpOnly]}", "only applies to target: cookie"),
        ("{set: x, colour: red}", "unknown key 'colour'"),
        ("{remove: true, hosts: {a: b}}", "only applies with set"),
    ],
)
def test_fix_errors_are_specific(tmp_path, fix, message):
    path = write(tmp_path, f"""\
        rules:
          - id: r
            header: X
            severity: low
            message: m
            check: {{present: true}}
            fix: {fix}
        """)
    assert message in str(error_of(path))
