"""Cost of a run, and the perfect-foresight optimum to judge controllers against.

The optimum is one mixed-integer programme over the whole range at 1-minute slots with the same
physics and market rules as the simulator (the meter nets each minute: a binary per minute where
export pays more than import; the grid-charged energy kept apart when the site may not export it)
and the same exogenous flows (PV, household, EV and hot water under their controls), so it is a
true lower bound on what any battery controller could have paid, not that of a relaxation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from gridshare.twin.battery import BatteryModel
from gridshare.twin.lp import solve_dispatch
from gridshare.twin.plans import SiteControl
from gridshare.twin.simulate import SimResult, TwinConfig, exogenous
from gridshare.twin.spec import TwinSite
from gridshare.twin.state import TwinState
from gridshare.twin.tariffs import TariffPair
from gridshare.twin.timebase import FloatArray, floor_minute, make_calendar


def cost(result: SimResult, tariffs: TariffPair) -> float:
    """What the site paid for its grid exchange over the run (currency; negative = earned)."""
    cal = make_calendar(result.start, result.n, result.timezone)
    import_price, export_price = tariffs.prices(cal)
    grid = result.sensors["grid"].power_w
    paid = import_price * np.clip(grid, 0.0, None) + export_price * np.clip(grid, None, 0.0)
    return float(np.sum(paid) / 60_000.0)


@dataclass(frozen=True, eq=False)
class Optimum:
    cost: float
    battery_w: FloatArray
    grid_w: FloatArray
    soc_wh: FloatArray
    """SoC after each minute."""
    bound: float = float("-inf")
    """A proven lower bound on `cost - end_value_per_wh * soc_wh[-1]` over every schedule the
    site's rules allow: the solver stops within `mip_gap` of it."""


def optimum(
    site: TwinSite,
    state: TwinState,
    end: datetime,
    control: SiteControl | None = None,
    *,
    final_soc_min_wh: float | None = None,
    end_value_per_wh: float = 0.0,
    mip_gap: float = 1.0e-4,
    config: TwinConfig | None = None,
) -> Optimum:
    """The cheapest battery schedule for [state.time, end) knowing the future exactly.

    Pass `final_soc_min_wh` = a controller's end SoC to compare like with like (otherwise the
    optimum sells or uses all stored energy by `end`, which a real controller should not), or
    value the stored end energy with `end_value_per_wh` (then `Optimum.cost` still is the bill
    alone; subtract `end_value_per_wh * soc_wh[-1]` for the valued total).
    """
    config = config or TwinConfig()
    control = control or SiteControl()
    n = floor_minute(end) - state.minute
    battery = BatteryModel.from_blocks(site.battery_blocks, site.inverter_rated_w, config.taper_pct)
    if battery is None:
        raise ValueError("the site has no battery to optimise")
    flows = exogenous(site, state, n, control)
    dispatch = solve_dispatch(
        battery, state.battery_soc_wh, np.ones(n), flows.consumption_w + flows.pv_w,
        flows.pv_on_battery_inverter_w, flows.import_price, flows.export_price,
        final_soc_min_wh=final_soc_min_wh, grid_export=site.battery_grid_export,
        grid_charged_wh=state.battery_grid_wh, end_value_per_wh=end_value_per_wh,
        mip_gap=mip_gap,
    )  # fmt: skip
    return Optimum(
        dispatch.cost, dispatch.battery_w, dispatch.grid_w, dispatch.soc_wh[1:], dispatch.bound
    )
