"""Templates: each builds a valid, deterministic site with the promised devices."""

from __future__ import annotations

import random

import pytest

from gridshare.homes.devices import (
    BatteryPackProperties,
    DeviceKind,
    InverterProperties,
    InverterTopology,
    PVProperties,
)
from gridshare.homes.templates import TEMPLATES, UnknownTemplateError, build_site, new_id

EXPECTED_KINDS = {
    "hybrid_home": {
        DeviceKind.INVERTER: 1,
        DeviceKind.BATTERY_PACK: 1,
        DeviceKind.PV: 1,
        DeviceKind.METER: 1,
        DeviceKind.EV: 1,
        DeviceKind.LOAD_CONTROL_RELAY: 1,
    },
    "pv_only": {DeviceKind.INVERTER: 1, DeviceKind.PV: 1, DeviceKind.METER: 1},
    "battery_retrofit": {DeviceKind.INVERTER: 1, DeviceKind.BATTERY_PACK: 1, DeviceKind.METER: 1},
}


def test_registry_lists_the_three_templates() -> None:
    assert set(TEMPLATES) == set(EXPECTED_KINDS)


@pytest.mark.parametrize("name", sorted(EXPECTED_KINDS))
def test_template_devices(name: str) -> None:
    site = build_site(name, "owner-9", random.Random(0))
    counts: dict[DeviceKind, int] = {}
    for d in site.devices:
        counts[d.kind] = counts.get(d.kind, 0) + 1
    assert counts == EXPECTED_KINDS[name]
    assert site.owner == "owner-9"


@pytest.mark.parametrize("name", sorted(EXPECTED_KINDS))
def test_templates_are_deterministic_and_fresh(name: str) -> None:
    a = build_site(name, "o", random.Random(42))
    b = build_site(name, "o", random.Random(42))
    c = build_site(name, "o", random.Random(43))
    assert a == b
    ids_a = {a.site_id, *(d.synth_id for d in a.devices)}
    ids_c = {c.site_id, *(d.synth_id for d in c.devices)}
    assert not ids_a & ids_c


def test_templates_are_in_distinct_places() -> None:
    zones = {build_site(n, "o", random.Random(1)).time_zone for n in TEMPLATES}
    assert zones == {"America/Los_Angeles", "Europe/Berlin", "Europe/London"}


def test_hybrid_home_specs() -> None:
    site = build_site("hybrid_home", "o", random.Random(5))
    (inverter,) = site.devices_of_kind(DeviceKind.INVERTER)
    assert isinstance(inverter.properties, InverterProperties)
    assert inverter.properties.topology is InverterTopology.HYBRID
    (battery,) = site.devices_of_kind(DeviceKind.BATTERY_PACK)
    assert isinstance(battery.properties, BatteryPackProperties)
    assert len(battery.properties.blocks) == 2
    (pv,) = site.devices_of_kind(DeviceKind.PV)
    assert isinstance(pv.properties, PVProperties)
    assert pv.properties.optimisers > 0
    assert battery.parent_id == inverter.synth_id == pv.parent_id


def test_battery_retrofit_is_ac_coupled_without_pv() -> None:
    site = build_site("battery_retrofit", "o", random.Random(5))
    (inverter,) = site.devices_of_kind(DeviceKind.INVERTER)
    assert isinstance(inverter.properties, InverterProperties)
    assert inverter.properties.topology is InverterTopology.AC_BATTERY
    assert not site.devices_of_kind(DeviceKind.PV)


def test_unknown_template_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="battery_retrofit, hybrid_home, pv_only"):
        build_site("castle", "o", random.Random(0))
    with pytest.raises(UnknownTemplateError):
        build_site("castle", "o", random.Random(0))


def test_new_id_is_a_uuid4_without_separator() -> None:
    ident = new_id(random.Random(0))
    assert len(ident) == 36 and ident[14] == "4" and "__" not in ident
