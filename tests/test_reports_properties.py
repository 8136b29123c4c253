"""Every renderer, on reports whose strings are arbitrary text (surrogates included)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from importlib import resources

import jsonschema
import pytest
from headeraudit.model import SEVERITIES
from headeraudit.report import RENDERERS, render_csp_rules, renderer_for
from headeraudit.report._common import is_web_url, printable
from headeraudit.report.html import render_html
from headeraudit.report.json_report import render_json
from headeraudit.report.junit import render_junit
from headeraudit.report.markdown import render_markdown
from headeraudit.report.sarif import render_sarif
from headeraudit.report.summary import render_summary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SCHEMA = json.loads(resources.files("headeraudit.report").joinpath("sarif-schema-2.1.0.json").read_text("utf-8"))
SARIF = jsonschema.Draft7Validator(SCHEMA)

# st.text() leaves out surrogates; report strings may hold them (surrogateescape'd bytes).
CHARS = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from("<>\"'&|`[]\x1b\r\n\t\u202e"))
TEXT = st.text(CHARS, max_size=12)
SEVERITY = st.one_of(st.sampled_from(SEVERITIES), TEXT)
COUNT = st.integers(min_value=0, max_value=10**6)
URL = st.one_of(TEXT, TEXT.map(lambda t: "https://" + t), st.just("javascript:alert(1)"))
BY_SEVERITY = st.dictionaries(st.sampled_from(SEVERITIES), COUNT)

RULE = st.fixed_dictionaries({
    "id": TEXT, "severity": SEVERITY, "message": TEXT, "headers": st.lists(TEXT, max_size=2), "target": TEXT,
    "references": st.lists(URL, max_size=2), "source": TEXT,
    "fix": st.one_of(st.none(), st.fixed_dictionaries({}, optional={
        "header": TEXT, "set": TEXT, "remove": st.booleans(), "cookie_attributes": st.lists(TEXT, max_size=2),
        "hosts": st.dictionaries(TEXT, TEXT, max_size=2), "opt_in": st.booleans()})),
})
FINDING = st.fixed_dictionaries({
    "rule": TEXT, "severity": SEVERITY, "header": TEXT, "message": TEXT, "evidence": TEXT, "host": TEXT,
    "count": COUNT, "first_seen": TEXT, "last_seen": TEXT, "examples": st.lists(URL, max_size=3),
})
TEST = st.fixed_dictionaries({
    "test": TEXT, "result": TEXT, "modifier": st.integers(-100, 100), "pass": st.booleans(), "observed": st.booleans(),
    "description": TEXT,
})
GRADE = st.one_of(st.sampled_from(["A+", "A", "B-", "C+", "D", "F"]), TEXT)
HOST_GRADE = st.fixed_dictionaries({
    "host": TEXT, "responses": COUNT, "score": st.integers(0, 135), "grade": GRADE, "tests": st.lists(TEST, max_size=2),
    "after_fix": st.one_of(st.none(), st.fixed_dictionaries({
        "score": st.integers(0, 135), "grade": GRADE, "tests": st.lists(TEST, max_size=2)})),
})
HEADERS = st.lists(st.tuples(TEXT, TEXT).map(list), max_size=4)
REPORT = st.fixed_dictionaries(
    {
        "schema": TEXT, "tool": st.just("headeraudit"), "version": TEXT, "generated": TEXT,
        "mode": st.one_of(st.sampled_from(["audit", "fix"]), TEXT),
        "ruleset": st.fixed_dictionaries({"path": TEXT, "sha256": TEXT, "rules": COUNT}),
        "rules": st.lists(RULE, max_size=4),
        "summary": st.fixed_dictionaries({
            "flows_audited": COUNT, "findings": COUNT, "occurrences": COUNT, "by_severity": BY_SEVERITY, "dropped": COUNT}),
        "findings": st.lists(FINDING, max_size=6),
        "hosts": st.lists(st.fixed_dictionaries({"host": TEXT, "flows": COUNT, "by_severity": BY_SEVERITY}), max_size=4),
        "fixes": st.lists(st.fixed_dictionaries({
            "host": TEXT, "edit": TEXT, "rule": TEXT, "applied": st.booleans(), "flows": COUNT}), max_size=3),
        "csp_reports": st.lists(st.fixed_dictionaries({
            "host": TEXT, "document_uri": URL, "directive": TEXT, "blocked_uri": TEXT, "sample": TEXT,
            "disposition": TEXT, "count": COUNT}), max_size=2),
    },
    optional={
        "grades": st.fixed_dictionaries({
            "method": TEXT,
            "overall": st.fixed_dictionaries({"score": st.integers(0, 135), "grade": GRADE, "hosts": COUNT}),
            "hosts": st.lists(HOST_GRADE, max_size=3),
        }),
        "fix_previews": st.lists(st.fixed_dictionaries({
            "host": TEXT, "url": URL, "applied": st.booleans(), "before": HEADERS, "after": HEADERS}), max_size=2),
    },
)


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(report=REPORT, gate=st.one_of(st.none(), st.lists(TEXT, max_size=3)))
def test_every_renderer_survives_arbitrary_text(report, gate):
    json.loads(render_json(report).decode("utf-8"))

    html = render_html(report, refresh_seconds=5)
    assert isinstance(html, bytes)
    parser = Elements()
    parser.feed(html.decode("utf-8"))
    parser.close()
    assert not [tag for tag, _ in parser.tags if tag in ("script", "img", "iframe", "object", "embed", "svg")]
    assert not [name for _, attrs in parser.tags for name in attrs if name.startswith("on")]
    assert all(is_web_url(attrs["href"]) for tag, attrs in parser.tags if tag == "a")

    SARIF.validate(json.loads(render_sarif(report).decode("utf-8")))

    root = ET.fromstring(render_junit(report))
    assert int(root.get("failures")) == sum(int(suite.get("failures")) for suite in root.findall("testsuite"))

    markdown = render_markdown(report).decode("utf-8")
    assert len(markdown.splitlines()) <= 60

    summary = render_summary(report, gate)
    assert len(summary.splitlines()) <= 25
    assert all(line.isprintable() and len(line) <= 160 for line in summary.splitlines())


@given(text=st.text(CHARS))
def test_printable_output_is_printable_and_keeps_printable_input(text):
    out = printable(text)
    assert out.isprintable()
    out.encode("utf-8")  # no lone surrogate left
    if text.isprintable():
        assert out == text


def test_printable_escapes_invisible_characters_and_keeps_visible_unicode():
    assert printable("a\tb\nc\x1b[0m") == "a\\tb\\nc\\x1b[0m"
    assert printable("soft\xadhyphen zero\u200bwidth nb\xa0sp") == "soft\\xadhyphen zero\\u200bwidth nb\\xa0sp"
    assert printable("\udcff") == "\\udcff"
    assert printable("ünïcode \U0001f600 \u4e2d") == "ünïcode \U0001f600 \u4e2d"
    assert printable(None) == "" and printable(42) == "42"


@pytest.mark.parametrize(
    ("url", "is_link"),
    [("https://example.com/a?b#c", True), ("HTTP://EXAMPLE.COM/", True), ("javascript:alert(1)", False),
     ("java\tscript:alert(1)", False), (" https://example.com/", False), ("//example.com/", False),
     ("https:///no-host", False), ("data:text/html,x", False), ("https://exa mple.com/", False), ("https://[::1", False)],
)
def test_is_web_url(url, is_link):
    assert is_web_url(url) is is_link


def test_renderers_by_extension():
    assert RENDERERS == {".json": render_json, ".html": render_html, ".sarif": render_sarif, ".xml": render_junit,
                         ".md": render_markdown, ".yaml": render_csp_rules}
    assert renderer_for("out/report.SARIF") is render_sarif
    assert renderer_for("report.sarif.json") is render_json
    with pytest.raises(ValueError, match=r"'\.txt'.*\.json, \.html, \.sarif, \.xml, \.md, \.yaml"):
        renderer_for("report.txt")
    with pytest.raises(ValueError, match="no extension"):
        renderer_for("report")


def test_report_package_imports_without_mitmproxy():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['mitmproxy'] = None\n"
        "import headeraudit.report as r; print(sorted(r.RENDERERS))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['.html', '.json', '.md', '.sarif', '.xml', '.yaml']"


def test_the_yaml_report_is_the_rules_file_printable_and_exact():
    """The learned proposals' rules file: hostile hosts and sources stay data (YAML escapes, in
    printable ASCII), and read back they are exactly what was learned."""
    import yaml

    from report_fixtures import FORBIDDEN_RAW, hostile, sample

    report = hostile()
    text = render_csp_rules(report).decode("ascii")
    for char in FORBIDDEN_RAW:
        assert char not in text
    (entry,) = report["csp_proposals"]["hosts"]
    loaded = yaml.safe_load(text)
    value = loaded["override"]["csp-missing"]["fix"]["hosts"][entry["host"]]
    assert value == entry["policy"] + "; report-uri /.well-known/headeraudit/csp-report"
    assert b"no Content-Security-Policy was learned" in render_csp_rules(sample("audit"))
