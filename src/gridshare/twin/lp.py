"""Battery dispatch as a linear programme (HiGHS via scipy), shared by `smart` and the optimum.

Per slot k of length h_k hours, with net_k = consumption + PV (W, the house without battery):
    minimise   sum h_k/1000 * (p_import_k * imp_k - p_export_k * exp_k)
    subject to c_k - d_k - imp_k + exp_k = -net_k            (grid = net + battery)
               s_k+1 = s_k + h_k * (eta_c * c_k - d_k / eta_d)
               c_k <= kc_k * (s_max - s_k)                    (taper near full)
               d_k <= kd_k * (s_k - s_min)                    (taper near empty)
               0 <= c_k <= min(P_c, R - pv_k), 0 <= d_k <= min(P_d, R + pv_k), s_min <= s <= s_max
which is the simulator's battery physics written linearly: with 1-minute slots kc = P_c/band
exactly, and longer slots use the compounded per-minute taper (see `_taper_coefficient`).
The export price is capped at the import price: an LP cannot represent a concave cost (export
paid more than import), and importing to export at once is not physical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from gridshare.twin.battery import BatteryModel
from gridshare.twin.timebase import FloatArray

GRID_LIMIT_W = 1.0e6  # keeps the LP bounded; far above any home connection
CYCLE_PENALTY = 1.0e-5  # currency per kWh moved: picks the calmest of equally cheap plans


@dataclass(frozen=True, eq=False)
class Dispatch:
    """An LP solution; `soc_wh` has one more entry than the slots (the state after each)."""

    charge_w: FloatArray
    discharge_w: FloatArray
    import_w: FloatArray
    export_w: FloatArray
    soc_wh: FloatArray
    cost: float

    @property
    def battery_w(self) -> FloatArray:
        return self.charge_w - self.discharge_w

    @property
    def grid_w(self) -> FloatArray:
        return self.import_w - self.export_w


def _taper_coefficient(per_hour: float, eta: float, slot_minutes: FloatArray) -> FloatArray:
    """Mean power limit per Wh of gap to the bound over a slot of m simulator minutes.

    In the taper band the simulator allows `per_hour * gap` each minute, so the gap shrinks by
    rho = 1 - eta * per_hour / 60 per minute and a slot of m minutes can move at most
    gap * (1 - rho**m) Wh, i.e. a mean power of gap * (1 - rho**m) / (eta * m / 60). For one
    minute this is exactly `per_hour`, the simulator's own rule.
    """
    rho = max(0.0, 1.0 - eta * per_hour / 60.0)
    m = np.asarray(slot_minutes, dtype=np.float64)
    return np.asarray((1.0 - rho**m) / (eta * m / 60.0), dtype=np.float64)


def solve_dispatch(
    battery: BatteryModel,
    soc0_wh: float,
    slot_minutes: FloatArray,
    net_w: FloatArray,
    pv_w: FloatArray,
    import_price: FloatArray,
    export_price: FloatArray,
    final_soc_min_wh: float | None = None,
) -> Dispatch:
    """Cheapest battery schedule over the slots; raises RuntimeError if HiGHS fails."""
    t = int(slot_minutes.size)
    hours = np.asarray(slot_minutes, dtype=np.float64) / 60.0
    eta_c, eta_d = battery.eta_charge, battery.eta_discharge
    s_min, s_max = battery.soc_min_wh, battery.soc_max_wh
    soc0 = battery.clamp_soc(soc0_wh)
    export_eff = np.minimum(export_price, import_price)
    # Variable blocks: c, d, imp, exp (t each), then s (t + 1).
    c0, d0, i0, e0, s0 = 0, t, 2 * t, 3 * t, 4 * t
    n_vars = 5 * t + 1
    k = np.arange(t)

    # Rows 0..t-1: SoC dynamics; rows t..2t-1: power balance at the meter.
    rows = np.concatenate([k, k, k, k, t + k, t + k, t + k, t + k])
    cols = np.concatenate([s0 + k + 1, s0 + k, c0 + k, d0 + k,
                           c0 + k, d0 + k, i0 + k, e0 + k])  # fmt: skip
    vals = np.concatenate([np.ones(t), -np.ones(t), -eta_c * hours, hours / eta_d,
                           np.ones(t), -np.ones(t), -np.ones(t), np.ones(t)])  # fmt: skip
    a_eq = sp.csr_matrix((vals, (rows, cols)), shape=(2 * t, n_vars))
    b_eq = np.concatenate([np.zeros(t), -net_w])

    a_ub = None
    b_ub = None
    band = battery.taper_band_wh
    if band > 0:
        kc = _taper_coefficient(battery.max_charge_w / band, eta_c, slot_minutes)
        kd = _taper_coefficient(battery.max_discharge_w / band, 1 / eta_d, slot_minutes)
        rows = np.concatenate([k, k, t + k, t + k])
        cols = np.concatenate([c0 + k, s0 + k, d0 + k, s0 + k])
        vals = np.concatenate([np.ones(t), kc, np.ones(t), -kd])
        a_ub = sp.csr_matrix((vals, (rows, cols)), shape=(2 * t, n_vars))
        b_ub = np.concatenate([kc * s_max, -kd * s_min])

    lower = np.zeros(n_vars)
    upper = np.empty(n_vars)
    upper[c0 : c0 + t] = np.clip(
        np.minimum(battery.max_charge_w, battery.inverter_w - pv_w), 0.0, None
    )
    upper[d0 : d0 + t] = np.clip(
        np.minimum(battery.max_discharge_w, battery.inverter_w + pv_w), 0.0, None
    )
    upper[i0 : e0 + t] = GRID_LIMIT_W
    lower[s0:] = s_min
    upper[s0:] = s_max
    lower[s0] = upper[s0] = soc0
    if final_soc_min_wh is not None:
        lower[-1] = min(max(final_soc_min_wh, s_min), s_max)

    scale = hours / 1000.0
    objective = np.zeros(n_vars)
    objective[i0 : i0 + t] = scale * import_price
    objective[e0 : e0 + t] = -scale * export_eff
    objective[c0 : c0 + t] = scale * CYCLE_PENALTY
    objective[d0 : d0 + t] = scale * CYCLE_PENALTY

    result = linprog(
        objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq,
        bounds=np.column_stack([lower, upper]), method="highs",
    )  # fmt: skip
    if result.status != 0:
        raise RuntimeError(f"dispatch LP failed: {result.message}")
    x = np.asarray(result.x, dtype=np.float64)
    imp, exp = x[i0 : i0 + t], x[e0 : e0 + t]
    grid = imp - exp
    paid = import_price * np.clip(grid, 0, None) + export_price * np.clip(grid, None, 0)
    cost = float(np.sum(scale * paid))
    return Dispatch(x[c0 : c0 + t], x[d0 : d0 + t], imp, exp, x[s0:], cost)
