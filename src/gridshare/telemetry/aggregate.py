"""Aggregate 1-minute samples into buckets, directly or through mergeable rollups.

Everything goes through one rollup record per bucket (count, integer sums, the last sample),
and an entry is computed from a rollup only at the end (`finish`). Power is kept in integer
milliwatts and state of charge in integer thousandths of a percent, so sums are exact and
merging finer rollups into coarser buckets gives bit-for-bit the same means as aggregating the
raw samples: mean = sum / count, computed by the same expression on both paths.

`state` of a bucket is its last sample's state, for both aggregations: it says what the device
was doing when the bucket closed, and unlike "most frequent" it merges exactly from rollups.
Lifetime energy counters are cumulative, so the last value is right for both aggregations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Final

import numpy as np
import numpy.typing as npt

from gridshare.telemetry.buckets import BucketGrid, IndexArray, Int64Array
from gridshare.telemetry.resolution import Aggregation
from gridshare.telemetry.states import NO_STATE, state_code

Int16Array = npt.NDArray[np.int16]
Float64Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MISSING: Final = int(np.iinfo(np.int64).min)
"""Sentinel in integer columns (state of charge) for "not measured"."""

POWER_SCALE: Final = 1000
"""Stored power unit: milliwatts."""
SOC_SCALE: Final = 1000
"""Stored state-of-charge unit: thousandths of a percent."""


@dataclass(frozen=True, slots=True, eq=False)
class SampleBatch:
    """One sensor's samples, sorted by time with unique timestamps, in storage units.

    Missing values: `soc_mpct == MISSING`, `state == NO_STATE`, NaN energy counters.
    """

    ts: Int64Array
    power_mw: Int64Array
    soc_mpct: Int64Array
    state: Int16Array
    energy_inc_wh: Float64Array
    energy_dec_wh: Float64Array

    def __len__(self) -> int:
        return int(self.ts.size)

    @classmethod
    def from_measurements(
        cls,
        ts: npt.ArrayLike,
        power_W: npt.ArrayLike,
        *,
        soc_percent: npt.ArrayLike | None = None,
        state: Sequence[str | None] | npt.ArrayLike | None = None,
        energy_Wh_increment: npt.ArrayLike | None = None,
        energy_Wh_decrement: npt.ArrayLike | None = None,
    ) -> SampleBatch:
        """Build a batch from API units (W, %, state words or codes, Wh).

        Power and state of charge are rounded to the storage units. Timestamps are sorted and
        a repeated timestamp keeps its first sample, as the database does on conflict.
        """
        ts_arr = np.asarray(ts, dtype=np.int64).reshape(-1)
        n = ts_arr.size
        power = np.asarray(power_W, dtype=np.float64).reshape(-1)
        if power.size != n:
            raise ValueError("power_W must have one value per timestamp")
        if not np.all(np.isfinite(power)):
            raise ValueError("power_W must be finite")
        soc = _optional_float(soc_percent, n, "soc_percent")
        soc_mpct = np.full(n, MISSING, dtype=np.int64)
        measured = ~np.isnan(soc)
        if bool(np.any((soc[measured] < 0) | (soc[measured] > 100))):
            raise ValueError("soc_percent must be within 0..100")
        soc_mpct[measured] = np.rint(soc[measured] * SOC_SCALE).astype(np.int64)
        return cls.from_storage(
            ts_arr,
            np.rint(power * POWER_SCALE).astype(np.int64),
            soc_mpct,
            _state_codes(state, n),
            _optional_float(energy_Wh_increment, n, "energy_Wh_increment"),
            _optional_float(energy_Wh_decrement, n, "energy_Wh_decrement"),
        )

    @classmethod
    def from_storage(
        cls,
        ts: Int64Array,
        power_mw: Int64Array,
        soc_mpct: Int64Array,
        state: Int16Array,
        energy_inc_wh: Float64Array,
        energy_dec_wh: Float64Array,
    ) -> SampleBatch:
        """Build a batch from storage-unit columns, sorting and de-duplicating if needed."""
        columns = (ts, power_mw, soc_mpct, state, energy_inc_wh, energy_dec_wh)
        if any(c.size != ts.size for c in columns):
            raise ValueError("all sample columns must have the same length")
        if ts.size > 1 and not bool(np.all(ts[1:] > ts[:-1])):
            order = np.argsort(ts, kind="stable")
            sorted_ts = ts[order]
            keep = order[np.concatenate(([True], sorted_ts[1:] != sorted_ts[:-1]))]
            columns = tuple(c[keep] for c in columns)  # type: ignore[assignment]
        return cls(*columns)

    @classmethod
    def empty(cls) -> SampleBatch:
        return cls.from_measurements(np.zeros(0, dtype=np.int64), np.zeros(0))


def _optional_float(values: npt.ArrayLike | None, n: int, name: str) -> Float64Array:
    if values is None:
        return np.full(n, np.nan)
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size != n:
        raise ValueError(f"{name} must have one value per timestamp")
    return arr


def _state_codes(values: Sequence[str | None] | npt.ArrayLike | None, n: int) -> Int16Array:
    if values is None:
        return np.full(n, NO_STATE, dtype=np.int16)
    if isinstance(values, Sequence) and not isinstance(values, str | bytes):
        items = list(values)
        if items and all(v is None or isinstance(v, str) for v in items):
            codes = np.asarray([state_code(v) for v in items], dtype=np.int16)
            if codes.size != n:
                raise ValueError("state must have one value per timestamp")
            return codes
    arr = np.asarray(values, dtype=np.int16).reshape(-1)
    if arr.size != n:
        raise ValueError("state must have one value per timestamp")
    return arr


@dataclass(frozen=True, slots=True, eq=False)
class Rollups:
    """Mergeable per-bucket summaries, one row per bucket that has data, sorted by `start`.

    `power_sum` is in milliwatts and `soc_sum` in thousandths of a percent over the `soc_n`
    samples that had a state of charge; `last_*` are the bucket's last sample (at `last_ts`).
    """

    start: Int64Array
    n: Int64Array
    power_sum: Int64Array
    soc_n: Int64Array
    soc_sum: Int64Array
    last_ts: Int64Array
    last_power: Int64Array
    last_soc: Int64Array
    last_state: Int16Array
    last_inc: Float64Array
    last_dec: Float64Array

    def __len__(self) -> int:
        return int(self.start.size)

    @classmethod
    def empty(cls) -> Rollups:
        i64 = np.zeros(0, dtype=np.int64)
        f64 = np.zeros(0, dtype=np.float64)
        return cls(i64, i64, i64, i64, i64, i64, i64, i64, np.zeros(0, np.int16), f64, f64)

    def columns(self) -> dict[str, npt.NDArray[np.generic]]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def equals(self, other: Rollups) -> bool:
        """Exact equality, NaN equal to NaN (used by tests and rebuild checks)."""
        mine, theirs = self.columns(), other.columns()
        return all(np.array_equal(mine[k], theirs[k], equal_nan=k in _FLOAT) for k in mine)


_FLOAT: Final = frozenset({"last_inc", "last_dec"})


def group_starts(*labels: npt.NDArray[np.generic]) -> IndexArray:
    """Indices where a run of equal label tuples begins (rows must be grouped already)."""
    size = labels[0].size
    if size == 0:
        return np.zeros(0, dtype=np.intp)
    change = np.zeros(size, dtype=np.bool_)
    change[0] = True
    for label in labels:
        change[1:] |= label[1:] != label[:-1]
    return np.flatnonzero(change)


def reduce_samples(batch: SampleBatch, bucket_start: Int64Array, starts: IndexArray) -> Rollups:
    """Summarise runs of samples: run `i` is `starts[i]` up to the next start.

    `bucket_start` gives each sample's bucket start; samples must be sorted by time within a run.
    """
    if starts.size == 0:
        return Rollups.empty()
    ends = np.append(starts[1:], batch.ts.size) - 1
    soc_valid = batch.soc_mpct != MISSING
    return Rollups(
        start=bucket_start[starts],
        n=np.diff(np.append(starts, batch.ts.size)).astype(np.int64),
        power_sum=np.add.reduceat(batch.power_mw, starts),
        soc_n=np.add.reduceat(soc_valid.astype(np.int64), starts),
        soc_sum=np.add.reduceat(np.where(soc_valid, batch.soc_mpct, 0), starts),
        last_ts=batch.ts[ends],
        last_power=batch.power_mw[ends],
        last_soc=batch.soc_mpct[ends],
        last_state=batch.state[ends],
        last_inc=batch.energy_inc_wh[ends],
        last_dec=batch.energy_dec_wh[ends],
    )


def reduce_rollups(rollups: Rollups, bucket_start: Int64Array, starts: IndexArray) -> Rollups:
    """Merge runs of rollup rows (sorted by time within a run) into one row each."""
    if starts.size == 0:
        return Rollups.empty()
    ends = np.append(starts[1:], rollups.start.size) - 1
    return Rollups(
        start=bucket_start[starts],
        n=np.add.reduceat(rollups.n, starts),
        power_sum=np.add.reduceat(rollups.power_sum, starts),
        soc_n=np.add.reduceat(rollups.soc_n, starts),
        soc_sum=np.add.reduceat(rollups.soc_sum, starts),
        last_ts=rollups.last_ts[ends],
        last_power=rollups.last_power[ends],
        last_soc=rollups.last_soc[ends],
        last_state=rollups.last_state[ends],
        last_inc=rollups.last_inc[ends],
        last_dec=rollups.last_dec[ends],
    )


def rollup_samples(batch: SampleBatch, grid: BucketGrid) -> Rollups:
    """One rollup per grid bucket that has samples; samples outside the grid are ignored."""
    idx = grid.index(batch.ts)
    inside = idx >= 0
    if not bool(np.all(inside)):
        batch = SampleBatch(*(getattr(batch, f.name)[inside] for f in fields(batch)))
        idx = idx[inside]
    return reduce_samples(batch, grid.edges[idx], group_starts(idx))


def merge_rollups(rollups: Rollups, grid: BucketGrid, *, fine_step: int | None = None) -> Rollups:
    """Merge finer rollups (sorted by start) into the buckets of a coarser grid.

    Each fine bucket must lie inside one coarse bucket; pass `fine_step` to have that checked
    (it holds when every grid edge is a multiple of the fine step). Rows outside are ignored.
    """
    if fine_step is not None and not grid.is_aligned_to(fine_step):
        raise ValueError(f"{fine_step}-second rollups do not nest in this grid")
    idx = grid.index(rollups.start)
    inside = idx >= 0
    if not bool(np.all(inside)):
        rollups = Rollups(*(getattr(rollups, f.name)[inside] for f in fields(rollups)))
        idx = idx[inside]
    return reduce_rollups(rollups, grid.edges[idx], group_starts(idx))


@dataclass(frozen=True, slots=True, eq=False)
class Aggregated:
    """Bucket values in API units, one row per bucket with data, in time order.

    Missing: NaN `soc_percent` / energy counters, `NO_STATE` state.
    """

    timestamp: Int64Array
    power_W: Float64Array
    soc_percent: Float64Array
    state: Int16Array
    energy_Wh_increment: Float64Array
    energy_Wh_decrement: Float64Array

    def __len__(self) -> int:
        return int(self.timestamp.size)


def finish(rollups: Rollups, aggregation: Aggregation) -> Aggregated:
    """Turn rollups into bucket values: means (`default`) or the last sample (`latest`)."""
    if aggregation is Aggregation.LATEST:
        power = rollups.last_power / POWER_SCALE
        has_soc = rollups.last_soc != MISSING
        soc = np.where(has_soc, rollups.last_soc, 0) / SOC_SCALE
    else:
        power = rollups.power_sum / rollups.n / POWER_SCALE
        has_soc = rollups.soc_n > 0
        soc = rollups.soc_sum / np.where(has_soc, rollups.soc_n, 1) / SOC_SCALE
    return Aggregated(
        timestamp=rollups.start,
        power_W=power.astype(np.float64),
        soc_percent=np.where(has_soc, soc, np.nan),
        state=rollups.last_state,
        energy_Wh_increment=rollups.last_inc,
        energy_Wh_decrement=rollups.last_dec,
    )


def aggregate_samples(
    batch: SampleBatch, grid: BucketGrid, aggregation: Aggregation = Aggregation.DEFAULT
) -> Aggregated:
    """Aggregate raw samples over a grid (the same path as rollups, so results agree)."""
    return finish(rollup_samples(batch, grid), aggregation)
