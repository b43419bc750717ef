"""What a partner sets through the API survives a restart: the first app is disposed (its
lifespan left, its database connections closed) and a fresh app on the same database reads
everything back, with the same access token."""

from __future__ import annotations

from typing import Any

from gridshare.clock import Clock
from gridshare.config import Settings
from tests.api.homes_support import make_home, overlay_body, running_app, schedule_body

EXPECTED_AUDIT = {"device.rename", "mode.set", "overlay.set", "schedule.set", "overlay.clear"}


async def test_mode_plans_and_names_survive_a_restart(settings: Settings) -> None:
    clock = Clock()
    writes: dict[str, Any] = {}
    async with running_app(settings, clock) as (_, gs):
        home = await make_home(gs, ["hybrid_home", "battery_retrofit"])
        h = home.headers
        battery = home.device_id("battery_pack")
        relay = home.device_id("load_control_relay")
        ev = home.device_id("EV")
        retrofit_battery = home.device_id("battery_pack", home.sites[1])

        async def put(path: str, body: Any, status: int) -> None:
            response = await gs.http.put(path, json=body, headers=h)
            assert response.status_code == status, response.text

        await put(f"/api/v2/devices/{battery}/plans/schedule", schedule_body(), 204)
        await put(f"/api/v2/devices/{battery}/operationMode", {"mode": "Schedule"}, 200)
        await put(f"/api/v2/devices/{battery}/plans/overlay", overlay_body(), 204)
        await put(f"/api/v2/devices/{relay}/plans/overlay", overlay_body("load_control_relay"), 204)
        await put(f"/api/v2/devices/{ev}/operationmode", {"mode": "SMART"}, 200)
        await put(f"/api/v2/devices/{retrofit_battery}/plans/overlay", overlay_body(), 204)
        await put(f"/api/v2/devices/{retrofit_battery}/plans/overlay", {"commands": []}, 204)
        response = await gs.http.patch(
            f"/api/v2/devices/{relay}", json={"name": "Hot water tank"}, headers=h
        )
        assert response.status_code == 200, response.text

        for path in _read_paths(home.device_ids(), [s.site_id for s in home.sites]):
            response = await gs.http.get(path, headers=h)
            writes[path] = (response.status_code, response.json())

    # A new process: new services, new connection pool, nothing cached.
    async with running_app(settings, Clock()) as (app, gs2):
        assert app.state.services is not gs.services
        for path, expected in writes.items():
            response = await gs2.http.get(path, headers=h)
            assert (response.status_code, response.json()) == expected, path

        # Spot-check the values themselves, not only their equality with the first app.
        async def get(path: str) -> Any:
            response = await gs2.http.get(path, headers=h)
            assert response.status_code == 200, response.text
            return response.json()

        assert await get(f"/api/v2/devices/{battery}/operationMode") == {"mode": "schedule"}
        assert await get(f"/api/v2/devices/{battery}/plans/schedule") == schedule_body()
        assert await get(f"/api/v2/devices/{battery}/plans/overlay") == overlay_body()
        inverter = home.device_id("inverter")
        assert await get(f"/api/v2/devices/{inverter}/plans/overlay") == overlay_body()
        assert await get(f"/api/v2/devices/{relay}/plans/overlay") == overlay_body(
            "load_control_relay"
        )
        assert await get(f"/api/v2/devices/{relay}/operationMode") == {"mode": "simple"}
        assert await get(f"/api/v2/devices/{ev}/operationMode") == {"mode": "smart"}
        assert await get(f"/api/v2/devices/{ev}/plans/overlay") == {"commands": []}
        assert await get(f"/api/v2/devices/{retrofit_battery}/plans/overlay") == {"commands": []}
        assert (await get(f"/api/v2/devices/{relay}"))["name"] == "Hot water tank"
        assert [e["siteId"] for e in (await get("/api/v2/sites"))["entries"]] == [
            s.site_id for s in home.sites
        ]
        actions = await gs2.services.homes.recent_actions(
            home.owner.sub, home.partner.client_id, limit=100
        )
        assert {a.action for a in actions} == EXPECTED_AUDIT
        assert len(actions) == 8

        # And the restarted app keeps taking writes on top of the stored state.
        response = await gs2.http.put(
            f"/api/v2/devices/{battery}/operationMode", json={"mode": "simple"}, headers=h
        )
        assert response.status_code == 200, response.text
        assert await get(f"/api/v2/devices/{battery}/plans/schedule") == schedule_body()


def _read_paths(device_ids: list[str], site_ids: list[str]) -> list[str]:
    paths = ["/api/v2/sites", "/api/v1/sites", "/api/v2/devices", "/api/v1/devices"]
    for site in site_ids:
        paths += [f"/api/v2/sites/{site}", f"/api/v2/sites/{site}/topology?compact=false"]
    for device in device_ids:
        paths += [
            f"/api/v2/devices/{device}",
            f"/api/v2/devices/{device}/operationMode",
            f"/api/v2/devices/{device}/plans/overlay",
            f"/api/v2/devices/{device}/plans/schedule",
        ]
    return paths
