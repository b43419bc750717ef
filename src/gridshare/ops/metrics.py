"""The Prometheus metrics of a server process, multiprocess-safe.

`prometheus-client` chooses its storage when it is first imported: with `PROMETHEUS_MULTIPROC_DIR`
set, every value lives in a memory-mapped file per process in that directory, so one scrape sums
the workers of `gridshare serve --workers N` (`gridshare.ops.workers` sets the directory before any
worker starts). Without it (tests, embedding) the values live in this process's default registry.
Reading them is `gridshare.ops.exposition`'s job (a separate module: a process that only serves
the metrics port must not create metrics of its own).

This module imports nothing of the project, so any layer may record into it. Labels are bounded:
routes by template (never the raw path), grant types from a fixed list, limit names from code.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

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
