"""The operator's allow-list through `gridshare admin`, against a live server's database."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gridshare.config import Settings
from tests.e2e.live import LiveServer


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer.start(settings)
    try:
        yield live
    finally:
        live.stop()


def _register(server: LiveServer, callback: str) -> int:
    response = httpx.post(
        f"{server.base_url}/oauth2/register",
        json={"redirect_uris": [callback], "token_endpoint_auth_method": "none"},
        timeout=30,
    )
    return response.status_code


def test_the_operator_allows_and_denies_callbacks(server: LiveServer) -> None:
    callback = "https://assistant.example/oauth/callback"
    seeded = {row["uri"] for row in server.admin("mcp-list")}
    assert "https://claude.ai/api/mcp/auth_callback" in seeded
    assert "http://localhost/oauth/callback" in seeded
    assert _register(server, callback) == 400
    server.admin("mcp-allow", callback, "--label", "Example assistant")
    assert _register(server, callback) == 201
    server.admin("mcp-deny", callback)
    assert _register(server, callback) == 400
    assert callback not in {row["uri"] for row in server.admin("mcp-list")}
