"""Devices of a home: the six kinds and each device's static description.

A device is one box on the wall (inverter, battery pack, PV system, EV charger, meter, hot-water
relay). Its kind-specific static facts live in `properties`, a union discriminated by `kind`,
so the device's kind and its facts can never disagree and storage can keep them as one JSON
column. Models are frozen and forbid unknown fields so a storage round trip that drifts fails
loudly instead of silently dropping data.

Units are in the field names (`_W`, `_Wh`, `_deg`, `_litres`); powers are positive magnitudes.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from gridshare.homes.errors import Kind, PatchError

SENSOR_SEPARATOR = "__"
"""Sensor ids are `<deviceId>__<SUFFIX>`, so a device id must never contain this."""


class DeviceKind(StrEnum):
    """The six broad device kinds of the contract, spelled exactly as the API emits them."""

    INVERTER = "inverter"
    BATTERY_PACK = "battery_pack"
    PV = "PV"
    EV = "EV"
    METER = "meter"
    LOAD_CONTROL_RELAY = "load_control_relay"


def parse_device_kind(value: str) -> DeviceKind:
    """Read a kind in any case (`pv`, `Pv`, `PV`), since query strings are typed by people."""
    folded = value.strip().lower()
    for kind in DeviceKind:
        if kind.value.lower() == folded:
            return kind
    valid = ", ".join(k.value for k in DeviceKind)
    raise ValueError(f"unknown device kind {value!r}; valid kinds: {valid}")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Percent = Annotated[float, Field(ge=0, le=100)]
PositiveW = Annotated[int, Field(gt=0, le=1_000_000)]
Phases = Literal[1, 3]


class InverterTopology(StrEnum):
    """What an inverter converts; it decides which children (battery, PV) it may carry."""

    HYBRID = "hybrid"  # PV strings and a DC battery on one inverter
    PV = "pv"  # string inverter: PV only
    AC_BATTERY = "ac_battery"  # AC-coupled battery inverter: battery only


class InverterProperties(_Frozen):
    kind: Literal[DeviceKind.INVERTER] = DeviceKind.INVERTER
    topology: InverterTopology
    rated_power_W: PositiveW
    phases: Phases = 1

    @property
    def accepts_battery(self) -> bool:
        return self.topology in (InverterTopology.HYBRID, InverterTopology.AC_BATTERY)

    @property
    def accepts_pv(self) -> bool:
        return self.topology in (InverterTopology.HYBRID, InverterTopology.PV)


class BatteryBlock(_Frozen):
    """One battery module; a pack stacks several. SoC limits are the usable window."""

    capacity_Wh: Annotated[int, Field(gt=0, le=1_000_000)]
    max_charge_power_W: PositiveW
    max_discharge_power_W: PositiveW
    round_trip_efficiency: Annotated[float, Field(gt=0, le=1)]
    soc_min_percent: Percent = 0
    soc_max_percent: Percent = 100

    @model_validator(mode="after")
    def _soc_window(self) -> BatteryBlock:
        if self.soc_min_percent >= self.soc_max_percent:
            raise ValueError("soc_min_percent must be below soc_max_percent")
        return self


class BatteryPackProperties(_Frozen):
    kind: Literal[DeviceKind.BATTERY_PACK] = DeviceKind.BATTERY_PACK
    blocks: Annotated[tuple[BatteryBlock, ...], Field(min_length=1, max_length=64)]

    @property
    def capacity_Wh(self) -> int:
        return sum(b.capacity_Wh for b in self.blocks)

    @property
    def max_charge_power_W(self) -> int:
        return sum(b.max_charge_power_W for b in self.blocks)

    @property
    def max_discharge_power_W(self) -> int:
        return sum(b.max_discharge_power_W for b in self.blocks)


class PVArray(_Frozen):
    """One roof plane: panels sharing azimuth and tilt. `optimisers` = 0 for plain strings."""

    peak_power_W: PositiveW
    azimuth_deg: Annotated[float, Field(ge=0, lt=360)] = 180  # 180 = south, 90 = east
    tilt_deg: Annotated[float, Field(ge=0, le=90)] = 30  # 0 = flat
    optimisers: Annotated[int, Field(ge=0, le=500)] = 0


class PVProperties(_Frozen):
    kind: Literal[DeviceKind.PV] = DeviceKind.PV
    arrays: Annotated[tuple[PVArray, ...], Field(min_length=1, max_length=16)]

    @property
    def peak_power_W(self) -> int:
        return sum(a.peak_power_W for a in self.arrays)

    @property
    def optimisers(self) -> int:
        return sum(a.optimisers for a in self.arrays)


class EVChargerProperties(_Frozen):
    """The charger; `vehicle_battery_Wh` is the usual car's pack if known (gives it a SoC)."""

    kind: Literal[DeviceKind.EV] = DeviceKind.EV
    max_power_W: PositiveW
    phases: Phases = 1
    vehicle_battery_Wh: Annotated[int, Field(gt=0, le=1_000_000)] | None = None


