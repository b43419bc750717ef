"""How `gridshare serve` runs uvicorn: a header-read timeout, a connection cap, proxy trust.

uvicorn closes idle keep-alive connections (`timeout_keep_alive`) but has no deadline for a
request head, so a client that sends half a request line and waits holds its socket forever
(slowloris); and `limit_concurrency` answers 503 to *every* request once enough idle sockets are
open, so idle sockets alone can shut everyone out. Neither uvicorn's protocols (h11, httptools)
nor its options cover this, hence one small subclass of its httptools protocol:

- **Header timeout.** A connection whose request head is not complete within
  `header_timeout_seconds` of the connection opening (or, on a kept-alive connection, of the
  next request's first byte) is closed; a 408 is sent first if part of a head had arrived.
- **Connection cap.** When a new connection takes the process over `max_connections`, the
  connection that has waited longest for a request head (idle keep-alive, silent, or
  half-sent) is closed to make room, the way nginx reuses keep-alive connections when it runs
  short; only when every connection is busy with a request is the newcomer closed instead. So
  idle sockets never keep a real request out, and the process never runs out of descriptors.

The cap is kept at most half the process's descriptor limit (whose soft value `serve` raises to
the hard one at start), so the database, Redis and log files always have descriptors left.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gridshare.config import Settings

log = logging.getLogger("gridshare.serving")

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 16\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"request timeout\n"
)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request-head deadline and a connection cap.

    `guarded_protocol()` makes a subclass carrying the two limits as class attributes (uvicorn
    builds protocols from a class and its own `Config`, which has no room for them).
    """

    header_timeout: float = 10.0
    max_connections: int = 2048

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_started = False
        #: When this connection began waiting for a request head (None: a request is running).
        self.waiting_since: float | None = None

    # -- waiting for a head --------------------------------------------------------------

    def _await_head(self) -> None:
        self.waiting_since = time.monotonic()
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing():
            return
        if self._head_started:
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()

    # -- uvicorn's hooks -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        # A kept-alive connection's next request: its head gets the same deadline.
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def on_headers_complete(self) -> None:
        self._cancel_head_deadline()
        self._head_started = False
        self.waiting_since = None
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            # Idle between requests: uvicorn's keep-alive timer runs; the head deadline starts
            # with the next request's first byte. Idle connections are the first to make room.
            self.waiting_since = time.monotonic()

    # -- the cap -------------------------------------------------------------------------

    def _make_room(self) -> None:
        """Close the connection that has waited longest for a head (self if all are busy)."""
        victim: GuardedHttpToolsProtocol = self
        oldest = float("inf")
        for connection in self.connections:
            if connection is self or not isinstance(connection, GuardedHttpToolsProtocol):
                continue
            since = connection.waiting_since
            if since is not None and since < oldest and not connection.transport.is_closing():
                victim, oldest = connection, since
        victim.transport.close()


def guarded_protocol(header_timeout: float, max_connections: int) -> type[HttpToolsProtocol]:
    """A protocol class for `uvicorn.Config(http=...)` with these limits."""
    return type(
        "GridshareHttpProtocol",
        (GuardedHttpToolsProtocol,),
        {"header_timeout": header_timeout, "max_connections": max_connections},
    )


def raise_descriptor_limit() -> None:
    """Raise this process's soft limit on open files to its hard limit (when that is finite)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or (soft != resource.RLIM_INFINITY and soft >= hard):
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:
        log.warning("could not raise the open-files limit to %d: %s", hard, exc)


def connection_cap(configured: int, descriptor_limit: int) -> int:
    """The configured cap, but never more than half the descriptor limit."""
    return max(1, min(configured, descriptor_limit // 2))


def _cap(settings: Settings) -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = soft if soft != resource.RLIM_INFINITY else 1 << 20
    cap = connection_cap(settings.max_connections, limit)
    if cap < settings.max_connections:
        log.warning(
            "max_connections lowered from %d to %d (half the open-files limit, %d)",
            settings.max_connections,
            cap,
            limit,
        )
    return cap


class ServeProtocol(GuardedHttpToolsProtocol):
    """The protocol `gridshare serve` names by import string (`SERVE_PROTOCOL`): worker
    processes are spawned and re-import it, so each sets its limits with `configure_serve()`
    from the settings it was started with."""


SERVE_PROTOCOL = f"{__name__}:ServeProtocol"


def configure_serve(settings: Settings) -> None:
    """This process's limits for `ServeProtocol` (called in every worker, before it serves)."""
    ServeProtocol.header_timeout = settings.header_timeout_seconds
    ServeProtocol.max_connections = _cap(settings)


def _shared_options(settings: Settings) -> dict[str, Any]:
    return {
        "timeout_keep_alive": settings.keep_alive_seconds,
        "proxy_headers": settings.proxy_headers,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }


def serve_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options for `gridshare serve` (one or more spawned workers)."""
    configure_serve(settings)
    return {"http": SERVE_PROTOCOL, "access_log": settings.access_log, **_shared_options(settings)}


def uvicorn_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's Config for an app object served in this process (tests' live servers), with
    the settings' connection limits and proxy trust on a protocol class of its own."""
    return uvicorn.Config(
        app,
        http=guarded_protocol(settings.header_timeout_seconds, _cap(settings)),
        **_shared_options(settings),
        **options,
    )
