"""Operation modes: which plan a controllable device follows when no overlay is active.

- `simple`: the simplest plan for the kind. Battery: self-consumption (charge from surplus
  PV, discharge to cover the home, never export from or import into the battery). EV: charge at
  full power as soon as a car is plugged in. Hot-water relay: element enabled, the tank's
  thermostat decides.
- `schedule`: the device's weekly schedule plan (a PUT needs one stored: 422 otherwise).
- `smart`: an optimised plan (tariff- and forecast-driven), computed by the twin.
- `unknown`: only ever *answered* by GET (device never reported); a PUT of it is a 400.

Controllable devices: the battery (addressable by the battery pack id, or by the id of the
inverter carrying it), the EV charger and the hot-water relay. The EV and the relay have modes
too because both have overlay plans and both gain from scheduling and optimisation (cheap-hour
charging, solar diversion). PV, meters and PV-only inverters have no mode; the mode resource
does not exist for them (404 `mode_not_supported`).

A battery and its inverter share one mode and one set of plans, stored against the battery
pack (`control_device`), because a plan's power sign (positive = into the device) is only
unambiguous for the battery. New devices start in `simple`.
"""

from __future__ import annotations

from enum import StrEnum

from gridshare.homes.devices import Device, DeviceKind, InverterProperties
from gridshare.homes.errors import Kind, ModeError
from gridshare.homes.sites import Site
from gridshare.homes.topology import resolve_synth_id


class OperationMode(StrEnum):
    SIMPLE = "simple"
    SCHEDULE = "schedule"
    SMART = "smart"
    UNKNOWN = "unknown"


WRITABLE_MODES_ORDERED = (OperationMode.SIMPLE, OperationMode.SCHEDULE, OperationMode.SMART)
WRITABLE_MODES = frozenset(WRITABLE_MODES_ORDERED)
DEFAULT_MODE = OperationMode.SIMPLE

CONTROLLABLE_KINDS = frozenset(
    {DeviceKind.BATTERY_PACK, DeviceKind.EV, DeviceKind.LOAD_CONTROL_RELAY}
)
"""Kinds whose mode and plans are stored against themselves (see `control_device`)."""


def parse_mode(value: object) -> OperationMode:
    """Read a mode word in any case (`Smart`, `SMART`); anything else is a 400."""
    if not isinstance(value, str):
        raise ModeError(Kind.MALFORMED, "malformed_mode", "mode must be a string")
    try:
        return OperationMode(value.strip().lower())
    except ValueError:
        valid = ", ".join(m.value for m in WRITABLE_MODES_ORDERED)
        raise ModeError(
            Kind.MALFORMED, "invalid_mode", f"unknown mode {value!r}; valid: {valid}"
        ) from None


def parse_mode_body(raw: object) -> OperationMode:
    """Check a PUT body `{"mode": ...}` (no other keys); `unknown` is refused with a 400."""
    if not isinstance(raw, dict) or set(raw) != {"mode"}:
        raise ModeError(Kind.MALFORMED, "malformed_mode", 'the body must be {"mode": <mode>}')
    mode = parse_mode(raw["mode"])
    if mode not in WRITABLE_MODES:
        raise ModeError(
            Kind.MALFORMED, "invalid_mode", "mode 'unknown' can only be read, not written"
        )
    return mode


def mode_body(mode: OperationMode) -> dict[str, str]:
    """The GET/PUT response body, canonical lower case."""
    return {"mode": mode.value}


def check_mode_change(mode: OperationMode, *, has_schedule: bool) -> None:
    """Refuse `schedule` when the device has no schedule plan to follow (422)."""
    if mode is OperationMode.SCHEDULE and not has_schedule:
        raise ModeError(
            Kind.IMPOSSIBLE,
            "schedule_missing",
            "store a schedule plan before switching to schedule mode",
        )


def supports_operation_mode(device: Device) -> bool:
    """Whether the device (by itself) has an operation mode; inverters only with a battery."""
    if isinstance(device.properties, InverterProperties):
        return device.properties.accepts_battery
    return device.kind in CONTROLLABLE_KINDS


def control_device(site: Site, synth_id: str) -> Device:
    """The device whose mode and plans a request on `synth_id` reads or writes.

    A battery pack, EV charger or relay answers for itself; an inverter (or any of its sensors)
    answers through its battery pack; a sensor answers through its device. Raises `ModeError`
    404 `not_found` for ids not on the site and 404 `mode_not_supported` for devices without a
    mode (PV, meters, PV-only inverters, or a battery inverter whose battery is not registered).
    """
    target = resolve_synth_id(site, synth_id)
    if target is None:
        raise ModeError(
            Kind.NOT_FOUND, "not_found", f"no device or sensor {synth_id!r} on this site"
        )
    device = target.device
    if device.kind is DeviceKind.INVERTER and supports_operation_mode(device):
        battery = next(
            (c for c in site.children_of(device.synth_id) if c.kind is DeviceKind.BATTERY_PACK),
            None,
        )
        if battery is not None:
            return battery
    if device.kind in CONTROLLABLE_KINDS:
        return device
    raise ModeError(
        Kind.NOT_FOUND,
        "mode_not_supported",
        f"a {device.kind.value} device has no operation mode or plans",
    )