class MeterProperties(_Frozen):
    """A meter at the grid connection: it measures import (+) and export (-) of the home."""

    kind: Literal[DeviceKind.METER] = DeviceKind.METER
    position: Literal["grid"] = "grid"
    phases: Phases = 1


class LoadControlRelayProperties(_Frozen):
    """A relay switching a hot-water immersion element; the tank is thermal storage."""

    kind: Literal[DeviceKind.LOAD_CONTROL_RELAY] = DeviceKind.LOAD_CONTROL_RELAY
    element_power_W: PositiveW
    tank_litres: Annotated[int, Field(gt=0, le=10_000)]


DeviceProperties = Annotated[
    InverterProperties
    | BatteryPackProperties
    | PVProperties
    | EVChargerProperties
    | MeterProperties
    | LoadControlRelayProperties,
    Field(discriminator="kind"),
]

NEEDS_PARENT = frozenset({DeviceKind.BATTERY_PACK, DeviceKind.PV})
"""Kinds that only exist behind an inverter (their derived sensors carry the inverter's id)."""

Name = Annotated[str, Field(min_length=1, max_length=100)]


class Device(_Frozen):
    """A device's static description; `parent_id` is the device it hangs under (None = site)."""

    synth_id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
    type: Annotated[str, Field(min_length=1, max_length=100)]
    manufacturer: Annotated[str, Field(min_length=1, max_length=100)]
    model: Annotated[str, Field(min_length=1, max_length=100)]
    serial_number: Annotated[str, Field(min_length=1, max_length=100)]
    name: Name
    parent_id: str | None = None
    properties: DeviceProperties

    @property
    def kind(self) -> DeviceKind:
        return self.properties.kind

    @model_validator(mode="after")
    def _ids(self) -> Device:
        if SENSOR_SEPARATOR in self.synth_id:
            raise ValueError(f"a device id must not contain {SENSOR_SEPARATOR!r}")
        if self.parent_id == self.synth_id:
            raise ValueError("a device cannot be its own parent")
        if self.kind in NEEDS_PARENT and self.parent_id is None:
            raise ValueError(f"a {self.kind.value} device must hang under an inverter")
        return self


def device_resource(
    device: Device, *, site_id: str, partners: tuple[str, ...] | list[str] = ()
) -> dict[str, object]:
    """The `GET /api/v2/devices/{synthId}` body of the contract (camelCase, canonical kind)."""
    return {
        "synthId": device.synth_id,
        "kind": device.kind.value,
        "type": device.type,
        "siteId": site_id,
        "manufacturer": device.manufacturer,
        "model": device.model,
        "serialNumber": device.serial_number,
        "name": device.name,
        "partners": list(partners),
    }


READ_ONLY_DEVICE_FIELDS = frozenset(
    {"synthId", "kind", "type", "siteId", "manufacturer", "model", "serialNumber", "partners"}
)


class DevicePatch(_Frozen):
    """The mutable part of a device (contract: only `name`), as a JSON merge-patch."""

    name: StrictStr | None = None


def parse_device_patch(raw: object) -> DevicePatch:
    """Check a PATCH body: an object whose keys are mutable fields; anything else is a 400.

    `name` must be a non-blank string of at most 100 characters (surrounding spaces are trimmed);
    `null` is refused because a device always has a name. `{}` is a valid no-op patch.
    """
    if not isinstance(raw, dict):
        raise PatchError(Kind.MALFORMED, "malformed_patch", "the patch must be a JSON object")
    read_only = sorted(k for k in raw if k in READ_ONLY_DEVICE_FIELDS)
    if read_only:
        raise PatchError(
            Kind.MALFORMED, "read_only_field", f"read-only field(s): {', '.join(read_only)}"
        )
    unknown = sorted(str(k) for k in raw if k != "name")
    if unknown:
        raise PatchError(Kind.MALFORMED, "unknown_field", f"unknown field(s): {', '.join(unknown)}")
    if "name" not in raw:
        return DevicePatch()
    value = raw["name"]
    if not isinstance(value, str):
        raise PatchError(Kind.MALFORMED, "malformed_patch", "name must be a string")
    name = value.strip()
    if not 1 <= len(name) <= 100:
        raise PatchError(Kind.MALFORMED, "malformed_patch", "name must be 1 to 100 characters")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        # NUL cannot be stored by PostgreSQL, and a lone surrogate cannot be encoded at all.
        raise PatchError(
            Kind.MALFORMED,
            "malformed_patch",
            "name must not contain control or surrogate characters",
        )
    return DevicePatch(name=name)


def apply_device_patch(device: Device, patch: DevicePatch) -> Device:
    """The device after the patch (a new frozen copy)."""
    if patch.name is None:
        return device
    return device.model_copy(update={"name": patch.name})
