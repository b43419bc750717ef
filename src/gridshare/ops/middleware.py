"""One pure ASGI middleware for what every request needs observed: its id and its metrics.

Pure ASGI (not Starlette's BaseHTTPMiddleware, which copies each response through a stream and a
task): per request it reads one header, sets one context variable, adds one response header and
updates one histogram.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridshare.ops.logs import REQUEST_ID, request_id_from
from gridshare.ops.metrics import HTTP_REQUESTS

HEADER = b"x-request-id"
UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The matched route's template (`/api/v2/devices/{device_id}`): bounded label values."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path or "/"
    return UNMATCHED


class Observability:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        #: The histogram's child per label set: `labels()` costs more than the observation.
        self._series: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == HEADER:
                incoming = value
                break
        request_id = request_id_from(incoming)
        header = (HEADER, request_id.encode())
        status = 500  # unless a response starts: the app failed before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            key = (method, route_template(scope), status)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = HTTP_REQUESTS.labels(*key[:2], str(status))
            series.observe(elapsed)
            REQUEST_ID.reset(token)
