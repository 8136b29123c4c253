"""Saved traffic is judged as it was captured: time-dependent verdicts (a cookie's Expires)
compare with the response's own time, and first_seen/last_seen are the flows' times, so a
capture gives the same report on any day."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import MitmDumpFactory, load_report
from mitmproxy import http, io
from mitmproxy.test import tflow
from mitmproxy.test.tutils import treq, tresp

pytestmark = pytest.mark.e2e

CAPTURED = datetime(2025, 12, 3, 9, 30, tzinfo=timezone.utc)  # a year before these tests were written
# Alive when captured, long expired today: judged today, the browser would delete it.
EXPIRES = format_datetime(CAPTURED + timedelta(days=30), usegmt=True)


def capture(path: Path) -> None:
    with path.open("wb") as fh:
        writer = io.FlowWriter(fh)
        for minute in (0, 5):
            req = treq(host="shop.example", port=443, scheme=b"https", headers=http.Headers([(b"host", b"shop.example")]))
            resp = tresp(headers=http.Headers([(b"content-type", b"text/html"),
                                               (b"set-cookie", f"sessionid=1; Path=/; Expires={EXPIRES}".encode())]))
            flow = tflow.tflow(req=req, resp=resp)
            at = (CAPTURED + timedelta(minutes=minute)).timestamp()
            flow.request.timestamp_start, flow.request.timestamp_end = at, at + 0.01
            flow.response.timestamp_start, flow.response.timestamp_end = at + 0.1, at + 0.2
            writer.add(flow)


def test_a_capture_is_judged_as_of_its_own_time(mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path,
                                                report_schema: dict[str, Any]) -> None:
    flows = tmp_path / "last-year.mitm"
    capture(flows)
    reports = []
    for run in ("first", "second"):
        out = tmp_path / f"{run}.json"
        proc = mitmdump.run("-nr", flows, "-s", addon_script, "--set", f"headeraudit_report={out}", listen=False, timeout=60)
        assert proc.returncode == 0, proc.output
        reports.append(load_report(out, report_schema))
    report = reports[0]
    by_rule = {f["rule"]: f for f in report["findings"]}
    # RFC 6265bis §5.7: an Expires in the past deletes the cookie; on capture day it was a live
    # session cookie without Secure and HttpOnly.
    assert {"cookie-no-secure", "cookie-no-httponly"} <= set(by_rule), sorted(by_rule)
    cookie = by_rule["cookie-no-httponly"]
    assert cookie["first_seen"].startswith("2025-12-03T09:30:00") and cookie["last_seen"].startswith("2025-12-03T09:35:00"), cookie
    strip = lambda r: {k: v for k, v in r.items() if k != "generated"}  # noqa: E731
    assert json.dumps(strip(reports[0]), sort_keys=True) == json.dumps(strip(reports[1]), sort_keys=True)
