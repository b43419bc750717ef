"""The twin's resumable state: what a caller persists between simulation chunks.

Everything else (weather, habits, prices, EV sessions) is re-derived from the seed and the clock,
so the state is small: the clock, battery energy, the EV session's progress, the tank, the
lifetime counters of each sensor and the smart plan in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gridshare.twin.battery import BatteryModel
from gridshare.twin.ev import EvState
from gridshare.twin.hot_water import HotWaterState
from gridshare.twin.smart import SmartPlan
from gridshare.twin.spec import TwinSite
from gridshare.twin.timebase import floor_minute, from_minute, to_minute


@dataclass(frozen=True)
class EnergyCounter:
    """Lifetime energy into (>= 0, only grows) and out of (<= 0, only falls) a device."""

    increment_wh: float = 0.0
    decrement_wh: float = 0.0


@dataclass(frozen=True)
class TwinState:
    time: datetime
    """The next minute to simulate (UTC, minute-aligned)."""
    battery_soc_wh: float = 0.0
    battery_grid_wh: float = 0.0
    """The part of the stored energy that was charged from the grid (the site may not export
    it when `TwinSite.battery_grid_export` is False); energy of unknown origin counts as such."""
    ev: EvState = field(default_factory=EvState)
    hot_water: HotWaterState = field(default_factory=HotWaterState)
    counters: Mapping[str, EnergyCounter] = field(default_factory=dict)
    smart_plan: SmartPlan | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", from_minute(to_minute(self.time)))

    @property
    def minute(self) -> int:
        return to_minute(self.time)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; floats survive a JSON round trip exactly (repr), so resuming is exact."""
        plan = self.smart_plan
        return {
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "batterySocWh": self.battery_soc_wh,
            "batteryGridWh": self.battery_grid_wh,
            "ev": {
                "sessionArrival": None
                if self.ev.session_arrival is None
                else from_minute(self.ev.session_arrival).isoformat().replace("+00:00", "Z"),
                "deliveredWh": self.ev.delivered_wh,
            },
            "hotWater": {
                "tankTempC": self.hot_water.tank_temp_c,
                "heating": self.hot_water.heating,
            },
            "counters": {
                k: {"energy_Wh_increment": c.increment_wh, "energy_Wh_decrement": c.decrement_wh}
                for k, c in self.counters.items()
            },
            "smartPlan": None
            if plan is None
            else {
                "start": from_minute(plan.start).isoformat().replace("+00:00", "Z"),
                "gridW": list(plan.grid_w),
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TwinState:
        def when(text: str) -> datetime:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))

        ev = data.get("ev") or {}
        hw = data.get("hotWater") or {}
        plan = data.get("smartPlan")
        arrival = ev.get("sessionArrival")
        soc = float(data.get("batterySocWh", 0.0))
        return cls(
            time=when(data["time"]),
            battery_soc_wh=soc,
            # States stored before the split was kept: all of it counts as grid energy.
            battery_grid_wh=float(data.get("batteryGridWh", soc)),
            ev=EvState(
                None if arrival is None else to_minute(when(arrival)),
                float(ev.get("deliveredWh", 0.0)),
            ),
            hot_water=HotWaterState(
                float(hw.get("tankTempC", HotWaterState().tank_temp_c)),
                bool(hw.get("heating", False)),
            ),
            counters={
                k: EnergyCounter(float(c["energy_Wh_increment"]), float(c["energy_Wh_decrement"]))
                for k, c in (data.get("counters") or {}).items()
            },
            smart_plan=None
            if plan is None
            else SmartPlan(to_minute(when(plan["start"])), tuple(float(g) for g in plan["gridW"])),
        )


def initial_state(
    site: TwinSite,
    at: datetime,
    *,
    soc_percent: float = 50.0,
    tank_temp_c: float | None = None,
) -> TwinState:
    """A fresh twin at `at` (floored to the minute): battery at `soc_percent` (clamped to its
    bounds; its origin unknown, so counted as grid energy), tank just below its setpoint,
    counters at 0."""
    battery = BatteryModel.from_blocks(site.battery_blocks, site.inverter_rated_w)
    soc = 0.0 if battery is None else battery.soc_wh(soc_percent)
    tank = site.hot_water
    temp = tank_temp_c if tank_temp_c is not None else (tank.setpoint_c - 2.0 if tank else 55.0)
    return TwinState(
        time=from_minute(floor_minute(at)),
        battery_soc_wh=soc,
        battery_grid_wh=soc,
        hot_water=HotWaterState(temp, False),
    )
