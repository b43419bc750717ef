"""Connection exhaustion over real loopback sockets: half-sent requests are closed after the
header timeout, and idle sockets past the connection cap make room instead of keeping a real
request out (issue: 1,200 half-sent requests stayed open forever; 21,000 idle ones exhausted the
process's descriptors so every new request failed).

Small limits keep this quick: a 1 s head deadline, a cap of 20 connections. The server runs as
`gridshare serve` configures uvicorn (`gridshare.serving.uvicorn_config`).
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from gridshare.config import Settings
from gridshare.serving import connection_cap
from tests.e2e.live import LiveServer

pytestmark = pytest.mark.e2e

HALF_SENT = 12
CAP = 20
#: How long a test waits for something the server must do by itself; a guard, not a measure.
GUARD_SECONDS = 20.0


def start(settings: Settings, **limits: object) -> LiveServer:
    return LiveServer.start(settings.model_copy(update=limits))


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for s in opened:
        s.close()


def connect(live: LiveServer, opened: list[socket.socket], first_bytes: bytes = b"") -> None:
    s = socket.create_connection(("127.0.0.1", live.port), timeout=GUARD_SECONDS)
    if first_bytes:
        s.sendall(first_bytes)
    opened.append(s)


def closed_by_server(sockets: list[socket.socket], at_least: int) -> tuple[set[int], bytes]:
    """Wait until `at_least` sockets see the server's close (EOF); their indices and what was read.

    Returns early once enough closed, or after the guard with what closed so far.
    """
    closed: set[int] = set()
    received = b""
    deadline = time.monotonic() + GUARD_SECONDS
    while len(closed) < at_least and time.monotonic() < deadline:
        waiting = [s for i, s in enumerate(sockets) if i not in closed]
        readable, _, _ = select.select(waiting, [], [], 0.2)
        for s in readable:
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            received += data
            if not data or data.endswith(b"request timeout\n"):
                closed.add(sockets.index(s))
    return closed, received


def test_half_sent_requests_are_closed_after_the_header_timeout(
    settings: Settings, sockets: list[socket.socket]
) -> None:
    live = start(settings, header_timeout_seconds=1.0, max_connections=1000)
    try:
        for i in range(HALF_SENT):
            # A request line and part of a header, never the blank line that ends the head.
            head = f"GET /oauth2/authorize?n={i} HTTP/1.1\r\nHost: x\r\nX-A"
            connect(live, sockets, head.encode())
        connect(live, sockets)  # and one that never sends anything
        closed, received = closed_by_server(sockets, len(sockets))
        assert len(closed) == len(sockets), f"{len(sockets) - len(closed)} still open"
        assert b"408 Request Timeout" in received

        # The server itself is fine: a complete request is answered.
        response = httpx.get(f"{live.base_url}/.well-known/openid-configuration", timeout=30)
        assert response.status_code == 200
    finally:
        live.stop()


def test_idle_sockets_past_the_cap_make_room_for_a_real_request(
    settings: Settings, sockets: list[socket.socket]
) -> None:
    # A long head deadline: only the cap can close anything during this test.
    live = start(settings, header_timeout_seconds=300.0, max_connections=CAP)
    try:
        for i in range(CAP + 10):
            connect(live, sockets, b"GET / HTTP/1.1\r\n" if i % 2 else b"")
        with httpx.Client(base_url=live.base_url, timeout=30) as client:
            for _ in range(3):  # one kept-alive connection, three requests
                response = client.get("/.well-known/openid-configuration")
                assert response.status_code == 200
            over = len(sockets) + 1 - CAP
            closed, _ = closed_by_server(sockets, over)
            assert len(closed) >= over, f"only {len(closed)} of {over} idle sockets were shed"
            assert closed == set(range(len(closed))), "the longest-idle sockets go first"
            # A new connection still gets in while the cap is held by idle sockets.
            assert httpx.get(f"{live.base_url}/docs", timeout=30).status_code == 200
    finally:
        live.stop()


def test_the_cap_stays_below_the_descriptor_limit() -> None:
    assert connection_cap(2048, 1_048_576) == 2048
    assert connection_cap(2048, 1024) == 512
    assert connection_cap(10, 1024) == 10
