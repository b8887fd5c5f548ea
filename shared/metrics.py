"""Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_HANDLED = Counter(
    "hearth_messages_handled_total", "Events handled", ["service", "group", "type", "outcome"]
)
HANDLER_FAILURES = Counter(
    "hearth_handler_failures_total", "Handler attempts that raised", ["service", "group", "type"]
)
DEAD_LETTERS = Counter(
    "hearth_dead_letters_total", "Messages sent to a dead-letter topic", ["service", "group"]
)
HANDLER_SECONDS = Histogram(
    "hearth_handler_seconds",
    "Time to handle one event",
    ["service", "group", "type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CONSUMER_LAG = Gauge(
    "hearth_consumer_lag", "Records behind the end of the partition", ["service", "group", "topic"]
)
COMMIT_FAILURES = Counter(
    "hearth_consumer_commit_failures_total",
    "Offset commits that failed (the batch is handled again)",
    ["service", "group"],
)
OUTBOX_PUBLISHED = Counter("hearth_outbox_published_total", "Events published", ["service"])
DATABASE_COMMAND_SECONDS = Histogram(
    "hearth_database_command_seconds",
    "Database commands by collection, and their time as the client saw it",
    ["service", "command", "collection"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
WEB_PAGE_SECONDS = Histogram(
    "hearth_web_page_seconds",
    "Web app: time to answer a page, by route and status",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5),
)
