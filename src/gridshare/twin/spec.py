"""Static description of a simulated site: the twin's only input about hardware.

The homes domain is written in parallel; an adapter will map its models onto these frozen,
validated dataclasses so the physics never depends on storage or API shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gridshare.twin.tariffs import FLAT, Tariff, TariffPair


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


@dataclass(frozen=True)
class PvArray:
    """One PV string: nameplate DC power and orientation (azimuth 180 = south, tilt 0 = flat)."""

    peak_w: float
    azimuth_deg: float = 180.0
    tilt_deg: float = 35.0

    def __post_init__(self) -> None:
        _require(self.peak_w >= 0, "peak_w must be >= 0")
        _require(0 <= self.tilt_deg <= 90, "tilt_deg must be within [0, 90]")
        _require(0 <= self.azimuth_deg <= 360, "azimuth_deg must be within [0, 360]")


@dataclass(frozen=True)
class BatteryBlock:
    """One battery block; blocks of a site are aggregated into a single pack (`bb_agg`)."""

    capacity_wh: float
    max_charge_w: float
    max_discharge_w: float
    round_trip_efficiency: float = 0.9
    soc_min_pct: float = 5.0
    soc_max_pct: float = 100.0

    def __post_init__(self) -> None:
        _require(self.capacity_wh > 0, "capacity_wh must be > 0")
        _require(self.max_charge_w >= 0 and self.max_discharge_w >= 0, "power limits must be >= 0")
        _require(0 < self.round_trip_efficiency <= 1, "round_trip_efficiency must be in (0, 1]")
        _require(
            0 <= self.soc_min_pct < self.soc_max_pct <= 100,
            "need 0 <= soc_min_pct < soc_max_pct <= 100",
        )


@dataclass(frozen=True)
class EvCharger:
    """A wallbox; the car behind it is simulated from seeded plug-in sessions.

    With `vehicle_battery_wh` the car has a state of charge (sessions then never ask for more
    than 90 % of the pack).
    """

    max_power_w: float = 7400.0
    vehicle_battery_wh: float | None = None

    def __post_init__(self) -> None:
        _require(self.max_power_w > 0, "max_power_w must be > 0")
        _require(
            self.vehicle_battery_wh is None or self.vehicle_battery_wh > 0,
            "vehicle_battery_wh must be > 0",
        )


@dataclass(frozen=True)
class HotWater:
    """An immersion element in a hot-water cylinder, switched by a load-control relay."""

    element_power_w: float = 3000.0
    tank_litres: float = 200.0
    setpoint_c: float = 60.0
    hysteresis_c: float = 5.0
    comfort_min_c: float = 45.0
    cold_inlet_c: float = 10.0
    ambient_c: float = 18.0
    loss_w_per_k: float = 1.8

    def __post_init__(self) -> None:
        _require(self.element_power_w > 0, "element_power_w must be > 0")
        _require(self.tank_litres > 0, "tank_litres must be > 0")
        _require(
            self.cold_inlet_c < self.comfort_min_c <= self.setpoint_c,
            "need cold_inlet_c < comfort_min_c <= setpoint_c",
        )
        _require(0 <= self.hysteresis_c < self.setpoint_c - self.cold_inlet_c, "bad hysteresis")

    @property
    def heat_capacity_wh_per_k(self) -> float:
        """Water heat capacity of the full tank (4186 J/(kg K), 1 kg per litre)."""
        return self.tank_litres * 4186.0 / 3600.0


@dataclass(frozen=True)
class TwinSite:
    """Everything the twin needs to know about one home; `seed` fixes all its randomness.

    `inverter_rated_w` is the AC rating of the inverter carrying the battery (and the PV too,
    when it is a hybrid). Set `pv_inverter_rated_w` when the PV has its own string inverter
    (an AC-coupled battery): the PV is then clipped at that rating and does not share the
    battery inverter's.
    """

    site_id: str
    latitude: float
    longitude: float
    timezone: str
    seed: int
    pv_arrays: Sequence[PvArray] = ()
    battery_blocks: Sequence[BatteryBlock] = ()
    ev_charger: EvCharger | None = None
    hot_water: HotWater | None = None
    inverter_rated_w: float = 5000.0
    import_tariff: Tariff = field(default=FLAT)
    export_tariff: Tariff = field(default=FLAT)
    altitude_m: float = 0.0
    pv_inverter_rated_w: float | None = None
    battery_grid_export: bool = True
    """Whether the battery may export energy it charged from the grid. Many markets forbid it
    (the site's market decides the default, see `gridshare.homes.markets`); when False the twin
    enforces it in every mode and smart plans with it."""

    def __post_init__(self) -> None:
        _require(-90 <= self.latitude <= 90, "latitude must be within [-90, 90]")
        _require(-180 <= self.longitude <= 180, "longitude must be within [-180, 180]")
        _require(self.inverter_rated_w > 0, "inverter_rated_w must be > 0")
        _require(
            self.pv_inverter_rated_w is None or self.pv_inverter_rated_w > 0,
            "pv_inverter_rated_w must be > 0",
        )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        # Frozen but built from lists by callers: store tuples so the site stays hashable.
        object.__setattr__(self, "pv_arrays", tuple(self.pv_arrays))
        object.__setattr__(self, "battery_blocks", tuple(self.battery_blocks))

    @property
    def tariffs(self) -> TariffPair:
        return TariffPair(self.import_tariff, self.export_tariff)

    @property
    def hybrid(self) -> bool:
        """PV and battery behind one inverter, sharing its AC rating."""
        return self.pv_inverter_rated_w is None

    @property
    def pv_ac_limit_w(self) -> float:
        if self.pv_inverter_rated_w is None:
            return self.inverter_rated_w
        return self.pv_inverter_rated_w
