"""The finding store stays bounded however long the session (ZAP's alert-flood lesson)."""

from hypothesis import given, settings
from hypothesis import strategies as st

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


# Flows of a few overlapping findings tuples on a few hosts, with reads in between. The fast
# path counts a repeated tuple in batches, folded in on read or when one of its entries wants an
# example URL: counts, last_seen and the totals must agree with the slow path on every read.
# Example URLs are a sample (the first, then at counts 1..8 and powers of two as that tuple
# sees them; an entry shared by two tuples may take its later ones at other flows).
_F = [finding(), finding("x", rule="xcto-missing", severity="low"), finding("PHP/8", rule="tech-disclosure", severity="low")]
_TUPLES = [(_F[0],), (_F[0], _F[1]), (_F[1], _F[2]), (_F[0], _F[1], _F[2])]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), st.booleans(), st.integers(0, 3) | st.integers(4, 10**6)),
                min_size=1, max_size=400))
def test_batched_fast_path_agrees_with_the_slow_path_on_every_read(steps):
    slow, fast = FindingStore(), FindingStore()
    counts = lambda s: sorted((e.host, e.finding.rule, e.count, e.first_seen, e.last_seen) for e in s.entries.values())
    urls: dict[tuple[str, str], list[str]] = {}
    for i, (host, which, read, page) in enumerate(steps):
        url = f"https://h{host}.example/{page}"  # pages repeat: examples fill up at varying counts
        slow.record(f"h{host}.example", url, tuple(list(_TUPLES[which])), float(i))  # a new tuple: slow path
        fast.record(f"h{host}.example", url, _TUPLES[which], float(i))
        for f in _TUPLES[which]:
            urls.setdefault((f"h{host}.example", f.rule), []).append(url)
        if read:
            assert counts(fast) == counts(slow)
    assert counts(fast) == counts(slow)
    assert fast.occurrences == slow.occurrences and fast.flows_audited == slow.flows_audited
    assert {h: s.flows for h, s in fast.hosts.items()} == {h: s.flows for h, s in slow.hosts.items()}
    assert [e.count for e in fast.sorted_entries()] == [e.count for e in slow.sorted_entries()]
    for e in fast.entries.values():
        seen = urls[(e.host, e.finding.rule)]
        assert e.examples[0] == seen[0] and set(e.examples) <= set(seen)
        assert len(e.examples) == len(set(e.examples)) <= MAX_EXAMPLES
        # every distinct page among its first 8 flows is an example, as on the slow path
        assert e.examples[: len(set(seen[:8]))] == list(dict.fromkeys(seen[:8]))[:MAX_EXAMPLES]


def test_batched_counts_are_folded_when_the_tuple_cache_is_flushed():
    """The tuple cache is bounded: clearing it must not lose the flows counted in batches."""
    store = FindingStore()
    tuples = [(finding(f"v{i}"),) for i in range(4100)]
    for t in tuples[:10]:
        for i in range(20):
            store.record("a.example", "u", t, float(i))
    for t in tuples[10:]:  # pushes the cache past its bound
        store.record("a.example", "u", t, 99.0)
    assert sorted(e.count for e in store.entries.values())[-10:] == [20] * 10
    assert sum(e.count for e in store.entries.values()) == store.occurrences == 10 * 20 + 4090


def test_repeated_fix_edits_are_counted_in_batches_and_folded_on_read():
    from headeraudit.fixes import Edit

    edits = (Edit("remove", "X-Powered-By", None, "tech-disclosure"), Edit("set", "X-Content-Type-Options", "nosniff", "xcto-missing", "+"))
    slow, fast = FindingStore(), FindingStore()
    for i in range(300):
        slow.record_fixes("a.example", tuple(list(edits)), applied=True)  # a new tuple: slow path
        fast.record_fixes("a.example", edits, applied=True)
        if i in (0, 1, 150):
            assert fast.fixes == slow.fixes
    fast.record_fixes("a.example", edits, applied=False)
    slow.record_fixes("a.example", edits, applied=False)
    assert fast.fixes == slow.fixes and fast.fixes[("a.example", "-X-Powered-By", "tech-disclosure", True)] == 300
