"""The telemetry store against a real SQLite file and, when reachable, a throwaway PostgreSQL
database: idempotent writes, rollups equal to raw aggregation, and reads from the right table."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from gridshare.storage.base import Base
from gridshare.telemetry.aggregate import SampleBatch, aggregate_samples, rollup_samples
from gridshare.telemetry.buckets import uniform_grid
from gridshare.telemetry.entries import EMPTY_RESPONSE, encode_entries
from gridshare.telemetry.query import parse_telemetry_query
from gridshare.telemetry.resolution import Aggregation, Resolution
from gridshare.telemetry.schema import ROLLUP_TABLES, TELEMETRY_TABLES
from gridshare.telemetry.store import (
    choose_rollup,
    delete_samples,
    latest_entries,
    query_telemetry,
    read_bucket_rollups,
    rebuild_rollups,
    sensor_keys,
    telemetry_json,
    write_samples,
)

PG_ADMIN_URL = os.environ.get(
    "GRIDSHARE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
T0 = 1_774_742_400  # 2026-03-29T00:00:00Z, London's spring-forward day
SPAN = 4 * 86_400
SENSORS = ["inv1__GRID_METER_DERIVED", "inv1__PV_DERIVED", "inv1__bb_agg"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "busy_timeout=5000", "synchronous=NORMAL"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


async def _pg_admin() -> Any:
    import asyncpg  # type: ignore[import-untyped]

    url = make_url(PG_ADMIN_URL)
    try:
        return await asyncio.wait_for(
            asyncpg.connect(
                host=url.host,
                port=url.port,
                user=url.username,
                password=url.password,
                database=url.database,
            ),
            timeout=3,
        )
    except Exception as exc:  # unreachable, refused, auth failure: all mean "skip"
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    dbname = None
    if request.param == "sqlite":
        eng = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'telemetry.db'}")
        event.listen(eng.sync_engine, "connect", _sqlite_pragmas)
    else:
        admin = await _pg_admin()
        dbname = f"gridshare_telemetry_test_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{dbname}"')
        await admin.close()
        eng = create_async_engine(make_url(PG_ADMIN_URL).set(database=dbname))
    try:
        async with eng.begin() as conn:
            await conn.run_sync(Base.metadata.create_all, tables=list(TELEMETRY_TABLES))
        yield eng
    finally:
        await eng.dispose()
        if dbname is not None:
            admin = await _pg_admin()
            await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            await admin.close()


def make_batches(seed: int = 1) -> dict[str, SampleBatch]:
    rng = np.random.default_rng(seed)
    out = {}
    for i, sid in enumerate(SENSORS):
        ts = np.arange(T0, T0 + SPAN, 60) + i  # any second in the minute
        ts = ts[rng.random(ts.size) > 0.05]
        n = ts.size
        soc = rng.uniform(0, 100, n) if sid.endswith("bb_agg") else np.full(n, np.nan)
        inc = np.cumsum(rng.uniform(0, 5, n))
        dec = -np.cumsum(rng.uniform(0, 5, n))
        states = rng.integers(-1, 3, n)
        out[sid] = SampleBatch.from_measurements(
            ts,
            rng.normal(0, 2500, n),
            soc_percent=soc,
            state=states,
            energy_Wh_increment=inc,
            energy_Wh_decrement=dec,
        )
    return out


def piece(batch: SampleBatch, lo: int, hi: int) -> SampleBatch:
    return SampleBatch(*(getattr(batch, f)[lo:hi] for f in batch.__dataclass_fields__))


async def write_in_overlapping_pieces(eng: AsyncEngine, batches: dict[str, SampleBatch]) -> int:
    """Write the data as many small, overlapping, out-of-order transactions."""
    rng = np.random.default_rng(99)
    n = max(len(b) for b in batches.values())
    cuts = np.sort(rng.choice(np.arange(1, n), size=25, replace=False)).tolist()
    bounds = list(zip([0, *cuts], [*cuts, n], strict=True))
    rng.shuffle(bounds)
    total = 0
    for lo, hi in bounds:
        lo2, hi2 = max(0, lo - 37), min(n, hi + 11)  # overlap neighbours: re-written rows
        async with eng.begin() as conn:
            total += await write_samples(
                conn, {sid: piece(b, lo2, hi2) for sid, b in batches.items()}
            )
    return total


async def assert_rollups_equal_raw(eng: AsyncEngine, batches: dict[str, SampleBatch]) -> None:
    async with eng.connect() as conn:
        keys = await sensor_keys(conn, batches, create=False)
        for sid, batch in batches.items():
            for step in ROLLUP_TABLES:
                grid = uniform_grid(T0 - 86_400, T0 + SPAN + 86_400, step)
                stored = await read_bucket_rollups(conn, keys[sid], grid)
                assert choose_rollup(grid) == step
                assert stored.equals(rollup_samples(batch, grid)), (sid, step)


async def test_writes_are_idempotent_and_rollups_equal_raw(engine: AsyncEngine) -> None:
    batches = make_batches()
    written = await write_in_overlapping_pieces(engine, batches)
    assert written == sum(len(b) for b in batches.values())
    await assert_rollups_equal_raw(engine, batches)
    async with engine.begin() as conn:
        assert await write_samples(conn, batches) == 0  # a resumed writer re-sends everything
    await assert_rollups_equal_raw(engine, batches)
    async with engine.begin() as conn:
        for sid in SENSORS:
            await rebuild_rollups(conn, sid, T0, T0 + SPAN)
    await assert_rollups_equal_raw(engine, batches)


async def test_first_write_wins(engine: AsyncEngine) -> None:
    first = SampleBatch.from_measurements([T0, T0 + 60], [100.0, 200.0])
    second = SampleBatch.from_measurements([T0 + 60, T0 + 120], [999.0, 300.0])
    async with engine.begin() as conn:
        assert await write_samples(conn, {"s": first}) == 2
    async with engine.begin() as conn:
        assert await write_samples(conn, {"s": second}) == 1
    q = parse_telemetry_query("2026-03-29T00:00:00Z/PT15M", "PT15M")
    async with engine.connect() as conn:
        agg = await query_telemetry(conn, "s", q)
    assert agg.power_W.tolist() == [200.0]


async def test_a_writer_racing_an_uncommitted_one_still_inserts_only_new_rows(
    engine: AsyncEngine,
) -> None:
    """On PostgreSQL the second writer finds nothing committed in its range, starts a COPY, and
    waits on the first writer's uncommitted row; once that commits, the COPY fails on the key and
    the writer falls back to inserting what is new. First write wins, nothing is lost."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writers; the app funnels writes through one task")
    async with engine.begin() as conn:  # the sensor exists, so neither writer waits on it
        await write_samples(conn, {"s": SampleBatch.from_measurements([T0 - 600], [1.0])})
    first = SampleBatch.from_measurements([T0, T0 + 60], [100.0, 200.0])
    second = SampleBatch.from_measurements([T0 + 60, T0 + 120], [999.0, 300.0])
    async with engine.connect() as one, engine.connect() as two:
        await one.begin()
        assert await write_samples(one, {"s": first}) == 2
        await two.begin()
        racing = asyncio.create_task(write_samples(two, {"s": second}))
        await asyncio.sleep(0.5)
        assert not racing.done(), "the second writer waits on the first one's row"
        await one.commit()
        assert await asyncio.wait_for(racing, 10) == 1
        await two.commit()
    q = parse_telemetry_query("2026-03-29T00:00:00Z/PT15M", "PT15M", "default", "latest")
    async with engine.connect() as conn:
        agg = await query_telemetry(conn, "s", q)
    assert agg.power_W.tolist() == [300.0]
    async with engine.connect() as conn:
        stored = await conn.execute(text("SELECT ts, power_mw FROM telemetry_sample ORDER BY ts"))
        assert stored.all() == [
            (T0 - 600, 1000),
            (T0, 100_000),
            (T0 + 60, 200_000),
            (T0 + 120, 300_000),
        ]


