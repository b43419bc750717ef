"""`smart` battery control: a rolling-horizon plan (`lp.solve_dispatch`, relaxed and rounded
where a minute needs a binary) that re-plans at every replan boundary.

At minute m the planner solves `lp.solve_dispatch` over [m, m + horizon): 1-minute slots until
the next replan boundary (the part that will actually be executed) and coarse slots after it
(enough to value energy kept for later). Forecasts are the twin's own consumption and PV,
optionally perturbed by a seeded error. The plan is executed as grid targets: the battery
absorbs whatever the forecast missed, so with perfect forecasts it follows the LP exactly.

The plan in force is part of the twin state, so a chunked run re-uses it instead of re-planning
mid-hour, which keeps chunked and unchunked runs identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridshare.twin.battery import BatteryModel
from gridshare.twin.lp import solve_dispatch
from gridshare.twin.rng import Stream, stream
from gridshare.twin.timebase import MINUTES_PER_DAY, FloatArray, IntArray


@dataclass(frozen=True)
class SmartConfig:
    horizon_minutes: int = 36 * 60
    replan_minutes: int = 60
    coarse_slot_minutes: int = 30
    forecast_error: float = 0.0
    """Relative standard deviation of consumption and PV forecasts (0 = perfect foresight)."""

    def __post_init__(self) -> None:
        if self.horizon_minutes < MINUTES_PER_DAY:
            raise ValueError("the smart horizon must cover at least 24 h")
        if not 0 < self.replan_minutes <= self.horizon_minutes:
            raise ValueError("replan_minutes must be within (0, horizon_minutes]")
        if self.coarse_slot_minutes <= 0 or self.forecast_error < 0:
            raise ValueError("bad smart configuration")


@dataclass(frozen=True)
class SmartPlan:
    """Grid power targets (W, + = import) for each minute from `start` until re-planning."""

    start: int
    grid_w: tuple[float, ...]

    @property
    def end(self) -> int:
        return self.start + len(self.grid_w)


def end_value_per_wh(battery: BatteryModel, import_price: FloatArray) -> float:
    """What a stored Wh is worth at the end of a horizon: what it saves when discharged at the
    horizon's cheapest import price. Never more than it costs to buy, so no plan buys energy
    just to hold it, and never negative."""
    cheapest = float(np.min(import_price)) if import_price.size else 0.0
    return max(cheapest, 0.0) * battery.eta_discharge / 1000.0


class SmartPlanner:
    """Plans from forecast arrays that start at UTC minute `base` and reach past the horizon."""

    def __init__(
        self,
        battery: BatteryModel,
        config: SmartConfig,
        seed: int,
        base: int,
        consumption_w: FloatArray,
        pv_w: FloatArray,
        import_price: FloatArray,
        export_price: FloatArray,
        shared_inverter: bool = True,
        grid_export: bool = True,
    ) -> None:
        self.battery = battery
        self.config = config
        self.seed = seed
        self.base = base
        self.consumption_w = consumption_w
        self.pv_w = pv_w
        self.import_price = import_price
        self.export_price = export_price
        self.shared_inverter = shared_inverter
        self.grid_export = grid_export

    def _edges(self, minute: int) -> tuple[IntArray, int]:
        """Slot edges (UTC minutes) and how many leading 1-minute slots get executed."""
        cfg = self.config
        fine_end = (minute // cfg.replan_minutes + 1) * cfg.replan_minutes
        horizon_end = max(minute + cfg.horizon_minutes, fine_end)
        coarse = -(-fine_end // cfg.coarse_slot_minutes) * cfg.coarse_slot_minutes
        edges = np.concatenate(
            [
                np.arange(minute, fine_end),
                [fine_end] if coarse > fine_end else [],
                np.arange(coarse, horizon_end, cfg.coarse_slot_minutes),
                [horizon_end],
            ]
        ).astype(np.int64)
        return np.unique(edges), fine_end - minute

    def _forecast(self, minute: int, end: int) -> tuple[FloatArray, FloatArray]:
        """Consumption and PV forecasts for [minute, end), perturbed if so configured."""
        lo, hi = minute - self.base, end - self.base
        load, pv = self.consumption_w[lo:hi], self.pv_w[lo:hi]
        if self.config.forecast_error > 0:
            # Seeded by the plan's minute: the same plan whatever chunk it is made in. The error
            # grows with lead time and is shared by each hour, like a real forecast's.
            rng = stream(self.seed, Stream.FORECAST, minute)
            hours = (end - minute + 59) // 60
            lead = np.sqrt(np.clip(np.arange(hi - lo) / 360.0, 0.0, 1.0))
            noise = np.repeat(rng.standard_normal((2, hours)), 60, axis=1)[:, : hi - lo]
            sigma = self.config.forecast_error * lead
            load = load * np.clip(1 + sigma * noise[0], 0.0, None)
            pv = pv * np.clip(1 + sigma * noise[1], 0.0, None)
        return load, pv

    def plan(self, minute: int, soc_wh: float, grid_wh: float = 0.0) -> SmartPlan:
        """The grid targets until the next replan boundary, from SoC `soc_wh` of which
        `grid_wh` was charged from the grid."""
        edges, executed = self._edges(minute)
        load, pv = self._forecast(minute, int(edges[-1]))
        net = load + pv
        offset = minute - self.base
        imp = self.import_price[offset : offset + net.size]
        exp = self.export_price[offset : offset + net.size]
        # Each slot becomes up to two sub-slots, its importing minutes and its exporting minutes,
        # ordered by when they mostly happen: averaging them together would hide the price kink
        # at zero grid power (self-consumption worth the import price, surplus worth the export
        # price), which is what storing energy for later is all about.
        starts = edges[:-1] - minute
        position = np.arange(net.size, dtype=np.float64)
        series = np.stack([position, net, pv, imp, exp])
        parts = []
        for mask in (net > 0, net <= 0):
            weight = mask.astype(np.float64)
            count = np.add.reduceat(weight, starts)
            sums = np.add.reduceat(series * weight, starts, axis=1)
            parts.append(np.vstack([count, sums / np.where(count > 0, count, 1.0)]))
        fields = np.stack(parts, axis=2).reshape(6, -1)
        # Sub-slots in slot order, within a slot by mean position; drop empty ones.
        order = np.lexsort((fields[1], np.repeat(np.arange(starts.size), 2)))
        fields = fields[:, order]
        fields = fields[:, fields[0] > 0]
        count, _, net_s, pv_s, imp_s, exp_s = fields
        inverter_pv = pv_s if self.shared_inverter else np.zeros_like(pv_s)
        dispatch = solve_dispatch(
            self.battery, soc_wh, count, net_s, inverter_pv, imp_s, exp_s,
            grid_export=self.grid_export, grid_charged_wh=grid_wh,
            end_value_per_wh=end_value_per_wh(self.battery, imp), exact=False,
        )  # fmt: skip
        # The executed region is made of 1-minute slots, so its sub-slots map 1:1 to minutes.
        grid = dispatch.grid_w[:executed]
        return SmartPlan(minute, tuple(float(g) for g in grid))
