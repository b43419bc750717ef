"""Every write through the API leaves an audit row: who (homeowner and partner), what, when.
The homeowner sees them on /account, in the row of the partner that made them."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from gridshare.storage.models import AuditEvent
from tests.api.homes_support import Home, make_home, overlay_body, schedule_body
from tests.support import TestServices


async def _write_everything(gs: TestServices, home: Home) -> None:
    h = home.headers
    battery = home.device_id("battery_pack")
    inverter = home.device_id("inverter")
    calls = [
        ("PATCH", f"/api/v2/devices/{home.device_id('EV')}", {"name": "Carport"}, 200),
        ("PUT", f"/api/v2/devices/{battery}/plans/schedule", schedule_body(), 204),
        ("PUT", f"/api/v2/devices/{inverter}/operationMode", {"mode": "Schedule"}, 200),
        ("PUT", f"/api/v2/devices/{battery}/plans/overlay", overlay_body(), 204),
    ]
    for method, path, body, status in calls:
        response = await gs.http.request(method, path, json=body, headers=h)
        assert response.status_code == status, response.text


async def _rows(gs: TestServices, user_id: str) -> list[AuditEvent]:
    async with gs.services.db.read() as session:
        result = await session.execute(
            select(AuditEvent).where(AuditEvent.user_id == user_id).order_by(AuditEvent.id)
        )
        return list(result.scalars())


async def test_each_write_is_recorded_with_who_what_and_when(gs: TestServices) -> None:
    home = await make_home(gs)
    before = gs.services.clock.now()
    await _write_everything(gs, home)
    after = gs.services.clock.now()
    battery, ev = home.device_id("battery_pack"), home.device_id("EV")

    rows = await _rows(gs, home.owner.sub)
    assert [(r.action, r.target) for r in rows] == [
        ("device.rename", ev),
        ("schedule.set", battery),
        ("mode.set", battery),  # sent to the inverter; recorded on the device it controls
        ("overlay.set", battery),
    ]
    for row in rows:
        assert row.user_id == home.owner.sub
        assert row.client_id == home.partner.client_id
        assert before - timedelta(seconds=1) <= row.at <= after + timedelta(seconds=1)
        assert row.at.tzinfo is not None
    details = [json.loads(r.detail) for r in rows]
    assert details[0] == {"name": "Carport"}
    assert details[1] == {"slots": 2}
    assert details[2] == {"mode": "schedule"}
    assert details[3]["commands"] == 2

    recent = await gs.services.homes.recent_actions(home.owner.sub, home.partner.client_id)
    assert [a.action for a in recent] == [
        "overlay.set",
        "mode.set",
        "schedule.set",
        "device.rename",
    ], "newest first"


async def test_deletes_are_recorded_and_reads_and_refusals_are_not(gs: TestServices) -> None:
    home = await make_home(gs)
    h = home.headers
    battery = home.device_id("battery_pack")
    for path in (
        "/api/v2/sites",
        f"/api/v2/devices/{battery}",
        f"/api/v2/devices/{battery}/plans/overlay",
    ):
        assert (await gs.http.get(path, headers=h)).status_code == 200
    refused = await gs.http.put(
        f"/api/v2/devices/{battery}/operationMode", json={"mode": "schedule"}, headers=h
    )
    assert refused.status_code == 422
    assert await _rows(gs, home.owner.sub) == []
    for path, body in (
        (f"/api/v2/devices/{battery}/plans/overlay", {"commands": []}),
        (f"/api/v2/devices/{battery}/plans/schedule", {"slots": []}),
    ):
        assert (await gs.http.put(path, json=body, headers=h)).status_code == 204
    assert [r.action for r in await _rows(gs, home.owner.sub)] == [
        "overlay.clear",
        "schedule.clear",
    ]


def _partner_row(page: str, client_id: str) -> str:
    match = re.search(
        rf'<tr data-client-id="{re.escape(client_id)}">(.*?)</tr>', page, flags=re.DOTALL
    )
    assert match, f"no row for partner {client_id}"
    return match.group(1)


def _actions_in(row: str) -> list[str]:
    return [html.unescape(a).strip() for a in re.findall(r"</time>:\s*([^<]*)</li>", row)]


async def test_the_homeowner_sees_the_actions_on_the_account_page(gs: TestServices) -> None:
    home = await make_home(gs)
    quiet = await gs.partner(name="Quiet Partner")
    gs.http.cookies.clear()
    await gs.tokens(quiet, home.owner)
    await _write_everything(gs, home)

    gs.http.cookies.clear()
    signed = await gs.sign_in(home.owner)
    assert signed.status_code in (302, 303), signed.text
    page = await gs.http.get("/account")
    assert page.status_code == 200, page.text
    row = _partner_row(page.text, home.partner.client_id)
    assert "Partner App" in row
    assert _actions_in(row) == [
        "sent an overlay plan",
        "changed the operation mode",
        "set the weekly schedule",
        "renamed a device",
    ]
    stamps = re.findall(r"<time>(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC</time>:", row)
    assert len(stamps) == 4, "each action says when"
    now = gs.services.clock.now()
    assert all(
        abs((datetime.strptime(t, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) - now).total_seconds())
        < 120
        for t in stamps
    ), stamps
    quiet_row = _partner_row(page.text, quiet.client_id)
    assert _actions_in(quiet_row) == [], "actions are listed under the partner that made them"


async def test_another_homeowner_does_not_see_the_actions(gs: TestServices) -> None:
    a = await make_home(gs)
    await _write_everything(gs, a)
    b = await make_home(gs, partner=a.partner)
    gs.http.cookies.clear()
    assert (await gs.sign_in(b.owner)).status_code in (302, 303)
    page = await gs.http.get("/account")
    assert page.status_code == 200
    assert _actions_in(_partner_row(page.text, a.partner.client_id)) == []
    assert await gs.services.homes.recent_actions(b.owner.sub, a.partner.client_id) == []
