"""Charge the home battery in the cheapest hours of the next day.

A small but complete partner integration built on the SDK:

1. reads the homeowner's site (time zone, import tariff) and its topology (the battery and its
   capacity);
2. reads the battery's recent telemetry for its state of charge;
3. works out how many hours of charging reach the target state of charge, picks the cheapest
   hours of the next 24 under the site's import tariff, and
4. sends an overlay plan that charges in those hours (and holds the charge, `idle`, in the gaps
   between them, so what was bought cheaply is kept for the expensive hours); the battery's own
   operation mode takes over again after the last hour.

Prices: the customer API names a site's tariff but does not publish its prices, so this example
knows the sandbox's published tariffs (`flat`, `tou`, `us-ca-tou`) and takes a price file for
anything else (`--prices prices.json`: 24 prices by local hour, or {"<ISO hour>": price, ...}).

Run it (after `gridshare login`):

    python examples/cheapest_hours.py                 # the `local` sandbox profile
    python examples/cheapest_hours.py --dry-run       # show the plan, send nothing
    python examples/cheapest_hours.py --profile gridshare --prices prices.json   # the real service

Needs only the SDK (`gridshare_client`: httpx, pydantic, platformdirs).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from gridshare_client import (
    GridshareClient,
    GridshareError,
    OverlayCommand,
    OverlayPlan,
    Topology,
)

# The sandbox's published import tariffs, price per kWh by local hour (and weekday for `tou`,
# month for `us-ca-tou`).
FLAT_RATE = 0.245


def sandbox_price(tariff_id: str, local: datetime) -> float | None:
    if tariff_id == "flat":
        return FLAT_RATE
    if tariff_id == "tou":
        if local.hour < 7:
            return 0.09  # off-peak
        if 16 <= local.hour < 19 and local.weekday() < 5:
            return 0.38  # weekday peak
        return 0.26  # shoulder
    if tariff_id == "us-ca-tou":
        if 16 <= local.hour < 21:
            return 0.56 if 6 <= local.month <= 9 else 0.45  # peak, dearer in summer
        if local.hour >= 15:
            return 0.42  # part-peak
        return 0.33  # off-peak
    return None


@dataclass(frozen=True)
class Battery:
    device_id: str  # takes the plans
    sensor_id: str  # telemetry (`..__bb_agg`)
    capacity_kwh: float


def find_battery(topology: Topology) -> Battery:
    sensor = topology.battery_sensor()
    if sensor is None or not sensor.max_capacity_j:
        raise SystemExit("this site has no battery")
    device = topology.root.parent_of(sensor.id)
    if device is None or device.kind != "device":
        raise SystemExit(f"cannot find the device of {sensor.id}")
    return Battery(device.id, sensor.id, sensor.max_capacity_j / 3.6e6)


def latest_soc(gs: GridshareClient, battery: Battery, now: datetime) -> float | None:
    """The last state of charge reported in the past 6 hours (None when there is none)."""
    series = gs.get_telemetry(
        battery.sensor_id,
        now - timedelta(hours=6),
        now,
        resolution="PT5M",
        aggregation="latest",
    )
    readings = [e.soc_percent for e in series.entries if e.soc_percent is not None]
    return readings[-1] if readings else None


def load_prices(path: Path | None, tariff_id: str, hours: list[datetime]) -> list[float]:
    """A price for each hour (local datetimes)."""
    if path is None:
        prices = [sandbox_price(tariff_id, h) for h in hours]
        if any(p is None for p in prices):
            raise SystemExit(
                f"no built-in prices for tariff {tariff_id!r}: pass --prices FILE.json"
            )
        return [p for p in prices if p is not None]
    data = json.loads(path.read_text())
    if isinstance(data, list):
        if len(data) != 24:
            raise SystemExit("a price list has 24 entries, one per local hour")
        return [float(data[h.hour]) for h in hours]
    by_hour = {datetime.fromisoformat(k.replace("Z", "+00:00")): float(v) for k, v in data.items()}
    try:
        return [by_hour[h.astimezone(UTC)] for h in hours]
    except KeyError as exc:
        raise SystemExit(f"the price file has no price for {exc.args[0]}") from None


def cheapest_plan(
    hours: list[datetime], prices: list[float], needed: int, power_w: int
) -> OverlayPlan:
    """Charge in the `needed` cheapest hours (earliest first on ties), idle in the gaps."""
    ranked = sorted(range(len(hours)), key=lambda i: (prices[i], i))
    chosen = sorted(ranked[:needed])
    if not chosen:
        return OverlayPlan(commands=[])
    commands: list[OverlayCommand] = []
    for i in range(chosen[0], chosen[-1] + 1):
        charge = i in chosen
        kind = "charge" if charge else "idle"
        if commands and commands[-1].type == kind:
            commands[-1].duration_minutes += 60
        else:
            commands.append(
                OverlayCommand(type=kind, duration_minutes=60, power_w=power_w if charge else None)
            )
    return OverlayPlan(start_time=hours[chosen[0]], commands=commands)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", help="SDK profile (default: local)")
    parser.add_argument("--site", help="site id (default: the homeowner's first site)")
    parser.add_argument("--target-soc", type=float, default=90.0, help="percent (default 90)")
    parser.add_argument("--power", type=int, default=3000, help="charge power in W (3000)")
    parser.add_argument(
        "--assume-soc",
        type=float,
        default=20.0,
        help="state of charge to assume when telemetry has none (20)",
    )
    parser.add_argument("--prices", type=Path, help="price file for tariffs not built in")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, send nothing")
    args = parser.parse_args(argv)

    try:
        with GridshareClient(args.profile) as gs:
            site_id = args.site or gs.list_sites()[0].site_id
            site = gs.get_site(site_id)
            zone = ZoneInfo(site.time_zone or "UTC")
            battery = find_battery(gs.get_topology(site_id))
            now = datetime.now(UTC)
            soc = latest_soc(gs, battery, now)
            soc_note = "from telemetry" if soc is not None else "assumed: no recent telemetry"
            soc = args.assume_soc if soc is None else soc

            energy_kwh = max(0.0, (args.target_soc - soc) / 100 * battery.capacity_kwh)
            needed = min(24, math.ceil(energy_kwh / (args.power / 1000)))
            first = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            hours = [(first + timedelta(hours=i)).astimezone(zone) for i in range(24)]
            prices = load_prices(args.prices, site.import_tariff_id or "", hours)
            plan = cheapest_plan(hours, prices, needed, args.power)

            print(f"site {site_id} ({site.time_zone}), import tariff {site.import_tariff_id}")
            print(
                f"battery {battery.device_id}: {battery.capacity_kwh:.1f} kWh, "
                f"SoC {soc:.0f}% ({soc_note}), target {args.target_soc:.0f}%"
            )
            print(f"{energy_kwh:.1f} kWh to add at {args.power} W: {needed} cheapest hour(s)")
            if not plan.commands:
                print("nothing to charge; no plan sent")
                return 0
            for i, command in enumerate(plan.commands):
                start = (
                    plan.start_time
                    + timedelta(minutes=sum(c.duration_minutes for c in plan.commands[:i]))
                    if plan.start_time
                    else None
                )
                local = start.astimezone(zone).strftime("%a %H:%M") if start else "?"
                print(
                    f"  {local}  {command.type:<6} {command.duration_minutes:>4} min"
                    + (f"  {command.power_w} W" if command.power_w else "")
                )
            if args.dry_run:
                print("dry run: not sent")
                return 0
            gs.set_overlay_plan(battery.device_id, plan)
            stored = gs.get_overlay_plan(battery.device_id)
            print(
                f"overlay plan stored: {len(stored.commands)} command(s) from "
                f"{stored.start_time:%Y-%m-%d %H:%M} UTC"
            )
            return 0
    except GridshareError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
