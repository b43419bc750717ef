"""An assistant that knows only the URL: the official MCP client SDK's OAuth support discovers
the authorization server from a bare 401, registers itself (RFC 7591), signs the homeowner in
with PKCE and consent (driven as a browser would), and calls tools."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import httpx
import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl

from tests.client.live import LiveServer
from tests.live import Owner
from tests.mcp.support import mcp_url
from tests.support import hidden, query_of

CALLBACK = "http://localhost:33418/oauth/callback"


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class HomeownerBrowser:
    """Follows the authorization URL through sign-in and consent; keeps the callback."""

    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        self.callback: dict[str, str] = {}
        self.consent_page = ""

    async def visit(self, url: str) -> None:
        async with httpx.AsyncClient(follow_redirects=False, timeout=30) as http:
            response = await http.get(url)
            assert response.status_code == 302, response.text
            login = urljoin(url, response.headers["location"])
            page = await http.get(login)
            signed = await http.post(
                login,
                data={
                    "username": self.owner.email,
                    "password": self.owner.password,
                    "csrf_token": hidden(page.text, "csrf_token"),
                },
            )
            assert signed.status_code == 302, signed.text
            back = urljoin(login, signed.headers["location"])
            consent = await http.get(back)
            assert consent.status_code == 200, consent.text
            self.consent_page = consent.text
            decided = await http.post(
                urljoin(back, "/consent"),
                data={
                    "csrf_token": hidden(consent.text, "csrf_token"),
                    "request": hidden(consent.text, "request"),
                    "decision": "allow",
                },
            )
            assert decided.status_code == 302, decided.text
            location = decided.headers["location"]
            assert location.startswith(CALLBACK), location
            self.callback = query_of(location)

    async def callback_result(self) -> AuthorizationCodeResult:
        return AuthorizationCodeResult(
            code=self.callback["code"],
            state=self.callback.get("state"),
            iss=self.callback.get("iss"),
        )


async def test_an_assistant_connects_with_only_the_url(live: LiveServer) -> None:
    owner = live.owner()
    browser = HomeownerBrowser(owner)
    storage = MemoryStorage()
    provider = OAuthClientProvider(
        server_url=mcp_url(live),
        client_metadata=OAuthClientMetadata(
            client_name="Test assistant",
            redirect_uris=[AnyUrl(CALLBACK)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
            scope="lunar/device.read lunar/plan.read",
        ),
        storage=storage,
        redirect_handler=browser.visit,
        callback_handler=browser.callback_result,
    )
    async with (
        httpx2.AsyncClient(auth=provider, timeout=60) as http,
        streamable_http_client(mcp_url(live), http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        sites = await session.call_tool("list_sites", {})
        assert sites.structured_content == {"entries": [{"siteId": owner.sites[0]}]}
    assert storage.client is not None and storage.tokens is not None
    assert "AI assistant" in browser.consent_page
    assert browser.callback["iss"] == live.base_url
    rows = await live_query_client(live, storage.client.client_id)
    assert rows, "the assistant registered itself"

    # The homeowner finds the assistant among their connections and disconnects it.
    token = storage.tokens.access_token
    assert await _initialize_status(live, token) == 200
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as portal:
        page = await portal.get("/login")
        signed = await portal.post(
            "/login",
            data={
                "username": owner.email,
                "password": owner.password,
                "csrf_token": hidden(page.text, "csrf_token"),
            },
        )
        assert signed.status_code == 302, signed.text
        account = await portal.get("/account")
        assert 'Test assistant <span class="small">(AI assistant)</span>' in account.text
        action = re.search(r'action="(/account/connections/[^"]+/revoke)"', account.text)
        assert action is not None
        revoked = await portal.post(
            action.group(1), data={"csrf_token": hidden(account.text, "csrf_token")}
        )
        assert revoked.status_code == 303, revoked.text
    assert await _initialize_status(live, token) == 401


async def _initialize_status(live: LiveServer, token: str) -> int:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            mcp_url(live),
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "test", "version": "0"},
                },
            },
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json, text/event-stream",
            },
        )
        return response.status_code


async def live_query_client(live: LiveServer, client_id: str) -> list[str]:
    async def read() -> list[str]:
        from sqlalchemy import select

        from gridshare.storage.models import McpClient

        async with live.services.db.read() as session:
            found = await session.execute(
                select(McpClient.client_id).where(McpClient.client_id == client_id)
            )
            return list(found.scalars())

    return live.call(read())
