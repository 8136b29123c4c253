"""Fix mode, as a browser sees it: headless Chromium through a real mitmdump (reverse mode)
in front of a local test site.

Each scenario runs in fix mode (the fix must show in the browser) and in audit mode (the
same page through the same proxy, unchanged: proves the test can see the effect at all).
Pages are in pages/; scripts the assertions depend on are external same-origin files, which
the injected CSP ('self') allows, so only the inline script under test is ever blocked.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest
from browser_harness import Browser, origin, serve_pages, start_reverse_proxy, trust_flag
from e2e_harness import MitmDumpFactory, Upstream, load_report, load_schema, read_flows

pytestmark = [pytest.mark.browser, pytest.mark.e2e]  # e2e too: it starts mitmdump and local servers

MODES = ("fix", "audit")
CSP_REPORT_PATH = "/.well-known/headeraudit/csp-report"
NO_MESSAGE_WAIT = 2.0  # after a refused frame's load event: time a framed page would have had to post
REPORT_WAIT = 10.0  # the browser sends its CSP report asynchronously (it took ~10 ms here)

BrowserFactory = Callable[..., Browser]


# --------------------------------------------------------------------------- 1. CSP vs inline script


@pytest.mark.parametrize("mode", MODES)
def test_injected_csp_blocks_inline_script(mode: str, site: Upstream, mitmdump: MitmDumpFactory,
                                           browser: BrowserFactory) -> None:
    serve_pages(site, "inline.html", "ext.js")
    proxy = start_reverse_proxy(mitmdump, site, f"headeraudit_mode={mode}")
    b = browser()

    b.open(origin(proxy.port) + "/inline.html")
    # ext.js comes after the inline script: once it has run, the inline one ran or was refused.
    b.wait_text("ext", "external-ran")
    if mode == "fix":
        assert b.text("r") == "inline-did-not-run", b.describe()
        console = "\n".join(b.console())
        assert "Content Security Policy" in console, f"no CSP violation in the console:\n{console}"
    else:
        assert b.text("r") == "inline-ran", b.describe()


# --------------------------------------------------------------------------- 2. framing


@pytest.mark.parametrize("mode", MODES)
def test_injected_frame_protection_stops_framing(mode: str, site: Upstream, other_site: Upstream,
                                                 mitmdump: MitmDumpFactory, browser: BrowserFactory) -> None:
    serve_pages(site, "framed.html", "framed.js")
    serve_pages(other_site, "parent.html", "parent.js", "framed.html", "framed.js")
    proxy = start_reverse_proxy(mitmdump, site, f"headeraudit_mode={mode}")
    target = origin(proxy.port) + "/framed.html"
    b = browser()

    def log() -> list[str]:
        items = b.driver.execute_script(
            "return Array.from(document.querySelectorAll('#log li')).map(function (li) { return li.textContent; });")
        return list(items or [])

    from_target = f"message:framed-loaded@{origin(proxy.port)}"
    from_control = f"message:framed-loaded@{other_site.origin}"
    b.open(other_site.url("/parent.html?target=" + urllib.parse.quote(target, safe="")))
    # The control frame (same origin as the parent) proves the page and its listener work.
    b.wait_until("the control frame's message", lambda: from_control in log())
    if mode == "audit":
        b.wait_until("the framed page's message", lambda: from_target in log())
        return
    b.wait_until("the target frame's load event", lambda: "load:target" in log())
    deadline = time.monotonic() + NO_MESSAGE_WAIT
    while time.monotonic() < deadline:
        assert from_target not in log(), f"the fixed page was framed by another origin: {log()}"
        time.sleep(0.1)
    console = "\n".join(b.console())
    # Chromium names what refused the frame (CSP frame-ancestors wins over X-Frame-Options).
    assert "frame-ancestors" in console or "X-Frame-Options" in console, f"no framing refusal in the console:\n{console}"
    # Not because framed.js fails under the injected CSP: loaded on its own, it runs.
    b.open(target)
    b.wait_text("s", "framed-script-ran")


# --------------------------------------------------------------------------- 3. CSP report-only preview


@pytest.mark.parametrize("scheme", ("http", "https"))
def test_csp_report_only_preview_collects_browser_reports(scheme: str, site: Upstream, mitmdump: MitmDumpFactory,
                                                          browser: BrowserFactory, tmp_path: Path) -> None:
    """http: the brief's case. https (client side; mitmdump's CA trusted by SPKI): Chromium
    honours Reporting-Endpoints only on secure responses, so both delivery paths are covered."""
    serve_pages(site, "inline.html", "ext.js")
    report_path = tmp_path / "report.json"
    proxy = start_reverse_proxy(mitmdump, site, "headeraudit_mode=fix", "headeraudit_csp_preview=report-only",
                                f"headeraudit_report={report_path}")
    b = browser(trust_flag(proxy)) if scheme == "https" else browser()

    page_url = origin(proxy.port, scheme) + "/inline.html"
    b.open(page_url)
    b.wait_text("ext", "external-ran")
    assert b.text("r") == "inline-ran", f"report-only must not block anything\n{b.describe()}"

    try:
        line = proxy.wait_for(r"headeraudit CSP report.*", timeout=REPORT_WAIT).group(0)
    except AssertionError as exc:
        console = "\n".join(b.console())
        raise AssertionError(f"{exc}\nbrowser console:\n{console}") from None
    assert "script-src" in line and "inline" in line, line
    b.quit()
    assert proxy.stop() == 0, proxy.output

    report = load_report(report_path, load_schema())
    reports = report["csp_reports"]
    inline = [r for r in reports if r["directive"] in ("script-src-elem", "script-src") and r["blocked_uri"] == "inline"]
    assert inline, f"no inline-script violation in csp_reports: {reports}"
    entry = inline[0]
    assert set(entry) == {"host", "document_uri", "directive", "blocked_uri", "sample", "disposition", "count"}, entry
    assert entry["host"] == f"127.0.0.1:{site.port}", entry  # reverse mode: the upstream site, as its findings
    assert entry["document_uri"] == page_url, entry
    assert entry["disposition"] == "report", entry
    assert entry["count"] >= 1, entry
    # 'report-sample' in the preview: the report says which inline script it was (CSP3 §5.3)
    assert entry["sample"].startswith("document.getElementById"), entry
    # Answered by the addon itself: the site never sees its report endpoint.
    assert not [r.path for r in site.requests if r.path.startswith(CSP_REPORT_PATH)], [r.path for r in site.requests]


# --------------------------------------------------------------------------- 4. headers the browser received


@pytest.mark.parametrize("mode", MODES)
def test_removed_and_hardened_headers_reach_the_browser(mode: str, site: Upstream, mitmdump: MitmDumpFactory,
                                                        browser: BrowserFactory, tmp_path: Path) -> None:
    serve_pages(site, "headers.html", "headers.js", extra_headers={"headers.html": [
        ("X-Powered-By", "PHP/8.1"),
        ("X-Test-Marker", "present"),  # untouched by the addon: proves the page can read headers
        ("Set-Cookie", "sessionid=s3cr3t; Path=/"),
        ("Set-Cookie", "theme=dark; Path=/"),  # not a session cookie: stays readable by scripts
    ]})
    flows_path = tmp_path / "flows.mitm"  # the flows with the addon's comments, for the cross-check below
    proxy = start_reverse_proxy(mitmdump, site, f"headeraudit_mode={mode}", extra_args=("-w", flows_path))
    b = browser()

    b.open(origin(proxy.port) + "/headers.html")
    b.wait_text("status", "done")
    assert b.text("marker") == "present", b.describe()
    cookie = b.text("cookie") or ""
    jar = b.cookies()
    assert "sessionid" in jar, f"the browser did not store the session cookie: {jar}"
    assert "theme=dark" in cookie, b.describe()
    if mode == "fix":
        assert b.text("xpb") == "null", b.describe()
        assert "sessionid" not in cookie, b.describe()
        assert jar["sessionid"]["httpOnly"] is True, jar["sessionid"]
        assert jar["sessionid"].get("sameSite") == "Lax", jar["sessionid"]
        assert jar["sessionid"].get("secure") is False, "Secure must not be added over plain http"
    else:
        assert b.text("xpb") == "PHP/8.1", b.describe()
        assert "sessionid=s3cr3t" in cookie, b.describe()
        assert jar["sessionid"]["httpOnly"] is False, jar["sessionid"]

    # What the proxy says it did, for the page the browser loaded.
    b.quit()
    assert proxy.stop() == 0, proxy.output
    pages = [f for f in read_flows(flows_path) if f.request.path == "/headers.html"]
    assert pages, proxy.output
    fixed = [line for f in pages for line in f.comment.splitlines() if line.startswith("headeraudit fixed: ")]
    if mode == "fix":
        assert len(fixed) == len(pages), [f.comment for f in pages]
        assert "-X-Powered-By" in fixed[0], fixed[0]
        assert "~Set-Cookie sessionid" in fixed[0] and "+HttpOnly" in fixed[0], fixed[0]
    else:
        assert not fixed, [f.comment for f in pages]


# --------------------------------------------------------------------------- 4. Permissions-Policy


def test_injected_permissions_policy_names_only_features_chromium_recognises(
    site: Upstream, mitmdump: MitmDumpFactory, browser: BrowserFactory
) -> None:
    """Chromium logs "Error with Permissions-Policy header: Unrecognized feature" on every page
    for a feature it does not know (interest-cohort, FLoC's, was removed): a preview must not."""
    serve_pages(site, "inline.html", "ext.js")
    proxy = start_reverse_proxy(mitmdump, site, "headeraudit_mode=fix")
    b = browser()
    b.open(origin(proxy.port) + "/inline.html")
    b.wait_text("ext", "external-ran")
    console = "\n".join(b.console())
    assert "Permissions-Policy" not in console, console
    b.quit()
    assert proxy.stop() == 0, proxy.output
