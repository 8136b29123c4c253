"""Fix mode in a real mitmdump: what the client receives, what the flow file and report say.

Regular proxy mode with an HTTPS upstream (the client trusts mitmproxy's CA), plus saved
traffic, where fix mode must compute but never change anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_harness import MitmDumpFactory, Upstream, read_flows

pytestmark = pytest.mark.e2e

LEAKY = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("X-Powered-By", "PHP/8.1.2"),
    ("Server", "Apache/2.4.1"),
    ("Set-Cookie", "sessionid=s3cr3t; Path=/"),
]
PAGE = b"<!doctype html><p>body stays byte for byte</p>" * 50


def test_fix_mode_client_receives_fixed_headers_body_untouched(
    https_upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path
) -> None:
    https_upstream.route("/", headers=LEAKY, body=PAGE)
    report, flows_path = tmp_path / "r.json", tmp_path / "out.mitm"
    proxy = mitmdump.start("-s", addon_script, "--set", "ssl_insecure=true", "--set", "headeraudit_mode=fix",
                           "--set", f"headeraudit_report={report}", "-w", flows_path)
    response = proxy.client().get(https_upstream.url("/"))
    assert response.status == 200 and response.body == PAGE
    assert response.header("Strict-Transport-Security") == "max-age=63072000; includeSubDomains"
    assert response.header("X-Frame-Options") == "DENY" and response.header("X-Content-Type-Options") == "nosniff"
    assert response.header("Content-Security-Policy").startswith("default-src 'self'")
    assert response.header("X-Powered-By") is None and response.header("Server") is None
    assert response.header_all("Set-Cookie") == ["sessionid=s3cr3t; Path=/; Secure; HttpOnly; SameSite=Lax"]
    assert proxy.stop() == 0, proxy.output

    (flow,) = read_flows(flows_path)
    fix = flow.metadata["headeraudit_fix"]
    assert fix["applied"] is True and fix["findings_after"] == []
    assert (b"X-Powered-By", b"PHP/8.1.2") in [tuple(line) for line in fix["original_headers"]]
    assert "headeraudit fixed: " in flow.comment and "-X-Powered-By" in flow.comment
    data = json.loads(report.read_text())
    assert {"-X-Powered-By", "+Strict-Transport-Security"} <= {f["edit"] for f in data["fixes"] if f["applied"]}
    assert "tech-disclosure" in {f["rule"] for f in data["findings"]}  # findings are those of the original response


def test_fix_mode_on_saved_traffic_changes_nothing(mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "examples" / "sample.mitm"
    out, report = tmp_path / "out.mitm", tmp_path / "r.json"
    run = mitmdump.run("-nr", sample, "-s", addon_script, "--set", "headeraudit_mode=fix",
                       "--set", f"headeraudit_report={report}", "-w", out, listen=False)
    assert run.wait_exit() == 0, run.output
    original = {f.id: f.response.headers.fields for f in read_flows(sample)}
    rewritten = read_flows(out)
    assert rewritten and all(f.response.headers.fields == original[f.id] for f in rewritten)
    assert any("headeraudit would fix: " in f.comment for f in rewritten)
    data = json.loads(report.read_text())
    assert data["fixes"] and not any(f["applied"] for f in data["fixes"])


def test_fix_mode_flow_with_non_utf8_header_bytes_is_written_to_the_flow_file(
    https_upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path
) -> None:
    """obs-text (RFC 9110 §5.5): header bytes that are not UTF-8. mitmproxy's flow file
    (tnetstring) refuses text holding the surrogates such bytes decode to; what fix mode
    puts on the flow must still be saved, and the client gets the server's bytes back."""
    https_upstream.route("/", headers=[("Content-Type", "text/html"), (b"X-Powered-By", b"caf\xe9"),
                                       (b"Set-Cookie", b"s\xe9=1; Path=/")], body=PAGE)
    flows_path = tmp_path / "out.mitm"
    proxy = mitmdump.start("-s", addon_script, "--set", "ssl_insecure=true", "--set", "headeraudit_mode=fix",
                           "-w", flows_path)
    response = proxy.client().get(https_upstream.url("/"))
    assert response.status == 200 and response.body == PAGE
    assert response.header("X-Powered-By") is None
    assert proxy.stop() == 0, proxy.output
    assert "Traceback" not in proxy.output and "error" not in proxy.output.lower(), proxy.output
    (flow,) = read_flows(flows_path)
    fix = flow.metadata["headeraudit_fix"]
    assert (b"X-Powered-By", b"caf\xe9") in [tuple(line) for line in fix["original_headers"]]
    assert [v for n, v in flow.response.headers.fields if n.lower() == b"set-cookie"] == [b"s\xe9=1; Path=/; Secure; SameSite=Lax"]
    assert "-X-Powered-By" in flow.comment
