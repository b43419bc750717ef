"""The topology tree a site serves, and the sensors (telemetry streams) it names.

Sensor ids follow the service's `<deviceId>__<SUFFIX>` rule, so the part before `__` is always
a device of the same site (storage finds the site of any sensor from that prefix). Per device
node, in tree order (`role` in brackets):

- inverter: `<inverterId>__INVERTER` (inverter); on the site's primary inverter also
  `<inverterId>__GRID_METER_DERIVED` (grid) and `<inverterId>__HOME_CONSUMPTION_DERIVED`
  (consumption);
- battery pack: `<inverterId>__bb_agg` (battery, with `maxCapacity_J`), and with
  `compact=False` one `<batteryId>__bb_<n>` (block, with its own `maxCapacity_J`) per block;
- PV: `<inverterId>__PV_DERIVED` (pv), and with `compact=False` one `<pvId>__opt_<n>`
  (optimiser) per optimiser, numbered across arrays;
- meter: `<meterId>__METER` (grid); EV charger: `<evId>__EV_CHARGER` (ev); relay:
  `<relayId>__HOT_WATER` (hot_water).

Home consumption is measured nowhere: it is derived at the inverter from the grid, PV and
battery flows, like the grid stream, so it takes a `_DERIVED` suffix on the primary inverter
rather than a site-prefixed id that no device route could resolve. A site without an inverter
hangs it on its first meter.

`bb_agg` and `PV_DERIVED` carry the inverter's id (as in the real service) but describe the
battery pack / PV device under it; a site allows one of each per inverter, so the mapping is one
to one. Every sensor of `sensors_of` is a valid telemetry synthId, including the block and
optimiser sensors that the compact tree hides.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gridshare.homes.devices import (
    SENSOR_SEPARATOR,
    BatteryPackProperties,
    Device,
    DeviceKind,
    EVChargerProperties,
    InverterProperties,
    InverterTopology,
    PVProperties,
)
from gridshare.homes.sites import Site

J_PER_WH = 3600


class Channel(StrEnum):
    """Telemetry fields a sensor can serve (the contract's entry keys)."""

    POWER_W = "power_W"
    SOC_PERCENT = "soc_percent"
    STATE = "state"
    ENERGY_WH_INCREMENT = "energy_Wh_increment"
    ENERGY_WH_DECREMENT = "energy_Wh_decrement"


class SensorRole(StrEnum):
    """What a sensor measures; the first five are the MCP site-telemetry labels."""

    BATTERY = "battery"
    PV = "pv"
    GRID = "grid"
    INVERTER = "inverter"
    CONSUMPTION = "consumption"
    EV = "ev"
    HOT_WATER = "hot_water"
    BLOCK = "block"
    OPTIMISER = "optimiser"


class Suffix(StrEnum):
    """Sensor id suffixes (after `__`); blocks and optimisers add `_<n>`."""

    INVERTER = "INVERTER"
    GRID = "GRID_METER_DERIVED"
    CONSUMPTION = "HOME_CONSUMPTION_DERIVED"
    BATTERY = "bb_agg"
    BLOCK = "bb"
    PV = "PV_DERIVED"
    OPTIMISER = "opt"
    METER = "METER"
    EV = "EV_CHARGER"
    HOT_WATER = "HOT_WATER"


_P, _SOC, _ST = Channel.POWER_W, Channel.SOC_PERCENT, Channel.STATE
_IN, _OUT = Channel.ENERGY_WH_INCREMENT, Channel.ENERGY_WH_DECREMENT

ROLE_CHANNELS: dict[SensorRole, tuple[Channel, ...]] = {
    SensorRole.BATTERY: (_P, _SOC, _ST, _IN, _OUT),
    SensorRole.BLOCK: (_P, _SOC, _ST, _IN, _OUT),
    SensorRole.PV: (_P, _OUT),
    SensorRole.OPTIMISER: (_P, _OUT),
    SensorRole.GRID: (_P, _IN, _OUT),
    SensorRole.INVERTER: (_P, _ST, _IN, _OUT),
    SensorRole.CONSUMPTION: (_P, _IN),
    SensorRole.EV: (_P, _ST, _IN),  # + soc_percent when the vehicle's pack size is known
    SensorRole.HOT_WATER: (_P, _ST, _IN),
}
"""Channels per role. PV only produces (decrement), consumers only consume (increment)."""

ROLE_STATES: dict[SensorRole, tuple[str, ...]] = {
    SensorRole.BATTERY: ("idle", "charging", "discharging", "offline", "fault"),
    SensorRole.BLOCK: ("idle", "charging", "discharging", "offline", "fault"),
    SensorRole.INVERTER: ("idle", "producing", "consuming", "standby", "offline", "fault"),
    SensorRole.EV: ("idle", "charging", "standby", "offline", "fault"),
    SensorRole.HOT_WATER: ("idle", "heating", "offline", "fault"),
}
"""The `state` words each role may report; all are in the telemetry store's vocabulary
(`gridshare.telemetry.states.STATE_WORDS`). EV `idle` = no car or not charging; hot water
`idle` = element off or tank satisfied."""


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """One telemetry stream: who owns it, what it measures, which fields it serves.

    `device_id` is the device node it hangs under (for `bb_agg`/`PV_DERIVED`: the battery /
    PV device, although the id's prefix is the inverter). `detail` sensors appear only in the
    non-compact tree. `index` numbers blocks and optimisers from 0.
    """

    sensor_id: str
    device_id: str
    role: SensorRole
    channels: tuple[Channel, ...]
    derived: bool
    detail: bool = False
    index: int | None = None
    max_capacity_J: int | None = None


def sensor_id(device_id: str, suffix: str) -> str:
    return f"{device_id}{SENSOR_SEPARATOR}{suffix}"


def split_sensor_id(synth_id: str) -> tuple[str, str] | None:
    """`(deviceId, suffix)` of a sensor-shaped id, else None; storage uses the prefix to find
    the site a sensor belongs to."""
    device_id, sep, suffix = synth_id.partition(SENSOR_SEPARATOR)
    if not sep or not device_id or not suffix:
        return None
    return device_id, suffix


_TOPOLOGY_RANK = {
    InverterTopology.HYBRID: 0,
    InverterTopology.AC_BATTERY: 1,
    InverterTopology.PV: 2,
}


def primary_inverter(site: Site) -> Device | None:
    """The inverter that derives the site's grid and consumption streams.

    Hybrid first, then AC battery, then PV inverter; ties go to the first in site order.
    """
    inverters = [d for d in site.devices if isinstance(d.properties, InverterProperties)]
    if not inverters:
        return None

    def rank(d: Device) -> int:
        assert isinstance(d.properties, InverterProperties)
        return _TOPOLOGY_RANK[d.properties.topology]

    return min(inverters, key=rank)


def _consumption_host(site: Site) -> Device | None:
    return primary_inverter(site) or next(iter(site.devices_of_kind(DeviceKind.METER)), None)


def _device_sensors(site: Site, device: Device, host: Device | None) -> list[SensorInfo]:
    """The sensors hanging under one device node, in tree order."""
    props = device.properties
    out: list[SensorInfo] = []

    def add(
        prefix: str,
        suffix: str,
        role: SensorRole,
        *,
        derived: bool,
        detail: bool = False,
        index: int | None = None,
        capacity_Wh: int | None = None,
        channels: tuple[Channel, ...] | None = None,
    ) -> None:
        out.append(
            SensorInfo(
                sensor_id=sensor_id(prefix, suffix),
                device_id=device.synth_id,
                role=role,
                channels=channels if channels is not None else ROLE_CHANNELS[role],
                derived=derived,
                detail=detail,
                index=index,
                max_capacity_J=None if capacity_Wh is None else capacity_Wh * J_PER_WH,
            )
        )

    me = device.synth_id
    if isinstance(props, InverterProperties):
        add(me, Suffix.INVERTER, SensorRole.INVERTER, derived=False)
        if device is primary_inverter(site):
            add(me, Suffix.GRID, SensorRole.GRID, derived=True)
    elif isinstance(props, BatteryPackProperties):
        assert device.parent_id is not None
        add(
            device.parent_id,
            Suffix.BATTERY,
            SensorRole.BATTERY,
            derived=True,
            capacity_Wh=props.capacity_Wh,
        )
        for n, block in enumerate(props.blocks):
            add(
                me,
                f"{Suffix.BLOCK}_{n}",
                SensorRole.BLOCK,
                derived=False,
                detail=True,
                index=n,
                capacity_Wh=block.capacity_Wh,
            )
    elif isinstance(props, PVProperties):
        assert device.parent_id is not None
        add(device.parent_id, Suffix.PV, SensorRole.PV, derived=True)
        for n in range(props.optimisers):
            add(
                me,
                f"{Suffix.OPTIMISER}_{n}",
                SensorRole.OPTIMISER,
                derived=False,
                detail=True,
                index=n,
            )
    elif isinstance(props, EVChargerProperties):
        channels = ROLE_CHANNELS[SensorRole.EV]
        if props.vehicle_battery_Wh is not None:
            channels = (*channels[:1], Channel.SOC_PERCENT, *channels[1:])
        add(me, Suffix.EV, SensorRole.EV, derived=False, channels=channels)
    elif device.kind is DeviceKind.METER:
        add(me, Suffix.METER, SensorRole.GRID, derived=False)
    elif device.kind is DeviceKind.LOAD_CONTROL_RELAY:
        add(me, Suffix.HOT_WATER, SensorRole.HOT_WATER, derived=False)
    if host is device:
        add(me, Suffix.CONSUMPTION, SensorRole.CONSUMPTION, derived=True)
    return out


def _walk(site: Site) -> list[tuple[Device, list[SensorInfo]]]:
    """Devices in tree order (depth first, site order among siblings) with their sensors."""
    host = _consumption_host(site)
    result: list[tuple[Device, list[SensorInfo]]] = []

    def visit(parent_id: str | None) -> None:
        for device in site.children_of(parent_id):
            result.append((device, _device_sensors(site, device, host)))
            visit(device.synth_id)

    visit(None)
    return result


def sensors_of(site: Site) -> dict[str, SensorInfo]:
    """Every sensor of the site (compact or not) by id, in tree order."""
    return {s.sensor_id: s for _, sensors in _walk(site) for s in sensors}


def primary_sensor(device: Device) -> str:
    """The sensor a v1 telemetry call on a bare device id reads (the device's main stream)."""
    props = device.properties
    if isinstance(props, BatteryPackProperties | PVProperties):
        assert device.parent_id is not None  # enforced by Device
        suffix = Suffix.BATTERY if isinstance(props, BatteryPackProperties) else Suffix.PV
        return sensor_id(device.parent_id, suffix)
    suffix = {
        DeviceKind.INVERTER: Suffix.INVERTER,
        DeviceKind.METER: Suffix.METER,
        DeviceKind.EV: Suffix.EV,
        DeviceKind.LOAD_CONTROL_RELAY: Suffix.HOT_WATER,
    }[device.kind]
    return sensor_id(device.synth_id, suffix)


@dataclass(frozen=True, slots=True)
class SynthTarget:
    """What a synthId names on a site: a device, or a sensor (with its owning device)."""

    kind: Literal["device", "sensor"]
    device: Device
    sensor: SensorInfo | None = None


def resolve_synth_id(site: Site, synth_id: str) -> SynthTarget | None:
    """Tell whether `synth_id` is a device or a sensor of this site (None: neither -> 404)."""
    device = site.device(synth_id)
    if device is not None:
        return SynthTarget("device", device)
    sensor = sensors_of(site).get(synth_id)
    if sensor is None:
        return None
    owner = site.device(sensor.device_id)
    assert owner is not None
    return SynthTarget("sensor", owner, sensor)


class TopologyNode(BaseModel):
    """A node of `GET /sites/{siteId}/topology` (field names are the wire names)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: Literal["site", "device", "sensor"]
    deviceKind: DeviceKind | None = None
    channels: tuple[Channel, ...] | None = None
    maxCapacity_J: int | None = None
    children: tuple[TopologyNode, ...] | None = Field(default=None)


class Topology(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    root: TopologyNode

    def to_json(self) -> dict[str, Any]:
        """The response body, with absent optional keys left out."""
        return self.model_dump(mode="json", exclude_none=True)


def build_topology(site: Site, *, compact: bool = True) -> Topology:
    """The site's tree: site -> root devices -> (sensors, then child devices).

    `compact=True` hides block and optimiser sensors (they are folded into `bb_agg` and
    `PV_DERIVED`); `compact=False` lists them after the aggregate.
    """
    walked = dict((d.synth_id, sensors) for d, sensors in _walk(site))

    def sensor_node(s: SensorInfo) -> TopologyNode:
        return TopologyNode(
            id=s.sensor_id,
            kind="sensor",
            channels=s.channels,
            maxCapacity_J=s.max_capacity_J,
        )

    def device_node(device: Device) -> TopologyNode:
        sensors = [s for s in walked[device.synth_id] if compact is False or not s.detail]
        children = [sensor_node(s) for s in sensors]
        children += [device_node(c) for c in site.children_of(device.synth_id)]
        return TopologyNode(
            id=device.synth_id,
            kind="device",
            deviceKind=device.kind,
            children=tuple(children) or None,
        )

    roots = tuple(device_node(d) for d in site.children_of(None))
    return Topology(root=TopologyNode(id=site.site_id, kind="site", children=roots or None))
