"""The addon's commands in a running mitmdump, called through tests/e2e/command_endpoint_addon.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import (
    Client,
    MitmDumpFactory,
    Upstream,
    check_report_consistent,
    load_report,
    logged_findings,
    write_rules,
)

pytestmark = pytest.mark.e2e

ENDPOINT = Path(__file__).resolve().parent / "command_endpoint_addon.py"


def command(client: Client, name: str, *args: str) -> tuple[int, str]:
    query = "&".join(f"arg={a}" for a in args)
    response = client.get(f"http://command.invalid/{name}" + (f"?{query}" if query else ""))
    return response.status, response.body.decode("utf-8", "replace")


def test_findings_report_clear_and_reload_commands(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path,
    report_schema: dict[str, Any],
) -> None:
    upstream.route("/", headers=[("Content-Type", "text/plain"), ("Server", "Apache/2.4.1"),
                                 ("X-Debug-Token", "t0k3n")], body=b"ok")
    rules = tmp_path / "rules.yaml"
    write_rules(rules, "version: 1\nextends: default\n")
    proxy = mitmdump.start("-s", addon_script, "-s", ENDPOINT, "--set", "headeraudit_filter=!~d command.invalid",
                           "--set", f"headeraudit_rules={rules}")
    client = proxy.client()

    status, text = command(client, "headeraudit.findings")
    assert status == 200 and "no findings" in text, text

    client.get(upstream.url("/"))
    client.get(upstream.url("/"))
    status, text = command(client, "headeraudit.findings")
    assert status == 200, text
    assert "server-version-disclosure" in text and "xcto-missing" in text and "127.0.0.1" in text, text

    report_path = tmp_path / "now.json"
    status, text = command(client, "headeraudit.report", str(report_path))
    assert status == 200, text
    report = load_report(report_path, report_schema)
    check_report_consistent(report)
    assert report["summary"]["flows_audited"] == 2
    assert {f["count"] for f in report["findings"]} == {2}

    status, text = command(client, "headeraudit.report", str(tmp_path / "report.unknownformat"))
    assert status == 500, text

    status, _ = command(client, "headeraudit.clear")
    assert status == 200
    status, text = command(client, "headeraudit.findings")
    assert "no findings" in text, text
    # after clear a finding is new again, so it is logged again
    mark = proxy.line_count
    client.get(upstream.url("/"))
    proxy.wait_for(rf"headeraudit \[\w+\] {re.escape(upstream.site)} xcto-missing:", since=mark)

    # reload: a broken file is refused (error), a valid one with a new rule is taken now
    rules.write_text("version: 1\nrulez: []\n", encoding="utf-8")
    status, text = command(client, "headeraudit.reload")
    assert status == 500 and str(rules) in text, text
    rules.write_text("""version: 1
extends: default
rules:
  - id: debug-token-leak
    header: X-Debug-Token
    severity: critical
    message: debug token sent to clients
    check: {absent: true}
""", encoding="utf-8")
    status, text = command(client, "headeraudit.reload")
    assert status == 200, text
    client.get(upstream.url("/"))
    proxy.wait_for(rf"headeraudit \[CRITICAL\] {re.escape(upstream.site)} debug-token-leak:")
    assert proxy.stop() == 0, f"mitmdump output:\n{proxy.output}"
    assert not [f for f in logged_findings(proxy.output) if f.host == "command.invalid"]
    json.loads(report_path.read_text())  # still there, untouched by later commands
