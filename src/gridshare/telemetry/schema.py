"""Telemetry tables: compact raw 1-minute samples plus 15-minute and 1-hour rollups.

Why this shape (docs/telemetry.md has the measurements):

* Rows are keyed by a small integer sensor key and integer epoch seconds, not by the synthId
  string and a timestamp type: the key is 2-3 bytes in SQLite's varint encoding instead of a
  ~40-byte string repeated on every row, and integer comparisons are the cheapest seek.
* The primary key `(sensor_key, ts)` is the only index. On SQLite the tables are `WITHOUT
  ROWID`, so rows live in that B-tree (clustered): a one-sensor range is one seek plus a
  sequential read, and there is no second copy of the key. On PostgreSQL the primary key B-tree
  gives the same seek.
* Values are stored in integer units (milliwatts, thousandths of a percent) so rollup sums are
  exact and merging rollups equals aggregating raw samples.
* No foreign keys on the hot tables: each would cost a lookup (and on PostgreSQL a row lock on
  the sensor) per inserted sample; sensors are never deleted except through the store.
* Rollups: 15 minutes (serves PT15M, PT30M, and P1D in any zone whose midnight falls on a
  quarter hour, i.e. every zone in use since 1972) and 1 hour (PT1H, and P1D in whole-hour
  zones, at 1/60 of the raw rows).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
)

from gridshare.storage.base import Base

metadata = Base.metadata

telemetry_sensor = Table(
    "telemetry_sensor",
    metadata,
    Column("sensor_key", Integer, primary_key=True, autoincrement=True),
    Column("sensor_id", String(200), nullable=False, unique=True),
    comment="Maps a sensor synthId to the small integer key used by the telemetry tables.",
)

telemetry_sample = Table(
    "telemetry_sample",
    metadata,
    Column("sensor_key", Integer, nullable=False),
    Column("ts", BigInteger, nullable=False, comment="epoch seconds, UTC"),
    Column("power_mw", BigInteger, nullable=False, comment="milliwatts, + into the device"),
    Column("soc_mpct", Integer, nullable=True, comment="state of charge, 0.001 %"),
    Column("state", SmallInteger, nullable=True, comment="code in telemetry.states"),
    Column("energy_inc_wh", Double, nullable=True, comment="lifetime energy in, Wh"),
    Column("energy_dec_wh", Double, nullable=True, comment="lifetime energy out, Wh (<= 0)"),
    PrimaryKeyConstraint("sensor_key", "ts"),
    sqlite_with_rowid=False,
    comment="Raw 1-minute samples; rows are immutable (first write wins).",
)


def _rollup_table(name: str, seconds: int) -> Table:
    return Table(
        name,
        metadata,
        Column("sensor_key", Integer, nullable=False),
        Column("bucket", BigInteger, nullable=False, comment="bucket start, epoch seconds"),
        Column("n", Integer, nullable=False),
        Column("power_sum_mw", BigInteger, nullable=False),
        Column("soc_n", Integer, nullable=False),
        Column("soc_sum_mpct", BigInteger, nullable=False),
        Column("last_ts", BigInteger, nullable=False),
        Column("last_power_mw", BigInteger, nullable=False),
        Column("last_soc_mpct", Integer, nullable=True),
        Column("last_state", SmallInteger, nullable=True),
        Column("last_energy_inc_wh", Double, nullable=True),
        Column("last_energy_dec_wh", Double, nullable=True),
        PrimaryKeyConstraint("sensor_key", "bucket"),
        sqlite_with_rowid=False,
        comment=f"{seconds}-second rollups of telemetry_sample, maintained on write.",
    )


telemetry_rollup_15m = _rollup_table("telemetry_rollup_15m", 900)
telemetry_rollup_1h = _rollup_table("telemetry_rollup_1h", 3600)

ROLLUP_TABLES: Final[dict[int, Table]] = {900: telemetry_rollup_15m, 3600: telemetry_rollup_1h}
"""Rollup tables by bucket length in seconds."""

TELEMETRY_TABLES: Final = (
    telemetry_sensor,
    telemetry_sample,
    telemetry_rollup_15m,
    telemetry_rollup_1h,
)
