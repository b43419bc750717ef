"""Client ID Metadata Documents: an assistant whose `client_id` is an https URL serving its
metadata (MCP authorization, draft-ietf-oauth-client-id-metadata-document).

The URL is fetched by our server, so it is an SSRF surface; every fetch is bounded:

- `https` only (plain `http` only for loopback, and loopback only when
  `GRIDSHARE_MCP_METADATA_ALLOW_LOOPBACK` is set, for local development), a path other than `/`,
  no user info, no fragment;
- the host must resolve to public addresses only (no private, loopback, link-local, multicast or
  reserved ranges; every address the name resolves to is checked);
- no redirects, `FETCH_TIMEOUT_SECONDS` for the whole fetch, at most `MAX_DOCUMENT_BYTES`;
- answers (good or bad) are cached per process for `CACHE_SECONDS`, so a client id cannot make
  the server fetch at request rate.

The document must name the URL itself as `client_id`, be a public client
(`token_endpoint_auth_method` `none`), and list only allow-listed `redirect_uris`, like a
registration. It becomes a public client under an internal id derived from the URL
(`internal_client_id`), which the authorize and token endpoints use in its place.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from gridshare import outbound
from gridshare.auth import redirects
from gridshare.auth.assistant_clients import ASSISTANT_SCOPES, AssistantClients, callback_permitted
from gridshare.auth.authorize_request import ErrorPage
from gridshare.auth.clients import ClientConfigError, ClientOptions, ClientService
from gridshare.auth.params import Params
from gridshare.clock import Clock
from gridshare.outbound import is_loopback_host
from gridshare.storage.db import Database
from gridshare.storage.models import Client, McpClient

MAX_DOCUMENT_BYTES = 5 * 1024
FETCH_TIMEOUT_SECONDS = 5.0
CACHE_SECONDS = 300.0
MAX_URL_LENGTH = 2048
MAX_CACHED = 1000
INTERNAL_PREFIX = "cimd_"


class MetadataDocumentError(Exception):
    """The client id URL or its document cannot be used; the message is safe to show."""


def is_metadata_url(client_id: str | None) -> bool:
    return client_id is not None and client_id.startswith(("https://", "http://"))


def internal_client_id(url: str) -> str:
    """The stored client id of a metadata-document client (ids are at most 64 characters)."""
    return INTERNAL_PREFIX + hashlib.sha256(url.encode()).hexdigest()[:40]


def use_internal_id(params: Params) -> None:
    """Replace a metadata-document `client_id` by its internal id (token and revoke requests:
    no fetch, the id is derived)."""
    client_id = params.values.get("client_id")
    if is_metadata_url(client_id):
        assert client_id is not None
        params.values["client_id"] = internal_client_id(client_id)


def check_url(url: str, allow_loopback: bool) -> None:
    if len(url) > MAX_URL_LENGTH:
        raise MetadataDocumentError("the client id URL is too long")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.username or parts.password or parts.fragment or "#" in url:
        raise MetadataDocumentError("the client id URL must have no user info or fragment")
    if parts.path in ("", "/"):
        raise MetadataDocumentError("the client id URL must have a path")
    if not host:
        raise MetadataDocumentError("the client id URL has no host")
    loopback = is_loopback_host(host)
    if loopback and not allow_loopback:
        raise MetadataDocumentError("the client id URL names this machine")
    if parts.scheme != "https" and not loopback:
        raise MetadataDocumentError("the client id URL must be https")


async def fetch_document(url: str, allow_loopback: bool) -> dict[str, Any]:
    """The document at `url`, within every bound above (`gridshare.outbound`)."""
    check_url(url, allow_loopback)
    try:
        reply = await outbound.request(
            "GET",
            url,
            headers={"Accept": "application/json"},
            seconds=FETCH_TIMEOUT_SECONDS,
            max_bytes=MAX_DOCUMENT_BYTES,
            allow_loopback=allow_loopback,
        )
    except outbound.OutboundError as exc:
        reason = str(exc)
        if "public address" in reason or "resolve" in reason:
            raise MetadataDocumentError(f"the client id URL's {reason[4:]}") from exc
        if "too large" in reason:
            raise MetadataDocumentError("the client metadata document is too large") from exc
        raise MetadataDocumentError("the client metadata document could not be fetched") from exc
    if reply.status_code != 200:
        raise MetadataDocumentError(f"the client metadata document answered {reply.status_code}")
    try:
        document = orjson.loads(reply.body)
    except orjson.JSONDecodeError as exc:
        raise MetadataDocumentError("the client metadata document is not JSON") from exc
    if not isinstance(document, dict):
        raise MetadataDocumentError("the client metadata document is not a JSON object")
    return document


@dataclass
class _Cached:
    client_id: str | None
    error: str | None
    at: float


#: Per process: what each client id URL resolved to (or why not), shared by every request.
_CACHE: dict[str, _Cached] = {}


class MetadataDocumentClients:
    """Resolves a client id URL to a stored public client, fetching its document when the
    cache has nothing fresh."""

    def __init__(
        self, db: Database, clock: Clock, clients: ClientService, allow_loopback: bool
    ) -> None:
        self.db = db
        self.clock = clock
        self.clients = clients
        self.allow_loopback = allow_loopback
        self._cache = _CACHE

    async def resolve(self, url: str) -> str:
        """The internal client id for `url`; raises MetadataDocumentError."""
        cached = self._cache.get(url)
        if cached is not None and time.monotonic() - cached.at < CACHE_SECONDS:
            if cached.error is not None:
                raise MetadataDocumentError(cached.error)
            assert cached.client_id is not None
            return cached.client_id
        try:
            client_id = await self._load(url)
        except MetadataDocumentError as exc:
            self._remember(url, _Cached(None, str(exc), time.monotonic()))
            raise
        self._remember(url, _Cached(client_id, None, time.monotonic()))
        return client_id

    def _remember(self, url: str, entry: _Cached) -> None:
        self._cache.pop(url, None)
        while len(self._cache) >= MAX_CACHED:
            del self._cache[next(iter(self._cache))]
        self._cache[url] = entry

    async def _load(self, url: str) -> str:
        document = await fetch_document(url, self.allow_loopback)
        if document.get("client_id") != url:
            raise MetadataDocumentError("the document's client_id is not its own URL")
        if document.get("token_endpoint_auth_method", "none") != "none":
            raise MetadataDocumentError("only public clients (token_endpoint_auth_method none)")
        uris = document.get("redirect_uris")
        if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
            raise MetadataDocumentError("the document lists no redirect_uris")
        try:
            for uri in uris:
                redirects.validate_registration(uri)
        except redirects.RedirectURIError as exc:
            raise MetadataDocumentError(str(exc)) from exc
        assistants = AssistantClients(self.db, self.clock, self.clients)
        allowed = [row.uri for row in await assistants.allowed()]
        refused = [u for u in uris if not callback_permitted(u, allowed)]
        if refused:
            raise MetadataDocumentError(f"callback not on this server's allow-list: {refused[0]}")
        name = document.get("client_name")
        name = (
            name.strip()[:200] if isinstance(name, str) and name.strip() else urlsplit(url).netloc
        )
        return await self._store(url, name, list(uris))

    async def _store(self, url: str, name: str, uris: list[str]) -> str:
        client_id = internal_client_id(url)
        registration = {"client_id_metadata_document": url, "client_name": name}
        existing = await self.clients.get(client_id)
        if existing is None:
            try:
                await self.clients.create(
                    ClientOptions(
                        name=name,
                        redirect_uris=uris,
                        scopes=list(ASSISTANT_SCOPES),
                        public=True,
                        client_id=client_id,
                    )
                )
            except ClientConfigError as exc:
                raise MetadataDocumentError(str(exc)) from exc
            async with self.db.write() as session:
                session.add(
                    McpClient(
                        client_id=client_id,
                        registration=registration,
                        created_at=self.clock.now(),
                    )
                )
            return client_id
        async with self.db.write() as session:
            row = await session.get(Client, client_id)
            if row is not None:  # the document may have changed since: follow it
                row.redirect_uris = uris
                row.name = name
        return client_id


async def resolve_metadata_client(resolver: MetadataDocumentClients, params: Params) -> None:
    """At authorize: replace a client id URL by its stored client, fetching its document if
    needed; a document that cannot be used is an error page (never a redirect)."""
    url = params.values.get("client_id")
    if not is_metadata_url(url) or "client_id" in params.repeated:
        return
    assert url is not None
    try:
        params.values["client_id"] = await resolver.resolve(url)
    except MetadataDocumentError as exc:
        raise ErrorPage(f"The application that sent you here cannot be used: {exc}.") from exc
