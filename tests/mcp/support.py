"""Driving `/mcp` as assistants do: tokens through the hosted pages (PKCE, `resource`), and the
official MCP SDK's own client over a real socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.client.live import LiveServer
from tests.live import Owner
from tests.support import Partner, TestServices

READ_SCOPES = "lunar/device.read lunar/plan.read"
LOOPBACK = "http://127.0.0.1/callback"


def mcp_url(live: LiveServer) -> str:
    return f"{live.base_url}/mcp"


async def token_for(
    live: LiveServer,
    owner: Owner,
    partner: Partner,
    scope: str = READ_SCOPES,
    resource: str | None = None,
) -> str:
    """An access token through the hosted pages, as a browser and the client would get it."""
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        gs = TestServices(live.services, http)
        extra = {"resource": resource} if resource is not None else {}
        auth = await gs.authorize(partner, owner, scope=scope, **extra)  # type: ignore[arg-type]
        assert "code" in auth.params, auth.location
        response = await gs.exchange(partner, auth)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


@asynccontextmanager
async def mcp_session(live: LiveServer, token: str) -> AsyncIterator[ClientSession]:
    """An initialized MCP client session with the bearer token."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
        streamable_http_client(mcp_url(live), http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def public_partner(live: LiveServer) -> Partner:
    made = live.partner(public=True)
    return Partner(made.client_id, None, made.redirect_uri)


async def rest(live: LiveServer, token: str, path: str, **params: Any) -> Any:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        response = await http.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, (path, response.text)
        return response.json()
