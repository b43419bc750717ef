"""Every customer API endpoint answers the contract's success shapes, for every site template.

The homeowner's sites are provisioned from `hybrid_home`, `pv_only` and `battery_retrofit`; the
expected values come from the template table in docs/domain-homes.md, not from the code that
builds the responses.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from gridshare.homes.sites import Site
from tests.api.homes_support import (
    FUTURE,
    TEMPLATES,
    WEEK,
    Home,
    make_home,
    overlay_body,
    schedule_body,
)
from tests.support import TestServices

SITE_FACTS: dict[str, dict[str, Any]] = {
    "hybrid_home": {
        "city": "San Jose",
        "country": "US",
        "timeZone": "America/Los_Angeles",
        "importTariffId": "us-ca-tou",
        "exportTariffId": "us-ca-nbt",
        "kinds": ["inverter", "battery_pack", "PV", "meter", "EV", "load_control_relay"],
        "battery_J": 2 * 10_000 * 3600,
        "blocks": 2,
        "optimisers": 18,
    },
    "pv_only": {
        "city": "Freiburg im Breisgau",
        "country": "DE",
        "timeZone": "Europe/Berlin",
        "importTariffId": "de-flat",
        "exportTariffId": "de-flat",
        "kinds": ["inverter", "PV", "meter"],
        "battery_J": None,
        "blocks": 0,
        "optimisers": 0,
    },
    "battery_retrofit": {
        "city": "Bristol",
        "country": "GB",
        "timeZone": "Europe/London",
        "importTariffId": "dynamic",
        "exportTariffId": "tou",
        "kinds": ["inverter", "battery_pack", "meter"],
        "battery_J": 9_500 * 3600,
        "blocks": 1,
        "optimisers": 0,
    },
}

#: Device kinds that have an operation mode and plans of their own.
CONTROLLABLE = {"battery_pack", "EV", "load_control_relay"}

DEVICE_KEYS = {
    "synthId",
    "kind",
    "type",
    "siteId",
    "manufacturer",
    "model",
    "serialNumber",
    "name",
    "partners",
}


def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a topology tree, depth first."""
    out = [node]
    for child in node.get("children", []):
        out += walk(child)
    return out


