"""Smart against simple and the true perfect-foresight optimum, whole weeks; and what a plan costs.

    .venv/bin/python benchmarks/smart_plan.py             # every pair, 2 seasons, 2 SoCs
    .venv/bin/python benchmarks/smart_plan.py --days 2 --pairs us   # quicker

For each tariff pair (with its market's rule on exporting grid-charged energy) a hybrid home
(PV, 2 x 10 kWh) runs a summer and a winter week from two start SoCs. `optimum` solves the
true problem (a binary per minute where export pays more than import) with the end SoC at least
smart's, and prints its proven lower bound: smart's gap is measured against that bound, so it
is an upper bound on the true gap. `simple` is compared with the end energy valued at the
week's cheapest import price (times the discharge efficiency) on both sides. Plan times are
wall-clock per hourly plan (median and max); the machine's load makes them pessimistic.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import numpy as np

import gridshare.twin.smart as smart_module
from gridshare.twin import (
    DYNAMIC,
    FLAT,
    TOU,
    US_CA_NBT,
    US_CA_TOU,
    BatteryBlock,
    BatteryModel,
    DeviceControl,
    Mode,
    PvArray,
    SiteControl,
    Tariff,
    TwinSite,
    cost,
    initial_state,
    optimum,
    simulate,
)
from gridshare.twin.timebase import make_calendar, to_minute

PAIRS: dict[str, tuple[Tariff, Tariff, bool, str, float, float]] = {
    # name: import, export, battery may export grid energy, zone, latitude, longitude
    "us": (US_CA_TOU, US_CA_NBT, False, "America/Los_Angeles", 37.3, -121.9),
    "gb-tou-flat": (TOU, FLAT, True, "Europe/London", 51.5, -0.12),
    "gb-tou-flat-no-grid-export": (TOU, FLAT, False, "Europe/London", 51.5, -0.12),
    "gb-dynamic-tou": (DYNAMIC, TOU, True, "Europe/London", 51.5, -0.12),
    "gb-dynamic": (DYNAMIC, DYNAMIC, True, "Europe/London", 51.5, -0.12),
}
WEEKS = {
    "summer": datetime(2026, 8, 3, 7, tzinfo=UTC),
    "winter": datetime(2026, 1, 12, 8, tzinfo=UTC),
}
SMART = SiteControl(battery=DeviceControl(Mode.SMART))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--pairs", nargs="*", default=list(PAIRS))
    parser.add_argument("--socs", nargs="*", type=float, default=[20.0, 80.0])
    parser.add_argument("--gap", type=float, default=2e-3, help="the optimum's MIP gap")
    args = parser.parse_args()

    plan_times: list[float] = []
    solve = smart_module.solve_dispatch

    def timed(*a, **k):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        out = solve(*a, **k)
        plan_times.append(time.perf_counter() - started)
        return out

    smart_module.solve_dispatch = timed  # type: ignore[assignment]
    print(
        "| pair | week | SoC | simple (valued) | smart (valued) | smart | optimum | bound "
        "| gap to bound | plan ms median / max | optimum s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.pairs:
        imp, exp, grid_export, zone, lat, lon = PAIRS[name]
        site = TwinSite(
            name, lat, lon, zone, seed=5,
            pv_arrays=[PvArray(4800, 180, 22), PvArray(2400, 270, 22)],
            battery_blocks=[BatteryBlock(10_000, 5000, 5000, 0.9, 5, 100)] * 2,
            inverter_rated_w=7600, import_tariff=imp, export_tariff=exp,
            battery_grid_export=grid_export,
        )  # fmt: skip
        model = BatteryModel.from_blocks(site.battery_blocks, site.inverter_rated_w)
        assert model is not None
        for week, start in WEEKS.items():
            end = start + timedelta(days=args.days)
            cal = make_calendar(to_minute(start), args.days * 1440, zone)
            per_wh = max(float(imp.import_prices(cal).min()), 0.0) * model.eta_discharge / 1000
            for soc in args.socs:
                state = initial_state(site, start, soc_percent=soc)
                plan_times.clear()
                smart = simulate(site, state, end, SMART)
                times = np.array(plan_times) * 1000
                simple = simulate(site, state, end)
                paid, base = cost(smart, site.tariffs), cost(simple, site.tariffs)
                started = time.perf_counter()
                best = optimum(
                    site, state, end, final_soc_min_wh=smart.end_state.battery_soc_wh,
                    mip_gap=args.gap,
                )  # fmt: skip
                took = time.perf_counter() - started
                valued_smart = paid - per_wh * smart.end_state.battery_soc_wh
                valued_simple = base - per_wh * simple.end_state.battery_soc_wh
                gap = (paid - best.bound) / abs(best.bound) * 100
                print(
                    f"| {name} | {week} | {soc:.0f} % | {valued_simple:.2f} | {valued_smart:.2f} "
                    f"| {paid:.3f} | {best.cost:.3f} | {best.bound:.3f} | {gap:.2f} % "
                    f"| {np.median(times):.0f} / {times.max():.0f} | {took:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
