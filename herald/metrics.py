"""Prometheus metrics shared by the API and the worker."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DELIVERIES = Counter(
    "herald_deliveries_total", "Provider sends by provider and outcome", ["provider", "outcome"]
)
PROVIDER_LATENCY = Histogram(
    "herald_provider_latency_seconds",
    "Time of one provider send",
    ["provider"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCHES = Counter("herald_batches_total", "Delivery batches run")
