"""Stateless across processes: two servers on one database (one issuer, as replicas behind a
load balancer); a client initializes on one and calls tools on the other."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gridshare.config import Settings
from tests.client.live import LiveServer
from tests.mcp.support import mcp_url, public_partner, token_for

PROTOCOL = "2025-06-18"


@pytest.fixture
def replicas(settings: Settings) -> Iterator[tuple[LiveServer, LiveServer]]:
    first = LiveServer.start(settings)
    second = LiveServer.start(first.settings, issuer=first.base_url)
    try:
        yield first, second
    finally:
        second.stop()
        first.stop()


def _rpc(method: str, params: dict[str, object], ident: int) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": ident, "method": method, "params": params}


async def test_any_replica_answers_any_call(replicas: tuple[LiveServer, LiveServer]) -> None:
    first, second = replicas
    owner = first.owner()
    token = await token_for(first, owner, public_partner(first), resource=mcp_url(first))
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
    }
    async with httpx.AsyncClient(timeout=30) as http:
        init = await http.post(
            f"{first.base_url}/mcp",
            json=_rpc(
                "initialize",
                {
                    "protocolVersion": PROTOCOL,
                    "capabilities": {},
                    "clientInfo": {"name": "replica-test", "version": "0"},
                },
                1,
            ),
            headers=headers,
        )
        assert init.status_code == 200, init.text
        assert "mcp-session-id" not in init.headers  # nothing to route back to one process
        headers["MCP-Protocol-Version"] = init.json()["result"]["protocolVersion"]
        called = await http.post(
            f"{second.base_url}/mcp",
            json=_rpc("tools/call", {"name": "list_sites", "arguments": {}}, 2),
            headers=headers,
        )
    assert called.status_code == 200, called.text
    result = called.json()["result"]
    assert result["structuredContent"] == {"entries": [{"siteId": owner.sites[0]}]}
