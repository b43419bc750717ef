"""One settings object for every process (server, admin CLI, tests), read from GRIDSHARE_* env.

Everything an operator may want to change lives here, so a second server process started with
the same environment behaves identically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    """The embedded default: a SQLite file in the user's data directory."""
    data = Path(user_data_dir("gridshare", appauthor=False))
    return f"sqlite:///{data / 'gridshare.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDSHARE_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    #: Public base URL of the authorization server; `iss` of every token. None = derived from
    #: the listen address (http://127.0.0.1:8000 by default).
    issuer: str | None = None
    #: Public base URL of the customer API (same origin by default).
    api_base_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    demo: bool = True
    #: Keys the HMACs of client secrets and CSRF tokens. Set it in production; by default a random
    #: value is created once and stored in the database so every process shares it.
    secret_key: str | None = None
    redis_url: str | None = None

    # Passwords (Argon2id). argon2-cffi's defaults; tests lower them for speed.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    #: Concurrent Argon2 computations (default: half the CPUs, at least one; each hash already
    #: runs `argon2_parallelism` lanes); keeps a burst of sign-ins from starving the API.
    password_hash_concurrency: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 2) // 2)
    )

    session_ttl_seconds: int = 3600
    code_ttl_seconds: int = 300
    #: How long a new signing key is published in the JWKS before it signs anything.
    key_publish_ahead_seconds: int = 600
    #: Lockout after repeated failed sign-ins of one username from one client address
    #: (Cognito's rule, per address so a guesser cannot lock the owner out everywhere).
    lockout_threshold: int = Field(default=5, ge=1)
    lockout_max_seconds: int = Field(default=900, ge=1)
    #: Failed sign-ins of one username from all addresses together before it is locked
    #: everywhere (bounds guessing spread over many addresses).
    lockout_global_threshold: int = Field(default=100, ge=1)
    #: A username's failure counts are forgotten this long after their last failure.
    lockout_memory_seconds: int = Field(default=86400, ge=1)
    #: Sign-in attempts per client address per minute.
    login_rate_per_minute: int = 30
    #: Failed client authentications tolerated per client and per address per minute.
    client_auth_failures_per_minute: int = 20
    #: How often each process deletes expired codes, sign-in sessions and login throttles
    #: (seconds; 0 = never), and how many rows one delete statement takes at most.
    purge_interval_seconds: float = Field(default=300.0, ge=0)
    purge_batch_size: int = Field(default=1000, ge=1)
    #: Customer API requests per access token per minute.
    api_rate_per_minute: int = 600
    #: Fetch MCP Client ID Metadata Documents from loopback addresses over http too (local
    #: development and tests only: otherwise a client id could make the server read its own
    #: loopback services).
    mcp_metadata_allow_loopback: bool = False
    #: How long a process may trust that a token family it found live is still live, when no
    #: revocation was announced meanwhile (0 = ask the database on every call). Revocations
    #: through this process, or any process sharing `redis_url`, end that trust at once; the
    #: bound covers the rest (the admin CLI, other processes without Redis).
    token_status_cache_seconds: float = Field(default=1.0, ge=0, le=60)
    #: Seconds a process may trust its memory of a homeowner's sites and devices. Writes
    #: through this process, or any process sharing `redis_url` (the admin CLI too), end that
    #: trust at once; the bound covers the rest (processes without Redis). 0: no memory.
    homes_cache_seconds: float = Field(default=1.0, ge=0, le=60)

    #: Seconds a client has to send a complete request head (slowloris defence; 408, closed).
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    #: Seconds an idle keep-alive connection stays open between requests.
    keep_alive_seconds: int = Field(default=5, ge=1, le=300)
    #: Open connections per process; past it, the one idle longest is closed to make room.
    #: Never more than half the open-files limit (`serve` raises the soft limit to the hard one).
    max_connections: int = Field(default=2048, ge=1)
    #: Honour X-Forwarded-For/-Proto from the addresses in `forwarded_allow_ips` only.
    proxy_headers: bool = True
    #: Proxy addresses trusted for X-Forwarded-*: comma-separated IPs or CIDR networks, "*" for
    #: any (only when nothing else can reach the server). Loopback by default.
    forwarded_allow_ips: str = "127.0.0.1,::1"

    #: History a new site starts with (the twin simulates it at creation), in days.
    twin_backfill_days: float = 30.0
    #: Advance every site's twin each minute while the server runs (and catch up at start).
    twin_live: bool = True
    #: Days of raw 1-minute samples to keep (0 = forever). Rollups (15 min, 1 h) are kept, so
    #: PT15M and coarser queries still answer older ranges; PT1M/PT5M come back empty there.
    telemetry_raw_retention_days: float = 0.0
    #: Seconds between rounds of the twin's live loop, and how long a process's claim on a
    #: site lasts without renewal (a dead process's sites move on after it). The defaults suit
    #: production; tests and the soak shorten both so a short run still sees take-overs. The
    #: lease must outlast at least two rounds, or live processes would lose their sites.
    twin_interval_seconds: float = Field(default=60.0, ge=1.0, le=3600.0)
    twin_lease_seconds: float = Field(default=180.0, ge=3.0, le=86400.0)

    #: Deliver webhooks from this process (any number of processes may: they share the work).
    webhooks_live: bool = True
    #: Seconds between delivery rounds when nothing wakes the deliverer sooner.
    webhook_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    #: Callback URLs may resolve to private (RFC 1918, ULA) addresses: the operator's own
    #: network. Loopback callbacks (and plain http to them) are allowed only when the issuer
    #: itself is on loopback (local development).
    webhook_allow_private: bool = False
    #: Loopback callbacks: None (the default) allows them exactly when the issuer is on
    #: loopback; True or False decides outright (tests, and a server behind a local proxy).
    webhook_allow_loopback: bool | None = None
    #: Seconds one delivery may take, and the most of a receiver's answer that is read.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_max_response_bytes: int = Field(default=64 * 1024, ge=0)
    #: How long a deliverer's claim on a subscription lasts: how soon another process resumes
    #: the deliveries of one that died (longer than `webhook_timeout_seconds`).
    webhook_lease_seconds: float = Field(default=60.0, ge=2.0, le=3600.0)
    #: How long a failing subscription is retried (backoff with jitter) before it is marked
    #: failing.
    webhook_retry_hours: float = Field(default=24.0, gt=0)

    #: `text` (uvicorn's format) or `json` (one object a line, with the request id).
    log_format: Literal["text", "json"] = "text"
    #: One line per request (uvicorn's access log, redacted, in `log_format`). Off by default:
    #: it costs about as much CPU as answering the JWKS (docs/operations.md); the request
    #: metrics count every request anyway, and a reverse proxy usually logs them.
    access_log: bool = False
    #: Client addresses (comma-separated IPs or CIDR networks) allowed to read `/metrics` on
    #: the main port. Empty (the default): `/metrics` is not served there at all; use
    #: `gridshare serve --metrics-port` (loopback by default) or list your scraper here.
    metrics_allow: str = ""

    @model_validator(mode="after")
    def _lease_outlasts_rounds(self) -> Settings:
        if self.twin_lease_seconds < 2 * self.twin_interval_seconds:
            raise ValueError("twin_lease_seconds must be at least twice twin_interval_seconds")
        return self

    def resolved_issuer(self) -> str:
        if self.issuer:
            return self.issuer.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def resolved_api_base_url(self) -> str:
        return (self.api_base_url or self.resolved_issuer()).rstrip("/")
