"""The Prometheus metrics of a server process, multiprocess-safe.

`prometheus-client` chooses its storage when it is first imported: with `PROMETHEUS_MULTIPROC_DIR`
set, every value lives in a memory-mapped file per process in that directory, so one scrape sums
the workers of `gridshare serve --workers N` (`gridshare.ops.workers` sets the directory before any
worker starts). Without it (tests, embedding) the values live in this process's default registry.

This module imports nothing of the project, so any layer may record into it. Labels are bounded:
routes by template (never the raw path), grant types from a fixed list, limit names from code.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as mp
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

#: Request latency; its `_count` is the request counter (one update per request, not two).
HTTP_REQUESTS = Histogram(
    "gridshare_http_request_duration_seconds",
    "Time from request to the end of the response, by route template and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
TOKENS = Counter(
    "gridshare_token_requests",
    "Token endpoint requests by grant type and outcome (`issued`, or the OAuth error code).",
    ["grant_type", "outcome"],
)
RATE_LIMITED = Counter(
    "gridshare_rate_limit_refusals",
    "Requests refused by a rate limit or failure throttle, by limit.",
    ["limit"],
)
TWIN_LAG = Histogram(
    "gridshare_twin_lag_seconds",
    "How far each held site's twin was behind real time when a live round reached it.",
    buckets=(60, 120, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 31 * 86400),
)
TWIN_LEASES = Gauge(
    "gridshare_twin_leases_held",
    "Sites whose twin this process advances (its leases after the last round).",
    multiprocess_mode="liveall",
)
DB_POOL_IN_USE = Gauge(
    "gridshare_db_connections_in_use",
    "Database connections checked out of this process's pools.",
    multiprocess_mode="liveall",
)
DB_POOL_SIZE = Gauge(
    "gridshare_db_pool_size",
    "Connections this process's pools keep open at most without overflow.",
    multiprocess_mode="liveall",
)
WORKER_START = Gauge(
    "gridshare_worker_start_time_seconds",
    "When each live worker process started serving (Unix time).",
    multiprocess_mode="liveall",
)

GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})


def grant_label(grant_type: str | None) -> str:
    """A bounded label for a client-supplied grant type."""
    if not grant_type:
        return "missing"
    return grant_type if grant_type in GRANT_TYPES else "other"


def rate_limited(limit: str) -> None:
    RATE_LIMITED.labels(limit).inc()


def token_outcome(grant_type: str | None, outcome: str) -> None:
    TOKENS.labels(grant_label(grant_type), outcome).inc()


def instrument_pool(engine: Any) -> None:
    """Count this engine's checked-out connections (SQLAlchemy pool events; sync, cheap)."""
    from sqlalchemy import event

    pool = engine.sync_engine.pool if hasattr(engine, "sync_engine") else engine.pool
    size = getattr(pool, "size", None)
    if callable(size):
        DB_POOL_SIZE.inc(size())
    event.listen(pool, "checkout", lambda *_: DB_POOL_IN_USE.inc())
    event.listen(pool, "checkin", lambda *_: DB_POOL_IN_USE.dec())


# -- exposition ----------------------------------------------------------------------------


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead_processes(directory: Path) -> None:
    """Forget the live gauges of workers that died (SIGKILL leaves their files behind);
    counters and histograms of dead workers stay, as a counter's total must."""
    pids: set[int] = set()
    for path in directory.glob("gauge_live*_*.db"):
        with contextlib.suppress(ValueError):
            pids.add(int(path.stem.rsplit("_", 1)[1]))
    for pid in pids:
        if not _alive(pid):
            mp.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


class _LiveMultiProcessCollector(Collector):
    """`MultiProcessCollector` that first forgets dead workers' live gauges."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._inner = mp.MultiProcessCollector(None, path=str(directory))  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        reap_dead_processes(self.directory)
        metrics: Iterable[Metric] = self._inner.collect()  # type: ignore[no-untyped-call]
        return metrics


def exposition_registry() -> CollectorRegistry:
    """The registry a scrape reads: every worker's files, or this process's own values."""
    directory = multiprocess_dir()
    if directory is None:
        return REGISTRY
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_LiveMultiProcessCollector(directory))
    return registry


def render(registry: CollectorRegistry | None = None) -> bytes:
    return generate_latest(registry or exposition_registry())
