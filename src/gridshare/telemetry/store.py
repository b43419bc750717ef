"""Async storage of telemetry: idempotent batched writes that keep rollups current, and reads
that answer a query from the coarsest table that can.

Writes: samples are inserted with `ON CONFLICT DO NOTHING ... RETURNING`, and only the rows
that were really inserted are folded into the rollups with an additive upsert (sums add, the
`last_*` values move only to a later sample). So re-writing a step after a crash changes
nothing, two writers commute, and the rollups equal a recomputation from raw rows. The caller
owns the transaction (`async with engine.begin() as conn:`); samples and rollups commit together.

Reads: one sensor, one bounded key range of one table (an index seek on the primary key), then
the same numpy aggregation as the in-memory path. Raw rows are read only for PT1M and PT5M,
where the 10,000-point limit caps a query at 50,000 rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import numpy as np
from sqlalchemy import Table, case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from gridshare.telemetry.aggregate import (
    MISSING,
    Aggregated,
    Rollups,
    SampleBatch,
    finish,
    group_starts,
    merge_rollups,
    reduce_samples,
    rollup_samples,
)
from gridshare.telemetry.buckets import BucketGrid, Int64Array, uniform_grid
from gridshare.telemetry.entries import encode_entries, entries_list
from gridshare.telemetry.query import TelemetryQuery
from gridshare.telemetry.resolution import Aggregation, Include
from gridshare.telemetry.schema import (
    ROLLUP_TABLES,
    telemetry_sample,
    telemetry_sensor,
)
from gridshare.telemetry.states import NO_STATE

Db = AsyncConnection | AsyncSession
"""Every function takes either; none of them commits."""

_CHUNK: Final = 500
_COARSEST_FIRST: Final = sorted(ROLLUP_TABLES, reverse=True)
_ALIGN: Final = max(ROLLUP_TABLES)

_S = telemetry_sample.c
_SAMPLE_COLUMNS: Final = ("ts", "power_mw", "soc_mpct", "state", "energy_inc_wh", "energy_dec_wh")
_ROLLUP_COLUMNS: Final = (
    "bucket",
    "n",
    "power_sum_mw",
    "soc_n",
    "soc_sum_mpct",
    "last_ts",
    "last_power_mw",
    "last_soc_mpct",
    "last_state",
    "last_energy_inc_wh",
    "last_energy_dec_wh",
)
_ROLLUP_SUMS: Final = ("n", "power_sum_mw", "soc_n", "soc_sum_mpct")
_ROLLUP_LAST: Final = _ROLLUP_COLUMNS[5:]


def _dialect(db: Db) -> str:
    if isinstance(db, AsyncSession):
        return db.get_bind().dialect.name
    return db.dialect.name


def _insert(db: Db, table: Table) -> postgresql.Insert | sqlite.Insert:
    name = _dialect(db)
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"telemetry storage supports PostgreSQL and SQLite, not {name}")


# ---------------------------------------------------------------------------------------------
# sensors


async def sensor_keys(db: Db, sensor_ids: Iterable[str], *, create: bool) -> dict[str, int]:
    """Integer keys of sensors; with `create`, unknown sensors get a key (race-safe)."""
    wanted = sorted(set(sensor_ids))
    found: dict[str, int] = {}
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        rows = await db.execute(
            select(telemetry_sensor.c.sensor_id, telemetry_sensor.c.sensor_key).where(
                telemetry_sensor.c.sensor_id.in_(chunk)
            )
        )
        found.update({row[0]: row[1] for row in rows})
    missing = [sid for sid in wanted if sid not in found]
    if missing and create:
        stmt = _insert(db, telemetry_sensor).on_conflict_do_nothing(index_elements=["sensor_id"])
        await db.execute(stmt, [{"sensor_id": sid} for sid in missing])
        found.update(await sensor_keys(db, missing, create=False))
    return found


# ---------------------------------------------------------------------------------------------
# writes


def _sample_rows(key: int, batch: SampleBatch) -> list[dict[str, Any]]:
    ts = batch.ts.tolist()
    power = batch.power_mw.tolist()
    soc = [None if v == MISSING else v for v in batch.soc_mpct.tolist()]
    state = [None if v == NO_STATE else v for v in batch.state.tolist()]
    inc = [None if v != v else v for v in batch.energy_inc_wh.tolist()]
    dec = [None if v != v else v for v in batch.energy_dec_wh.tolist()]
    return [
        {
            "sensor_key": key,
            "ts": t,
            "power_mw": p,
            "soc_mpct": s,
            "state": st,
            "energy_inc_wh": i,
            "energy_dec_wh": d,
        }
        for t, p, s, st, i, d in zip(ts, power, soc, state, inc, dec, strict=True)
    ]


async def write_samples(db: Db, batches: Mapping[str, SampleBatch]) -> int:
    """Insert samples of many sensors and fold the new ones into every rollup table.

    Idempotent: a sample whose `(sensor, ts)` is already stored is skipped (first write wins),
    so a resumed writer may re-send a step. Returns the number of samples inserted. Batch
    generously (a twin step of every sensor, or >= 1,000 rows) to amortise the round trips.
    """
    batches = {sid: batch for sid, batch in batches.items() if len(batch)}
    if not batches:
        return 0
    keys = await sensor_keys(db, batches, create=True)
    # Rows go in key order (and rollups below too), so concurrent writers on PostgreSQL take
    # their row locks in the same order and cannot deadlock each other.
    order = sorted(batches, key=keys.__getitem__)
    rows = [row for sid in order for row in _sample_rows(keys[sid], batches[sid])]
    stmt = (
        _insert(db, telemetry_sample)
        .on_conflict_do_nothing(index_elements=["sensor_key", "ts"])
        .returning(_S.sensor_key, *(_S[name] for name in _SAMPLE_COLUMNS))
    )
    inserted = (await db.execute(stmt, rows)).all()
    if inserted:
        await _fold_into_rollups(db, inserted)
    return len(inserted)


def _int_column(values: Sequence[Any], missing: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.array([missing if v is None else v for v in values], dtype=np.int64)


async def _fold_into_rollups(db: Db, inserted: Sequence[Any]) -> None:
    key_col, ts_col, power_col, soc_col, state_col, inc_col, dec_col = zip(*inserted, strict=True)
    keys = np.array(key_col, dtype=np.int64)
    ts = np.array(ts_col, dtype=np.int64)
    order = np.lexsort((ts, keys))
    keys, ts = keys[order], ts[order]
    batch = SampleBatch(
        ts,
        np.array(power_col, dtype=np.int64)[order],
        _int_column(soc_col, MISSING)[order],
        _int_column(state_col, NO_STATE).astype(np.int16)[order],
        np.array(inc_col, dtype=np.float64)[order],
        np.array(dec_col, dtype=np.float64)[order],
    )
    for step, table in ROLLUP_TABLES.items():
        bucket = ts // step * step
        starts = group_starts(keys, bucket)
        rollups = reduce_samples(batch, bucket, starts)
        await _upsert_rollups(db, table, keys[starts], rollups)


def _rollup_rows(keys: Int64Array, r: Rollups) -> list[dict[str, Any]]:
    columns = (
        keys.tolist(),
        r.start.tolist(),
        r.n.tolist(),
        r.power_sum.tolist(),
        r.soc_n.tolist(),
        r.soc_sum.tolist(),
        r.last_ts.tolist(),
        r.last_power.tolist(),
        [None if v == MISSING else v for v in r.last_soc.tolist()],
        [None if v == NO_STATE else v for v in r.last_state.tolist()],
        [None if v != v else v for v in r.last_inc.tolist()],
        [None if v != v else v for v in r.last_dec.tolist()],
    )
    names = ("sensor_key", *_ROLLUP_COLUMNS)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


async def _upsert_rollups(db: Db, table: Table, keys: Int64Array, r: Rollups) -> None:
    ins = _insert(db, table)
    newer = ins.excluded.last_ts > table.c.last_ts
    update: dict[str, ColumnElement[Any]] = {
        name: table.c[name] + ins.excluded[name] for name in _ROLLUP_SUMS
    }
    update.update(
        {name: case((newer, ins.excluded[name]), else_=table.c[name]) for name in _ROLLUP_LAST}
    )
    stmt = ins.on_conflict_do_update(index_elements=["sensor_key", "bucket"], set_=update)
    await db.execute(stmt, _rollup_rows(keys, r))


# ---------------------------------------------------------------------------------------------
# reads


def choose_rollup(grid: BucketGrid) -> int | None:
    """Bucket length of the coarsest rollup whose buckets nest in `grid`, or None for raw."""
    for step in _COARSEST_FIRST:
        if grid.step is not None and grid.step % step == 0:
            return step
        if grid.step is None and grid.is_aligned_to(step):
            return step
    return None


async def _read_samples(
    db: Db, key: int, start_s: int | None, end_s: int | None, *, newest_only: bool = False
) -> SampleBatch:
    stmt = select(
        _S.ts,
        _S.power_mw,
        func.coalesce(_S.soc_mpct, MISSING),
        func.coalesce(_S.state, NO_STATE),
        _S.energy_inc_wh,
        _S.energy_dec_wh,
    ).where(_S.sensor_key == key)
    if newest_only:
        stmt = stmt.order_by(_S.ts.desc()).limit(1)
    else:
        stmt = stmt.where(_S.ts >= start_s, _S.ts < end_s).order_by(_S.ts)
    rows = (await db.execute(stmt)).all()
    if not rows:
        return SampleBatch.empty()
    ts, power, soc, state, inc, dec = zip(*rows, strict=True)
    return SampleBatch(
        np.array(ts, dtype=np.int64),
        np.array(power, dtype=np.int64),
        np.array(soc, dtype=np.int64),
        np.array(state, dtype=np.int16),
        np.array(inc, dtype=np.float64),
        np.array(dec, dtype=np.float64),
    )


async def _read_rollups(db: Db, table: Table, key: int, start_s: int, end_s: int) -> Rollups:
    c = table.c
    stmt = (
        select(
            c.bucket,
            c.n,
            c.power_sum_mw,
            c.soc_n,
            c.soc_sum_mpct,
            c.last_ts,
            c.last_power_mw,
            func.coalesce(c.last_soc_mpct, MISSING),
            func.coalesce(c.last_state, NO_STATE),
            c.last_energy_inc_wh,
            c.last_energy_dec_wh,
        )
        .where(c.sensor_key == key, c.bucket >= start_s, c.bucket < end_s)
        .order_by(c.bucket)
    )
    rows = (await db.execute(stmt)).all()
    if not rows:
        return Rollups.empty()
    cols = list(zip(*rows, strict=True))
    i64 = [np.array(col, dtype=np.int64) for col in cols[:8]]
    return Rollups(
        i64[0],
        i64[1],
        i64[2],
        i64[3],
        i64[4],
        i64[5],
        i64[6],
        i64[7],
        np.array(cols[8], dtype=np.int16),
        np.array(cols[9], dtype=np.float64),
        np.array(cols[10], dtype=np.float64),
    )


async def read_bucket_rollups(db: Db, sensor_key: int, grid: BucketGrid) -> Rollups:
    """Rollups of one sensor over `grid`, from the coarsest table that nests in it."""
    step = choose_rollup(grid)
    if step is None:
        batch = await _read_samples(db, sensor_key, grid.start_s, grid.end_s)
        return rollup_samples(batch, grid)
    fine = await _read_rollups(db, ROLLUP_TABLES[step], sensor_key, grid.start_s, grid.end_s)
    return merge_rollups(fine, grid, fine_step=step)


async def query_telemetry(db: Db, sensor_id: str, query: TelemetryQuery) -> Aggregated:
    """Bucket values of one sensor for a parsed query; an unknown sensor has no entries."""
    keys = await sensor_keys(db, [sensor_id], create=False)
    if sensor_id not in keys:
        return finish(Rollups.empty(), query.aggregation)
    rollups = await read_bucket_rollups(db, keys[sensor_id], query.grid)
    return finish(rollups, query.aggregation)


async def telemetry_json(db: Db, sensor_id: str, query: TelemetryQuery) -> bytes:
    """The complete response body for `GET .../telemetry`, ready to send as application/json."""
    return encode_entries(await query_telemetry(db, sensor_id, query), query.include)


async def latest_entries(
    db: Db, sensor_ids: Iterable[str], include: Include | None = None
) -> dict[str, dict[str, Any]]:
    """The latest stored sample of each sensor as an entry (sensors without data are absent).

    Each lookup is a backward seek on the primary key, so this stays cheap for a whole site.
    """
    include = include or Include(energy=True)
    keys = await sensor_keys(db, sensor_ids, create=False)
    out: dict[str, dict[str, Any]] = {}
    for sid, key in keys.items():
        batch = await _read_samples(db, key, None, None, newest_only=True)
        if len(batch):
            ts = int(batch.ts[0])
            grid = BucketGrid(np.array([ts, ts + 1], dtype=np.int64), 1)
            rollups = rollup_samples(batch, grid)
            out[sid] = entries_list(finish(rollups, Aggregation.LATEST), include)[0]
    return out


# ---------------------------------------------------------------------------------------------
# repair


async def rebuild_rollups(db: Db, sensor_id: str, start_s: int, end_s: int) -> None:
    """Recompute one sensor's rollups over `[start_s, end_s)` (widened to whole hours) from raw
    rows: the repair path after raw rows were deleted or edited outside `write_samples`."""
    keys = await sensor_keys(db, [sensor_id], create=False)
    if sensor_id not in keys:
        return
    key = keys[sensor_id]
    span = uniform_grid(start_s, end_s, _ALIGN)
    start, end = span.start_s, span.end_s
    batch = await _read_samples(db, key, start, end)
    for step, table in ROLLUP_TABLES.items():
        await db.execute(
            delete(table).where(
                table.c.sensor_key == key, table.c.bucket >= start, table.c.bucket < end
            )
        )
        rollups = rollup_samples(batch, uniform_grid(start, end, step))
        if len(rollups):
            keys_col = np.full(len(rollups), key, dtype=np.int64)
            await db.execute(table.insert(), _rollup_rows(keys_col, rollups))


async def delete_samples(db: Db, sensor_id: str, start_s: int, end_s: int) -> int:
    """Delete one sensor's samples in `[start_s, end_s)` and repair the rollups they fed."""
    keys = await sensor_keys(db, [sensor_id], create=False)
    if sensor_id not in keys:
        return 0
    result = await db.execute(
        delete(telemetry_sample).where(
            _S.sensor_key == keys[sensor_id], _S.ts >= start_s, _S.ts < end_s
        )
    )
    await rebuild_rollups(db, sensor_id, start_s, end_s)
    return int(getattr(result, "rowcount", 0) or 0)
