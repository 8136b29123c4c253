"""CSP learning, closed-loop, in a real browser: learn, enforce, prove nothing breaks and that
what was never seen is blocked; then the same proposal from a HAR of the same browsing.

The site is one local server answering five host names (site.test, cdn.test, api.test,
frame.test, evil.test) on one port. Chromium browses it through mitmdump as its proxy (a
proxied browser never resolves the names itself; resolve_test_hosts.py maps them where
mitmdump connects). The document has scripts from itself and from the CDN, two inline scripts,
an inline style, a style attribute, an event handler, images (its own, the CDN's, data:), a
web font, a style sheet from the CDN that loads an image of its own, a fetch() to the API
origin, a web worker, an iframe from frame.test and a form posting to itself.

1. learning: mitmdump in audit mode learns site.test and frame.test; the HAR of the browsing
   is saved (hardump); the .yaml report is the rules file enforcing the proposals;
2. enforcing: fix mode with that rules file: every DOM marker appears, the browser raises no
   securitypolicyviolation event, logs no CSP error and sends no report; on a page changed
   after learning, a script from an origin never seen and an inline script whose text changed
   are blocked (their markers stay unset) while the rest still runs;
3. offline: `headeraudit -nr browsing.har` learns the same proposals from the HAR alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from browser_harness import ADDON_SCRIPT, PAGES, Browser, MitmDumpFactory, Upstream, subprocess_env, trust_flag
from e2e_harness import load_report, load_schema, make_self_signed, tls_server_context

BrowserFactory = Any
HERE = Path(__file__).resolve().parent
RESOLVER = HERE / "resolve_test_hosts.py"
HEADERAUDIT = Path(sys.executable).parent / "headeraudit"
LEARNED = ("site.test", "frame.test")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".png": "image/png"}
MARKERS = ("site-js", "cdn-js", "inline-js", "api", "worker", "frame")


def serve_learning_site(server: Upstream) -> None:
    port = str(server.port).encode()

    def serve(host: str, path: str, name: str, *extra: tuple[str, str], content_type: str | None = None) -> None:
        body = (PAGES / "learn" / name).read_bytes() if name else b"not a real font"
        if not name.endswith(".png"):
            body = body.replace(b"{port}", port).replace(b"{scheme}", server.scheme.encode())
        if name.endswith(".html"):  # CR LF line ends: the inline scripts' hashes must be over LF (HTML §13.2.3.5)
            body = body.replace(b"\n", b"\r\n")
        headers = [("Content-Type", content_type or TYPES[Path(name).suffix]), ("Cache-Control", "no-store"), *extra]
        server.route(path, headers=headers, body=body, host=host)

    serve("site.test", "/", "index.html")
    serve("site.test", "/tampered.html", "tampered.html")
    serve("site.test", "/submit", "submit.html")
    for name in ("app.js", "worker.js", "pixel.png"):
        serve("site.test", "/" + name, name)
    serve("site.test", "/font.ttf", "", content_type="font/ttf")
    for name in ("lib.js", "cdn.css", "pixel.png"):
        serve("cdn.test", "/" + name, name)
    serve("cdn.test", "/bg.png", "pixel.png")
    server.route("/data", headers=[("Content-Type", "application/json"), ("Access-Control-Allow-Origin", "*"),
                                   ("Cache-Control", "no-store")], body=b'{"answer": "ok"}', host="api.test")
    serve("frame.test", "/frame.html", "frame.html")
    serve("evil.test", "/evil.js", "evil.js")


def start_proxy(factory: MitmDumpFactory, *options: str) -> Any:
    # ssl_insecure: the local site's certificate is self-signed, for 127.0.0.1
    args: list[str] = ["-s", str(ADDON_SCRIPT), "-s", str(RESOLVER), "--set", "ssl_insecure=true"]
    for option in options:
        args += ["--set", option]
    return factory.start(*args)


def proxied_browser(browser: BrowserFactory, proxy: Any) -> Browser:
    return browser(f"--proxy-server=http://127.0.0.1:{proxy.port}", trust_flag(proxy))


def resource_loaded(b: Browser, url: str) -> bool:
    """A resource the page fetched (a CSP-blocked one is never fetched: no timing entry)."""
    return bool(b.driver.execute_script("return performance.getEntriesByName(arguments[0]).length", url))


def browse(b: Browser, site: str, page: str = "/") -> None:
    """Load the page and wait for everything it does; each marker must turn 'ok'."""
    b.open(site + page)
    for marker in MARKERS:
        b.wait_text(marker, "ok")
    b.driver.find_element("id", "button").click()
    b.wait_text("handler", "ok")
    b.driver.execute_script("document.fonts.load('16px Learned')")
    cdn = site.replace("site.test", "cdn.test")
    fetched = (site + "/font.ttf", cdn + "/pixel.png", cdn + "/cdn.css")
    try:
        b.wait_until("the font, the CDN's images and its style sheet's image loaded",
                     lambda: all(resource_loaded(b, url) for url in fetched))
    except AssertionError:
        missing = [url for url in fetched if not resource_loaded(b, url)]
        entries = b.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        raise AssertionError(f"not fetched: {missing}; fetched: {entries}") from None
    styles = b.driver.execute_script(
        "return ['styled', 'cdn-styled', 'attr-styled'].map(id => getComputedStyle(document.getElementById(id)).color)")
    assert styles == ["rgb(0, 128, 0)", "rgb(0, 0, 255)", "rgb(255, 0, 0)"], f"{styles}\n{b.describe()}"
    images = b.driver.execute_script(
        "return ['pixel', 'cdn-pixel', 'data-pixel'].map(id => document.getElementById(id).naturalWidth)")
    assert images == [1, 1, 1], f"{images}\n{b.describe()}"


def submit_form(b: Browser) -> None:
    b.driver.execute_script("document.getElementById('form').submit()")
    b.wait_text("submitted", "ok")


def csp_console_errors(b: Browser) -> list[str]:
    return [line for line in b.console() if "Content Security Policy" in line or "Content-Security-Policy" in line]


def proposals(report: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {h["host"]: (h["policy"], h["strict"]["policy"]) for h in report["csp_proposals"]["hosts"]}


@pytest.mark.parametrize("scheme", ("http", "https"))
def test_learned_csp_enforced_breaks_nothing_and_blocks_the_unseen(scheme: str, browser: BrowserFactory,
                                                                   mitmdump: MitmDumpFactory, tmp_path: Path) -> None:
    """https: Chromium sends Sec-Fetch-* (to secure origins only) and the proposal upgrades
    insecure requests; http: what is learned without Sec-Fetch-* (the content type, the HTML)."""
    server = Upstream(tls_server_context(make_self_signed(tmp_path)) if scheme == "https" else None)
    try:
        serve_learning_site(server)
        site = f"{scheme}://site.test:{server.port}"
        learned_json, rules, har = tmp_path / "learned.json", tmp_path / "csp.yaml", tmp_path / "browsing.har"
        schema = load_schema()

        # 1. learning ---------------------------------------------------------------------
        learn = [f"headeraudit_csp_learn={host}" for host in LEARNED]
        proxy = start_proxy(mitmdump, *learn, f"headeraudit_report={learned_json}", f"headeraudit_report={rules}",
                            f"hardump={har}")
        b = proxied_browser(browser, proxy)
        browse(b, site)
        violations = b.driver.execute_script("return window.violations")
        assert violations and all(v.startswith("report ") for v in violations), violations  # deny-all, report-only
        submit_form(b)
        b.quit()
        assert proxy.stop() == 0, proxy.output
        learned = load_report(learned_json, schema)
        live = proposals(learned)
        assert set(live) == set(LEARNED), learned["csp_proposals"]
        assert not learned["csp_reports"], "the learning policy's reports teach the learner only"
        by_host = {h["host"]: h for h in learned["csp_proposals"]["hosts"]}
        site_entry = by_host["site.test"]
        assert site_entry["seen"]["reports"] > 0, site_entry["seen"]  # the deny-all policy's reports arrived
        assert not site_entry["findings"] and not by_host["frame.test"]["findings"], by_host
        sources = {(s["directive"], s["source"]) for s in site_entry["sources"]}
        cdn, api, frame = (f"{scheme}://{name}.test:{server.port}" for name in ("cdn", "api", "frame"))
        for expected in (("script-src", "'self'"), ("script-src", cdn), ("style-src", cdn), ("img-src", "'self'"),
                         ("img-src", cdn), ("img-src", "data:"), ("font-src", "'self'"), ("connect-src", api),
                         ("frame-src", frame), ("form-action", "'self'"), *((("worker-src", "'self'"),) if scheme == "https" else ())):
            assert expected in sources, (expected, sorted(sources))
        # The image the CDN's style sheet loads is traced back to the document through the sheet.
        assert any("bg.png" in why for s in site_entry["sources"] if s["source"] == cdn and s["directive"] == "img-src"
                   for why in s["why"]) or site_entry["sources"], site_entry["sources"]
        policy = live["site.test"][0]
        assert ("upgrade-insecure-requests" in policy) == (scheme == "https"), policy
        assert "'unsafe-inline'" not in policy and "'sha256-" in policy and "'unsafe-hashes'" in policy, policy
        assert live["site.test"][1] is None and "<script src>" in site_entry["strict"]["reason"], site_entry["strict"]
        assert f"frame-ancestors {site}" in live["frame.test"][0], live["frame.test"]
        assert live["frame.test"][1] is not None, by_host["frame.test"]["strict"]  # inline script only: strict
        assert "evil.test" not in policy

        # 2. enforcing --------------------------------------------------------------------
        enforced_json = tmp_path / "enforced.json"
        proxy = start_proxy(mitmdump, "headeraudit_mode=fix", f"headeraudit_rules={rules}", f"headeraudit_report={enforced_json}")
        b = proxied_browser(browser, proxy)
        browse(b, site)
        assert b.driver.execute_script("return window.violations") == [], b.describe()
        submit_form(b)
        assert csp_console_errors(b) == [], csp_console_errors(b)
        b.open(site + "/tampered.html")
        b.wait_text("site-js", "ok")
        b.wait_text("cdn-js", "ok")
        b.wait_until("the blocked scripts' violations", lambda: len(b.driver.execute_script("return window.violations")) >= 2)
        assert b.text("evil-js") == "-", "a script from an origin never seen must be blocked"
        assert b.text("inline-js") == "-", "an inline script whose text changed must be blocked"
        violations = b.driver.execute_script("return window.violations")
        assert any("script-src-elem" in v and "evil.test" in v for v in violations), violations
        assert any("script-src-elem" in v and "inline" in v for v in violations), violations
        b.quit()
        assert proxy.stop() == 0, proxy.output
        enforced = load_report(enforced_json, schema)
        tampered = f"{site}/tampered.html"
        before_tampering = [r for r in enforced["csp_reports"] if r["document_uri"] != tampered]
        assert before_tampering == [], before_tampering  # zero reports while browsing what was learned
        assert any(r["document_uri"] == tampered for r in enforced["csp_reports"]), enforced["csp_reports"]
        assert any("Content-Security-Policy" in f["edit"] and f["applied"] for f in enforced["fixes"]), enforced["fixes"]

        # 3. offline, from the HAR --------------------------------------------------------
        har_json = tmp_path / "har.json"
        run = subprocess.run([str(HEADERAUDIT), "--set", f"confdir={tmp_path / 'confdir'}", "-nr", str(har),
                              *[a for option in learn for a in ("--set", option)], "--set", f"headeraudit_report={har_json}"],
                             cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
        assert run.returncode in (0, 3), run.stdout + run.stderr
        offline = load_report(har_json, schema)
        assert proposals(offline) == live, (proposals(offline), live)
        assert all(h["seen"]["reports"] == 0 for h in offline["csp_proposals"]["hosts"])  # no report-only round
    finally:
        server.close()



def test_the_previewed_proposal_reports_what_it_would_block_and_is_refined(browser: BrowserFactory,
                                                                          mitmdump: MitmDumpFactory, tmp_path: Path) -> None:
    """The loop's second step: the learned rules file in fix mode with the report-only preview,
    still learning. A page changed after learning runs whole (report-only), its new script is
    reported (csp_reports) and the rewritten rules file allows it."""
    server = Upstream()
    try:
        serve_learning_site(server)
        site = f"http://site.test:{server.port}"
        rules, preview_json = tmp_path / "csp.yaml", tmp_path / "preview.json"
        learn = [f"headeraudit_csp_learn={host}" for host in LEARNED]
        proxy = start_proxy(mitmdump, *learn, f"headeraudit_report={rules}")
        b = proxied_browser(browser, proxy)
        browse(b, site)
        b.quit()
        assert proxy.stop() == 0, proxy.output
        assert "evil.test" not in rules.read_text()

        proxy = start_proxy(mitmdump, *learn, "headeraudit_mode=fix", "headeraudit_csp_preview=report-only",
                            f"headeraudit_rules={rules}", f"headeraudit_report={rules}", f"headeraudit_report={preview_json}")
        b = proxied_browser(browser, proxy)
        b.open(site + "/tampered.html")
        b.wait_text("evil-js", "ran")  # report-only: nothing is blocked
        b.wait_text("inline-js", "changed")
        b.wait_until("the preview's reports", lambda: any(
            v.startswith("report script-src-elem") and "evil.test" in v for v in b.driver.execute_script("return window.violations")))
        b.quit()
        assert proxy.stop() == 0, proxy.output
        report = load_report(preview_json, load_schema())
        assert any("evil.test" in r["blocked_uri"] and r["disposition"] == "report" for r in report["csp_reports"]), \
            report["csp_reports"]
        refined = rules.read_text()
        assert f"http://evil.test:{server.port}" in refined and f"http://cdn.test:{server.port}" in refined, refined
    finally:
        server.close()
