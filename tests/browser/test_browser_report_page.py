"""The live report page, http://headeraudit.proxy/, in headless Chromium using mitmdump as
its proxy (regular mode): answered by the addon, never forwarded upstream, and it renders
the findings of what the browser loaded before.

Chromium sends loopback requests directly unless told otherwise (`<-loopback>`), and the
report host resolves nowhere: only the proxy can answer it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from browser_harness import ADDON_SCRIPT, Browser, origin, serve_pages
from e2e_harness import MitmDumpFactory, Upstream, read_flows

BrowserFactory = Callable[..., Browser]
pytestmark = [pytest.mark.browser, pytest.mark.e2e]  # e2e too: it starts mitmdump and local servers

HOSTILE = '"><script>document.title="pwned"</script><img src=x onerror=alert(1)>'


def test_live_report_page_renders_findings_in_the_browser(site: Upstream, mitmdump: MitmDumpFactory,
                                                          browser: BrowserFactory, tmp_path: Path) -> None:
    serve_pages(site, "inline.html", extra_headers={"inline.html": [("X-Powered-By", HOSTILE), ("Server", "Apache/2.4.1")]})
    flows_path = tmp_path / "flows.mitm"
    proxy = mitmdump.start("-s", str(ADDON_SCRIPT), "-w", flows_path)
    b = browser(f"--proxy-server=http://127.0.0.1:{proxy.port}", "--proxy-bypass-list=<-loopback>")

    b.open(origin(site.port) + "/inline.html")  # through the proxy: audited
    b.open("http://headeraudit.proxy/")
    b.wait_until("the report page", lambda: b.driver.execute_script("return document.getElementById('findings') !== null"))
    text = b.driver.execute_script("return document.body.textContent")
    assert "csp-missing" in text and "tech-disclosure" in text, text[:2000]
    assert "127.0.0.1" in text, text[:2000]
    # The hostile header value is shown as text, never run or parsed as markup.
    assert '<script>document.title="pwned"</script>' in text, "the hostile value should show as text"
    assert b.driver.execute_script("return document.querySelectorAll('script, img[onerror]').length") == 0
    assert "pwned" not in b.driver.title
    assert b.driver.execute_script("return document.title").startswith("headeraudit")
    b.quit()

    assert proxy.stop() == 0, proxy.output
    # Never forwarded upstream: the site saw only its own page, and the report flow is ours.
    paths = [r.path for r in site.requests]
    assert "/inline.html" in paths and "/" not in paths, paths
    assert all(r.header("Host").startswith("127.0.0.1:") for r in site.requests), site.requests
    report_flows = [f for f in read_flows(flows_path) if f.request.host == "headeraudit.proxy"]
    assert report_flows and all(f.response.status_code == 200 for f in report_flows)
    assert all("headeraudit" not in f.metadata for f in report_flows), "the report page itself must not be audited"
