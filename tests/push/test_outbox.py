"""The outbox: every event commits with the change that causes it, numbered per site.

Writes go through the API; the twin is advanced by the test, as the live loop would; the events
are read back from the outbox table, the one source webhooks and streams deliver from.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from gridshare.clock import Clock
from gridshare.storage import events as outbox
from tests.api.telemetry_support import TwinHome, iso, twin_home, utc
from tests.support import TestServices, hidden

NOW = utc("2026-06-15T08:00:00Z")


@pytest.fixture
def clock() -> Clock:
    pinned = Clock()
    pinned.offset_seconds = NOW.timestamp() - time.time()
    return pinned


async def site_events(gs: TestServices, home: TwinHome, after: int = 0) -> list[Any]:
    async with gs.services.db.read() as session:
        return list(await outbox.site_events_after(session, home.site.site_id, after))


async def test_writes_and_the_twin_tell_in_order(gs: TestServices) -> None:
    home = await twin_home(gs, seed=41, history_start=NOW - timedelta(minutes=30), until=NOW)
    battery = home.device("battery_pack")
    start = NOW + timedelta(minutes=5)
    plan = {
        "startTime": iso(start),
        "commands": [
            {"type": "setpoint", "durationMinutes": 10, "powerW": -2000},
            {"type": "idle", "durationMinutes": 5},
        ],
    }
    path = f"/api/v2/devices/{battery}/plans/overlay"
    assert (await gs.http.put(path, json=plan, headers=home.headers)).status_code == 204
    # a refused write tells nothing
    bad = {"startTime": iso(start), "commands": [{"type": "idle", "durationMinutes": 0}]}
    assert (await gs.http.put(path, json=bad, headers=home.headers)).status_code in (400, 422)
    mode = await gs.http.put(
        f"/api/v2/devices/{battery}/operationMode", json={"mode": "SMART"}, headers=home.headers
    )
    assert mode.status_code == 200, mode.text
    await gs.services.twin.advance(home.site.site_id, until=NOW + timedelta(minutes=12))
    await gs.services.twin.advance(home.site.site_id, until=NOW + timedelta(minutes=30))

    found = await site_events(gs, home)
    assert [e.seq for e in found] == list(range(1, len(found) + 1))
    assert [(e.type, e.at) for e in found] == [
        ("plan.overlay.accepted", found[0].at),
        ("device.operationMode.changed", found[1].at),
        ("plan.overlay.started", start),
        ("plan.overlay.completed", start + timedelta(minutes=10)),
        ("plan.overlay.started", start + timedelta(minutes=10)),
        ("plan.overlay.completed", start + timedelta(minutes=15)),
    ]
    assert found[0].body == {"deviceId": battery, "plan": plan | {"startTime": iso(start)}}
    assert found[0].client_id == home.partner.client_id
    assert found[1].body["operationMode"] == {"mode": "smart"}
    assert found[1].body["previousMode"] == "simple"
    assert found[2].body["commandIndex"] == 0 and found[4].body["commandIndex"] == 1
    assert {e.device_id for e in found} == {battery}

    # replacing the plan supersedes the old one; deleting clears
    later = {"startTime": iso(NOW + timedelta(hours=2)), "commands": plan["commands"]}
    assert (await gs.http.put(path, json=later, headers=home.headers)).status_code == 204
    empty = {"commands": []}
    assert (await gs.http.put(path, json=empty, headers=home.headers)).status_code == 204
    tail = await site_events(gs, home, after=len(found))
    assert [e.type for e in tail] == [
        "plan.overlay.superseded",
        "plan.overlay.accepted",
        "plan.overlay.cleared",
    ]
    assert tail[0].body["plan"]["startTime"] == iso(start)


async def test_disconnecting_in_the_portal_tells_the_partner_only(gs: TestServices) -> None:
    home = await twin_home(gs, seed=42)
    page = await gs.http.get("/account")
    assert page.status_code == 200
    connections = await gs.services.grants.connections(home.owner.sub)
    grant_id = connections[0].grant.id
    revoked = await gs.http.post(
        f"/account/connections/{grant_id}/revoke",
        data={"csrf_token": hidden(page.text, "csrf_token")},
    )
    assert revoked.status_code in (302, 303), revoked.text
    found = await site_events(gs, home)
    assert [e.type for e in found] == ["grant.revoked"]
    assert found[0].private_to == home.partner.client_id
    assert found[0].body == {"clientId": home.partner.client_id, "grantId": grant_id}
