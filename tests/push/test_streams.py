"""Server-Sent Events on a real socket: catch-up and live events, resume after a dropped
connection without a gap, the end after `grant.revoked`, and the refusals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from gridshare.fleet.service import Caller
from tests.client.live import LiveServer
from tests.live import Owner
from tests.mcp.support import public_partner, token_for

ALL = "lunar/device.read lunar/device.write lunar/plan.read lunar/plan.write"
#: Only a guard against a hung test; no assertion depends on it.
GUARD = 30


@asynccontextmanager
async def stream(
    live: LiveServer, token: str, site: str, last: str | None = None
) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
    headers = {"Authorization": f"Bearer {token}"}
    if last is not None:
        headers["Last-Event-ID"] = last
    async with (
        httpx.AsyncClient(base_url=live.base_url, timeout=GUARD) as http,
        http.stream("GET", f"/api/v2/sites/{site}/events", headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")

        async def events() -> AsyncIterator[dict[str, Any]]:
            current: dict[str, Any] = {}
            async for line in response.aiter_lines():
                if not line:
                    if "data" in current:
                        yield current
                    current = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    current[name] = value.removeprefix(" ")

        yield events()


def battery_of(live: LiveServer, site_id: str) -> str:
    async def find() -> str:
        async with live.services.db.read() as session:
            from gridshare.storage import homes

            for row in await homes.device_rows(session, site_id):
                if row.kind == "battery_pack":
                    return row.synth_id
        raise LookupError("no battery")

    return live.call(find())


def set_mode(live: LiveServer, owner: Owner, battery: str, mode: str) -> None:
    """A write by the homeowner's other partner (events reach every connected partner)."""
    caller = Caller(user_id=owner.sub, client_id="other-partner")
    live.call(live.services.homes.set_mode(caller, battery, {"mode": mode}))


async def take(events: AsyncIterator[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    found = []
    async with asyncio.timeout(GUARD):
        async for item in events:
            found.append(item)
            if len(found) == n:
                break
    return found


async def test_resume_after_a_dropped_connection_misses_nothing(live: LiveServer) -> None:
    owner = live.owner()
    site = owner.sites[0]
    token = await token_for(live, owner, public_partner(live), scope=ALL)
    battery = battery_of(live, site)
    modes = ["smart", "simple", "smart", "simple", "smart", "simple"]
    async with stream(live, token, site) as events:
        # told live, as each commits
        await asyncio.to_thread(set_mode, live, owner, battery, modes[0])
        first = await take(events, 1)
        await asyncio.to_thread(set_mode, live, owner, battery, modes[1])
        first += await take(events, 1)
    # dropped; meanwhile the home changes four times
    for mode in modes[2:]:
        await asyncio.to_thread(set_mode, live, owner, battery, mode)
    async with stream(live, token, site, last=first[-1]["id"]) as events:
        rest = await take(events, 4)
    told = first + rest
    assert [int(e["id"]) for e in told] == [1, 2, 3, 4, 5, 6]
    assert {e["event"] for e in told} == {"device.operationMode.changed"}
    payloads = [json.loads(e["data"]) for e in told]
    assert [p["data"]["operationMode"]["mode"] for p in payloads] == modes
    assert {p["siteId"] for p in payloads} == {site}


async def test_the_stream_ends_after_grant_revoked(live: LiveServer) -> None:
    owner = live.owner()
    site = owner.sites[0]
    token = await token_for(live, owner, public_partner(live), scope=ALL)
    battery = battery_of(live, site)
    (connection,) = live.call(live.services.grants.connections(owner.sub))
    async with stream(live, token, site) as events:
        await asyncio.to_thread(set_mode, live, owner, battery, "smart")
        got = await take(events, 1)
        revoke = live.services.grants.revoke_grant(owner.sub, connection.grant.id)
        assert await asyncio.to_thread(live.call, revoke)
        async with asyncio.timeout(GUARD):
            got += [e async for e in events]  # the server ends the stream
    assert [e["event"] for e in got] == ["device.operationMode.changed", "grant.revoked"]
    assert json.loads(got[1]["data"])["data"]["grantId"] == connection.grant.id


@pytest.mark.parametrize("last", ["abc", "-1", "1" * 30])
async def test_a_malformed_last_event_id_is_400(live: LiveServer, last: str) -> None:
    owner = live.owner()
    token = await token_for(live, owner, public_partner(live))
    async with httpx.AsyncClient(base_url=live.base_url, timeout=GUARD) as http:
        response = await http.get(
            f"/api/v2/sites/{owner.sites[0]}/events",
            headers={"Authorization": f"Bearer {token}", "Last-Event-ID": last},
        )
    assert response.status_code in (400, 422), response.text


async def test_another_homeowners_site_is_404_and_no_token_401(live: LiveServer) -> None:
    owner, other = live.owner(), live.owner()
    token = await token_for(live, owner, public_partner(live))
    async with httpx.AsyncClient(base_url=live.base_url, timeout=GUARD) as http:
        alien = await http.get(
            f"/api/v2/sites/{other.sites[0]}/events", headers={"Authorization": f"Bearer {token}"}
        )
        bare = await http.get(f"/api/v2/sites/{owner.sites[0]}/events")
    assert alien.status_code == 404 and bare.status_code == 401
