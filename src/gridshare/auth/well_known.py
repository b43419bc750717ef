"""OpenID discovery and the JWKS, answered before the framework.

Both are constant documents (discovery depends on the issuer only; the JWKS changes when a key
is rotated), fetched by every client and resource server, so they must cost what their bytes
cost. Through FastAPI's routing and dependency solving they cost several times that; this pure
ASGI middleware answers `GET` on the two paths with bytes built once (orjson), an ETag
(`If-None-Match` gets a 304), `Cache-Control` and `X-Content-Type-Options`. It sits inside
`Observability`, so the request id and the request metrics (route label = the path) still apply.
Any other method falls through to the routes in `gridshare.auth.routes.discovery`.

The JWKS bytes come from `KeyStore.jwks_document()`, which rebuilds them when the published key
set changes, in this process or (seen within `keys.CHECK_SECONDS`) in any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from gridshare.auth.keys import Document
from gridshare.auth.routes.discovery import discovery_document

DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/.well-known/jwks.json"
#: Clients may reuse either document for five minutes; a new key is published
#: `key_publish_ahead_seconds` (10 minutes by default) before it signs anything.
CACHE_CONTROL = b"public, max-age=300"


@dataclass(frozen=True)
class Template:
    """What `Observability` reads as the matched route (`scope["route"].path`)."""

    path: str


_ROUTES = {DISCOVERY: Template(DISCOVERY), JWKS: Template(JWKS)}


def _matches(if_none_match: bytes, etag: bytes) -> bool:
    """RFC 9110 13.1.2: weak comparison against a list of entity tags, or `*`."""
    for candidate in if_none_match.split(b","):
        candidate = candidate.strip()
        if candidate == b"*" or candidate.removeprefix(b"W/") == etag:
            return True
    return False


class WellKnown:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._discovery: tuple[str, Document] | None = None

    def _discovery_for(self, issuer: str) -> Document:
        if self._discovery is None or self._discovery[0] != issuer:
            self._discovery = (issuer, Document.of_json(discovery_document(issuer)))
        return self._discovery[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path not in _ROUTES or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        services = scope["app"].state.services
        if path == JWKS:
            document = await services.keys.jwks_document()
        else:
            document = self._discovery_for(services.issuer)
        body, etag = document.body, document.etag
        scope["route"] = _ROUTES[path]
        headers = [
            (b"etag", etag),
            (b"cache-control", CACHE_CONTROL),
            (b"x-content-type-options", b"nosniff"),
        ]
        status = 200
        for name, value in scope["headers"]:
            if name == b"if-none-match" and _matches(value, etag):
                status, body = 304, b""
                break
        if status == 200:
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
