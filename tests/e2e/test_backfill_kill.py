"""Kill the admin CLI with SIGKILL in the middle of a 60-day twin backfill, then resume: nothing
the twin's state row acknowledges is lost, and the result equals an uninterrupted run.

`gridshare admin create-user --backfill-days 60` runs as a subprocess against a fresh database
(SQLite file or PostgreSQL, per the `backend` parametrisation). Once it has committed a few
chunks it is killed at a random moment (mid-simulation or mid-write). Then:

1. right after the kill, for every sensor of the site: the samples of every minute the state
   row says is done are stored — no gap, no duplicate, none beyond it — and the rollup tables
   equal a recomputation from those raw rows (no half-written chunk);
2. the runner resumes in-process up to 60 days after the start;
3. every sensor then has exactly one sample per minute of the 60 days, its lifetime counters
   never run backwards (across the kill point too), its rollups are exact, and every value
   equals an uninterrupted in-memory run of the twin for the same seed: power, SoC and state
   bit-identical, counters within float rounding of a cumulative sum.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from gridshare.config import Settings
from gridshare.fleet.site_rows import stored_site
from gridshare.fleet.twin_adapter import to_batches, to_site_control, to_twin_site
from gridshare.homes.topology import sensors_of
from gridshare.services import build_services
from gridshare.storage import homes as homes_rows
from gridshare.storage.db import Database
from gridshare.storage.models import TwinStateRow
from gridshare.storage.models.homes import SiteRow
from gridshare.telemetry.aggregate import MISSING, Rollups, SampleBatch, rollup_samples
from gridshare.telemetry.buckets import uniform_grid
from gridshare.telemetry.schema import ROLLUP_TABLES, telemetry_sample, telemetry_sensor
from gridshare.telemetry.states import NO_STATE
from gridshare.telemetry.store import read_samples
from gridshare.twin import TwinConfig, initial_state, simulate
from gridshare.twin.timebase import floor_minute, from_minute
from tests.e2e.live import gridshare_command

pytestmark = pytest.mark.e2e

DAYS = 60
CHUNKS_BEFORE_KILL = 4
DEADLINE_S = 900.0


async def state_row(db: Database) -> TwinStateRow | None:
    async with db.read() as session:
        return (await session.execute(select(TwinStateRow))).scalars().first()


async def kill_mid_backfill(database_url: str) -> tuple[int, int]:
    """Run the CLI, SIGKILL it after a few committed chunks; (first minute seen, kill time)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSHARE_")}
    proc = subprocess.Popen(
        [
            *gridshare_command(),
            "admin",
            "create-user",
            "--email",
            "kill@example.com",
            "--password",
            "correct horse battery",
            "--backfill-days",
            str(DAYS),
            "--database-url",
            database_url,
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    db = Database(database_url)
    try:
        deadline = time.monotonic() + DEADLINE_S
        first: int | None = None
        commits: list[float] = []
        seen = None
        while True:
            assert proc.poll() is None, f"the CLI ended before the kill: {proc.communicate()}"
            assert time.monotonic() < deadline, "the backfill did not progress"
            row = await state_row(db)
            if row is not None:
                if first is None:
                    first = row.sim_minute
                if row.sim_minute != seen:
                    seen = row.sim_minute
                    commits.append(time.monotonic())
                if row.sim_minute - first >= CHUNKS_BEFORE_KILL * 1440:
                    break
            await asyncio.sleep(0.02)
        # somewhere in the next chunk: simulating it, or writing it
        pace = (commits[-1] - commits[0]) / max(1, len(commits) - 1)
        await asyncio.sleep(random.uniform(0, pace))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
        return first, int(time.time())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await db.dispose()


async def sensor_samples(db: Database, sensor_id: str) -> SampleBatch:
    async with db.read() as session:
        return await read_samples(session, sensor_id)


async def stored_rollups(db: Database, sensor_id: str, step: int) -> Rollups:
    table = ROLLUP_TABLES[step]
    c = table.c
    async with db.read() as session:
        key = (
            await session.execute(
                select(telemetry_sensor.c.sensor_key).where(
                    telemetry_sensor.c.sensor_id == sensor_id
                )
            )
        ).scalar_one()
        rows = (
            await session.execute(
                select(
                    c.bucket,
                    c.n,
                    c.power_sum_mw,
                    c.soc_n,
                    c.soc_sum_mpct,
                    c.last_ts,
                    c.last_power_mw,
                    c.last_soc_mpct,
                    c.last_state,
                    c.last_energy_inc_wh,
                    c.last_energy_dec_wh,
                )
                .where(c.sensor_key == key)
                .order_by(c.bucket)
            )
        ).all()
    cols: list[list[Any]] = [list(col) for col in zip(*rows, strict=True)]
    i = [np.array(col, dtype=np.int64) for col in cols[:7]]
    return Rollups(
        i[0],
        i[1],
        i[2],
        i[3],
        i[4],
        i[5],
        i[6],
        np.array([MISSING if v is None else v for v in cols[7]], dtype=np.int64),
        np.array([NO_STATE if v is None else v for v in cols[8]], dtype=np.int16),
        np.array([np.nan if v is None else v for v in cols[9]], dtype=np.float64),
        np.array([np.nan if v is None else v for v in cols[10]], dtype=np.float64),
    )


async def assert_complete(
    db: Database, sensor_ids: list[str], start: int, end: int
) -> dict[str, SampleBatch]:
    """Every sensor has exactly the minutes [start, end), and exact rollups of them."""
    out = {}
    expected_ts = np.arange(start, end, dtype=np.int64) * 60
    for sensor in sensor_ids:
        batch = await sensor_samples(db, sensor)
        assert np.array_equal(batch.ts, expected_ts), (sensor, batch.ts.size, expected_ts.size)
        for step in ROLLUP_TABLES:
            want = rollup_samples(batch, uniform_grid(start * 60, end * 60, step))
            assert (await stored_rollups(db, sensor, step)).equals(want), (sensor, step)
        for counter, sign in ((batch.energy_inc_wh, 1), (batch.energy_dec_wh, -1)):
            if not np.isnan(counter).all():
                assert np.all(sign * np.diff(counter) >= 0), sensor
        out[sensor] = batch
    return out


async def test_sigkill_mid_backfill_loses_nothing_acknowledged(database_url: str) -> None:
    first_seen, _ = await kill_mid_backfill(database_url)

    db = Database(database_url)
    try:
        row = await state_row(db)
        assert row is not None
        done = row.sim_minute
        async with db.read() as session:
            site_row = await homes_rows.site_row(session, row.site_id)
            assert site_row is not None
            stored = stored_site(site_row, await homes_rows.device_rows(session, row.site_id))
            created = (
                await session.execute(
                    select(SiteRow.created_at).where(SiteRow.site_id == row.site_id)
                )
            ).scalar_one()
            sample_count = (
                await session.execute(select(func.count()).select_from(telemetry_sample))
            ).scalar_one()
        start = floor_minute(created - timedelta(days=DAYS))
        sensors = list(sensors_of(stored.site))
        first_ts = (await sensor_samples(db, sensors[0])).ts[0] // 60
        assert first_ts in (start, start + 1)  # start_site ran within a moment of created_at
        start = int(first_ts)
        assert first_seen + CHUNKS_BEFORE_KILL * 1440 <= done < start + DAYS * 1440  # mid-way
        # 1. what the state row acknowledges is all there, and nothing more
        await assert_complete(db, sensors, start, done)
        assert sample_count == len(sensors) * (done - start)
    finally:
        await db.dispose()

    # 2. resume in-process, to exactly 60 days after the start
    end = start + DAYS * 1440
    settings = Settings(
        database_url=database_url, demo=False, twin_live=False, key_publish_ahead_seconds=0
    )
    db = Database(database_url)
    try:
        services = await build_services(settings, db)
        written = await services.twin.advance(row.site_id, until=from_minute(end))
        assert written == len(sensors) * (end - done)
        after = await state_row(db)
        assert after is not None and after.sim_minute == end
        # 3. complete, exact, and equal to an uninterrupted run
        batches = await assert_complete(db, sensors, start, end)
        async with db.read() as session:
            stored_controls = await homes_rows.controls_of_site(session, row.site_id)
        controls = to_site_control(stored.site, stored_controls)
    finally:
        await db.dispose()
    twin = to_twin_site(stored.site, stored.seed)
    result = simulate(
        twin, initial_state(twin, from_minute(start)), from_minute(end), controls, TwinConfig()
    )
    reference = to_batches(stored.site, twin, result)
    assert set(reference) == set(sensors)
    for sensor, want in reference.items():
        got = batches[sensor]
        assert np.array_equal(got.ts, want.ts)
        assert np.array_equal(got.power_mw, want.power_mw), sensor  # bit-identical
        assert np.array_equal(got.soc_mpct, want.soc_mpct), sensor
        assert np.array_equal(got.state, want.state), sensor
        for a, b in (
            (got.energy_inc_wh, want.energy_inc_wh),
            (got.energy_dec_wh, want.energy_dec_wh),
        ):
            assert np.allclose(a, b, rtol=1e-9, atol=1e-6, equal_nan=True), sensor
