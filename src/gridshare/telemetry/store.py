"""Async storage of telemetry: idempotent batched writes that keep rollups current, and reads
that answer a query from the coarsest table that can.

Writes: only the samples that are not stored yet are inserted, and only those are folded into
the rollups with an additive upsert (sums add, the `last_*` values move only to a later
sample). So re-writing a step after a crash changes nothing, two writers commute, and the
rollups equal a recomputation from raw rows. The caller owns the transaction (`async with
engine.begin() as conn:`); samples and rollups commit together. The bulk statements go to the
driver's own connection inside that transaction (SQLAlchemy's per-row parameter handling cost
more than the database's work): on PostgreSQL a binary `COPY` when nothing in the rows' range
is stored yet (the normal case), else, or when a concurrent writer got there first, one `INSERT
... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING` (exact under concurrent
writers), then one array upsert per rollup table; on SQLite the write lock is taken first, the
rows already stored in each sensor's time range are looked up (none, normally), and the rest go
in with `executemany`, rollups likewise. Rollups are summarised in numpy. Measured for the
twin's backfill in docs/benchmarks.md.

Reads: one sensor, one bounded key range of one table (an index seek on the primary key).
When the table's rows are the query's buckets (a rollup of the query's resolution; raw rows at
PT1M) they are fetched as they are; otherwise the database merges them into the query's
buckets (integer sums, and the last source row of each bucket joined back by key: exactly what
merging in numpy would give) and sends one row per bucket, so a year of daily buckets is 366
rows instead of 8,760 (or 35,040) Python tuples. Means are then computed in numpy by `finish`,
the same expression as the in-memory path, so results are bit-for-bit those of aggregating the
raw samples.
"""

# ruff: noqa: S608 - the SQL below is assembled from constant table and column names and
# numbered placeholders only; every value is a bound parameter.
from __future__ import annotations

import functools
import itertools
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final

import asyncpg  # type: ignore[import-untyped]
import numpy as np
from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from gridshare.storage.db import Database
from gridshare.telemetry.aggregate import (
    MISSING,
    Aggregated,
    Rollups,
    SampleBatch,
    finish,
    group_starts,
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
_SAMPLE_COLUMNS_PG: Final = ("sensor_key", *_SAMPLE_COLUMNS)
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
_BATCH_FIELDS: Final = tuple(f.name for f in fields(SampleBatch))
_KEY_FACTOR: Final = 1 << 40


def _dialect(db: Db) -> str:
    name = db.get_bind().dialect.name if isinstance(db, AsyncSession) else db.dialect.name
    if name not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"telemetry storage supports PostgreSQL and SQLite, not {name}")
    return name


def _insert(db: Db, table: Table) -> postgresql.Insert | sqlite.Insert:
    return postgresql.insert(table) if _dialect(db) == "postgresql" else sqlite.insert(table)


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


def _nullable(values: np.ndarray[Any, Any], missing: np.ndarray[Any, Any]) -> Iterable[Any]:
    """A column as Python values with None where `missing`; cheap when none or all are."""
    if not bool(missing.any()):
        return values.tolist()  # type: ignore[no-any-return]
    if bool(missing.all()):
        return itertools.repeat(None, values.size)
    out: list[Any] = values.tolist()
    for i in np.flatnonzero(missing).tolist():
        out[i] = None
    return out


@dataclass(frozen=True, slots=True)
class _Rows:
    """Samples of many sensors as flat columns, sorted by (sensor key, ts), storage units."""

    key: Int64Array
    batch: SampleBatch

    def __len__(self) -> int:
        return int(self.key.size)

    def select(self, keep: np.ndarray[Any, np.dtype[np.bool_]]) -> _Rows:
        b = self.batch
        return _Rows(
            self.key[keep],
            SampleBatch(
                b.ts[keep],
                b.power_mw[keep],
                b.soc_mpct[keep],
                b.state[keep],
                b.energy_inc_wh[keep],
                b.energy_dec_wh[keep],
            ),
        )

    def codes(self) -> Int64Array:
        return _code(self.key, self.batch.ts)

    def columns(self) -> list[Iterable[Any]]:
        """Driver parameters, one Python column each (None for missing values)."""
        b = self.batch
        return [
            self.key.tolist(),
            b.ts.tolist(),
            b.power_mw.tolist(),
            _nullable(b.soc_mpct, b.soc_mpct == MISSING),
            _nullable(b.state, b.state == NO_STATE),
            _nullable(b.energy_inc_wh, np.isnan(b.energy_inc_wh)),
            _nullable(b.energy_dec_wh, np.isnan(b.energy_dec_wh)),
        ]


