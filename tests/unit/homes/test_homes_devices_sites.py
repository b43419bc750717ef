"""Device and site models: the tree rules, round trips, resources and the name patch."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from gridshare.api.errors import status_of
from gridshare.homes.devices import (
    BatteryBlock,
    BatteryPackProperties,
    Device,
    DeviceKind,
    InverterProperties,
    InverterTopology,
    MeterProperties,
    PVArray,
    PVProperties,
    apply_device_patch,
    device_resource,
    parse_device_kind,
    parse_device_patch,
)
from gridshare.homes.errors import PatchError
from gridshare.homes.sites import Site, site_resource
from gridshare.homes.templates import build_site

BLOCK = BatteryBlock(
    capacity_Wh=5000, max_charge_power_W=2500, max_discharge_power_W=2500, round_trip_efficiency=0.9
)


def device(synth_id: str, props: Any, parent: str | None = None) -> Device:
    return Device(
        synth_id=synth_id,
        type="T",
        manufacturer="M",
        model="X",
        serial_number="S1",
        name=synth_id,
        parent_id=parent,
        properties=props,
    )


def site(*devices: Device) -> Site:
    return Site(
        site_id="site-1",
        owner="owner-1",
        site_reference="GS-1",
        address={"lines": ["1 Road"], "city": "Town", "postcode": "AB1", "country": "GB"},
        time_zone="Europe/London",
        latitude=51.5,
        longitude=-0.1,
        import_tariff_id="flat",
        devices=devices,
    )


HYBRID = InverterProperties(topology=InverterTopology.HYBRID, rated_power_W=5000)
PV_INV = InverterProperties(topology=InverterTopology.PV, rated_power_W=5000)
BATTERY = BatteryPackProperties(blocks=(BLOCK,))
SOLAR = PVProperties(arrays=(PVArray(peak_power_W=4000),))


@pytest.mark.parametrize(
    ("text", "kind"),
    [("pv", DeviceKind.PV), ("Ev", DeviceKind.EV), ("BATTERY_PACK", DeviceKind.BATTERY_PACK)],
)
def test_device_kind_any_case(text: str, kind: DeviceKind) -> None:
    assert parse_device_kind(text) is kind


def test_unknown_device_kind_lists_valid_kinds() -> None:
    with pytest.raises(ValueError, match="load_control_relay"):
        parse_device_kind("toaster")


def test_kind_comes_from_properties() -> None:
    assert device("b", BATTERY, parent="i").kind is DeviceKind.BATTERY_PACK


def test_battery_and_pv_need_a_parent() -> None:
    with pytest.raises(ValidationError, match="must hang under an inverter"):
        device("b", BATTERY)
    with pytest.raises(ValidationError, match="must hang under an inverter"):
        device("p", SOLAR)


def test_device_id_cannot_contain_sensor_separator() -> None:
    with pytest.raises(ValidationError, match="__"):
        device("a__b", HYBRID)


def test_block_soc_window_must_be_open() -> None:
    with pytest.raises(ValidationError, match="soc_min_percent"):
        BatteryBlock(
            capacity_Wh=1,
            max_charge_power_W=1,
            max_discharge_power_W=1,
            round_trip_efficiency=0.9,
            soc_min_percent=50,
            soc_max_percent=50,
        )


def test_unknown_property_field_is_refused() -> None:
    with pytest.raises(ValidationError):
        MeterProperties.model_validate({"kind": "meter", "colour": "grey"})


def test_valid_tree() -> None:
    s = site(device("i", HYBRID), device("b", BATTERY, "i"), device("p", SOLAR, "i"))
    assert [d.synth_id for d in s.children_of("i")] == ["b", "p"]
    assert s.devices_of_kind(DeviceKind.PV)[0].synth_id == "p"


@pytest.mark.parametrize(
    ("devices", "message"),
    [
        ((device("i", HYBRID), device("i", HYBRID)), "duplicate id"),
        ((device("b", BATTERY, "nope"),), "not on site"),
        ((device("m", MeterProperties()), device("b", BATTERY, "m")), "cannot hang under meter"),
        ((device("i", PV_INV), device("b", BATTERY, "i")), "has no battery"),
        (
            (
                device("i", InverterProperties(topology="ac_battery", rated_power_W=3000)),
                device("p", SOLAR, "i"),
            ),
            "has no PV",
        ),
        (
            (device("i", HYBRID), device("b1", BATTERY, "i"), device("b2", BATTERY, "i")),
            "at most one battery_pack",
        ),
        ((device("i", HYBRID), device("j", HYBRID, "i")), "cannot hang under inverter"),
    ],
)
def test_invalid_trees(devices: tuple[Device, ...], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        site(*devices)


@pytest.mark.parametrize("zone", ["Mars/Base", "../etc/passwd", ""])
def test_time_zone_must_be_iana(zone: str) -> None:
    with pytest.raises(ValidationError, match="IANA"):
        Site.model_validate({**site().model_dump(), "time_zone": zone})


def test_local_time() -> None:
    s = site()
    local = s.local_time(datetime(2026, 7, 1, 12, tzinfo=UTC))
    assert local.hour == 13
    with pytest.raises(ValueError, match="aware"):
        s.local_time(datetime(2026, 7, 1, 12))


def test_site_round_trips_through_json() -> None:
    s = build_site("hybrid_home", "owner", random.Random(3))
    assert Site.model_validate_json(s.model_dump_json()) == s
    assert Site.model_validate(s.model_dump(mode="json")) == s


def test_resources_have_contract_keys() -> None:
    s = build_site("hybrid_home", "owner", random.Random(3))
    body = device_resource(s.devices[0], site_id=s.site_id, partners=["acme"])
    assert set(body) == {
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
    assert body["kind"] == "inverter" and body["partners"] == ["acme"]
    site_body = site_resource(s)
    assert site_body["timeZone"] == "America/Los_Angeles"
    assert site_body["importTariffId"] == "us-ca-tou"
    assert site_body["exportTariffId"] == "us-ca-nbt"
    assert "owner" not in site_body and "latitude" not in site_body


def test_patch_name() -> None:
    d = device("i", HYBRID)
    patched = apply_device_patch(d, parse_device_patch({"name": "  Garage inverter "}))
    assert patched.name == "Garage inverter" and d.name == "i"
    assert apply_device_patch(d, parse_device_patch({})) == d


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ([], "malformed_patch"),
        ({"name": None}, "malformed_patch"),
        ({"name": 3}, "malformed_patch"),
        ({"name": "   "}, "malformed_patch"),
        ({"name": "x" * 101}, "malformed_patch"),
        ({"serialNumber": "x"}, "read_only_field"),
        ({"colour": "red"}, "unknown_field"),
    ],
)
def test_bad_patches_are_400(raw: object, code: str) -> None:
    with pytest.raises(PatchError) as info:
        parse_device_patch(raw)
    assert (status_of(info.value), info.value.code) == (400, code)