async def get_json(gs: TestServices, home: Home, path: str, status: int = 200) -> Any:
    response = await gs.http.get(path, headers=home.headers)
    assert response.status_code == status, (path, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


# -- sites --------------------------------------------------------------------------------------


async def test_site_lists_v1_and_v2_list_every_site_in_creation_order(gs: TestServices) -> None:
    home = await make_home(gs, TEMPLATES)
    expected = {"entries": [{"siteId": s.site_id} for s in home.sites]}
    assert await get_json(gs, home, "/api/v2/sites") == expected
    assert await get_json(gs, home, "/api/v1/sites") == expected


async def test_a_homeowner_without_sites_gets_empty_lists(gs: TestServices) -> None:
    home = await make_home(gs, ())
    for path in ("/api/v2/sites", "/api/v1/sites", "/api/v2/devices", "/api/v1/devices"):
        assert await get_json(gs, home, path) == {"entries": []}


@pytest.mark.parametrize("template", TEMPLATES)
async def test_site_detail_has_the_customer_visible_attributes(
    gs: TestServices, template: str
) -> None:
    home = await make_home(gs, [template])
    facts = SITE_FACTS[template]
    body = await get_json(gs, home, f"/api/v2/sites/{home.site.site_id}")
    assert set(body) == {
        "siteId",
        "siteReference",
        "address",
        "timeZone",
        "importTariffId",
        "exportTariffId",
    }, "coordinates and owner must not be exposed"
    assert body["siteId"] == home.site.site_id
    assert re.fullmatch(r"GS-[A-Z0-9]{8}", body["siteReference"])
    assert body["timeZone"] == facts["timeZone"]
    assert body["importTariffId"] == facts["importTariffId"]
    assert body["exportTariffId"] == facts["exportTariffId"]
    address = body["address"]
    assert set(address) == {"lines", "city", "postcode", "country"}
    assert address["city"] == facts["city"] and address["country"] == facts["country"]
    assert 1 <= len(address["lines"]) <= 4 and all(isinstance(x, str) for x in address["lines"])


# -- topology -----------------------------------------------------------------------------------


def _check_tree(site: Site, root: dict[str, Any], compact: bool, facts: dict[str, Any]) -> None:
    nodes = walk(root)
    assert root["id"] == site.site_id and root["kind"] == "site"
    assert set(root) <= {"id", "kind", "children"}
    devices = [n for n in nodes if n["kind"] == "device"]
    sensors = [n for n in nodes if n["kind"] == "sensor"]
    assert sorted(n["id"] for n in devices) == sorted(d.synth_id for d in site.devices)
    assert sorted(n["deviceKind"] for n in devices) == sorted(facts["kinds"])
    assert len({n["id"] for n in nodes}) == len(nodes), "ids are unique in the tree"
    device_ids = {d.synth_id for d in site.devices}
    for sensor in sensors:
        prefix, sep, suffix = sensor["id"].partition("__")
        assert sep and prefix in device_ids and suffix, sensor["id"]
        assert sensor["channels"] and "power_W" in sensor["channels"]
        assert "children" not in sensor and "deviceKind" not in sensor
    # Every device node lists its sensors before its child devices.
    for node in devices:
        kinds = [c["kind"] for c in node.get("children", [])]
        assert kinds == sorted(kinds, key=lambda k: k != "sensor"), node["id"]

    blocks = [s for s in sensors if re.search(r"__bb_\d+$", s["id"])]
    optimisers = [s for s in sensors if re.search(r"__opt_\d+$", s["id"])]
    aggregates = [s for s in sensors if s["id"].endswith("__bb_agg")]
    if compact:
        assert blocks == [] and optimisers == []
    else:
        assert len(blocks) == facts["blocks"]
        assert len(optimisers) == facts["optimisers"]
        assert all(o["channels"] == ["power_W", "energy_Wh_decrement"] for o in optimisers)
    if facts["battery_J"] is None:
        assert aggregates == []
        assert all("maxCapacity_J" not in s for s in sensors)
        return
    (agg,) = aggregates
    assert agg["maxCapacity_J"] == facts["battery_J"]
    assert type(agg["maxCapacity_J"]) is int, "joules are emitted as an integer"
    assert "soc_percent" in agg["channels"]
    inverter = next(d for d in site.devices if d.kind.value == "inverter")
    assert agg["id"] == f"{inverter.synth_id}__bb_agg", "bb_agg carries the inverter's id"
    battery_node = next(n for n in devices if n["deviceKind"] == "battery_pack")
    assert agg in battery_node["children"], "bb_agg hangs under the battery pack"
    if not compact:
        assert sum(b["maxCapacity_J"] for b in blocks) == agg["maxCapacity_J"]
        assert all(b in battery_node["children"] for b in blocks)
    with_capacity = {s["id"] for s in sensors if "maxCapacity_J" in s}
    assert with_capacity == {agg["id"], *(b["id"] for b in blocks)}


@pytest.mark.parametrize("template", TEMPLATES)
async def test_topology_compact_and_full(gs: TestServices, template: str) -> None:
    home = await make_home(gs, [template])
    facts = SITE_FACTS[template]
    base = f"/api/v2/sites/{home.site.site_id}/topology"
    default = await get_json(gs, home, base)
    assert set(default) == {"root"}
    _check_tree(home.site, default["root"], True, facts)
    for flag in ("true", "True", "1"):
        assert await get_json(gs, home, f"{base}?compact={flag}") == default
    full = await get_json(gs, home, f"{base}?compact=false")
    _check_tree(home.site, full["root"], False, facts)
    assert await get_json(gs, home, f"{base}?compact=0") == full
    # The full tree only adds nodes: everything compact shows is still there.
    assert {n["id"] for n in walk(default["root"])} <= {n["id"] for n in walk(full["root"])}
    if facts["blocks"] or facts["optimisers"]:
        assert len(walk(full["root"])) == len(walk(default["root"])) + (
            facts["blocks"] + facts["optimisers"]
        )


async def test_hybrid_home_topology_exposes_the_derived_streams(gs: TestServices) -> None:
    home = await make_home(gs, ["hybrid_home"])
    root = (await get_json(gs, home, f"/api/v2/sites/{home.site.site_id}/topology"))["root"]
    ids = {n["id"] for n in walk(root)}
    inv = home.device_id("inverter")
    for suffix in ("INVERTER", "GRID_METER_DERIVED", "HOME_CONSUMPTION_DERIVED", "bb_agg"):
        assert f"{inv}__{suffix}" in ids
    assert f"{inv}__PV_DERIVED" in ids
    assert f"{home.device_id('meter')}__METER" in ids
    assert f"{home.device_id('EV')}__EV_CHARGER" in ids
    assert f"{home.device_id('load_control_relay')}__HOT_WATER" in ids
    ev = next(n for n in walk(root) if n["id"].endswith("__EV_CHARGER"))
    assert "soc_percent" in ev["channels"], "the car's pack size is known"


async def test_topology_refuses_a_malformed_compact_flag(gs: TestServices) -> None:
    home = await make_home(gs)
    body = await get_json(
        gs, home, f"/api/v2/sites/{home.site.site_id}/topology?compact=maybe", status=400
    )
    assert body["code"] == "malformed_request" and "compact" in body["message"]


async def test_unknown_site_is_404(gs: TestServices) -> None:
    home = await make_home(gs)
    for path in ("/api/v2/sites/nope", "/api/v2/sites/nope/topology"):
        body = await get_json(gs, home, path, status=404)
        assert body == {"message": "site not found", "code": "not_found"}


# -- devices ------------------------------------------------------------------------------------


async def test_device_lists_v1_and_v2_list_every_device(gs: TestServices) -> None:
    home = await make_home(gs, TEMPLATES)
    expected = {"entries": [{"synthId": d} for d in home.device_ids()]}
    assert len(expected["entries"]) == 6 + 3 + 3
    assert await get_json(gs, home, "/api/v2/devices") == expected
    assert await get_json(gs, home, "/api/v1/devices") == expected


@pytest.mark.parametrize("template", TEMPLATES)
async def test_device_detail_has_the_static_properties(gs: TestServices, template: str) -> None:
    home = await make_home(gs, [template])
    for device in home.site.devices:
        body = await get_json(gs, home, f"/api/v2/devices/{device.synth_id}")
        assert set(body) == DEVICE_KEYS
        assert body["synthId"] == device.synth_id
        assert body["kind"] == device.kind.value
        assert body["siteId"] == home.site.site_id
        assert body["type"] == device.type and body["name"] == device.name
        assert body["manufacturer"] == device.manufacturer and body["model"] == device.model
        assert body["serialNumber"] == device.serial_number
        assert body["partners"] == ["Partner App"]
    kinds = [
        (await get_json(gs, home, f"/api/v2/devices/{d.synth_id}"))["kind"]
        for d in home.site.devices
    ]
    assert sorted(kinds) == sorted(SITE_FACTS[template]["kinds"])


async def test_device_partners_names_only_the_caller(gs: TestServices) -> None:
    """Other partners of the homeowner are counted, not named (docs/domain-homes.md)."""
    home = await make_home(gs)
    other = await gs.partner(name="Rival Energy")
    await gs.tokens(other, home.owner)
    body = await get_json(gs, home, f"/api/v2/devices/{home.device_id('inverter')}")
    assert body["partners"] == ["Partner App", "another partner"]


async def test_sensor_ids_are_not_devices(gs: TestServices) -> None:
    home = await make_home(gs)
    inv = home.device_id("inverter")
    for sensor in (f"{inv}__bb_agg", f"{inv}__INVERTER", f"{inv}__NOPE", "nope"):
        body = await get_json(gs, home, f"/api/v2/devices/{sensor}", status=404)
        assert body == {"message": "device not found", "code": "not_found"}


@pytest.mark.parametrize("template", TEMPLATES)
async def test_patch_renames_a_device(gs: TestServices, template: str) -> None:
    home = await make_home(gs, [template])
    for n, device in enumerate(home.site.devices):
        path = f"/api/v2/devices/{device.synth_id}"
        r = await gs.http.patch(path, json={"name": f"  Renamed {n}  "}, headers=home.headers)
        assert r.status_code == 200, r.text
        assert r.json()["name"] == f"Renamed {n}", "surrounding spaces are trimmed"
        assert set(r.json()) == DEVICE_KEYS
        assert r.json() == await get_json(gs, home, path)


async def test_patch_accepts_merge_patch_content_type_and_an_empty_patch(gs: TestServices) -> None:
    home = await make_home(gs)
    path = f"/api/v2/devices/{home.device_id('EV')}"
    r = await gs.http.patch(
        path,
        content=b'{"name": "Carport"}',
        headers=home.headers | {"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200 and r.json()["name"] == "Carport", r.text
    r = await gs.http.patch(path, json={}, headers=home.headers)
    assert r.status_code == 200 and r.json()["name"] == "Carport", r.text


PATCH_REFUSALS: list[tuple[Any, str]] = [
    ({"kind": "EV"}, "read_only_field"),
    ({"synthId": "x", "name": "ok"}, "read_only_field"),
    ({"serialNumber": "x"}, "read_only_field"),
    ({"partners": []}, "read_only_field"),
    ({"colour": "red"}, "unknown_field"),
    ({"name": "ok", "colour": "red"}, "unknown_field"),
    ({"name": None}, "malformed_patch"),
    ({"name": 7}, "malformed_patch"),
    ({"name": ["x"]}, "malformed_patch"),
    ({"name": "   "}, "malformed_patch"),
    ({"name": "x" * 101}, "malformed_patch"),
    ([{"name": "x"}], "malformed_patch"),
    ("name", "malformed_patch"),
    (None, "malformed_patch"),
]


async def test_patch_refuses_anything_but_a_name(gs: TestServices) -> None:
    home = await make_home(gs)
    path = f"/api/v2/devices/{home.device_id('EV')}"
    before = await get_json(gs, home, path)
    wrong = []
    for body, code in PATCH_REFUSALS:
        r = await gs.http.patch(
            path,
            content=json.dumps(body),
            headers=home.headers | {"Content-Type": "application/json"},
        )
        if r.status_code != 400 or r.json().get("code") != code:
            wrong.append((body, r.status_code, r.text))
    assert wrong == []
    assert await get_json(gs, home, path) == before


# -- operation mode -----------------------------------------------------------------------------


async def _mode(gs: TestServices, home: Home, device: str, spelling: str = "operationMode") -> Any:
    return await get_json(gs, home, f"/api/v2/devices/{device}/{spelling}")


@pytest.mark.parametrize("template", TEMPLATES)
async def test_mode_is_simple_by_default_and_only_for_controllable_devices(
    gs: TestServices, template: str
) -> None:
    home = await make_home(gs, [template])
    has_battery = any(d.kind.value == "battery_pack" for d in home.site.devices)
    for device in home.site.devices:
        controllable = device.kind.value in CONTROLLABLE or (
            device.kind.value == "inverter" and has_battery
        )
        for spelling in ("operationMode", "operationmode"):
            path = f"/api/v2/devices/{device.synth_id}/{spelling}"
            response = await gs.http.get(path, headers=home.headers)
            if controllable:
                assert response.status_code == 200, response.text
                assert response.json() == {"mode": "simple"}
            else:
                assert response.status_code == 404, response.text
                assert response.json()["code"] == "mode_not_supported"


@pytest.mark.parametrize("template", ["hybrid_home", "battery_retrofit"])
async def test_put_mode_in_any_case_answers_lower_case(gs: TestServices, template: str) -> None:
    home = await make_home(gs, [template])
    battery = home.device_id("battery_pack")
    cases = [
        ("Smart", "smart"),
        ("SMART", "smart"),
        ("simple", "simple"),
        ("SiMpLe", "simple"),
        (" smart ", "smart"),
    ]
    for sent, stored in cases:
        for spelling in ("operationMode", "operationmode"):
            r = await gs.http.put(
                f"/api/v2/devices/{battery}/{spelling}", json={"mode": sent}, headers=home.headers
            )
            assert r.status_code == 200 and r.json() == {"mode": stored}, (sent, r.text)
            assert await _mode(gs, home, battery, "operationMode") == {"mode": stored}
            assert await _mode(gs, home, battery, "operationmode") == {"mode": stored}


async def test_put_mode_schedule_after_storing_a_schedule(gs: TestServices) -> None:
    home = await make_home(gs)
    relay = home.device_id("load_control_relay")
    r = await gs.http.put(
        f"/api/v2/devices/{relay}/plans/schedule",
        json=schedule_body(kind="idle"),
        headers=home.headers,
    )
    assert r.status_code == 204, r.text
    r = await gs.http.put(
        f"/api/v2/devices/{relay}/operationMode", json={"mode": "SCHEDULE"}, headers=home.headers
    )
    assert r.status_code == 200 and r.json() == {"mode": "schedule"}, r.text
    assert await _mode(gs, home, relay) == {"mode": "schedule"}
    # Other devices keep their own modes.
    assert await _mode(gs, home, home.device_id("EV")) == {"mode": "simple"}
    assert await _mode(gs, home, home.device_id("battery_pack")) == {"mode": "simple"}


async def test_battery_inverter_and_their_sensors_share_one_mode(gs: TestServices) -> None:
    home = await make_home(gs)
    inv, battery = home.device_id("inverter"), home.device_id("battery_pack")
    r = await gs.http.put(
        f"/api/v2/devices/{inv}/operationMode", json={"mode": "smart"}, headers=home.headers
    )
    assert r.status_code == 200, r.text
    for synth in (battery, inv, f"{inv}__bb_agg", f"{battery}__bb_1", f"{inv}__INVERTER"):
        assert await _mode(gs, home, synth) == {"mode": "smart"}, synth


# -- plans --------------------------------------------------------------------------------------


@pytest.mark.parametrize("template", ["hybrid_home", "battery_retrofit"])
async def test_overlay_round_trip_and_delete(gs: TestServices, template: str) -> None:
    home = await make_home(gs, [template])
    battery = home.device_id("battery_pack")
    path = f"/api/v2/devices/{battery}/plans/overlay"
    assert await get_json(gs, home, path) == {"commands": []}
    plan = {
        "startTime": "2030-01-07T02:00:00+02:00",
        "commands": [
            {"type": "SETPOINT", "durationMinutes": 15, "powerW": -2500},
            {"type": "charge", "durationMinutes": 45},
            {"type": "Idle", "durationMinutes": 60},
        ],
    }
    r = await gs.http.put(path, json=plan, headers=home.headers)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert await get_json(gs, home, path) == {
        "startTime": FUTURE,
        "commands": [
            {"type": "setpoint", "durationMinutes": 15, "powerW": -2500},
            {"type": "charge", "durationMinutes": 45},
            {"type": "idle", "durationMinutes": 60},
        ],
    }
    # The inverter addresses the same plan.
    inv = home.device_id("inverter")
    assert await get_json(gs, home, f"/api/v2/devices/{inv}/plans/overlay") == await get_json(
        gs, home, path
    )
    r = await gs.http.put(path, json={"commands": []}, headers=home.headers)
    assert r.status_code == 204, r.text
    assert await get_json(gs, home, path) == {"commands": []}
    # Deleting again (nothing stored) is fine too, with or without a startTime.
    r = await gs.http.put(path, json={"startTime": FUTURE, "commands": []}, headers=home.headers)
    assert r.status_code == 204, r.text
    assert await get_json(gs, home, path) == {"commands": []}


@pytest.mark.parametrize("kind", ["EV", "load_control_relay"])
async def test_overlay_on_ev_and_hot_water(gs: TestServices, kind: str) -> None:
    home = await make_home(gs)
    path = f"/api/v2/devices/{home.device_id(kind)}/plans/overlay"
    plan = overlay_body(kind)
    r = await gs.http.put(path, json=plan, headers=home.headers)
    assert r.status_code == 204, r.text
    assert await get_json(gs, home, path) == plan
    # The battery's plan is untouched.
    battery = home.device_id("battery_pack")
    assert await get_json(gs, home, f"/api/v2/devices/{battery}/plans/overlay") == {"commands": []}


@pytest.mark.parametrize("template", ["hybrid_home", "battery_retrofit"])
async def test_schedule_round_trip_and_delete(gs: TestServices, template: str) -> None:
    home = await make_home(gs, [template])
    battery = home.device_id("battery_pack")
    path = f"/api/v2/devices/{battery}/plans/schedule"
    assert await get_json(gs, home, path) == {"slots": []}
    plan = schedule_body()
    r = await gs.http.put(path, json=plan, headers=home.headers)
    assert r.status_code == 204 and r.content == b"", r.text
    assert await get_json(gs, home, path) == plan
    assert sum(s["durationMinutes"] for s in plan["slots"]) == WEEK
    raw = (await gs.http.get(path, headers=home.headers)).text
    assert '"socMin":10,' in raw and '"socMax":90' in raw, "integers stay integers"
    # A bare array of slots, and words in another case, are accepted and stored canonically.
    bare = [
        {
            "durationMinutes": WEEK,
            "intent": {"kind": "DISCHARGE", "socMin": 5.5, "socMax": 100, "powerW": -3000},
        }
    ]
    r = await gs.http.put(path, json=bare, headers=home.headers)
    assert r.status_code == 204, r.text
    stored = await get_json(gs, home, path)
    assert stored == {
        "slots": [
            {
                "durationMinutes": WEEK,
                "intent": {"kind": "discharge", "socMin": 5.5, "socMax": 100, "powerW": -3000},
            }
        ]
    }
    r = await gs.http.put(path, json={"slots": []}, headers=home.headers)
    assert r.status_code == 204, r.text
    assert await get_json(gs, home, path) == {"slots": []}


async def test_a_schedule_in_use_cannot_be_deleted(gs: TestServices) -> None:
    home = await make_home(gs)
    ev = home.device_id("EV")
    r = await gs.http.put(
        f"/api/v2/devices/{ev}/plans/schedule", json=schedule_body("idle"), headers=home.headers
    )
    assert r.status_code == 204, r.text
    r = await gs.http.put(
        f"/api/v2/devices/{ev}/operationMode", json={"mode": "schedule"}, headers=home.headers
    )
    assert r.status_code == 200, r.text
    r = await gs.http.put(
        f"/api/v2/devices/{ev}/plans/schedule", json={"slots": []}, headers=home.headers
    )
    assert r.status_code == 422 and r.json()["code"] == "schedule_in_use", r.text
    assert (await get_json(gs, home, f"/api/v2/devices/{ev}/plans/schedule"))["slots"]


@pytest.mark.parametrize("template", TEMPLATES)
async def test_devices_without_a_mode_have_no_plans(gs: TestServices, template: str) -> None:
    home = await make_home(gs, [template])
    has_battery = any(d.kind.value == "battery_pack" for d in home.site.devices)
    for device in home.site.devices:
        if device.kind.value in CONTROLLABLE or (device.kind.value == "inverter" and has_battery):
            continue
        for plan in ("overlay", "schedule"):
            path = f"/api/v2/devices/{device.synth_id}/plans/{plan}"
            body = await get_json(gs, home, path, status=404)
            assert body["code"] == "mode_not_supported", (device.kind, plan)
            body_to_send = overlay_body() if plan == "overlay" else schedule_body()
            r = await gs.http.put(path, json=body_to_send, headers=home.headers)
            assert r.status_code == 404 and r.json()["code"] == "mode_not_supported", r.text


async def test_successful_calls_are_json_without_cookies(gs: TestServices) -> None:
    home = await make_home(gs)
    r = await gs.http.get("/api/v2/sites", headers=home.headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert "set-cookie" not in r.headers


async def test_unknown_api_paths_and_methods_answer_json(gs: TestServices) -> None:
    home = await make_home(gs)
    response = await gs.http.get("/api/v2/nothing-here", headers=home.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    device = home.device_id("battery_pack")
    for method, path in (("DELETE", f"/api/v2/devices/{device}"), ("POST", "/api/v2/sites")):
        response = await gs.http.request(method, path, headers=home.headers)
        assert response.status_code == 405, response.text
        assert response.json()["code"] == "method_not_allowed"
