"""A partner walks a homeowner's home: sites, topology, devices, rename, mode, overlay plan."""

from __future__ import annotations

from gridshare.fleet.provisioning import provision_sites
from tests.support import TestServices


async def test_partner_walks_the_home(gs: TestServices) -> None:
    owner = await gs.homeowner()
    await provision_sites(gs.services.db, gs.services.clock, owner.sub, "hybrid_home")
    partner = await gs.partner()
    token = (await gs.tokens(partner, owner))["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    sites = (await gs.http.get("/api/v2/sites", headers=h)).json()["entries"]
    assert len(sites) == 1
    site_id = sites[0]["siteId"]
    detail = await gs.http.get(f"/api/v2/sites/{site_id}", headers=h)
    assert detail.status_code == 200, detail.text
    topo = await gs.http.get(f"/api/v2/sites/{site_id}/topology", headers=h)
    assert topo.status_code == 200, topo.text
    devices = (await gs.http.get("/api/v2/devices", headers=h)).json()["entries"]
    assert devices
    kinds = {}
    for d in devices:
        r = await gs.http.get(f"/api/v2/devices/{d['synthId']}", headers=h)
        assert r.status_code == 200, r.text
        kinds[r.json()["kind"]] = d["synthId"]
    battery = kinds["battery_pack"]
    r = await gs.http.patch(
        f"/api/v2/devices/{battery}", json={"name": "Garage battery"}, headers=h
    )
    assert r.status_code == 200 and r.json()["name"] == "Garage battery", r.text
    r = await gs.http.put(
        f"/api/v2/devices/{battery}/operationmode", json={"mode": "SMART"}, headers=h
    )
    assert r.status_code == 200 and r.json() == {"mode": "smart"}, r.text
    assert (await gs.http.get(f"/api/v2/devices/{battery}/operationMode", headers=h)).json() == {
        "mode": "smart"
    }
    plan = {
        "startTime": "2030-01-01T00:00:00Z",
        "commands": [{"type": "setpoint", "durationMinutes": 60, "powerW": -2000}],
    }
    r = await gs.http.put(f"/api/v2/devices/{battery}/plans/overlay", json=plan, headers=h)
    assert r.status_code == 204, r.text
    r = await gs.http.get(f"/api/v2/devices/{battery}/plans/overlay", headers=h)
    assert r.status_code == 200 and r.json()["commands"][0]["powerW"] == -2000, r.text
    r = await gs.http.put(
        f"/api/v2/devices/{battery}/plans/overlay", json={"commands": []}, headers=h
    )
    assert r.status_code == 204
    assert (await gs.http.get(f"/api/v2/devices/{battery}/plans/overlay", headers=h)).json() == {
        "commands": []
    }
