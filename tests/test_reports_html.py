"""The HTML report: content of each section, and that hostile report data stays text."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from headeraudit.report._common import header_diff
from headeraudit.report.html import _CSS, PAGE_CSP, render_html
from report_fixtures import (
    ATTRIBUTE_BREAK,
    FORBIDDEN_RAW,
    JS_URL,
    SCRIPT,
    hostile,
    sample,
    without_optional,
)

# Everything the renderer itself emits; anything else came from the data.
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "footer", "section", "h1", "h2", "h3", "dl", "dt",
    "dd", "p", "small", "strong", "span", "code", "table", "thead", "tbody", "tr", "th", "td", "details", "summary",
    "ul", "li", "a", "br", "pre",
}
ALLOWED_ATTRIBUTES = {"lang", "charset", "http-equiv", "content", "name", "class", "href", "rel", "title", "open", "id", "colspan"}


class Page(HTMLParser):
    """The parsed page: elements with their attributes, and the text by element."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style: list[str] = []
        self._stack: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag not in ("meta", "br"):
            self._stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        (self.style if self._stack and self._stack[-1] == "style" else self.text).append(data)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def parse(report: dict, **kwargs) -> tuple[str, Page]:
    html = render_html(report, **kwargs).decode("utf-8")  # strict: must be valid UTF-8
    return html, Page(html)


def assert_inert(page: Page) -> None:
    """No element or attribute the renderer does not write itself; links only to http(s)."""
    for tag, attrs in page.elements:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs.items():
            assert name in ALLOWED_ATTRIBUTES, (tag, name)
            assert not name.startswith("on"), (tag, name)
            if name == "href":
                assert urlsplit(value or "").scheme in ("http", "https"), value
                assert value == value.strip() and "\t" not in value, value
            if name == "class":
                assert all(c.replace("-", "").isalnum() for c in (value or "").split()), value
    assert not page.tags("script") and not page.tags("img") and not page.tags("iframe")


@pytest.mark.parametrize("name", ["audit", "fix"])
def test_sample_page_is_one_inert_document(name):
    html, page = parse(sample(name))
    assert html.startswith("<!DOCTYPE html>")
    assert_inert(page)
    assert len(page.tags("html")) == 1 and len(page.tags("body")) == 1
    assert "".join(page.style) == _CSS


def test_page_loads_nothing_external_and_carries_its_own_csp():
    _html, page = parse(sample("fix"))
    metas = {m.get("http-equiv"): m.get("content") for m in page.tags("meta") if m.get("http-equiv")}
    assert metas["Content-Security-Policy"] == PAGE_CSP
    assert PAGE_CSP.startswith("default-src 'none'")
    assert {m.get("content") for m in page.tags("meta") if m.get("name") == "referrer"} == {"no-referrer"}
    assert not page.tags("link") and not page.tags("img")
    assert "url(" not in _CSS and "@import" not in _CSS


def test_refresh_meta_only_when_asked():
    _, page = parse(sample("audit"), refresh_seconds=7)
    assert [m["content"] for m in page.tags("meta") if m.get("http-equiv") == "refresh"] == ["7"]
    _, page = parse(sample("audit"))
    assert not [m for m in page.tags("meta") if m.get("http-equiv") == "refresh"]


def test_header_shows_run_facts_and_counts_by_severity():
    report = sample("audit")
    report["summary"]["dropped"] = 4
    _, page = parse(report)
    text = page.all_text
    assert report["generated"] in text and report["ruleset"]["sha256"] in text and report["ruleset"]["path"] in text
    assert "flows audited33" in text.replace("\n", "")
    assert "45 distinct, 111 occurrences" in text
    assert "high 5" in text and "medium 15" in text and "low 21" in text
    assert "4 occurrences not recorded" in text  # summary.dropped counts occurrences


def test_dropped_line_absent_when_nothing_dropped():
    _, page = parse(sample("audit"))
    assert "not kept" not in page.all_text


def test_overall_grade_badge_coloured_by_letter():
    html, page = parse(sample("audit"))
    assert '<span class="badge g-c big" title="score 62">C+</span>' in html
    assert "MDN HTTP Observatory" in page.all_text