@pytest.mark.parametrize("zone", ["Europe/London", "Asia/Kolkata", "Asia/Kathmandu"])
async def test_queries_equal_in_memory_aggregation(engine: AsyncEngine, zone: str) -> None:
    batches = make_batches(seed=5)
    async with engine.begin() as conn:
        await write_samples(conn, batches)
    intervals = ["2026-03-29T00:00:00Z/P4D", "2026-03-29T07:13:20+01:00/PT31H7M"]
    async with engine.connect() as conn:
        for interval in intervals:
            for resolution in Resolution:
                for aggregation in Aggregation:
                    q = parse_telemetry_query(
                        interval, resolution.value, "energy", aggregation.value, zone=zone
                    )
                    for sid, batch in batches.items():
                        got = await query_telemetry(conn, sid, q)
                        want = aggregate_samples(batch, q.grid, q.aggregation)
                        assert len(got) > 0
                        for field in got.__dataclass_fields__:
                            assert np.array_equal(
                                getattr(got, field), getattr(want, field), equal_nan=True
                            ), (sid, resolution, aggregation, field)
                        body = await telemetry_json(conn, sid, q)
                        assert body == encode_entries(want, q.include)


def test_source_choice() -> None:
    def source(resolution: str, zone: str = "UTC") -> int | None:
        q = parse_telemetry_query("2026-03-29T00:00:00Z/P2D", resolution, zone=zone)
        return choose_rollup(q.grid)

    assert source("PT1M") is None
    assert source("PT5M") is None
    assert source("PT15M") == 900
    assert source("PT30M") == 900
    assert source("PT1H") == 3600
    assert source("P1D", "Europe/London") == 3600
    assert source("P1D", "America/Los_Angeles") == 3600
    assert source("P1D", "Asia/Kolkata") == 900
    assert source("P1D", "Asia/Kathmandu") == 900
    q = parse_telemetry_query("1971-01-01T00:00:00Z/P30D", "P1D", zone="Africa/Monrovia")
    assert choose_rollup(q.grid) is None  # -00:44:30 until 1972: only raw rows nest


