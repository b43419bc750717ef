"""Topology: ids, compact folding, capacities, primary sensors and synthId resolution."""

from __future__ import annotations

import random
from typing import Any

import pytest

from gridshare.homes.devices import (
    BatteryPackProperties,
    Device,
    DeviceKind,
    EVChargerProperties,
    InverterProperties,
    InverterTopology,
    MeterProperties,
)
from gridshare.homes.sites import Site
from gridshare.homes.templates import TEMPLATES, build_site
from gridshare.homes.topology import (
    Channel,
    SensorRole,
    build_topology,
    primary_inverter,
    primary_sensor,
    resolve_synth_id,
    sensors_of,
    split_sensor_id,
)


def nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = [node]
    for child in node.get("children", []):
        out += nodes(child)
    return out


def sensor_nodes(site: Site, *, compact: bool) -> list[dict[str, Any]]:
    return [
        n
        for n in nodes(build_topology(site, compact=compact).to_json()["root"])
        if n["kind"] == "sensor"
    ]


@pytest.fixture(params=sorted(TEMPLATES))
def site(request: pytest.FixtureRequest) -> Site:
    return build_site(request.param, "owner", random.Random(11))


@pytest.fixture
def hybrid() -> Site:
    return build_site("hybrid_home", "owner", random.Random(7))


def test_root_is_the_site_and_every_device_appears_once(site: Site) -> None:
    tree = build_topology(site).to_json()
    assert tree["root"]["id"] == site.site_id and tree["root"]["kind"] == "site"
    devices = [n for n in nodes(tree["root"]) if n["kind"] == "device"]
    assert sorted(n["id"] for n in devices) == sorted(d.synth_id for d in site.devices)
    for n in devices:
        assert n["deviceKind"] == site.device(n["id"]).kind.value  # type: ignore[union-attr]


@pytest.mark.parametrize("compact", [True, False])
def test_ids_are_unique_and_sensors_list_channels(site: Site, compact: bool) -> None:
    all_nodes = nodes(build_topology(site, compact=compact).to_json()["root"])
    ids = [n["id"] for n in all_nodes]
    assert len(ids) == len(set(ids))
    for n in all_nodes:
        if n["kind"] == "sensor":
            assert n["channels"] and set(n["channels"]) <= {c.value for c in Channel}
            assert "power_W" in n["channels"]
        else:
            assert "channels" not in n


def test_every_sensor_prefix_is_a_device_of_the_site(site: Site) -> None:
    for sid in sensors_of(site):
        split = split_sensor_id(sid)
        assert split is not None and site.device(split[0]) is not None


def test_tree_sensors_match_sensors_of(site: Site) -> None:
    infos = sensors_of(site)
    full = [n["id"] for n in sensor_nodes(site, compact=False)]
    compact = [n["id"] for n in sensor_nodes(site, compact=True)]
    assert full == list(infos)
    assert compact == [sid for sid, info in infos.items() if not info.detail]


def test_bb_agg_capacity_is_sum_of_blocks_in_joules(site: Site) -> None:
    for battery in site.devices_of_kind(DeviceKind.BATTERY_PACK):
        assert isinstance(battery.properties, BatteryPackProperties)
        expected = sum(b.capacity_Wh for b in battery.properties.blocks) * 3600
        agg = f"{battery.parent_id}__bb_agg"
        (node,) = [n for n in sensor_nodes(site, compact=True) if n["id"] == agg]
        assert node["maxCapacity_J"] == expected
        assert "soc_percent" in node["channels"]
        blocks = [
            n
            for n in sensor_nodes(site, compact=False)
            if n["id"].startswith(f"{battery.synth_id}__bb_")
        ]
        assert sum(n["maxCapacity_J"] for n in blocks) == expected


def test_hybrid_home_sensor_ids(hybrid: Site) -> None:
    inv = hybrid.devices_of_kind(DeviceKind.INVERTER)[0].synth_id
    bat = hybrid.devices_of_kind(DeviceKind.BATTERY_PACK)[0].synth_id
    pv = hybrid.devices_of_kind(DeviceKind.PV)[0].synth_id
    meter = hybrid.devices_of_kind(DeviceKind.METER)[0].synth_id
    ev = hybrid.devices_of_kind(DeviceKind.EV)[0].synth_id
    relay = hybrid.devices_of_kind(DeviceKind.LOAD_CONTROL_RELAY)[0].synth_id
    compact = {n["id"] for n in sensor_nodes(hybrid, compact=True)}
    assert compact == {
        f"{inv}__INVERTER",
        f"{inv}__GRID_METER_DERIVED",
        f"{inv}__HOME_CONSUMPTION_DERIVED",
        f"{inv}__bb_agg",
        f"{inv}__PV_DERIVED",
        f"{meter}__METER",
        f"{ev}__EV_CHARGER",
        f"{relay}__HOT_WATER",
    }
    full = {n["id"] for n in sensor_nodes(hybrid, compact=False)}
    assert full - compact == {f"{bat}__bb_0", f"{bat}__bb_1"} | {
        f"{pv}__opt_{n}" for n in range(18)
    }


def test_roles(hybrid: Site) -> None:
    roles = [info.role for info in sensors_of(hybrid).values() if not info.detail]
    assert set(roles) == {
        SensorRole.INVERTER,
        SensorRole.GRID,
        SensorRole.CONSUMPTION,
        SensorRole.BATTERY,
        SensorRole.PV,
        SensorRole.EV,
        SensorRole.HOT_WATER,
    }
    assert roles.count(SensorRole.CONSUMPTION) == 1


