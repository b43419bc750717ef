"""Client ID Metadata Documents: an assistant whose client id is the URL of its metadata. The
documents are served by a small local web server; the server under test may fetch from
loopback only because the test turns `mcp_metadata_allow_loopback` on."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from gridshare.auth.client_metadata_documents import (
    MetadataDocumentError,
    check_url,
    fetch_document,
)
from gridshare.config import Settings
from tests.client.live import LiveServer
from tests.mcp.support import mcp_url
from tests.support import Partner, TestServices

CALLBACK = "http://localhost:45678/oauth/callback"


class Documents:
    """A web server answering `path` → (status, body bytes); counts the hits."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.hits: dict[str, int] = {}
        documents = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                documents.hits[self.path] = documents.hits.get(self.path, 0) + 1
                status, body = documents.routes.get(self.path, (404, b"{}"))
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", "https://example.com/elsewhere.json")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, path: str, document: dict[str, Any] | None = None, **extra: Any) -> str:
        url = self.base + path
        body = (
            document
            if document is not None
            else {
                "client_id": url,
                "client_name": "Doc Assistant",
                "redirect_uris": [CALLBACK],
                "token_endpoint_auth_method": "none",
                **extra,
            }
        )
        self.routes[path] = (200, json.dumps(body).encode())
        return url

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def documents() -> Iterator[Documents]:
    served = Documents()
    try:
        yield served
    finally:
        served.close()


@pytest.fixture
def live_loopback(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer.start(settings.model_copy(update={"mcp_metadata_allow_loopback": True}))
    try:
        yield server
    finally:
        server.stop()


async def test_an_assistant_identified_by_its_metadata_url(
    live_loopback: LiveServer, documents: Documents
) -> None:
    live = live_loopback
    url = documents.publish("/assistant/client.json")
    owner = live.owner()
    assistant = Partner(url, None, CALLBACK)
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        gs = TestServices(live.services, http)
        auth = await gs.authorize(assistant, owner, scope="lunar/device.read")  # type: ignore[arg-type]
        assert "code" in auth.params, auth.location
        response = await gs.exchange(assistant, auth)
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        again = await gs.authorize(assistant, owner, scope="lunar/device.read")  # type: ignore[arg-type]
        assert "code" in again.params
        rest = await http.get("/api/v2/sites", headers={"Authorization": f"Bearer {token}"})
        assert rest.status_code == 401
        asm = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert asm["client_id_metadata_document_supported"] is True
    assert documents.hits["/assistant/client.json"] == 1  # cached for the second authorize
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(
            mcp_url(live),
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "list_sites", "arguments": {}},
            },
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2025-06-18",
            },
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["structuredContent"]["entries"][0]["siteId"] == owner.sites[0]


async def _authorize_page(live: LiveServer, client_id: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        return await http.get(
            "/oauth2/authorize",
            params={
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": CALLBACK,
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
            },
        )


async def test_unusable_documents_are_an_error_page(
    live_loopback: LiveServer, documents: Documents
) -> None:
    wrong_id = documents.publish(
        "/wrong.json", {"client_id": "https://other.example/c.json", "redirect_uris": [CALLBACK]}
    )
    evil = documents.publish("/evil.json", redirect_uris=["https://evil.example/cb"])
    secret = documents.publish("/secret.json", token_endpoint_auth_method="client_secret_basic")
    documents.routes["/big.json"] = (200, b"{" + b" " * 6000 + b"}")
    documents.routes["/moved.json"] = (302, b"")
    cases = {
        wrong_id: "not its own URL",
        evil: "allow-list",
        secret: "public clients",
        documents.base + "/big.json": "too large",
        documents.base + "/moved.json": "answered 302",
        documents.base + "/missing.json": "answered 404",
    }
    for url, reason in cases.items():
        page = await _authorize_page(live_loopback, url)
        assert page.status_code == 400, (url, page.text)
        assert reason in page.text, (url, page.text)
        assert "location" not in page.headers


async def test_loopback_is_refused_unless_allowed(live: LiveServer, documents: Documents) -> None:
    url = documents.publish("/assistant/client.json")
    page = await _authorize_page(live, url)
    assert page.status_code == 400 and "names this machine" in page.text
    assert documents.hits == {}  # refused before any fetch


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://assistant.example/client.json", "must be https"),
        ("https://assistant.example/", "must have a path"),
        ("https://user@assistant.example/c.json", "no user info"),
        ("https://127.0.0.1/c.json", "names this machine"),
        ("https://localhost/c.json", "names this machine"),
    ],
)
def test_client_id_urls_are_bounded(url: str, reason: str) -> None:
    with pytest.raises(MetadataDocumentError, match=reason):
        check_url(url, allow_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/c.json",
        "https://192.168.1.20/c.json",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/c.json",
        "https://100.64.0.1/c.json",
    ],
)
async def test_private_addresses_are_never_fetched(url: str) -> None:
    with pytest.raises(MetadataDocumentError, match="not a public address"):
        await fetch_document(url, allow_loopback=True)