def test_fix_mode_overall_grade_before_and_after_and_worst_host():
    html, _ = parse(sample("fix"))
    overall = html.split('<p id="overall">')[1].split("</p>")[0]
    assert '<span class="badge g-c big" title="score 62">C+</span> score 62 → after fixes' in overall
    assert '<span class="badge g-a big" title="score 97">A+</span> score 97' in overall
    assert 'worst <span class="mono">legacy.example.org</span>' in overall


def test_no_overall_grade_when_no_host_could_be_graded():
    report = sample("audit")
    report["grades"] = {"method": "m", "overall": {"score": None, "grade": None, "hosts": 0, "worst_host": None,
                                                  "after_fix": None}, "hosts": []}
    html, page = parse(report)
    assert 'id="overall"' not in html and 'id="grades"' not in html
    assert_inert(page)


def test_hosts_table_has_one_row_per_host_with_grade_badge_and_counts():
    report = sample("audit")
    html, _page = parse(report)
    section = html.split('<section id="hosts">')[1].split("</section>")[0]
    rows = section.count("<tr>") - 1
    assert rows == len(report["hosts"])
    assert '<span class="badge g-f" title="score 20">F</span>' in section  # legacy.example.org
    assert '<span class="badge g-a" title="score 95">A</span>' in section
    assert "after fixes" not in section  # audit mode
    # worst grade first
    assert section.index("legacy.example.org") < section.index("shop.example.net") < section.index("cdn.example.net")


def test_fix_mode_hosts_table_shows_grade_before_and_after():
    html, _ = parse(sample("fix"))
    section = html.split('<section id="hosts">')[1].split("</section>")[0]
    assert "after fixes" in section
    assert '<span class="badge g-c" title="score 45">C-</span> → <span class="badge g-a" title="score 100">A+</span>' in section


def test_report_without_grades_or_previews_renders_without_those_sections():
    html, page = parse(without_optional(sample("fix")))
    assert_inert(page)
    assert 'id="overall"' not in html and 'id="grades"' not in html and 'id="previews"' not in html
    assert "<th>grade</th>" not in html
    assert 'id="fixes"' in html  # fixes are part of the base report


def test_findings_grouped_by_rule_with_totals_rows_and_fix():
    report = sample("audit")
    html, _page = parse(report)
    rule_ids = {f["rule"] for f in report["findings"]}
    assert html.count('<details class="rule" open>') == len(rule_ids)
    block = html.split("<code>cache-sensitive-cacheable</code>")[1].split("</details>")[0]
    assert "6 occurrences on 3 hosts" in block
    assert block.count('<td class="mono">') == 2 * 3  # host and evidence per host row
    assert "set Cache-Control: no-store, max-age=0" in block
    assert 'href="https://owasp.org/www-project-secure-headers/#cache-control"' in block
    # worst severity first: the high rules come before every medium one
    assert html.index("<code>csp-unsafe-inline</code>") < html.index("<code>cache-sensitive-cacheable</code>")


def test_example_urls_are_links_with_noreferrer():
    _, page = parse(sample("audit"))
    links = page.tags("a")
    assert {"href": "https://shop.example.net/products/42", "rel": "noopener noreferrer nofollow"} in links


def test_grades_section_lists_observatory_tests_per_host():
    html, _page = parse(sample("fix"))
    section = html.split('<section id="grades">')[1].split("</section>")[0]
    assert section.count("<details") == 5
    assert "csp-implemented-with-unsafe-inline" in section
    assert "fail" in section and "pass (not observed)" in section
    assert "after fixes:" in section


def test_fix_mode_lists_edits_per_host_and_header_diffs():
    report = sample("fix")
    html, _ = parse(report)
    fixes = html.split('<section id="fixes">')[1].split("</section>")[0]
    assert fixes.count("<h3") == len({f["host"] for f in report["fixes"]})
    assert "~Set-Cookie PHPSESSID +HttpOnly +SameSite=Lax" in fixes
    assert "would apply (saved traffic)" in fixes
    previews = html.split('<section id="previews">')[1].split("</section>")[0]
    assert previews.count('<pre class="diff">') == len(report["fix_previews"])
    assert '<span class="ln del">- X-Powered-By: PHP/8.1</span>' in previews
    assert '<span class="ln add">+ X-Content-Type-Options: nosniff</span>' in previews
    assert "<span class=\"ln chg\">~ Set-Cookie: session=abc; Secure; HttpOnly    (was: session=abc; Secure)</span>" in previews
    assert '<span class="ln">  Content-Type: text/html</span>' in previews