def _code(key: Int64Array, ts: Int64Array) -> Int64Array:
    """One int64 per (sensor key, ts): unique while |ts| < 2^39 s (the year 19391)."""
    return key * _KEY_FACTOR + ts


def _concat(
    order: Sequence[str], keys: Mapping[str, int], batches: Mapping[str, SampleBatch]
) -> _Rows:
    parts = [batches[sid] for sid in order]
    key = np.concatenate([np.full(len(batches[sid]), keys[sid], np.int64) for sid in order])
    columns = (np.concatenate([getattr(b, name) for b in parts]) for name in _BATCH_FIELDS)
    return _Rows(key, SampleBatch(*columns))


async def _driver(db: Db) -> Any:
    """The DB-API driver's own connection (aiosqlite / asyncpg) under `db`'s transaction.

    The bulk paths below talk to it directly: SQLAlchemy's per-row parameter processing costs
    more than the database's own work on a day of samples. They run after a SQLAlchemy
    statement in the same transaction (the sensor lookup), so the transaction has begun.
    """
    conn = await db.connection() if isinstance(db, AsyncSession) else db
    raw = await conn.get_raw_connection()
    return raw.driver_connection


_SAMPLE_INSERT: Final = (
    "INSERT INTO telemetry_sample (sensor_key, ts, power_mw, soc_mpct, state, energy_inc_wh, "
    "energy_dec_wh) "
)


async def _insert_samples_sqlite(db: Db, rows: _Rows) -> _Rows:
    """Insert the rows not stored yet; returns them.

    Exact without RETURNING: the first statement takes SQLite's write lock (held to commit; a
    writer whose snapshot went stale fails with SQLITE_BUSY instead), so the rows found stored
    by the following range reads are exactly those that conflict, and no other writer can add
    any before the plain INSERT of the rest.
    """
    driver = await _driver(db)
    await driver.execute("UPDATE telemetry_sensor SET sensor_key = sensor_key WHERE 0")
    existing = await _existing_sqlite(driver, rows)
    if existing.size:
        rows = rows.select(~np.isin(rows.codes(), existing))
    if len(rows):
        cursor = await driver.executemany(
            _SAMPLE_INSERT + "VALUES (?, ?, ?, ?, ?, ?, ?)", zip(*rows.columns(), strict=True)
        )
        if cursor.rowcount != len(rows):  # pragma: no cover - impossible under the write lock
            raise RuntimeError("telemetry rows changed under the SQLite write lock")
    return rows


