"""The finding store stays bounded however long the session (ZAP's alert-flood lesson)."""

from headeraudit.model import Finding
from headeraudit.state import MAX_EXAMPLES, OTHER_HOSTS, FindingStore


def finding(evidence="missing", rule="hsts-missing", severity="medium"):
    return Finding(rule, severity, "Strict-Transport-Security", "m", evidence)


def test_same_finding_is_new_once_then_counted():
    store = FindingStore()
    assert store.record("a.example", "https://a.example/1", [finding()], 1.0) == [finding()]
    for i in range(10):
        assert store.record("a.example", f"https://a.example/{i}", [finding()], 2.0 + i) == []
    (entry,) = store.entries.values()
    assert entry.count == 11 and entry.first_seen == 1.0 and entry.last_seen == 11.0
    assert len(entry.examples) == MAX_EXAMPLES
    assert store.occurrences == 11 and store.flows_audited == 11


def test_distinct_evidence_is_a_distinct_finding():
    store = FindingStore()
    store.record("a.example", "u", [finding("Apache/2.4"), finding("Apache/2.5")], 0)
    assert len(store.entries) == 2


def test_entries_are_capped_and_drops_counted():
    store = FindingStore(max_entries=100)
    for i in range(250):
        store.record("a.example", "u", [finding(f"v{i}")], i)
    assert len(store.entries) == 100 and store.dropped == 150
    assert store.totals()["medium"] == 100


def test_hosts_are_capped_into_other_hosts():
    store = FindingStore(max_hosts=5)
    for i in range(20):
        store.record(f"h{i}.example", "u", [finding()], i)
    assert len(store.hosts) == 6 and store.hosts[OTHER_HOSTS].flows == 15
    assert len(store.entries) == 6


def test_examples_and_evidence_are_bounded_in_size():
    store = FindingStore()
    store.record("a.example", "https://a.example/" + "x" * 10_000, [finding()], 0)
    (entry,) = store.entries.values()
    assert len(entry.examples[0]) <= 300


def test_clear_forgets_everything():
    store = FindingStore()
    store.record("a.example", "u", [finding()], 0)
    store.clear()
    assert not store.entries and store.flows_audited == 0 and store.record("a.example", "u", [finding()], 0)


def test_repeated_findings_tuple_takes_the_fast_path_with_the_same_result():
    store, fast = FindingStore(), FindingStore()
    same = (finding(), finding("other", rule="xcto-missing", severity="low"))
    for i in range(5):
        store.record("a.example", f"u{i}", tuple(same), i)  # a new tuple each time: slow path
        fast.record("a.example", f"u{i}", same, i)  # the same tuple object: fast path after the first
    view = lambda s: sorted((e.finding.rule, e.count, e.last_seen, tuple(e.examples)) for e in s.entries.values())
    assert view(store) == view(fast) and store.occurrences == fast.occurrences == 10
    fast.clear()
    assert fast.record("a.example", "u", same, 0) == list(same)  # clear forgets the fast path too
