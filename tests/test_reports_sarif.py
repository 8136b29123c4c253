"""The SARIF report: valid against the official 2.1.0 schema, faithful to the report."""

from __future__ import annotations

import json
import re
from importlib import resources

import jsonschema
import pytest
from headeraudit.report.sarif import (
    FINGERPRINT_KEY,
    LEVELS,
    SECURITY_SEVERITY,
    fingerprint,
    render_sarif,
)
from report_fixtures import FORBIDDEN_RAW, JS_URL, hostile, sample, without_optional

SCHEMA = json.loads(resources.files("headeraudit.report").joinpath("sarif-schema-2.1.0.json").read_text("utf-8"))
VALIDATOR = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
# RFC 3986 characters only (what `uri-reference` allows), percent-encoding included.
URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")


def sarif(report: dict) -> dict:
    log = json.loads(render_sarif(report).decode("utf-8"))  # strict UTF-8
    VALIDATOR.validate(log)
    return log


def run_of(report: dict) -> dict:
    return sarif(report)["runs"][0]


def test_bundled_schema_is_the_sarif_2_1_0_schema():
    assert SCHEMA["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert SCHEMA["$id"].endswith("/sarif-schema-2.1.0.json")
    assert SCHEMA["properties"]["version"]["enum"] == ["2.1.0"]
    assert type(VALIDATOR) is jsonschema.Draft7Validator
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_schema_rejects_a_broken_log():
    """The validator really validates: a result without a message fails."""
    log = sarif(sample("audit"))
    del log["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(log)


@pytest.mark.parametrize("name", ["audit", "fix"])
def test_samples_validate_with_one_run_and_the_driver(name):
    report = sample(name)
    log = sarif(report)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "headeraudit" and driver["version"] == report["version"]
    assert driver["informationUri"].startswith("https://")


def test_report_without_optional_sections_and_an_empty_report_validate():
    assert len(run_of(without_optional(sample("fix")))["results"]) == 45
    empty = sample("audit")
    empty.update(rules=[], findings=[], hosts=[])
    run = run_of(empty)
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == []


def test_one_rule_descriptor_per_report_rule_in_order():
    report = sample("audit")
    rules = run_of(report)["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r["id"] for r in report["rules"]]
    by_id = {r["id"]: r for r in rules}
    csp = by_id["csp-missing"]
    assert csp["shortDescription"]["text"] == "HTML document without a Content-Security-Policy"
    assert csp["helpUri"] == "https://www.w3.org/TR/CSP3/"
    assert "Fix: set Content-Security-Policy: default-src 'self'" in csp["help"]["text"]
    assert "security" in csp["properties"]["tags"]
    assert by_id["csp-invalid"].get("helpUri") and "Fix" not in by_id["csp-invalid"]["help"]["text"]  # no fix


@pytest.mark.parametrize(
    ("severity", "level", "score"),
    [("critical", "error", "9.5"), ("high", "error", "8.0"), ("medium", "warning", "5.5"),
     ("low", "note", "3.0"), ("info", "note", "1.0")],
)
def test_severity_maps_to_level_and_security_severity(severity, level, score):
    assert LEVELS[severity] == level and SECURITY_SEVERITY[severity] == score
    report = sample("audit")
    report["rules"][0]["severity"] = severity
    report["findings"][0].update(rule=report["rules"][0]["id"], severity=severity)
    run = run_of(report)
    descriptor = run["tool"]["driver"]["rules"][0]
    assert descriptor["defaultConfiguration"]["level"] == level
    assert descriptor["properties"]["security-severity"] == score
    assert run["results"][0]["level"] == level


def test_one_result_per_finding_pointing_at_its_rule():
    report = sample("fix")
    run = run_of(report)
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(report["findings"])
    for finding, result in zip(report["findings"], run["results"]):
        assert result["ruleId"] == finding["rule"] == rules[result["ruleIndex"]]["id"]
        assert result["level"] == LEVELS[finding["severity"]]
        assert finding["header"] in result["message"]["text"] and finding["evidence"] in result["message"]["text"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == finding["examples"][0]
        props = result["properties"]
        assert (props["host"], props["count"], props["header"], props["evidence"]) == (
            finding["host"], finding["count"], finding["header"], finding["evidence"])
        assert (props["firstSeen"], props["lastSeen"]) == (finding["first_seen"], finding["last_seen"])


def test_location_falls_back_to_the_host_root_without_a_web_example():
    report = sample("audit")
    report["findings"][0]["examples"] = []
    report["findings"][1]["examples"] = [JS_URL]
    results = run_of(report)["results"]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == f"https://{report['findings'][0]['host']}/"
    assert results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == f"https://{report['findings'][1]['host']}/"


def test_fingerprints_are_stable_and_distinguish_host_rule_and_evidence():
    first, second = run_of(sample("audit")), run_of(sample("fix"))  # two runs, other timestamps
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in first["results"]]
    assert prints == [r["partialFingerprints"][FINGERPRINT_KEY] for r in second["results"]]
    assert len(set(prints)) == len(prints)
    assert fingerprint("h", "r", "e") != fingerprint("h", "r", "e2") != fingerprint("h2", "r", "e2")
    assert fingerprint("a\x00b", "c", "") != fingerprint("a", "b\x00c", "")  # no separator to collide on
    assert fingerprint("h", "r", "\udcff") != fingerprint("h", "r", "\udcfe")


def test_finding_of_an_undescribed_rule_gets_a_descriptor():
    report = sample("audit")
    report["findings"][0]["rule"] = "not-in-rules"
    run = run_of(report)
    result = run["results"][0]
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "not-in-rules"
    assert len(run["tool"]["driver"]["rules"]) == len(report["rules"]) + 1


# --- hostile data -------------------------------------------------------------------------


def test_hostile_report_validates():
    run = run_of(hostile())
    assert len(run["results"]) == len(hostile()["findings"])


def test_hostile_uris_are_valid_uri_references_and_never_javascript():
    run = run_of(hostile())
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]]
    uris += [d["helpUri"] for d in run["tool"]["driver"]["rules"] if "helpUri" in d]
    for uri in uris:
        assert URI_CHARS.match(uri), uri
        assert uri.startswith(("https://", "http://")), uri


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_hostile_text_has_no_control_characters_or_lone_surrogates():
    log = sarif(hostile())
    for text in strings(log):
        for char in FORBIDDEN_RAW:
            assert char not in text, (repr(char), text)
    messages = [r["message"]["text"] for r in log["runs"][0]["results"]]
    assert any("\\x1b[31mRED" in m for m in messages)  # shown as text: backslash x 1 b
    assert any("\\udcff\\udc80" in m for m in messages)
