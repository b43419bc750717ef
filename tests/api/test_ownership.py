"""Ownership isolation: a token only ever sees its own homeowner's sites and devices.

Homeowner B's token (every scope, and even the same partner app as A) is sent to every endpoint
with every id of homeowner A: site ids, device ids, and every sensor id of A's full topology.
Each call answers 404 with exactly the body an id that exists nowhere gets, and afterwards A's
data (as A's own token sees it, and A's audit trail) is unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest

from gridshare.config import Settings
from tests.api.homes_support import (
    ENDPOINTS,
    ID_ENDPOINTS,
    TEMPLATES,
    Endpoint,
    Home,
    make_home,
    overlay_body,
    random_ids,
    schedule_body,
)
from tests.support import TestServices


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """These tests send a few hundred calls per token; keep the rate limit out of the way."""
    return settings.model_copy(update={"api_rate_per_minute": 100_000})


async def _configure(gs: TestServices, home: Home) -> None:
    """Give A non-default state everywhere, so that any change by B would show."""
    h = home.headers
    for device in home.controllable_ids():
        kind = next(d.kind.value for s in home.sites for d in s.devices if d.synth_id == device)
        base = f"/api/v2/devices/{device}"
        slots = schedule_body("idle" if kind != "battery_pack" else "balance")
        assert (
            await gs.http.put(f"{base}/plans/schedule", json=slots, headers=h)
        ).status_code == 204
        overlay = overlay_body(kind)
        assert (
            await gs.http.put(f"{base}/plans/overlay", json=overlay, headers=h)
        ).status_code == 204
        r = await gs.http.put(f"{base}/operationMode", json={"mode": "schedule"}, headers=h)
        assert r.status_code == 200, r.text
    for n, device in enumerate(home.device_ids()):
        r = await gs.http.patch(f"/api/v2/devices/{device}", json={"name": f"A{n}"}, headers=h)
        assert r.status_code == 200, r.text


async def _snapshot(gs: TestServices, home: Home) -> dict[str, Any]:
    """Everything A's own token can read."""
    h = home.headers
    seen: dict[str, Any] = {}
    for path in ("/api/v2/sites", "/api/v2/devices"):
        seen[path] = (await gs.http.get(path, headers=h)).json()
    for site in home.sites:
        for suffix in ("", "/topology", "/topology?compact=false"):
            path = f"/api/v2/sites/{site.site_id}{suffix}"
            seen[path] = (await gs.http.get(path, headers=h)).json()
    for device in home.device_ids():
        for suffix in ("", "/operationMode", "/plans/overlay", "/plans/schedule"):
            path = f"/api/v2/devices/{device}{suffix}"
            response = await gs.http.get(path, headers=h)
            seen[path] = (response.status_code, response.json())
    return seen


def _bodies(endpoint: Endpoint) -> list[Any]:
    """What B sends to a write endpoint: the valid body, a delete, and a body that is wrong."""
    if not endpoint.is_write:
        return [None]
    bodies: list[Any] = [endpoint.body, {"bogus": 1}]
    if endpoint.path.endswith("overlay"):
        bodies.append({"commands": []})
    if endpoint.path.endswith("schedule"):
        bodies.append({"slots": []})
    if "operation" in endpoint.path.lower():
        bodies.append({"mode": "schedule"})
    return bodies