async def _existing_sqlite(driver: Any, rows: _Rows) -> Int64Array:
    """Codes (`_code`) of the stored samples in each sensor's time range of `rows`."""
    starts = group_starts(rows.key)
    ends = np.append(starts[1:], len(rows)) - 1
    ranges = list(
        zip(
            rows.key[starts].tolist(),
            rows.batch.ts[starts].tolist(),
            rows.batch.ts[ends].tolist(),
            strict=True,
        )
    )
    found: list[int] = []
    for i in range(0, len(ranges), _CHUNK // 2):
        part = ranges[i : i + _CHUNK // 2]
        sql = " UNION ALL ".join(
            [
                "SELECT sensor_key, ts FROM telemetry_sample "
                "WHERE sensor_key = ? AND ts >= ? AND ts <= ?"
            ]
            * len(part)
        )
        cursor = await driver.execute(sql, [v for r in part for v in r])
        found += [k * _KEY_FACTOR + t for k, t in await cursor.fetchall()]
    return np.array(found, dtype=np.int64)


_PG_SAMPLE_INSERT: Final = (
    "WITH ins AS ("
    + _SAMPLE_INSERT
    + "SELECT * FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::int[], $5::smallint[], "
    "$6::float8[], $7::float8[]) "
    "ON CONFLICT (sensor_key, ts) DO NOTHING RETURNING sensor_key, ts) "
    "SELECT count(*), CASE WHEN count(*) < $8 "
    "THEN array_agg(sensor_key::bigint * 1099511627776 + ts) END FROM ins"
)


_PG_ANY_STORED: Final = (
    "SELECT EXISTS (SELECT 1 FROM telemetry_sample WHERE sensor_key = ANY($1::int[]) "
    "AND ts >= $2 AND ts <= $3)"
)


async def _insert_samples_postgresql(db: Db, rows: _Rows) -> _Rows:
    """Insert the rows not stored yet; returns them.

    Normally none of the rows' range is stored yet (the twin writes each step once): then they
    go in by binary `COPY`, a few times cheaper for the server than an `INSERT ... ON CONFLICT`,
    inside a savepoint. If some are stored, or a concurrent writer stores the same rows first
    (the `COPY` then fails on the primary key and the savepoint is rolled back), the rows go in
    with `ON CONFLICT DO NOTHING` in one statement (arrays through `unnest`), and RETURNING says
    which were really inserted: exact under concurrent writers.
    """
    driver = await _driver(db)
    columns = [list(c) for c in rows.columns()]  # read twice if the COPY is rolled back
    keys = np.unique(rows.key).tolist()
    ts = rows.batch.ts
    if not await driver.fetchval(_PG_ANY_STORED, keys, int(ts.min()), int(ts.max())):
        await driver.execute("SAVEPOINT telemetry_copy")
        try:
            await driver.copy_records_to_table(
                "telemetry_sample", records=zip(*columns, strict=True), columns=_SAMPLE_COLUMNS_PG
            )
        except asyncpg.UniqueViolationError:
            await driver.execute("ROLLBACK TO SAVEPOINT telemetry_copy")
        else:
            await driver.execute("RELEASE SAVEPOINT telemetry_copy")
            return rows
    count, codes = await driver.fetchrow(_PG_SAMPLE_INSERT, *columns, len(rows))
    if count == len(rows):
        return rows
    return rows.select(np.isin(rows.codes(), np.array(codes or [], dtype=np.int64)))


async def write_samples(db: Db, batches: Mapping[str, SampleBatch]) -> int:
    """Insert samples of many sensors and fold the new ones into every rollup table.

    Idempotent: a sample whose `(sensor, ts)` is already stored is skipped (first write wins),
    so a resumed writer may re-send a step. Returns the number of samples inserted. Batch
    generously (a twin step of every sensor, or >= 1,000 rows) to amortise the round trips.
    """
    batches = {sid: batch for sid, batch in batches.items() if len(batch)}
    if not batches:
        return 0
    dialect = _dialect(db)
    keys = await sensor_keys(db, batches, create=True)
    # Rows go in key order (and rollups below too), so concurrent writers on PostgreSQL take
    # their row locks in the same order and cannot deadlock each other.
    order = sorted(batches, key=keys.__getitem__)
    rows = _concat(order, keys, batches)
    if dialect == "postgresql":
        inserted = await _insert_samples_postgresql(db, rows)
    else:
        inserted = await _insert_samples_sqlite(db, rows)
    if len(inserted):
        await _fold_into_rollups(db, inserted)
    return len(inserted)


async def _fold_into_rollups(db: Db, rows: _Rows) -> None:
    """Summarise the inserted rows per rollup bucket (numpy) and add them, one statement per
    table. `rows` are sorted by (sensor key, ts)."""
    for step in ROLLUP_TABLES:
        bucket = rows.batch.ts // step * step
        starts = group_starts(rows.key, bucket)
        rollups = reduce_samples(rows.batch, bucket, starts)
        await _upsert_rollups(db, step, rows.key[starts], rollups)


def _rollup_columns(keys: Int64Array, r: Rollups) -> list[Iterable[Any]]:
    return [
        keys.tolist(),
        r.start.tolist(),
        r.n.tolist(),
        r.power_sum.tolist(),
        r.soc_n.tolist(),
        r.soc_sum.tolist(),
        r.last_ts.tolist(),
        r.last_power.tolist(),
        _nullable(r.last_soc, r.last_soc == MISSING),
        _nullable(r.last_state, r.last_state == NO_STATE),
        _nullable(r.last_inc, np.isnan(r.last_inc)),
        _nullable(r.last_dec, np.isnan(r.last_dec)),
    ]


def _rollup_rows(keys: Int64Array, r: Rollups) -> list[dict[str, Any]]:
    names = ("sensor_key", *_ROLLUP_COLUMNS)
    rows = zip(*_rollup_columns(keys, r), strict=True)
    return [dict(zip(names, row, strict=True)) for row in rows]


def _upsert_sql(table: Table, values: str) -> str:
    """`INSERT ... ON CONFLICT DO UPDATE`: sums add, `last_*` move only to a later sample."""
    columns = ", ".join(("sensor_key", *_ROLLUP_COLUMNS))
    sums = [f"{c} = t.{c} + excluded.{c}" for c in _ROLLUP_SUMS]
    last = [
        f"{c} = CASE WHEN excluded.last_ts > t.last_ts THEN excluded.{c} ELSE t.{c} END"
        for c in _ROLLUP_LAST
    ]
    return (
        f"INSERT INTO {table.name} AS t ({columns}) {values} "
        f"ON CONFLICT (sensor_key, bucket) DO UPDATE SET {', '.join(sums + last)}"
    )


_PG_ROLLUP_TYPES: Final = (
    "int",
    "bigint",
    "int",
    "bigint",
    "int",
    "bigint",
    "bigint",
    "bigint",
    "int",
    "smallint",
    "float8",
    "float8",
)
_UPSERT_SQL: Final = {
    ("sqlite", step): _upsert_sql(table, "VALUES (" + ", ".join(["?"] * 12) + ")")
    for step, table in ROLLUP_TABLES.items()
} | {
    ("postgresql", step): _upsert_sql(
        table,
        "SELECT * FROM unnest("
        + ", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(_PG_ROLLUP_TYPES))
        + ")",
    )
    for step, table in ROLLUP_TABLES.items()
}


async def _upsert_rollups(db: Db, step: int, keys: Int64Array, r: Rollups) -> None:
    driver = await _driver(db)
    columns = _rollup_columns(keys, r)
    if _dialect(db) == "postgresql":
        await driver.execute(_UPSERT_SQL["postgresql", step], *(list(c) for c in columns))
    else:
        await driver.executemany(_UPSERT_SQL["sqlite", step], zip(*columns, strict=True))


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


@dataclass(frozen=True, slots=True)
class _Source:
    """A table read as rollup rows: its time column and each rollup field's expression, as a
    group aggregate (`sums`) and for the last row of a group (`last`)."""

    table: str
    time: str
    sums: tuple[str, str, str, str]  # n, power_sum, soc_n, soc_sum
    last: tuple[str, ...]  # last_ts, last_power, last_soc, last_state, last_inc, last_dec


_RAW: Final = _Source(
    "telemetry_sample",
    "ts",
    ("count(*)", "sum(power_mw)", "count(soc_mpct)", "coalesce(sum(soc_mpct), 0)"),
    ("ts", "power_mw", "soc_mpct", "state", "energy_inc_wh", "energy_dec_wh"),
)
_ROLLUP_SOURCES: Final = {
    step: _Source(
        table.name,
        "bucket",
        ("sum(n)", "sum(power_sum_mw)", "sum(soc_n)", "sum(soc_sum_mpct)"),
        _ROLLUP_LAST,
    )
    for step, table in ROLLUP_TABLES.items()
}


def _placeholder(dialect: str, n: int) -> str:
    """Numbered parameter `n` (from 1): `$n` for asyncpg, `?n` for SQLite."""
    return f"${n}" if dialect == "postgresql" else f"?{n}"


def _key_sql(dialect: str, by_id: bool) -> str:
    """Parameter 1 as the sensor key: the key itself, or looked up from the sensor's synthId
    (a constant subquery: one statement answers a query, no separate key lookup)."""
    p1 = _placeholder(dialect, 1)
    return f"(SELECT sensor_key FROM telemetry_sensor WHERE sensor_id = {p1})" if by_id else p1


def _grouped_sql(
    source: _Source, dialect: str, grid: BucketGrid, key: str, last_cols: Sequence[str]
) -> tuple[str, list[Any]]:
    """One row per grid bucket with data, computed by the database: integer sums (exact) and
    the bucket's last source row (the one at its greatest time, joined back by key).

    Uniform grids group by `time - time % step`; local-day grids by the bucket each time falls
    in: PostgreSQL's `width_bucket` over the array of bucket starts, SQLite a join with the
    bucket edges passed as one JSON parameter (an index seek per bucket). Either way the rows
    are what `merge_rollups` / `rollup_samples` compute from the source rows, without turning
    every source row into Python objects. Parameter 1 is the sensor key, 2 and 3 the grid's start
    and end; the returned parameters (from 2) follow it.
    """
    pg = dialect == "postgresql"
    p = functools.partial(_placeholder, dialect)
    cast = "::bigint" if pg else ""
    sums = ", ".join(f"{expr}{cast} AS s{i}" for i, expr in enumerate(source.sums))
    last = ", ".join(f"r.{c}" for c in last_cols)
    t, table = source.time, source.table
    params: list[Any] = [grid.start_s, grid.end_s]
    prefix = ""

    def in_range(alias: str = "") -> str:
        return f"{alias}sensor_key = {key} AND {alias}{t} >= {p(2)} AND {alias}{t} < {p(3)}"

    if grid.step is not None:
        inner = (
            f"SELECT {t} - {t} % {int(grid.step)} AS b, {sums}, max({t}) AS lt "
            f"FROM {table} WHERE {in_range()} GROUP BY 1"
        )
    elif pg:
        params.append(grid.edges[:-1].tolist())
        inner = (
            f"SELECT ({p(4)}::bigint[])[width_bucket({t}, {p(4)}::bigint[])] AS b, {sums}, "
            f"max({t}) AS lt FROM {table} WHERE {in_range()} "
            f"GROUP BY width_bucket({t}, {p(4)}::bigint[])"
        )
    else:
        # one parameter (a JSON array of [start, end] pairs) whatever the number of days;
        # MATERIALIZED, or the JSON would be re-read for every joined row
        pairs = np.column_stack((grid.edges[:-1], grid.edges[1:])).tolist()
        params.append(json.dumps(pairs, separators=(",", ":")))
        prefix = (
            "WITH e(lo, hi) AS MATERIALIZED (SELECT json_extract(value, '$[0]'), "
            f"json_extract(value, '$[1]') FROM json_each({p(4)})) "
        )
        inner = (
            f"SELECT e.lo AS b, {sums}, max(s.{t}) AS lt FROM e "
            f"JOIN {table} s ON s.sensor_key = {key} AND s.{t} >= e.lo AND s.{t} < e.hi "
            "GROUP BY e.lo"
        )
    sql = prefix + (
        f"SELECT g.b, g.s0, g.s1, g.s2, g.s3, {last} FROM ({inner}) AS g "
        f"JOIN {table} r ON {in_range('r.')} AND r.{t} = g.lt ORDER BY g.b"
    )
    return sql, params


def _direct_sql(source: _Source, dialect: str, key: str, last_cols: Sequence[str]) -> str:
    """Rollup rows as they are stored (when their buckets are the grid's)."""
    p = functools.partial(_placeholder, dialect)
    columns = ", ".join(("bucket", *_ROLLUP_SUMS, *last_cols))
    return (
        f"SELECT {columns} FROM {source.table} "
        f"WHERE sensor_key = {key} AND bucket >= {p(2)} AND bucket < {p(3)} ORDER BY bucket"
    )


def _optional_int(col: Sequence[Any], missing: int) -> Int64Array:
    """Integers with NULL (None) as `missing`."""
    if None not in col:
        return np.array(col, dtype=np.int64)
    return np.array([missing if v is None else v for v in col], dtype=np.int64)


def _rollups_from_rows(rows: Sequence[Sequence[Any]], means_only: bool = False) -> Rollups:
    """Rollups from driver rows (bucket, 4 sums, then the 6 last values, or with `means_only`
    just last state and counters), NULL meaning missing.

    `means_only` rows lack the last sample's time, power and state of charge, which only
    `latest` reads: those columns come back as zeros, so such rollups are for `finish(...,
    DEFAULT)` only, never to merge or store.
    """
    if not rows:
        return Rollups.empty()
    cols = list(zip(*rows, strict=True))
    start, n, power_sum, soc_n, soc_sum = (np.array(col, dtype=np.int64) for col in cols[:5])
    if means_only:
        zeros = np.zeros(len(rows), dtype=np.int64)
        last_ts, last_power, last_soc = zeros, zeros, zeros
        state, inc, dec = cols[5:]
    else:
        last_ts, last_power = (np.array(col, dtype=np.int64) for col in cols[5:7])
        last_soc = _optional_int(cols[7], MISSING)
        state, inc, dec = cols[8:]
    return Rollups(
        start,
        n,
        power_sum,
        soc_n,
        soc_sum,
        last_ts,
        last_power,
        last_soc,
        _optional_int(state, NO_STATE).astype(np.int16),
        np.array(inc, dtype=np.float64),  # None -> NaN
        np.array(dec, dtype=np.float64),
    )


def _raw_sql(dialect: str, key: str) -> str:
    """Raw samples in time order (for grids as fine as the samples)."""
    p = functools.partial(_placeholder, dialect)
    return (
        "SELECT ts, power_mw, soc_mpct, state, energy_inc_wh, energy_dec_wh "
        f"FROM telemetry_sample WHERE sensor_key = {key} AND ts >= {p(2)} AND ts < {p(3)} "
        "ORDER BY ts"
    )


def _batch_from_rows(rows: Sequence[Sequence[Any]]) -> SampleBatch:
    if not rows:
        return SampleBatch.empty()
    ts, power, soc, state, inc, dec = zip(*rows, strict=True)
    return SampleBatch(
        np.array(ts, dtype=np.int64),
        np.array(power, dtype=np.int64),
        _optional_int(soc, MISSING),
        _optional_int(state, NO_STATE).astype(np.int16),
        np.array(inc, dtype=np.float64),  # None -> NaN
        np.array(dec, dtype=np.float64),
    )


async def _fetch(db: Db, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
    """Rows of a query through the driver (tuples from SQLite, records from asyncpg)."""
    driver = await _driver(db)
    if _dialect(db) == "postgresql":
        rows: Sequence[Sequence[Any]] = await driver.fetch(sql, *params)
        return rows
    cursor = await driver.execute(sql, list(params))
    rows = await cursor.fetchall()
    return rows


async def read_bucket_rollups(db: Db, sensor: int | str, grid: BucketGrid) -> Rollups:
    """Rollups of one sensor (its key, or its synthId: unknown has no rows) over `grid`, from
    the coarsest table that nests in it.

    Rows are read as they are stored when they are about as many as the grid's buckets (a
    rollup table whose buckets are the grid's; raw samples at PT1M), else merged into grid
    buckets by the database, which sends one row per bucket with data.
    """
    return await _read_buckets(db, sensor, grid)


@dataclass(frozen=True, slots=True)
class _ReadPlan:
    """One statement answering a grid: its SQL and parameters, and how its rows become rollups
    (raw samples rolled up into `raw_grid`, or rollup rows as they come, `means_only` or not)."""

    sql: str
    params: list[Any]
    raw_grid: BucketGrid | None
    means_only: bool = False

    def rollups(self, rows: Sequence[Sequence[Any]]) -> Rollups:
        if self.raw_grid is not None:
            return rollup_samples(_batch_from_rows(rows), self.raw_grid)
        return _rollups_from_rows(rows, self.means_only)


#: The last-sample columns `finish` reads for means: state and counters (a third fewer values
#: to fetch than with the last time, power and state of charge, which only `latest` needs).
_MEANS_LAST: Final = slice(3, 6)


def _read_plan(
    dialect: str, sensor: int | str, grid: BucketGrid, aggregation: Aggregation | None = None
) -> _ReadPlan:
    """How to read `grid`: everything, or (given `aggregation` DEFAULT) only what its means need."""
    key = _key_sql(dialect, by_id=isinstance(sensor, str))
    step = choose_rollup(grid)
    bounds = [sensor, grid.start_s, grid.end_s]
    if step is None and grid.step is not None and grid.step <= 60:
        return _ReadPlan(_raw_sql(dialect, key), bounds, grid)
    source = _RAW if step is None else _ROLLUP_SOURCES[step]
    means_only = aggregation is Aggregation.DEFAULT
    last_cols = source.last[_MEANS_LAST] if means_only else source.last
    if step is not None and grid.step == step:
        return _ReadPlan(_direct_sql(source, dialect, key, last_cols), bounds, None, means_only)
    sql, params = _grouped_sql(source, dialect, grid, key, last_cols)
    return _ReadPlan(sql, [sensor, *params], None, means_only)


async def _read_buckets(
    db: Db, sensor: int | str, grid: BucketGrid, aggregation: Aggregation | None = None
) -> Rollups:
    """`read_bucket_rollups` for a sensor key, or a synthId (unknown: no rows)."""
    plan = _read_plan(_dialect(db), sensor, grid, aggregation)
    return plan.rollups(await _fetch(db, plan.sql, plan.params))


async def query_telemetry(db: Db, sensor_id: str, query: TelemetryQuery) -> Aggregated:
    """Bucket values of one sensor for a parsed query; an unknown sensor has no entries."""
    rollups = await _read_buckets(db, sensor_id, query.grid, query.aggregation)
    return finish(rollups, query.aggregation)


async def telemetry_json(db: Db, sensor_id: str, query: TelemetryQuery) -> bytes:
    """The complete response body for `GET .../telemetry`, ready to send as application/json."""
    return encode_entries(await query_telemetry(db, sensor_id, query), query.include)


def telemetry_json_sqlite(conn: sqlite3.Connection, sensor_id: str, query: TelemetryQuery) -> bytes:
    """`telemetry_json` on a plain sqlite3 connection, synchronously (for a worker thread):
    the same statement and the same conversion, without the async driver's hand-overs."""
    plan = _read_plan("sqlite", sensor_id, query.grid, query.aggregation)
    rollups = plan.rollups(conn.execute(plan.sql, plan.params).fetchall())
    return encode_entries(finish(rollups, query.aggregation), query.include)


async def telemetry_body(database: Database, sensor_id: str, query: TelemetryQuery) -> bytes:
    """The response body of a telemetry query, read the fastest way `database` offers: on a
    SQLite file, whole in a worker thread (see `gridshare.storage.sqlite_reads`)."""
    pool = database.read_pool
    if pool is not None:
        return await pool.run(
            functools.partial(telemetry_json_sqlite, sensor_id=sensor_id, query=query)
        )
    async with database.read() as session:
        return await telemetry_json(session, sensor_id, query)


def _latest_sql(dialect: str, count: int) -> str:
    """The newest sample of each of `count` sensors, named by synthId, in one statement: per
    sensor a backward seek on the primary key (`max(ts)` of one key is an index lookup on
    both databases), so a whole site costs about what one sensor does."""
    p = functools.partial(_placeholder, dialect)
    ids = ", ".join(p(i + 1) for i in range(count))
    return (
        "SELECT s.sensor_id, t.ts, t.power_mw, t.soc_mpct, t.state, t.energy_inc_wh, "
        "t.energy_dec_wh FROM telemetry_sensor s JOIN telemetry_sample t "
        "ON t.sensor_key = s.sensor_key AND t.ts = "
        "(SELECT max(ts) FROM telemetry_sample m WHERE m.sensor_key = s.sensor_key) "
        f"WHERE s.sensor_id IN ({ids})"
    )


def _latest_from_rows(rows: Sequence[Sequence[Any]], include: Include) -> dict[str, dict[str, Any]]:
    """Entries from `_latest_sql` rows: each sample as the `latest` aggregate of the one-minute
    bucket holding it, i.e. exactly that sensor's last `PT1M` bucket under `aggregation=latest`
    (and under the default mean too, with the twin's one sample per minute)."""
    out: dict[str, dict[str, Any]] = {}
    for sensor_id, *sample in rows:
        batch = _batch_from_rows([sample])
        start = int(batch.ts[0]) // 60 * 60
        grid = BucketGrid(np.array([start, start + 60], dtype=np.int64), 60)
        rollups = rollup_samples(batch, grid)
        out[str(sensor_id)] = entries_list(finish(rollups, Aggregation.LATEST), include)[0]
    return out


def _entries_many_sqlite(
    conn: sqlite3.Connection, sensor_ids: Sequence[str], query: TelemetryQuery
) -> list[list[dict[str, Any]]]:
    out = []
    for sensor_id in sensor_ids:
        plan = _read_plan("sqlite", sensor_id, query.grid, query.aggregation)
        rollups = plan.rollups(conn.execute(plan.sql, plan.params).fetchall())
        out.append(entries_list(finish(rollups, query.aggregation), query.include))
    return out


async def telemetry_entries_many(
    database: Database, sensor_ids: Sequence[str], query: TelemetryQuery
) -> list[list[dict[str, Any]]]:
    """The `entries` of one query for several sensors (in `sensor_ids` order): per sensor the
    same statement as `telemetry_json`, all read in one worker-thread call on SQLite and in one
    session elsewhere."""
    pool = database.read_pool
    if pool is not None:
        return await pool.run(
            functools.partial(_entries_many_sqlite, sensor_ids=sensor_ids, query=query)
        )
    async with database.read() as session:
        return [
            entries_list(await query_telemetry(session, sid, query), query.include)
            for sid in sensor_ids
        ]


async def counters_before(db: Db, sensor_id: str, at_s: int) -> tuple[float, float]:
    """A sensor's lifetime counters (increment, decrement) as of its last sample before the
    quarter hour holding `at_s`, read from the 15-minute rollups (never pruned); (0, 0) before
    its first sample, where the twin's counters start. A missing counter reads 0."""
    table = ROLLUP_TABLES[900]
    key = (
        select(telemetry_sensor.c.sensor_key)
        .where(telemetry_sensor.c.sensor_id == sensor_id)
        .scalar_subquery()
    )
    row = (
        await db.execute(
            select(table.c.last_energy_inc_wh, table.c.last_energy_dec_wh)
            .where(table.c.sensor_key == key, table.c.bucket < at_s // 900 * 900)
            .order_by(table.c.bucket.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return 0.0, 0.0
    return float(row[0] or 0.0), float(row[1] or 0.0)


async def latest_entries(
    db: Db, sensor_ids: Iterable[str], include: Include | None = None
) -> dict[str, dict[str, Any]]:
    """The latest stored sample of each sensor as an entry (sensors without data are absent),
    read in one statement per 500 sensors (see `_latest_sql`)."""
    wanted = sorted(set(sensor_ids))
    dialect = _dialect(db)
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        rows = await _fetch(db, _latest_sql(dialect, len(chunk)), chunk)
        out |= _latest_from_rows(rows, include or Include(energy=True))
    return out


def latest_entries_sqlite(
    conn: sqlite3.Connection, sensor_ids: Sequence[str], include: Include
) -> dict[str, dict[str, Any]]:
    """`latest_entries` on a plain sqlite3 connection, synchronously (for a worker thread)."""
    wanted = sorted(set(sensor_ids))
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        rows = conn.execute(_latest_sql("sqlite", len(chunk)), chunk).fetchall()
        out |= _latest_from_rows(rows, include)
    return out


# ---------------------------------------------------------------------------------------------
# repair


async def read_samples(
    db: Db, sensor_id: str, start_s: int = -(2**62), end_s: int = 2**62
) -> SampleBatch:
    """One sensor's stored raw samples in `[start_s, end_s)` (default: all), in time order,
    missing values as the batch's sentinels; an unknown sensor has none. For checks and
    exports (tests, benchmarks), not the API's reads."""
    keys = await sensor_keys(db, [sensor_id], create=False)
    if sensor_id not in keys:
        return SampleBatch.empty()
    return await _read_samples(db, keys[sensor_id], start_s, end_s)


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
