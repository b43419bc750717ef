"""Operation modes: parsing, PUT rules and which device answers for a synthId."""

from __future__ import annotations

import random

import pytest

from gridshare.api.errors import status_of
from gridshare.homes.devices import DeviceKind
from gridshare.homes.errors import ModeError
from gridshare.homes.modes import (
    DEFAULT_MODE,
    OperationMode,
    check_mode_change,
    control_device,
    mode_body,
    parse_mode,
    parse_mode_body,
    supports_operation_mode,
)
from gridshare.homes.templates import build_site
from gridshare.homes.topology import sensors_of


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("simple", OperationMode.SIMPLE),
        ("SIMPLE", OperationMode.SIMPLE),
        ("Schedule", OperationMode.SCHEDULE),
        ("sMaRt", OperationMode.SMART),
        (" smart ", OperationMode.SMART),
        ("Unknown", OperationMode.UNKNOWN),
    ],
)
def test_parse_any_case(text: str, mode: OperationMode) -> None:
    assert parse_mode(text) is mode


@pytest.mark.parametrize("raw", [{"mode": "SMART"}, {"mode": "smart"}, {"mode": "Smart"}])
def test_put_body_emits_lower_case(raw: object) -> None:
    assert mode_body(parse_mode_body(raw)) == {"mode": "smart"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ({"mode": "unknown"}, "invalid_mode"),
        ({"mode": "UNKNOWN"}, "invalid_mode"),
        ({"mode": "turbo"}, "invalid_mode"),
        ({"mode": 1}, "malformed_mode"),
        ({"mode": None}, "malformed_mode"),
        ({}, "malformed_mode"),
        ({"mode": "simple", "extra": 1}, "malformed_mode"),
        ("simple", "malformed_mode"),
        (None, "malformed_mode"),
    ],
)
def test_put_body_errors_are_400(raw: object, code: str) -> None:
    with pytest.raises(ModeError) as info:
        parse_mode_body(raw)
    assert (status_of(info.value), info.value.code) == (400, code)


def test_schedule_needs_a_schedule_plan() -> None:
    with pytest.raises(ModeError) as info:
        check_mode_change(OperationMode.SCHEDULE, has_schedule=False)
    assert (status_of(info.value), info.value.code) == (422, "schedule_missing")
    check_mode_change(OperationMode.SCHEDULE, has_schedule=True)
    check_mode_change(OperationMode.SMART, has_schedule=False)


def test_default_mode_is_simple() -> None:
    assert DEFAULT_MODE is OperationMode.SIMPLE


def test_which_devices_have_a_mode() -> None:
    hybrid = build_site("hybrid_home", "o", random.Random(1))
    has = {d.kind: supports_operation_mode(d) for d in hybrid.devices}
    assert has == {
        DeviceKind.INVERTER: True,
        DeviceKind.BATTERY_PACK: True,
        DeviceKind.PV: False,
        DeviceKind.METER: False,
        DeviceKind.EV: True,
        DeviceKind.LOAD_CONTROL_RELAY: True,
    }
    pv_inverter = build_site("pv_only", "o", random.Random(1)).devices_of_kind(DeviceKind.INVERTER)
    assert not supports_operation_mode(pv_inverter[0])


def test_inverter_and_its_sensors_answer_through_the_battery() -> None:
    site = build_site("hybrid_home", "o", random.Random(1))
    inverter = site.devices_of_kind(DeviceKind.INVERTER)[0]
    battery = site.devices_of_kind(DeviceKind.BATTERY_PACK)[0]
    assert control_device(site, inverter.synth_id) is battery
    assert control_device(site, battery.synth_id) is battery
    assert control_device(site, f"{inverter.synth_id}__bb_agg") is battery
    assert control_device(site, f"{battery.synth_id}__bb_0") is battery
    ev = site.devices_of_kind(DeviceKind.EV)[0]
    assert control_device(site, f"{ev.synth_id}__EV_CHARGER") is ev


def test_devices_without_mode_are_404() -> None:
    site = build_site("hybrid_home", "o", random.Random(1))
    pv = site.devices_of_kind(DeviceKind.PV)[0]
    meter = site.devices_of_kind(DeviceKind.METER)[0]
    pv_sensor = next(s for s, i in sensors_of(site).items() if i.device_id == pv.synth_id)
    for synth_id in (pv.synth_id, meter.synth_id, pv_sensor):
        with pytest.raises(ModeError) as info:
            control_device(site, synth_id)
        assert (status_of(info.value), info.value.code) == (404, "mode_not_supported")
    with pytest.raises(ModeError) as info:
        control_device(site, "nope")
    assert (status_of(info.value), info.value.code) == (404, "not_found")
    pv_only = build_site("pv_only", "o", random.Random(1))
    with pytest.raises(ModeError):
        control_device(pv_only, pv_only.devices_of_kind(DeviceKind.INVERTER)[0].synth_id)
