"""Races over a real socket: parallel redemptions of one code, parallel refreshes of one token.

Each of the N requests has its own, already-open connection and they are released together, so
they reach the server at the same moment and run interleaved on its event loop and database
(BEGIN IMMEDIATE on SQLite, row locks on PostgreSQL). Runs on every configured backend.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.e2e.live import LiveServer, approve
from tests.live import Partner
from tests.support import ALL_API, query_of

pytestmark = pytest.mark.e2e

N = 20
REDIRECT = "https://partner.example/callback"


def basic(partner: Partner) -> dict[str, str]:
    raw = f"{partner.client_id}:{partner.secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.fixture
async def connections(live_server: LiveServer) -> AsyncIterator[list[httpx.AsyncClient]]:
    """N clients, each holding one open keep-alive connection to the server."""
    clients = [httpx.AsyncClient(base_url=live_server.base_url, timeout=60) for _ in range(N)]
    try:
        warm = await asyncio.gather(*(c.get("/.well-known/jwks.json") for c in clients))
        assert all(r.status_code == 200 for r in warm)
        yield clients
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


async def all_at_once(
    clients: list[httpx.AsyncClient], data: dict[str, str], headers: dict[str, str]
) -> list[httpx.Response]:
    start = asyncio.Event()

    async def one(client: httpx.AsyncClient) -> httpx.Response:
        await start.wait()
        return await client.post("/oauth2/token", data=data, headers=headers)

    tasks = [asyncio.create_task(one(c)) for c in clients]
    await asyncio.sleep(0)  # every task is now parked on the event
    start.set()
    return await asyncio.gather(*tasks)


async def authorize(live: LiveServer, partner: Partner) -> str:
    owner = live.create_user()
    query = httpx.QueryParams(
        {
            "response_type": "code",
            "client_id": partner.client_id,
            "redirect_uri": partner.redirect_uri,
            "state": "race",
            "scope": ALL_API,
        }
    )
    url = f"{live.base_url}/oauth2/authorize?{query}"
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as browser:
        seen = await approve(browser, url, owner)
    return query_of(seen.callback)["code"]


async def exchange(live: LiveServer, partner: Partner, code: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        response = await http.post(
            "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": partner.redirect_uri,
            },
            headers=basic(partner),
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def families(live: LiveServer, client_id: str) -> list[dict[str, Any]]:
    return await live.query(
        "SELECT id, client_id, revoked_at, revoked_reason, generation FROM token_families "
        "WHERE client_id = :client_id",
        client_id=client_id,
    )


def errors(responses: list[httpx.Response]) -> list[str]:
    out = []
    for r in responses:
        if r.status_code != 200:
            assert r.status_code == 400, f"{r.status_code}: {r.text}"
            out.append(r.json()["error"])
    return out


async def test_parallel_redemptions_of_one_code(
    live_server: LiveServer, connections: list[httpx.AsyncClient]
) -> None:
    live = live_server
    partner = live.create_client(REDIRECT)
    code = await authorize(live, partner)

    responses = await all_at_once(
        connections,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        basic(partner),
    )

    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1, [r.text for r in responses]
    assert errors(responses) == ["invalid_grant"] * (N - 1)

    rows = await families(live, partner.client_id)
    assert len(rows) == 1, "exactly one redemption started a token family"
    # RFC 6749 §4.1.2 / our bar #3: a replayed code revokes what the first redemption issued.
    assert rows[0]["revoked_at"] is not None and rows[0]["revoked_reason"] == "code_replayed"
    issued = winners[0].json()
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        api = await http.get(
            "/api/v1/devices", headers={"Authorization": f"Bearer {issued['access_token']}"}
        )
        assert api.status_code == 401
        refresh = await http.post(
            "/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
            headers=basic(partner),
        )
        assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("grace", [30, 0], ids=["grace30s", "grace0s"])
async def test_parallel_refreshes_of_one_rotating_token(
    live_server: LiveServer, connections: list[httpx.AsyncClient], grace: int
) -> None:
    live = live_server
    partner = live.create_client(REDIRECT, "--rotate-refresh-tokens", "--grace-seconds", str(grace))
    tokens = await exchange(live, partner, await authorize(live, partner))

    responses = await all_at_once(
        connections,
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        basic(partner),
    )

    won = [r.json() for r in responses if r.status_code == 200]
    failed = errors(responses)
    assert won, [r.text for r in responses]
    assert set(failed) <= {"invalid_grant"}
    new_tokens = [w["refresh_token"] for w in won]
    assert len(set(new_tokens)) == len(new_tokens), "every success got its own refresh token"

    rows = await families(live, partner.client_id)
    assert len(rows) == 1, "refreshing never forks a family"
    live_rows = [r for r in rows if r["revoked_at"] is None]
    assert len(live_rows) <= 1
    assert rows[0]["generation"] == 1, "the token was rotated exactly once"
    if grace:
        # Within the grace period each parallel request is a retry of the previous token.
        assert failed == [], [r.text for r in responses]
        assert len(live_rows) == 1
    elif failed:
        # Without grace, a request that lost the race presents a superseded token: reuse.
        assert live_rows == [] and rows[0]["revoked_reason"] == "refresh_token_reused"

    if live_rows:
        # Every token handed out belongs to that one family: revoking one kills them all.
        async with httpx.AsyncClient(base_url=live.base_url) as http:
            revoked = await http.post(
                "/oauth2/revoke", data={"token": new_tokens[0]}, headers=basic(partner)
            )
            assert revoked.status_code == 200
        assert [r for r in await families(live, partner.client_id) if r["revoked_at"] is None] == []

    async with httpx.AsyncClient(base_url=live.base_url) as http:
        for token in [tokens["refresh_token"], *new_tokens]:
            again = await http.post(
                "/oauth2/token",
                data={"grant_type": "refresh_token", "refresh_token": token},
                headers=basic(partner),
            )
            assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        for access in [tokens["access_token"], *(w["access_token"] for w in won)]:
            api = await http.get("/api/v1/devices", headers={"Authorization": f"Bearer {access}"})
            assert api.status_code == 401
