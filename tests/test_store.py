"""The finding store stays bounded however long the session (ZAP's alert-flood lesson)."""

from headeraudit.fixes import Edit
from headeraudit.model import Finding, FixOutcome, Outcome
from headeraudit.store import MAX_EXAMPLES, MAX_PER_HOST, MAX_PER_HOST_AND_RULE, MORE, OTHER_HOSTS, FindingStore


def finding(evidence="missing", rule="hsts-missing", severity="medium"):
    return Finding(rule, severity, "Strict-Transport-Security", "m", evidence)


def outcome(findings, edits=()):
    fix = FixOutcome(None, tuple(edits), "", (), (), tuple((e.label, e.rule) for e in edits)) if edits else None
    return Outcome(tuple(findings), None, "c", ":m:", {}, fix)


def test_same_finding_is_new_once_then_counted():
    store = FindingStore()
    assert store.record("a.example", "https://a.example/1", outcome([finding()]), 1.0) == [finding()]
    for i in range(10):
        assert store.record("a.example", f"https://a.example/{i}", outcome([finding()]), 2.0 + i) == []
    (entry,) = store.entries.values()
    assert entry.count == 11 and entry.first_seen == 1.0 and entry.last_seen == 11.0
    assert len(entry.examples) == MAX_EXAMPLES
    assert store.occurrences == 11 and store.flows_audited == 11


def test_distinct_evidence_is_a_distinct_finding():
    store = FindingStore()
    store.record("a.example", "u", outcome([finding("Apache/2.4"), finding("Apache/2.5")]), 0)
    assert len(store.entries) == 2


def test_entries_are_capped_and_drops_counted():
    store = FindingStore(max_entries=100)
    for i in range(250):
        store.record(f"h{i}.example", "u", outcome([finding(f"v{i}")]), i)
    assert len(store.entries) == 100 and store.dropped == 150
    assert store.totals()["medium"] == 100


def test_one_rule_cannot_take_a_hosts_share_and_its_further_findings_are_counted_together():
    """A distinct cookie name per response (or 20 000 unknown directives) made one entry each
    until the global store was full and other hosts' findings were dropped."""
    store = FindingStore(max_entries=1000)
    for i in range(500):
        store.record("a.example", "u", outcome([finding(f"cookie{i}", rule="cookie-no-secure")]), i)
    store.record("b.example", "u", outcome([finding()]), 999)
    a_entries = [e for e in store.entries.values() if e.host == "a.example"]
    assert len(a_entries) == MAX_PER_HOST_AND_RULE + 1
    (more,) = [e for e in a_entries if e.finding.evidence == MORE]
    assert more.count == 500 - MAX_PER_HOST_AND_RULE  # counts kept, not dropped
    assert store.dropped == 0 and ("b.example", finding()) in store.entries


def test_one_host_cannot_take_the_store():
    store = FindingStore(max_entries=1000)
    for i in range(MAX_PER_HOST * 3):
        store.record("a.example", "u", outcome([finding(f"v{i % 10}", rule=f"rule-{i // 10}")]), i)
    a_entries = [e for e in store.entries.values() if e.host == "a.example"]
    assert len([e for e in a_entries if e.finding.evidence != MORE]) == MAX_PER_HOST
    assert sum(e.count for e in a_entries) == MAX_PER_HOST * 3 and store.dropped == 0


def test_hosts_are_capped_into_other_hosts():
    store = FindingStore(max_hosts=5)
    for i in range(20):
        store.record(f"h{i}.example", "u", outcome([finding()]), i)
    assert len(store.hosts) == 6 and store.hosts[OTHER_HOSTS].flows == 15
    assert len(store.entries) == 6


def test_examples_and_evidence_are_bounded_in_size():
    store = FindingStore()
    store.record("a.example", "https://a.example/" + "x" * 10_000, outcome([finding()]), 0)
    (entry,) = store.entries.values()
    assert len(entry.examples[0]) <= 300


def test_clear_forgets_everything():
    store = FindingStore()
    store.record("a.example", "u", outcome([finding()]), 0)
    store.clear()
    assert not store.entries and store.flows_audited == 0 and store.record("a.example", "u", outcome([finding()]), 0)


def test_every_flow_is_counted_with_plain_increments():
    store = FindingStore()
    same = outcome([finding(), finding("other", rule="xcto-missing", severity="low")])
    for i in range(5):
        store.record("a.example", f"https://a.example/{i}", same, float(i))
    assert sorted((e.finding.rule, e.count, e.last_seen) for e in store.entries.values()) == [
        ("hsts-missing", 5, 4.0), ("xcto-missing", 5, 4.0)]
    assert store.occurrences == 10 and store.flows_audited == 5 and store.hosts["a.example"].flows == 5


def test_example_urls_are_built_only_while_an_entry_collects_them():
    """Building a URL costs (mitmproxy's pretty_url): the callable is called only for flows an
    entry may take as an example: its first flows, then at power-of-two counts."""
    store = FindingStore()
    calls = []
    for i in range(1000):
        store.record("a.example", lambda: calls.append(1) or "https://a.example/same", outcome([finding()]), float(i))
    assert 8 <= len(calls) <= 8 + 10 and store.entries[next(iter(store.entries))].examples == ["https://a.example/same"]


def test_fix_edits_are_counted_per_host_edit_and_whether_applied():
    edits = (Edit("remove", "X-Powered-By", None, "tech-disclosure"), Edit("set", "X-Content-Type-Options", "nosniff", "xcto-missing", "+"))
    store = FindingStore()
    for _ in range(300):
        store.record("a.example", "u", outcome([finding()], edits), 0.0, applied=True)
    store.record("a.example", "u", outcome([finding()], edits), 0.0, applied=False)
    assert store.fixes[("a.example", "-X-Powered-By", "tech-disclosure", True)] == 300
    assert store.fixes[("a.example", "+X-Content-Type-Options", "xcto-missing", False)] == 1


def test_host_names_are_stored_escaped_and_an_empty_one_is_named():
    store = FindingStore()
    store.record("evil\x1b]0;title\x07.example", "u", outcome([finding()]), 0.0)
    store.record("", "u", outcome([finding()]), 0.0)
    assert set(store.hosts) == {"evil\\x1b]0;title\\x07.example", "(no host)"}
