"""Translate between the homes domain and the twin: a stored site becomes a `TwinSite`, stored
controls a `SiteControl`, and a `SimResult` the per-sensor sample batches the telemetry store
writes under the topology's sensor ids.

The twin simulates the site as a whole (one aggregate battery, one PV production); sensors that
show parts of it are derived here: battery blocks via the twin's own `split_blocks`, PV
optimisers as equal shares of their array's share of the production (arrays weighted by peak
power; documented in docs/twin.md).

Each sensor is written with exactly the channels its topology node declares (`SensorInfo.channels`,
which partners read from `/topology`): e.g. PV has no `energy_Wh_increment` and consumption no
`energy_Wh_decrement`, although the twin keeps both counters for every role. State words are
translated into the role's vocabulary (`homes.topology.ROLE_STATES`): the EV charger reports
`charging` while it delivers power and `idle` otherwise (no car, or a car not charging); the
hot-water relay reports `heating` while the element draws power and `idle` otherwise (relay open,
or the tank's thermostat satisfied). The battery's words (`idle`, `charging`, `discharging`) are
already the role's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gridshare.homes.devices import (
    BatteryPackProperties,
    DeviceKind,
    EVChargerProperties,
    InverterProperties,
    InverterTopology,
    LoadControlRelayProperties,
    PVProperties,
)
from gridshare.homes.markets import battery_grid_export
from gridshare.homes.sites import Site
from gridshare.homes.topology import Channel, SensorInfo, sensors_of
from gridshare.storage.models import DeviceControl as DeviceControlRow
from gridshare.telemetry import SampleBatch
from gridshare.telemetry.states import state_code
from gridshare.twin import (
    BatteryBlock,
    DeviceControl,
    EvCharger,
    HotWater,
    Mode,
    OverlayPlan,
    PvArray,
    SimResult,
    SiteControl,
    TwinSite,
    WeeklySchedule,
    resolve_tariff,
    split_blocks,
)
from gridshare.twin.tariffs import FlatTariff, TariffPair

#: Homes sensor role -> twin result role, for sensors the twin reports directly.
DIRECT_ROLES = {
    "grid": "grid",
    "consumption": "consumption",
    "pv": "pv",
    "battery": "battery",
    "inverter": "inverter",
    "ev": "ev",
    "hot_water": "hot_water",
}
NO_EXPORT = FlatTariff(id="none", name="No export payment", export_rate=0.0)


def site_tariffs(site: Site) -> TariffPair:
    """The prices the twin runs the site on (and so what savings and tariff pages read): its
    import tariff, and its export tariff or no export payment when it names none (an id this
    version does not know is priced at 0 rather than failing, see `resolve_tariff`)."""
    export = resolve_tariff(site.export_tariff_id) if site.export_tariff_id else NO_EXPORT
    return TariffPair(resolve_tariff(site.import_tariff_id), export)


def to_twin_site(site: Site, seed: int) -> TwinSite:
    tariffs = site_tariffs(site)
    arrays: list[PvArray] = []
    blocks: list[BatteryBlock] = []
    ev: EvCharger | None = None
    hot_water: HotWater | None = None
    battery_inverter_w: float | None = None
    pv_inverter_w: float | None = None
    for device in site.devices:
        props = device.properties
        if isinstance(props, PVProperties):
            arrays += [PvArray(a.peak_power_W, a.azimuth_deg, a.tilt_deg) for a in props.arrays]
        elif isinstance(props, BatteryPackProperties):
            blocks += [
                BatteryBlock(
                    capacity_wh=b.capacity_Wh,
                    max_charge_w=b.max_charge_power_W,
                    max_discharge_w=b.max_discharge_power_W,
                    round_trip_efficiency=b.round_trip_efficiency,
                    soc_min_pct=b.soc_min_percent,
                    soc_max_pct=b.soc_max_percent,
                )
                for b in props.blocks
            ]
        elif isinstance(props, EVChargerProperties):
            ev = EvCharger(
                max_power_w=props.max_power_W, vehicle_battery_wh=props.vehicle_battery_Wh
            )
        elif isinstance(props, LoadControlRelayProperties):
            hot_water = HotWater(
                element_power_w=props.element_power_W, tank_litres=props.tank_litres
            )
        elif isinstance(props, InverterProperties):
            if props.topology is InverterTopology.PV:
                pv_inverter_w = float(props.rated_power_W)
            else:
                battery_inverter_w = float(props.rated_power_W)
    if battery_inverter_w is None:  # PV only: the PV inverter is the site's inverter
        battery_inverter_w, pv_inverter_w = pv_inverter_w or 5000.0, None
    return TwinSite(
        site_id=site.site_id,
        latitude=site.latitude,
        longitude=site.longitude,
        timezone=site.time_zone,
        seed=seed,
        pv_arrays=arrays,
        battery_blocks=blocks,
        ev_charger=ev,
        hot_water=hot_water,
        inverter_rated_w=battery_inverter_w,
        import_tariff=tariffs.import_tariff,
        export_tariff=tariffs.export_tariff,
        pv_inverter_rated_w=pv_inverter_w,
        battery_grid_export=battery_grid_export(site),
    )


def _device_control(row: DeviceControlRow | None) -> DeviceControl:
    if row is None:
        return DeviceControl()
    schedule = WeeklySchedule.from_json(row.schedule) if row.schedule else None
    overlay = OverlayPlan.from_json(row.overlay) if row.overlay else None
    mode = Mode.parse(row.mode)
    if mode is Mode.SCHEDULE and schedule is None:  # cannot be stored, but never crash the twin
        mode = Mode.SIMPLE
    return DeviceControl(mode=mode, schedule=schedule, overlay=overlay)


def to_site_control(site: Site, controls: Mapping[str, DeviceControlRow]) -> SiteControl:
    """The stored mode and plans of the site's control devices, keyed by what they steer."""
    by_kind: dict[DeviceKind, DeviceControl] = {}
    for device in site.devices:
        if device.kind in (DeviceKind.BATTERY_PACK, DeviceKind.EV, DeviceKind.LOAD_CONTROL_RELAY):
            by_kind.setdefault(device.kind, _device_control(controls.get(device.synth_id)))
    return SiteControl(
        battery=by_kind.get(DeviceKind.BATTERY_PACK, DeviceControl()),
        ev=by_kind.get(DeviceKind.EV, DeviceControl()),
        hot_water=by_kind.get(DeviceKind.LOAD_CONTROL_RELAY, DeviceControl()),
    )


