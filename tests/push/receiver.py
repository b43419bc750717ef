"""A webhook receiver on a real socket: a small ASGI app under uvicorn in a thread, which
records every request and answers the status codes a test scripts."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    #: `time.perf_counter()` when the request's body had arrived (benchmarks).
    at: float = 0.0


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    #: Status codes to answer, in turn; 204 once they run out. 0: hold the request, never
    #: answer (until `released`).
    script: list[int] = field(default_factory=list)
    released: bool = False

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(headers, body, time.perf_counter()))
        status = self.script.pop(0) if self.script else 204
        while status == 0 and not self.released:
            await asyncio.sleep(0.05)
        status = status or 204
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@contextmanager
def receiver(path: str = "/hooks") -> Iterator[Receiver]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    found = Receiver(f"http://127.0.0.1:{sock.getsockname()[1]}{path}")
    config = uvicorn.Config(
        found.app, log_level="warning", access_log=False, lifespan="off", interface="asgi3"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "receiver did not start"
        time.sleep(0.01)
    try:
        yield found
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
