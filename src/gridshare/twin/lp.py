"""Battery dispatch as a mixed-integer programme (HiGHS via scipy), shared by `smart` and the
optimum.

The grid meter nets each minute: a minute either imports or exports. Where the export price
exceeds the import price that makes the cost concave in grid power, which a plain LP cannot
represent (it would import and export at once). So each slot k (h_k hours, exogenous mean
`net_k` = consumption + PV, one sign per slot) is split into an import mode of weight th_k and
an export mode of weight 1 - th_k (the convex hull of the two, Balas' disjunctive form):

    import mode:  imp_k = th_k*net_k + c1_k - d1_k >= 0      c1 <= th*C_k, d1 <= th*D_k
    export mode:  exp_k = (th_k - 1)*net_k - c2_k + d2_k >= 0    c2 <= (1-th)*C_k, ...
    s_k+1 = s_k + h_k*(eta_c*(c1 + c2) - (d1 + d2)/eta_d)
    c <= kc_k*(s_max - s_k), d <= kd_k*(s_k - s_min)          (taper, exact per minute)

In a slot of several minutes a fractional th is real: some minutes import, others export. A
1-minute slot cannot be split, so th is binary there wherever the export price exceeds the import
price (and nowhere else: with export <= import, importing and exporting at once never pays, so
the relaxation is already exact). Likewise charging and discharging in the same minute (burning
energy in the round trip) pays where a price is negative, and where grid-charged energy may not
be exported (burning it makes room for PV energy that may); those minutes get a binary too. In
import-mode minutes the battery discharges to the home only, in export-mode minutes it charges
from the PV only.

With `grid_export=False` (the site may not export energy the battery took from the grid) the
store is split into a grid-charged part G and the rest: charge taken from the grid goes to G,
the battery's export comes from the rest only (0 <= G <= s), and discharge to the home may come
from either. Attribution follows the meter: PV serves the home first and then the battery, the
battery serves the home first and exports the remainder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, milp

from gridshare.twin.battery import BatteryModel
from gridshare.twin.timebase import FloatArray

CYCLE_PENALTY = 1.0e-5  # currency per kWh moved: picks the calmest of equally cheap plans
MIP_GAP = 1.0e-4


@dataclass(frozen=True, eq=False)
class Dispatch:
    """A solution; `soc_wh` (and `grid_charged_wh`) have one more entry than the slots."""

    charge_w: FloatArray
    discharge_w: FloatArray
    import_w: FloatArray
    export_w: FloatArray
    soc_wh: FloatArray
    cost: float
    grid_charged_wh: FloatArray | None = None
    bound: float = float("-inf")
    """A proven lower bound on `cost - end value` over every feasible schedule."""

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


def _diffuse(share: FloatArray) -> FloatArray:
    """0/1 values whose running sum tracks the running sum of `share` (values in [0, 1]) to
    within 1/2: error diffusion, so a stretch of minutes at 0.5 alternates."""
    running = np.round(np.cumsum(np.clip(share, 0.0, 1.0)))
    return np.diff(running, prepend=0.0)


class _Rows:
    """Sparse constraint rows collected as (row, col, value) triplets with their bounds."""

    def __init__(self) -> None:
        self.rows: list[FloatArray] = []
        self.cols: list[FloatArray] = []
        self.vals: list[FloatArray] = []
        self.lo: list[FloatArray] = []
        self.hi: list[FloatArray] = []
        self.n = 0

    def add(self, terms: list[tuple[object, object]], lo: object, hi: object, count: int) -> None:
        """`count` rows; each term is (column indices, coefficients), broadcast per row."""
        index = np.arange(self.n, self.n + count)
        for cols, vals in terms:
            self.rows.append(index.astype(np.float64))
            self.cols.append(np.broadcast_to(np.asarray(cols, dtype=np.float64), count))
            self.vals.append(np.broadcast_to(np.asarray(vals, dtype=np.float64), count))
        self.lo.append(np.broadcast_to(np.asarray(lo, dtype=np.float64), count))
        self.hi.append(np.broadcast_to(np.asarray(hi, dtype=np.float64), count))
        self.n += count

    def constraint(self, n_vars: int) -> LinearConstraint:
        matrix = sp.csr_matrix(
            (np.concatenate(self.vals),
             (np.concatenate(self.rows).astype(np.int64),
              np.concatenate(self.cols).astype(np.int64))),
            shape=(self.n, n_vars),
        )  # fmt: skip
        return LinearConstraint(matrix, np.concatenate(self.lo), np.concatenate(self.hi))


def solve_dispatch(
    battery: BatteryModel,
    soc0_wh: float,
    slot_minutes: FloatArray,
    net_w: FloatArray,
    pv_w: FloatArray,
    import_price: FloatArray,
    export_price: FloatArray,
    final_soc_min_wh: float | None = None,
    *,
    grid_export: bool = True,
    grid_charged_wh: float = 0.0,
    end_value_per_wh: float = 0.0,
    mip_gap: float = MIP_GAP,
    exact: bool = True,
) -> Dispatch:
    """Cheapest battery schedule over the slots; raises RuntimeError if HiGHS fails.

    `grid_charged_wh` is the part of `soc0_wh` that came from the grid (only read when
    `grid_export` is False); `end_value_per_wh` credits the energy stored at the end. HiGHS
    stops when its solution is proven within `mip_gap` (relative) of the optimum. With
    `exact=False` the binary minutes are relaxed and rounded instead (a few LPs, bounded time;
    `bound` is then the relaxation's, still a lower bound).
    """
    t = int(slot_minutes.size)
    minutes = np.asarray(slot_minutes, dtype=np.float64)
    hours = minutes / 60.0
    eta_c, eta_d = battery.eta_charge, battery.eta_discharge
    s_min, s_max = battery.soc_min_wh, battery.soc_max_wh
    soc0 = battery.clamp_soc(soc0_wh)
    net = np.asarray(net_w, dtype=np.float64)
    deficit = np.clip(net, 0.0, None)
    surplus = net < 0
    cap_c = np.clip(np.minimum(battery.max_charge_w, battery.inverter_w - pv_w), 0.0, None)
    cap_d = np.clip(np.minimum(battery.max_discharge_w, battery.inverter_w + pv_w), 0.0, None)
    single = minutes == 1.0
    concave = single & (export_price > import_price)
    # Charging and discharging in one minute burns energy: it pays where a price is negative,
    # and where grid-charged energy may not be exported (burning it makes room for PV energy).
    burning = single & np.where(
        surplus, export_price < 0, (import_price < 0) | (not grid_export)
    )

    # Variable blocks of t each: c1, d1, c2, d2, th, imp, exp, z; then s (t + 1); with the
    # export rule also hg (t) and G (t + 1).
    k = np.arange(t)
    c1, d1, c2, d2, th, imp, exp, z = (b * t + k for b in range(8))
    s = 8 * t + np.arange(t + 1)
    n_vars = 9 * t + 1
    restricted = not grid_export
    if restricted:
        hg = n_vars + k
        g = n_vars + t + np.arange(t + 1)
        n_vars += 2 * t + 1

    rows = _Rows()
    rows.add([(s[1:], 1.0), (s[:-1], -1.0), (c1, -eta_c * hours), (c2, -eta_c * hours),
              (d1, hours / eta_d), (d2, hours / eta_d)], 0.0, 0.0, t)  # fmt: skip
    rows.add([(imp, 1.0), (th, -net), (c1, -1.0), (d1, 1.0)], 0.0, 0.0, t)
    rows.add([(exp, 1.0), (th, -net), (c2, 1.0), (d2, -1.0)], -net, -net, t)
    rows.add([(c1, 1.0), (th, -cap_c)], -np.inf, 0.0, t)
    # In import-mode minutes the battery discharges to the home only (d1 <= th * net), in
    # export-mode minutes it charges from the PV only (c2 <= (1 - th) * surplus).
    rows.add([(d1, 1.0), (th, -np.minimum(cap_d, deficit))], -np.inf, 0.0, t)
    pv_in = np.minimum(cap_c, np.clip(-net, 0.0, None))
    rows.add([(c2, 1.0), (th, pv_in)], -np.inf, pv_in, t)
    rows.add([(d2, 1.0), (th, cap_d)], -np.inf, cap_d, t)
    # Burning exclusivity, on the mode that can both charge and discharge in such a minute.
    b = np.flatnonzero(burning)
    charge_b = np.where(surplus, c2, c1)[b]
    discharge_b = np.where(surplus, d2, d1)[b]
    rows.add([(charge_b, 1.0), (z[b], -cap_c[b])], -np.inf, 0.0, b.size)
    rows.add([(discharge_b, 1.0), (z[b], cap_d[b])], -np.inf, cap_d[b], b.size)
    band = battery.taper_band_wh
    if band > 0:
        kc = _taper_coefficient(battery.max_charge_w / band, eta_c, minutes)
        kd = _taper_coefficient(battery.max_discharge_w / band, 1 / eta_d, minutes)
        rows.add([(c1, 1.0), (c2, 1.0), (s[:-1], kc)], -np.inf, kc * s_max, t)
        rows.add([(d1, 1.0), (d2, 1.0), (s[:-1], -kd)], -np.inf, -kd * s_min, t)
    if restricted:
        # Grid-charged energy: the import mode's charge in a deficit slot, the import itself in
        # a surplus slot (the PV went into the battery first).
        charged = np.where(surplus, imp, c1)
        rows.add([(g[1:], 1.0), (g[:-1], -1.0), (charged, -eta_c * hours),
                  (hg, hours / eta_d)], 0.0, 0.0, t)  # fmt: skip
        # The home's share of the discharge: d1 plus the export mode's first (1 - th) * net.
        rows.add([(hg, 1.0), (d1, -1.0), (th, deficit)], -np.inf, deficit, t)
        rows.add([(g[1:], 1.0), (s[1:], -1.0)], -np.inf, 0.0, t)

    lower = np.zeros(n_vars)
    upper = np.full(n_vars, np.inf)
    upper[c1] = upper[c2] = cap_c
    upper[d1] = upper[d2] = cap_d
    upper[c2[~surplus]] = 0.0  # no charging while exporting in a deficit minute
    upper[d1[surplus]] = 0.0  # no discharging while importing in a surplus minute
    upper[th] = 1.0
    upper[z] = np.where(burning, 1.0, 0.0)
    lower[s] = s_min
    upper[s] = s_max
    lower[s[0]] = upper[s[0]] = soc0
    if final_soc_min_wh is not None:
        lower[s[-1]] = min(max(final_soc_min_wh, s_min), s_max)
    if restricted:
        upper[hg[surplus]] = 0.0
        upper[g] = s_max
        lower[g[0]] = upper[g[0]] = min(max(grid_charged_wh, 0.0), soc0)
    binary = np.concatenate([th[concave], z[burning]])
    scale = hours / 1000.0
    objective = np.zeros(n_vars)
    objective[imp] = scale * import_price
    objective[exp] = -scale * export_price
    for block in (c1, c2, d1, d2):
        objective[block] = scale * CYCLE_PENALTY
    objective[s[-1]] = -end_value_per_wh
    constraints = rows.constraint(n_vars)

    def solve(integral: bool, lo: FloatArray, hi: FloatArray) -> OptimizeResult:
        integrality = np.zeros(n_vars, dtype=np.int64)
        if integral:
            integrality[binary] = 1
        return milp(
            objective, integrality=integrality, bounds=Bounds(lo, hi), constraints=constraints,
            options={"mip_rel_gap": mip_gap},
        )  # fmt: skip

    if exact or binary.size == 0:
        result = solve(True, lower, upper)
        bound_result = result
    else:
        # Relax and round: the relaxation time-shares inside a minute; the minutes then take
        # whole modes (and directions) so that their running count follows the relaxation's
        # running share (alternating minutes where it mixed them), and an LP re-plans around
        # that. Should the rounded modes be infeasible, the minutes take the modes in which an
        # idle battery is feasible (import when the home draws, export when the PV is ahead).
        relaxed = bound_result = solve(False, lower, upper)
        if relaxed.status != 0 or relaxed.x is None:
            raise RuntimeError(f"dispatch LP failed: {relaxed.message}")
        share = relaxed.x[binary]
        result = relaxed  # already whole (the common case): the relaxation is the plan
        if np.any(np.minimum(share, 1.0 - share) > 1e-9):
            fixed_lo, fixed_hi = lower.copy(), upper.copy()
            modes = int(concave.sum())
            rounded = [_diffuse(share[:modes]), _diffuse(share[modes:])]
            fixed_lo[binary] = fixed_hi[binary] = np.concatenate(rounded)
            result = solve(False, fixed_lo, fixed_hi)
        if result.status != 0:
            natural = np.concatenate([(~surplus)[concave], np.zeros(int(burning.sum()))])
            fixed_lo[binary] = fixed_hi[binary] = natural.astype(np.float64)
            result = solve(False, fixed_lo, fixed_hi)
    if result.status != 0 or result.x is None:
        raise RuntimeError(f"dispatch MILP failed: {result.message}")
    x = np.asarray(result.x, dtype=np.float64)
    # The objective's bound, less the most the cycle penalty could have added: a bound on the
    # bill minus the end value.
    dual = getattr(bound_result, "mip_dual_bound", None)
    dual = float(bound_result.fun) if dual is None or not np.isfinite(dual) else float(dual)
    penalty = float(np.sum(scale * CYCLE_PENALTY * (cap_c + cap_d)))
    grid = x[imp] - x[exp]
    paid = import_price * np.clip(grid, 0, None) + export_price * np.clip(grid, None, 0)
    return Dispatch(
        charge_w=x[c1] + x[c2],
        discharge_w=x[d1] + x[d2],
        import_w=np.clip(grid, 0.0, None),
        export_w=np.clip(-grid, 0.0, None),
        soc_wh=x[s],
        cost=float(np.sum(scale * paid)),
        grid_charged_wh=x[g] if restricted else None,
        bound=dual - penalty,
    )