async def test_unknown_sensor_and_bare_device(engine: AsyncEngine) -> None:
    q = parse_telemetry_query("2026-03-29T00:00:00Z/P1D")
    async with engine.connect() as conn:
        assert await telemetry_json(conn, "inv1", q) == EMPTY_RESPONSE
        assert await latest_entries(conn, ["inv1"]) == {}
        assert await sensor_keys(conn, ["inv1"], create=False) == {}


async def test_sensor_keys_are_stable(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await sensor_keys(conn, SENSORS, create=True)
        again = await sensor_keys(conn, [*SENSORS, "other"], create=True)
    assert len(set(first.values())) == len(SENSORS)
    assert {k: again[k] for k in first} == first
    assert "other" in again


async def test_latest_entries(engine: AsyncEngine) -> None:
    batches = make_batches()
    async with engine.begin() as conn:
        await write_samples(conn, batches)
    async with engine.connect() as conn:
        latest = await latest_entries(conn, ["inv1__bb_agg", "nope"])
    battery = batches["inv1__bb_agg"]
    assert list(latest) == ["inv1__bb_agg"]
    entry = latest["inv1__bb_agg"]
    assert entry["power_W"] == round(battery.power_mw[-1] / 1000, 1)
    assert entry["soc_percent"] == round(battery.soc_mpct[-1] / 1000, 1)
    assert entry["energy_Wh_increment"] == round(float(battery.energy_inc_wh[-1]), 3)
    assert entry["timestamp"].endswith("Z")


async def test_delete_repairs_rollups(engine: AsyncEngine) -> None:
    batches = make_batches()
    async with engine.begin() as conn:
        await write_samples(conn, batches)
    cut_start, cut_end = T0 + 3 * 3600 + 7 * 60, T0 + 30 * 3600 + 1
    async with engine.begin() as conn:
        removed = await delete_samples(conn, "inv1__PV_DERIVED", cut_start, cut_end)
    pv = batches["inv1__PV_DERIVED"]
    keep = (pv.ts < cut_start) | (pv.ts >= cut_end)
    assert removed == int((~keep).sum())
    batches["inv1__PV_DERIVED"] = SampleBatch(
        *(getattr(pv, f)[keep] for f in pv.__dataclass_fields__)
    )
    await assert_rollups_equal_raw(engine, batches)


async def test_works_through_an_async_session(engine: AsyncEngine) -> None:
    batches = make_batches()
    async with AsyncSession(engine) as session:
        await write_samples(session, batches)
        await session.commit()
    async with AsyncSession(engine) as session:
        q = parse_telemetry_query("2026-03-29T00:00:00Z/P1D", "PT1H")
        body = orjson.loads(await telemetry_json(session, "inv1__bb_agg", q))
    assert len(body["entries"]) == 24


async def test_one_sensor_range_is_an_index_seek(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            for table, col in [("telemetry_sample", "ts"), ("telemetry_rollup_1h", "bucket")]:
                rows = await conn.execute(
                    text(
                        f"EXPLAIN QUERY PLAN SELECT * FROM {table} "
                        f"WHERE sensor_key = 1 AND {col} >= 0 AND {col} < 100 ORDER BY {col}"
                    )
                )
                plan = " ".join(str(r[-1]) for r in rows)
                assert "SEARCH" in plan and "PRIMARY KEY" in plan, plan
                assert "TEMP B-TREE" not in plan, plan
        else:
            await conn.execute(text("SET enable_seqscan = off"))
            rows = await conn.execute(
                text(
                    "EXPLAIN SELECT * FROM telemetry_sample WHERE sensor_key = 1 "
                    "AND ts >= 0 AND ts < 100 ORDER BY ts"
                )
            )
            plan = " ".join(str(r[0]) for r in rows)
            assert "pk_telemetry_sample" in plan and "Sort" not in plan, plan


async def test_concurrent_writers_commute(engine: AsyncEngine) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writers; the app funnels writes through one task")
    batches = make_batches(seed=3)

    async def writer(lo: int, hi: int) -> None:
        async with engine.begin() as conn:
            await write_samples(conn, {sid: piece(b, lo, hi) for sid, b in batches.items()})

    n = max(len(b) for b in batches.values())
    await asyncio.gather(*(writer(lo, lo + 900) for lo in range(0, n, 600)))
    await assert_rollups_equal_raw(engine, batches)
