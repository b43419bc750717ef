"""Writes that arrive at the same time: no 500 when two requests create a device's control row
at once, nothing lost, and the rule "schedule mode needs a stored schedule" holds whatever the
interleaving of a mode switch and a schedule delete."""

from __future__ import annotations

import asyncio

import pytest

from gridshare.config import Settings
from tests.api.homes_support import make_home, overlay_body, schedule_body
from tests.support import TestServices


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_rate_per_minute": 100_000})


async def test_first_writes_to_a_device_at_once_all_succeed(gs: TestServices) -> None:
    home = await make_home(gs)
    h = home.headers
    for kind in ("battery_pack", "EV", "load_control_relay"):
        device = home.device_id(kind)
        base = f"/api/v2/devices/{device}"
        slots = schedule_body("balance" if kind == "battery_pack" else "idle")
        responses = await asyncio.gather(
            gs.http.put(f"{base}/operationMode", json={"mode": "smart"}, headers=h),
            gs.http.put(f"{base}/plans/overlay", json=overlay_body(kind), headers=h),
            gs.http.put(f"{base}/plans/schedule", json=slots, headers=h),
            gs.http.patch(base, json={"name": f"{kind} renamed"}, headers=h),
        )
        assert [r.status_code for r in responses] == [200, 204, 204, 200], [
            r.text for r in responses
        ]
        assert (await gs.http.get(f"{base}/operationMode", headers=h)).json() == {"mode": "smart"}
        assert (await gs.http.get(f"{base}/plans/overlay", headers=h)).json() == overlay_body(kind)
        assert (await gs.http.get(f"{base}/plans/schedule", headers=h)).json() == slots
    actions = await gs.services.homes.recent_actions(
        home.owner.sub, home.partner.client_id, limit=100
    )
    assert len(actions) == 12, "every write is audited exactly once"


async def test_schedule_mode_never_outlives_its_schedule(gs: TestServices) -> None:
    home = await make_home(gs)
    h = home.headers
    base = f"/api/v2/devices/{home.device_id('battery_pack')}"
    outcomes = set()
    for _ in range(12):
        put = await gs.http.put(f"{base}/plans/schedule", json=schedule_body(), headers=h)
        assert put.status_code == 204, put.text
        simple = await gs.http.put(f"{base}/operationMode", json={"mode": "simple"}, headers=h)
        assert simple.status_code == 200, simple.text
        switch, delete = await asyncio.gather(
            gs.http.put(f"{base}/operationMode", json={"mode": "schedule"}, headers=h),
            gs.http.put(f"{base}/plans/schedule", json={"slots": []}, headers=h),
        )
        outcomes.add((switch.status_code, delete.status_code))
        assert (switch.status_code, delete.status_code) in {(200, 422), (422, 204)}, (
            switch.text,
            delete.text,
        )
        mode = (await gs.http.get(f"{base}/operationMode", headers=h)).json()["mode"]
        slots = (await gs.http.get(f"{base}/plans/schedule", headers=h)).json()["slots"]
        assert mode != "schedule" or slots, "schedule mode without a schedule"
    assert outcomes, outcomes
