"""Raw-sample retention: old 1-minute rows go, the rollups stay and still answer exactly."""

from __future__ import annotations

from datetime import timedelta

from gridshare.fleet.twin_runner import TwinRunner
from tests.api.telemetry_support import bearer, entries, iso, twin_home, utc
from tests.support import TestServices


async def test_pruned_raw_samples_leave_rollups_answering(gs: TestServices) -> None:
    now = gs.services.clock.now().replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=2)
    home = await twin_home(gs, seed=7, history_start=start, until=now)
    sensor = home.sensor("battery")
    headers = bearer(home.token)
    old_day = f"{iso(start)}/PT24H"

    hourly_before = await entries(gs.http, headers, sensor, interval=old_day, resolution="PT1H")
    minutes_before = await entries(gs.http, headers, sensor, interval=old_day, resolution="PT1M")
    assert len(hourly_before) == 24 and len(minutes_before) == 1440

    runner = TwinRunner(gs.services.db, gs.services.clock, raw_retention_days=1.0)
    assert await runner.prune() > 0
    assert await runner.prune() == 0, "pruning runs at most hourly"

    # older than a day: no raw rows, but every rollup-backed resolution answers as before
    assert await entries(gs.http, headers, sensor, interval=old_day, resolution="PT1M") == []
    assert (
        await entries(gs.http, headers, sensor, interval=old_day, resolution="PT1H")
        == hourly_before
    )
    # within the retention window the raw rows are all still there
    recent = f"{iso(now - timedelta(hours=12))}/PT12H"
    assert len(await entries(gs.http, headers, sensor, interval=recent, resolution="PT1M")) == 720
    assert utc(minutes_before[0]["timestamp"]) == start


async def test_retention_off_by_default_keeps_everything(gs: TestServices) -> None:
    assert gs.services.settings.telemetry_raw_retention_days == 0
    assert await gs.services.twin.prune() == 0
