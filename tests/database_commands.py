"""How many database commands a service in this test process has issued, by collection: the
counts of its `hearth_database_command_seconds` histogram (shared/database_metrics.py), so a
test can say what a poll costs without a listener of its own."""

from __future__ import annotations

from collections import Counter

from prometheus_client import REGISTRY


def database_commands(service: str) -> Counter[str]:
    """The commands `service` has issued so far, by collection."""
    counts: Counter[str] = Counter()
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            labels = sample.labels
            if (
                sample.name == "hearth_database_command_seconds_count"
                and labels.get("service") == service
            ):
                counts[labels["collection"]] += int(sample.value)
    return counts