#: Twin state words that the role's vocabulary names differently (others pass unchanged).
_ROLE_WORDS: dict[str, dict[str, str]] = {
    "ev": {"unplugged": "idle", "plugged": "idle"},
}


def _codes(role: str, words: tuple[str, ...], codes: Any, power_w: Any) -> Any:
    if role == "hot_water":  # a closed relay heats only while the thermostat calls for it
        return np.where(np.asarray(power_w) > 0, state_code("heating"), state_code("idle"))
    renamed = _ROLE_WORDS.get(role, {})
    table = np.array([state_code(renamed.get(w, w)) for w in words], dtype=np.int64)
    return table[np.asarray(codes, dtype=np.int64)]


def _batch(
    info: SensorInfo,
    ts: Any,
    power_w: Any,
    *,
    soc_percent: Any = None,
    state: Any = None,
    energy_Wh_increment: Any = None,
    energy_Wh_decrement: Any = None,
) -> SampleBatch:
    """A batch carrying only the channels the sensor's topology node declares."""
    channels = info.channels
    return SampleBatch.from_measurements(
        ts,
        power_w,
        soc_percent=soc_percent if Channel.SOC_PERCENT in channels else None,
        state=state if Channel.STATE in channels else None,
        energy_Wh_increment=(
            energy_Wh_increment if Channel.ENERGY_WH_INCREMENT in channels else None
        ),
        energy_Wh_decrement=(
            energy_Wh_decrement if Channel.ENERGY_WH_DECREMENT in channels else None
        ),
    )


def _optimiser_shares(site: Site, info: SensorInfo) -> float:
    device = site.device(info.device_id)
    assert device is not None and isinstance(device.properties, PVProperties)
    arrays = device.properties.arrays
    total = sum(a.peak_power_W for a in arrays)
    index = info.index or 0
    for array in arrays:
        if index < array.optimisers:
            return array.peak_power_W / total / array.optimisers
        index -= array.optimisers
    return 0.0


def to_batches(site: Site, twin: TwinSite, result: SimResult) -> dict[str, SampleBatch]:
    """One batch per topology sensor the result can feed."""
    ts = result.minutes * 60
    batches: dict[str, SampleBatch] = {}
    capacity = sum(b.capacity_wh for b in twin.battery_blocks)
    for sensor_id, info in sensors_of(site).items():
        role = DIRECT_ROLES.get(info.role)
        if role is not None:
            if info.role == "inverter" and "pv_inverter" in result.sensors:
                device = site.device(info.device_id)
                if (
                    device is not None
                    and isinstance(device.properties, InverterProperties)
                    and device.properties.topology is InverterTopology.PV
                ):
                    role = "pv_inverter"
            series = result.sensors.get(role)
            if series is None:
                continue
            states = None
            if series.state is not None:
                states = _codes(role, series.state_words, series.state, series.power_w)
            batches[sensor_id] = _batch(
                info,
                ts,
                series.power_w,
                soc_percent=series.soc_percent,
                state=states,
                energy_Wh_increment=series.energy_wh_increment,
                energy_Wh_decrement=series.energy_wh_decrement,
            )
        elif info.role == "block" and "battery" in result.sensors and capacity > 0:
            battery = result.sensors["battery"]
            assert battery.soc_percent is not None
            parts = split_blocks(
                twin.battery_blocks, battery.soc_percent * capacity / 100.0, battery.power_w
            )
            soc, power = parts[info.index or 0]
            batches[sensor_id] = _batch(info, ts, power, soc_percent=np.clip(soc, 0.0, 100.0))
        elif info.role == "optimiser" and "pv" in result.sensors:
            share = _optimiser_shares(site, info)
            batches[sensor_id] = _batch(info, ts, result.sensors["pv"].power_w * share)
    return batches