@pytest.mark.parametrize("endpoint", ID_ENDPOINTS, ids=lambda e: e.id)
async def test_another_homeowners_ids_are_404_like_unknown_ones(
    gs: TestServices, endpoint: Endpoint
) -> None:
    a = await make_home(gs, TEMPLATES)
    await _configure(gs, a)
    # B even uses the same partner app: isolation is by homeowner, not by client.
    b = await make_home(gs, ["hybrid_home"], partner=a.partner)
    before = await _snapshot(gs, a)
    actions_before = await gs.services.homes.recent_actions(
        a.owner.sub, a.partner.client_id, limit=1000
    )

    nowhere_site, nowhere_device = random_ids()
    if endpoint.takes_site:
        targets = [("site", s.site_id, nowhere_site) for s in a.sites]
    else:
        targets = [("device", d, nowhere_device) for d in a.device_ids()]
        for sensor in a.sensor_ids():
            suffix = sensor.partition("__")[2]
            targets.append(("device", sensor, f"{nowhere_device}__{suffix}"))
    assert len(targets) >= (3 if endpoint.takes_site else 50)

    leaks = []
    for placeholder, foreign, unknown in targets:
        for body in _bodies(endpoint):
            theirs = await endpoint.call(gs.http, b.headers, body=body, **{placeholder: foreign})
            nobody = await endpoint.call(gs.http, b.headers, body=body, **{placeholder: unknown})
            if theirs.status_code != 404 or theirs.json() != nobody.json():
                leaks.append((foreign, body, theirs.status_code, theirs.text, nobody.text))
            elif nobody.status_code != 404:
                leaks.append((unknown, body, nobody.status_code, nobody.text))
    assert leaks == []

    assert await _snapshot(gs, a) == before
    actions_after = await gs.services.homes.recent_actions(
        a.owner.sub, a.partner.client_id, limit=1000
    )
    assert actions_after == actions_before
    assert await gs.services.homes.recent_actions(b.owner.sub, b.partner.client_id) == []


async def test_lists_only_show_the_callers_own_sites_and_devices(gs: TestServices) -> None:
    a = await make_home(gs, TEMPLATES)
    b = await make_home(gs, ["hybrid_home", "pv_only"], partner=a.partner)
    for home, other in ((a, b), (b, a)):
        for version in ("v1", "v2"):
            sites = (await gs.http.get(f"/api/{version}/sites", headers=home.headers)).json()
            assert [e["siteId"] for e in sites["entries"]] == [s.site_id for s in home.sites]
            devices = (await gs.http.get(f"/api/{version}/devices", headers=home.headers)).json()
            assert [e["synthId"] for e in devices["entries"]] == home.device_ids()
            assert not {e["synthId"] for e in devices["entries"]} & set(other.device_ids())


async def test_each_homeowner_still_reaches_their_own_ids(gs: TestServices) -> None:
    """The 404s above are about ownership: the same calls with the owner's token succeed."""
    a = await make_home(gs, ["hybrid_home"])
    ids = {
        "site": a.site.site_id,
        "device": a.device_id("battery_pack"),
        "tariff": a.site.import_tariff_id,
    }
    for endpoint in ENDPOINTS:
        response = await endpoint.call(gs.http, a.headers, **ids)
        assert response.status_code == endpoint.ok, (endpoint.id, response.text)


async def test_a_tariff_only_another_homeowner_names_is_404_like_an_unknown_one(
    gs: TestServices,
) -> None:
    a = await make_home(gs, TEMPLATES)
    b = await make_home(gs, ["hybrid_home"], partner=a.partner)
    named_by_b = {b.site.import_tariff_id, b.site.export_tariff_id}
    only_a = {
        t for s in a.sites for t in (s.import_tariff_id, s.export_tariff_id) if t
    } - named_by_b
    assert only_a, "the templates use a tariff hybrid_home does not"
    tariff_endpoints = [e for e in ENDPOINTS if e.takes_tariff]
    assert len(tariff_endpoints) == 2
    for endpoint in tariff_endpoints:
        nobody = await endpoint.call(gs.http, b.headers, tariff="no-such-tariff")
        assert nobody.status_code == 404, nobody.text
        for tariff in sorted(only_a):
            theirs = await endpoint.call(gs.http, b.headers, tariff=tariff)
            assert (theirs.status_code, theirs.json()) == (404, nobody.json()), tariff
            mine = await endpoint.call(gs.http, a.headers, tariff=tariff)
            assert mine.status_code == 200, mine.text