def test_aggregates_hang_under_their_device(hybrid: Site) -> None:
    infos = sensors_of(hybrid)
    inv = hybrid.devices_of_kind(DeviceKind.INVERTER)[0]
    bat = hybrid.devices_of_kind(DeviceKind.BATTERY_PACK)[0]
    assert infos[f"{inv.synth_id}__bb_agg"].device_id == bat.synth_id
    tree = build_topology(hybrid).to_json()["root"]
    (bat_node,) = [n for n in nodes(tree) if n["id"] == bat.synth_id]
    assert [c["id"] for c in bat_node["children"]] == [f"{inv.synth_id}__bb_agg"]


def test_pv_only_has_no_battery_and_no_optimiser_sensors() -> None:
    site = build_site("pv_only", "o", random.Random(2))
    roles = {i.role for i in sensors_of(site).values()}
    assert SensorRole.BATTERY not in roles and SensorRole.OPTIMISER not in roles
    assert SensorRole.CONSUMPTION in roles


def test_ev_soc_channel_only_with_known_vehicle(hybrid: Site) -> None:
    ev = hybrid.devices_of_kind(DeviceKind.EV)[0]
    assert Channel.SOC_PERCENT in sensors_of(hybrid)[primary_sensor(ev)].channels
    assert isinstance(ev.properties, EVChargerProperties)
    plain = ev.model_copy(
        update={"properties": ev.properties.model_copy(update={"vehicle_battery_Wh": None})}
    )
    other = hybrid.model_copy(
        update={"devices": tuple(plain if d is ev else d for d in hybrid.devices)}
    )
    assert Channel.SOC_PERCENT not in sensors_of(other)[primary_sensor(plain)].channels


def test_primary_sensor_is_a_sensor_of_the_site(site: Site) -> None:
    infos = sensors_of(site)
    for device in site.devices:
        sid = primary_sensor(device)
        assert sid in infos
        assert not infos[sid].detail
        assert infos[sid].device_id == device.synth_id


def test_resolve_synth_id(hybrid: Site) -> None:
    inv = hybrid.devices_of_kind(DeviceKind.INVERTER)[0]
    target = resolve_synth_id(hybrid, inv.synth_id)
    assert target is not None and target.kind == "device" and target.device is inv
    bat = hybrid.devices_of_kind(DeviceKind.BATTERY_PACK)[0]
    block = resolve_synth_id(hybrid, f"{bat.synth_id}__bb_1")
    assert block is not None and block.kind == "sensor" and block.device is bat
    assert block.sensor is not None and block.sensor.role is SensorRole.BLOCK
    assert resolve_synth_id(hybrid, f"{bat.synth_id}__bb_9") is None
    assert resolve_synth_id(hybrid, "nope") is None
    assert resolve_synth_id(hybrid, hybrid.site_id) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a__B", ("a", "B")),
        ("a__bb_0", ("a", "bb_0")),
        ("plain", None),
        ("__x", None),
        ("a__", None),
    ],
)
def test_split_sensor_id(text: str, expected: tuple[str, str] | None) -> None:
    assert split_sensor_id(text) == expected


def _dev(synth_id: str, props: Any, parent: str | None = None) -> Device:
    return Device(
        synth_id=synth_id,
        type="T",
        manufacturer="M",
        model="X",
        serial_number="S",
        name=synth_id,
        parent_id=parent,
        properties=props,
    )


def test_site_without_inverter_hangs_consumption_on_the_meter() -> None:
    s = build_site("pv_only", "o", random.Random(1))
    meter = _dev("m", MeterProperties())
    ev = _dev("e", EVChargerProperties(max_power_W=7400))
    bare = Site.model_validate({**s.model_dump(), "devices": [meter, ev]})
    assert primary_inverter(bare) is None
    assert set(sensors_of(bare)) == {"m__METER", "m__HOME_CONSUMPTION_DERIVED", "e__EV_CHARGER"}


def test_empty_site_topology() -> None:
    s = build_site("pv_only", "o", random.Random(1)).model_copy(update={"devices": ()})
    assert build_topology(s).to_json() == {"root": {"id": s.site_id, "kind": "site"}}


def test_primary_inverter_prefers_hybrid() -> None:
    s = build_site("hybrid_home", "o", random.Random(1))
    second = _dev("z", InverterProperties(topology=InverterTopology.PV, rated_power_W=3000))
    both = Site.model_validate({**s.model_dump(), "devices": [second, *s.devices]})
    primary = primary_inverter(both)
    assert primary is not None and primary.synth_id != "z"
    grid = [i for i in sensors_of(both).values() if i.role is SensorRole.GRID and i.derived]
    assert len(grid) == 1 and grid[0].device_id == primary.synth_id
    assert "z__INVERTER" in sensors_of(both) and "z__GRID_METER_DERIVED" not in sensors_of(both)


def test_every_role_with_a_state_channel_has_state_words() -> None:
    from gridshare.homes.topology import ROLE_CHANNELS, ROLE_STATES

    with_state = {role for role, channels in ROLE_CHANNELS.items() if Channel.STATE in channels}
    assert with_state == set(ROLE_STATES)
