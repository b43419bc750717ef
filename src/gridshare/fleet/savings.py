"""Monthly savings of a site (`GET /api/v2/sites/{siteId}/savings`), from stored telemetry.

- baseline: the home's consumption, all imported at the import tariff (no PV, no battery, no
  export);
- actual: what the twin really drew from the grid at the import tariff, minus what it exported
  at the export tariff;
- savings = baseline - actual, per month of the site's local calendar; the running month is
  `partial`. Amounts are rounded to cents and `savings` is the difference of the rounded
  amounts, so the three always agree.

Energy comes from the lifetime counters (grid `energy_Wh_increment` = imported,
`energy_Wh_decrement` = exported, consumption `energy_Wh_increment`): the energy of a bucket is
its last counter minus the previous bucket's, which is exact (the twin's counters include each
minute's energy at that minute's sample). Prices are the twin's per-minute prices. The buckets
are the coarsest rollup (1 hour, else 15 minutes) inside which neither price changes and no month
starts, else raw minutes: so each bucket has one price and the sum is exact, while a year of an
hourly or half-hourly tariff reads 8,760 or 35,040 rollup rows per sensor instead of 525,600 raw
samples. Nothing is re-simulated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np

from gridshare.homes.errors import DomainError, Kind
from gridshare.homes.sites import Site
from gridshare.homes.topology import SensorRole, sensors_of
from gridshare.storage.db import Database
from gridshare.telemetry import TelemetryQueryError, parse_interval
from gridshare.telemetry.buckets import uniform_grid
from gridshare.telemetry.store import counters_before, read_bucket_rollups
from gridshare.twin.tariffs import TariffPair
from gridshare.twin.timebase import FloatArray, make_calendar

MAX_MONTHS: Final = 120
DEFAULT_MONTHS: Final = 12
#: Prices are computed per minute with pandas' nanosecond clock, which ends in 2262.
LATEST_YEAR: Final = 2199
_STEPS: Final = (3600, 900, 60)


@dataclass(frozen=True, slots=True)
class Month:
    label: str
    start_s: int
    end_s: int


def _month_start(year: int, month: int, zone: ZoneInfo) -> int:
    return int(datetime(year, month, 1, tzinfo=zone).timestamp())


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def months_of(raw_interval: str | None, zone_name: str, now: datetime) -> list[Month]:
    """The site-local months overlapping `interval` (telemetry grammar), or by default the
    running month and the 11 before it."""
    zone = ZoneInfo(zone_name)
    if raw_interval is None or not raw_interval.strip():
        local = now.astimezone(zone)
        year, month = local.year, local.month
        first = (year - 1, month + 1) if month < 12 else (year, 1)
        last = (year, month)
    else:
        try:
            interval = parse_interval(raw_interval, api_version=2)
        except TelemetryQueryError as exc:
            raise DomainError(Kind.MALFORMED, exc.code, exc.message) from None
        if interval.end.year > LATEST_YEAR:
            raise DomainError(Kind.MALFORMED, "interval_out_of_range", "savings end in 2199")
        start = interval.start.astimezone(zone)
        # the month holding the last instant before the (exclusive) end
        end = datetime.fromtimestamp(interval.end_s - 1, UTC).astimezone(zone)
        first, last = (start.year, start.month), (end.year, end.month)
    count = (last[0] - first[0]) * 12 + last[1] - first[1] + 1
    if count > MAX_MONTHS:
        raise DomainError(
            Kind.MALFORMED,
            "interval_too_long",
            f"savings cover at most {MAX_MONTHS} months per call",
        )
    months = []
    year, month = first
    for _ in range(count):
        following = _next(year, month)
        months.append(
            Month(
                date(year, month, 1).strftime("%Y-%m"),
                _month_start(year, month, zone),
                _month_start(*following, zone),
            )
        )
        year, month = following
    return months


def _bucket_step(edges_s: list[int], imp: FloatArray, exp: FloatArray, start_s: int) -> int:
    """The coarsest bucket length whose buckets hold one import and one export price and never
    straddle a month edge."""
    change = np.flatnonzero((np.diff(imp) != 0) | (np.diff(exp) != 0)) + 1
    instants = np.concatenate((start_s + change * 60, np.array(edges_s, dtype=np.int64)))
    for step in _STEPS:
        if not np.any(instants % step):
            return step
    return 60  # pragma: no cover - every instant is a whole minute


async def _energy(
    database: Database, sensor_id: str | None, start_s: int, end_s: int, step: int
) -> tuple[np.ndarray[Any, Any], FloatArray, FloatArray]:
    """Bucket starts with data, and the energy imported (increment) and exported (decrement,
    as a positive number) in each, in Wh."""
    if sensor_id is None:
        empty = np.zeros(0)
        return np.zeros(0, dtype=np.int64), empty, empty
    async with database.read() as session:
        inc0, dec0 = await counters_before(session, sensor_id, start_s)
        rollups = await read_bucket_rollups(session, sensor_id, uniform_grid(start_s, end_s, step))
    inc = np.nan_to_num(rollups.last_inc, nan=0.0)
    dec = np.nan_to_num(rollups.last_dec, nan=0.0)
    energy_in = np.diff(np.concatenate(([inc0], inc)))
    energy_out = -np.diff(np.concatenate(([dec0], dec)))
    return rollups.start, energy_in, energy_out


def _primary(site: Site, role: SensorRole) -> str | None:
    return next((s.sensor_id for s in sensors_of(site).values() if s.role is role), None)


async def site_savings(
    database: Database, site: Site, tariffs: TariffPair, months: list[Month], now: datetime
) -> list[dict[str, Any]]:
    """The `entries` of the savings answer: months with stored data, oldest first."""
    now_s = int(now.timestamp())
    start_s, end_s = months[0].start_s, min(months[-1].end_s, -(-now_s // 60) * 60)
    if end_s <= start_s:
        return []
    cal = make_calendar(start_s // 60, (end_s - start_s) // 60, site.time_zone)
    imp, exp = tariffs.prices(cal)
    edges = [start_s, *(m.start_s for m in months if start_s < m.start_s < end_s)]
    step = _bucket_step(edges, imp, exp, start_s)
    cons_at, cons_wh, _ = await _energy(
        database, _primary(site, SensorRole.CONSUMPTION), start_s, end_s, step
    )
    grid_at, import_wh, export_wh = await _energy(
        database, _primary(site, SensorRole.GRID), start_s, end_s, step
    )
    starts = np.array([m.start_s for m in months], dtype=np.int64)

    def monthly(at: np.ndarray[Any, Any], kwh_cost: FloatArray) -> FloatArray:
        index = np.searchsorted(starts, at, side="right") - 1
        return np.bincount(index, weights=kwh_cost, minlength=len(months)).astype(np.float64)

    def price_at(prices: FloatArray, at: np.ndarray[Any, Any]) -> FloatArray:
        return np.asarray(prices[(at - start_s) // 60], dtype=np.float64)

    baseline = monthly(cons_at, cons_wh / 1000 * price_at(imp, cons_at))
    actual = monthly(
        grid_at,
        import_wh / 1000 * price_at(imp, grid_at) - export_wh / 1000 * price_at(exp, grid_at),
    )
    has_data = np.bincount(
        np.searchsorted(starts, np.concatenate((cons_at, grid_at)), side="right") - 1,
        minlength=len(months),
    )
    entries = []
    for i, month in enumerate(months):
        if not has_data[i]:
            continue
        base, act = round(float(baseline[i]), 2) + 0.0, round(float(actual[i]), 2) + 0.0
        entries.append(
            {
                "month": month.label,
                "baselineCost": base,
                "actualCost": act,
                "savings": round(base - act, 2) + 0.0,
                "partial": month.end_s > now_s,
            }
        )
    return entries
