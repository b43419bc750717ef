"""Benchmark the digital twin: a year of a full home at 1-minute steps.

    .venv/bin/python benchmarks/twin.py                 # a year in simple mode, one call
    .venv/bin/python benchmarks/twin.py --chunk-days 7  # the same year as a runner would, weekly
    .venv/bin/python benchmarks/twin.py --mode smart --days 7

A sample is one sensor reading at one minute (grid, consumption, pv, battery, inverter, ev,
hot_water: seven per minute for this home).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from gridshare.twin import (
    TOU,
    BatteryBlock,
    DeviceControl,
    EvCharger,
    HotWater,
    Mode,
    PvArray,
    SiteControl,
    TwinSite,
    cost,
    initial_state,
    simulate,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--chunk-days", type=int, default=0, help="0 = one call")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default="simple")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    site = TwinSite(
        site_id="bench",
        latitude=51.5,
        longitude=-0.12,
        timezone="Europe/London",
        seed=args.seed,
        pv_arrays=[PvArray(4000, 180, 35), PvArray(2000, 90, 30)],
        battery_blocks=[BatteryBlock(5000, 2500, 2500), BatteryBlock(5000, 2500, 2500)],
        ev_charger=EvCharger(7400, vehicle_battery_wh=60_000),
        hot_water=HotWater(3000, 200),
        inverter_rated_w=6000,
        import_tariff=TOU,
        export_tariff=TOU,
    )
    mode = Mode(args.mode)
    control = SiteControl(DeviceControl(mode), DeviceControl(mode), DeviceControl(mode))
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=args.days)
    step = timedelta(days=args.chunk_days) if args.chunk_days else end - start

    state = initial_state(site, start)
    samples = minutes = 0
    paid = 0.0
    began, cpu_began = time.perf_counter(), time.process_time()
    while state.time < end:
        result = simulate(site, state, min(state.time + step, end), control)
        samples += result.sample_count
        minutes += result.n
        paid += cost(result, site.tariffs)
        state = result.end_state
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu_began

    counters = state.counters
    print(f"{args.days} days, mode {mode.value}, {minutes:,} steps, {samples:,} sensor samples")
    rates = f"{samples / elapsed:,.0f} samples/s, {minutes / elapsed:,.0f} steps/s"
    print(f"elapsed {elapsed:.2f} s (cpu {cpu:.2f} s): {rates}")
    print(
        f"pv {-counters['pv'].decrement_wh / 1000:,.0f} kWh, "
        f"home {counters['consumption'].increment_wh / 1000:,.0f} kWh, "
        f"import {counters['grid'].increment_wh / 1000:,.0f} kWh, "
        f"export {-counters['grid'].decrement_wh / 1000:,.0f} kWh, cost {paid:,.2f}"
    )


if __name__ == "__main__":
    main()