def test_csp_reports_table():
    html, _ = parse(sample("fix"))
    section = html.split('<section id="csp-reports">')[1].split("</section>")[0]
    assert section.count("<tr>") == 2
    assert "script-src-elem" in section and "alert(document.domain)" in section
    html, _ = parse(sample("audit"))
    assert 'id="csp-reports"' not in html


def test_header_diff_marks_kept_changed_removed_and_added_lines():
    before = [["Content-Type", "text/html"], ["Server", "nginx"], ["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"]]
    after = [["content-type", "text/html"], ["Set-Cookie", "a=1"], ["Set-Cookie", "b=2; HttpOnly"], ["X-Frame-Options", "DENY"]]
    lines = [(line.mark, line.name, line.value, line.old_value) for line in header_diff(before, after)]
    assert lines == [
        (" ", "Content-Type", "text/html", None),
        ("-", "Server", "nginx", None),
        (" ", "Set-Cookie", "a=1", None),
        ("~", "Set-Cookie", "b=2; HttpOnly", "b=2"),
        ("+", "X-Frame-Options", "DENY", None),
    ]


def test_header_diff_ignores_malformed_entries():
    assert header_diff([["A", "1"], "junk", ["only-name"], None], None) == header_diff([["A", "1"]], [])


# --- hostile data -------------------------------------------------------------------------


def test_hostile_report_creates_no_element_or_attribute():
    html, page = parse(hostile(), refresh_seconds=3)
    assert_inert(page)
    assert "<script>" not in html and '"><img' not in html and "<img" not in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_hostile_values_are_shown_as_text():
    _, page = parse(hostile())
    text = page.all_text
    assert SCRIPT in text
    assert ATTRIBUTE_BREAK in text
    assert "&lt;script&gt;" in text  # an entity in the data is shown as written, not decoded


def test_javascript_urls_are_never_links():
    _html, page = parse(hostile())
    hrefs = [a["href"] for a in page.tags("a")]
    assert hrefs and all(urlsplit(h).scheme in ("http", "https") for h in hrefs)
    assert JS_URL in page.all_text
    assert not any("javascript" in h.lower() or h.startswith("//") for h in hrefs)


def test_hostile_http_url_link_keeps_its_quotes_escaped():
    html, page = parse(hostile())
    assert 'href="https://ok.example/&quot;onmouseover=&quot;alert(1)"' in html
    assert {"href": 'https://ok.example/"onmouseover="alert(1)', "rel": "noopener noreferrer nofollow"} in page.tags("a")


def test_control_characters_bidi_and_surrogates_are_escaped_visibly():
    html, page = parse(hostile())
    for raw in FORBIDDEN_RAW:
        assert raw not in html, repr(raw)
    text = page.all_text
    assert "\\x1b[31mRED" in text
    assert "\\udcff\\udc80" in text and "\\ud800" in text
    assert "\\u202e" in text
    assert "\U0001f600" in text  # non-BMP text is kept as is


def test_hostile_grade_and_severity_do_not_pick_css_classes():
    html, page = parse(hostile())
    classes = {c for _, attrs in page.elements for c in (attrs.get("class") or "").split()}
    allowed = {"meta", "ln", "badge", "big", "g-a", "g-b", "g-c", "g-d", "g-f", "mono", "zero", "warn", "rule", "n", "diff", "add",
               "del", "chg", "pass", "fail", "sev-critical", "sev-high", "sev-medium", "sev-low", "sev-info"}
    assert classes <= allowed
    report = sample("audit")
    report["findings"][0].update(rule="made-up-rule", severity="<b>critical</b>")
    html, _ = parse(report)
    assert '<span class="badge ">&lt;b&gt;critical&lt;/b&gt;</span>' in html


def test_learned_csp_proposals_section():
    from report_fixtures import hostile

    report = hostile()
    page = render_html(report).decode()
    assert '<section id="csp-proposals">' in page and "Learned Content-Security-Policies" in page
    assert "Finding on the proposal" in page and "Not allowed by the proposal" in page
    assert '<section id="csp-proposals">' not in render_html(sample("audit")).decode()  # nothing learned: no section
