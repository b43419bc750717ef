"""Aggregation: means and last values per bucket, and rollups that merge exactly."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridshare.telemetry.aggregate import (
    MISSING,
    SampleBatch,
    aggregate_samples,
    finish,
    merge_rollups,
    rollup_samples,
)
from gridshare.telemetry.buckets import BucketGrid, local_day_grid, uniform_grid
from gridshare.telemetry.resolution import Aggregation, Resolution
from gridshare.telemetry.states import NO_STATE, STATE_WORDS, state_code, state_word

T0 = 1_774_742_400  # 2026-03-29T00:00:00Z, London's spring-forward day
SPAN = 3 * 86_400
ZONES = ["UTC", "Europe/London", "America/Los_Angeles", "Asia/Kolkata", "Asia/Kathmandu"]


@dataclass
class Raw:
    ts: list[int]
    power: list[float]
    soc: list[float | None]
    state: list[str | None]
    inc: list[float | None]

    def batch(self) -> SampleBatch:
        return SampleBatch.from_measurements(
            self.ts,
            self.power,
            soc_percent=[np.nan if v is None else v for v in self.soc],
            state=self.state,
            energy_Wh_increment=[np.nan if v is None else v for v in self.inc],
        )


@st.composite
def raw_samples(draw: st.DrawFn, max_size: int = 400) -> Raw:
    minutes = draw(
        st.lists(st.integers(0, SPAN // 60 - 1), unique=True, min_size=1, max_size=max_size)
    )
    # one sample per minute at most, at any second within it (writers need not align)
    ts = sorted(T0 + 60 * m + draw(st.integers(0, 59)) for m in minutes)
    n = len(ts)
    power = draw(
        st.lists(
            st.floats(-20_000, 20_000, allow_nan=False, allow_infinity=False),
            min_size=n,
            max_size=n,
        )
    )
    soc = draw(st.lists(st.none() | st.floats(0, 100), min_size=n, max_size=n))
    state = draw(st.lists(st.none() | st.sampled_from(STATE_WORDS), min_size=n, max_size=n))
    inc = draw(st.lists(st.none() | st.floats(0, 1e7), min_size=n, max_size=n))
    return Raw(ts, power, soc, state, inc)


def grid_for(resolution: Resolution, zone: str) -> BucketGrid:
    if resolution.is_daily:
        return local_day_grid(T0, T0 + SPAN, zone)
    return uniform_grid(T0, T0 + SPAN, resolution.seconds)


def members(raw: Raw, grid: BucketGrid) -> dict[int, list[int]]:
    """Sample positions of each bucket, found the slow obvious way."""
    edges = grid.edges.tolist()
    out: dict[int, list[int]] = {}
    for pos, t in enumerate(raw.ts):
        for k in range(len(edges) - 1):
            if edges[k] <= t < edges[k + 1]:
                out.setdefault(edges[k], []).append(pos)
    return out


@settings(max_examples=60, deadline=None)
@given(raw=raw_samples(), resolution=st.sampled_from(list(Resolution)), zone=st.sampled_from(ZONES))
def test_mean_and_latest_match_raw_samples(raw: Raw, resolution: Resolution, zone: str) -> None:
    grid = grid_for(resolution, zone)
    mean = aggregate_samples(raw.batch(), grid, Aggregation.DEFAULT)
    latest = aggregate_samples(raw.batch(), grid, Aggregation.LATEST)
    buckets = members(raw, grid)
    assert mean.timestamp.tolist() == sorted(buckets)
    assert latest.timestamp.tolist() == sorted(buckets)
    for i, start in enumerate(sorted(buckets)):
        rows = buckets[start]
        milliwatts = [round(raw.power[p] * 1000) for p in rows]
        assert mean.power_W[i] == pytest.approx(sum(milliwatts) / len(rows) / 1000, abs=1e-9)
        assert mean.power_W[i] == pytest.approx(
            sum(raw.power[p] for p in rows) / len(rows), abs=6e-4
        )
        socs = [v for v in (raw.soc[p] for p in rows) if v is not None]
        if socs:
            assert mean.soc_percent[i] == pytest.approx(sum(socs) / len(socs), abs=6e-4)
        else:
            assert np.isnan(mean.soc_percent[i])
        last = rows[-1]
        assert latest.power_W[i] == pytest.approx(raw.power[last], abs=5e-4)
        last_soc = raw.soc[last]
        if last_soc is None:
            assert np.isnan(latest.soc_percent[i])
        else:
            assert latest.soc_percent[i] == pytest.approx(last_soc, abs=5e-4)
        for agg in (mean, latest):
            assert state_word(int(agg.state[i])) == raw.state[last]
            inc = raw.inc[last]
            assert (np.isnan(agg.energy_Wh_increment[i]) and inc is None) or (
                agg.energy_Wh_increment[i] == inc
            )


FINE_STEPS = [60, 300, 900, 1800, 3600]


@settings(max_examples=60, deadline=None)
@given(
    raw=raw_samples(),
    resolution=st.sampled_from(list(Resolution)),
    zone=st.sampled_from(ZONES),
    chunks=st.integers(1, 5),
)
def test_rollup_merge_equals_raw_aggregation(
    raw: Raw, resolution: Resolution, zone: str, chunks: int
) -> None:
    batch = raw.batch()
    coarse = grid_for(resolution, zone)
    direct = rollup_samples(batch, coarse)
    for fine_step in FINE_STEPS:
        if not coarse.is_aligned_to(fine_step):
            continue
        fine = rollup_samples(batch, uniform_grid(T0, T0 + SPAN, fine_step))
        merged = merge_rollups(fine, coarse, fine_step=fine_step)
        assert merged.equals(direct), (resolution, zone, fine_step)
        for aggregation in Aggregation:
            a, b = finish(merged, aggregation), finish(direct, aggregation)
            assert np.array_equal(a.power_W, b.power_W)  # bit-for-bit, not approximately
            assert np.array_equal(a.soc_percent, b.soc_percent, equal_nan=True)
            assert np.array_equal(a.state, b.state)
    # Rollups written in several pieces (as a writer does, batch by batch) and then merged
    # bucket by bucket still give the same answer, through two levels.
    cuts = sorted({0, len(batch), *np.linspace(0, len(batch), chunks + 1).astype(int).tolist()})
    hourly_parts = []
    for lo, hi in pairwise(cuts):
        part = SampleBatch(*(getattr(batch, f)[lo:hi] for f in batch.__dataclass_fields__))
        hourly_parts.append(rollup_samples(part, uniform_grid(T0, T0 + SPAN, 900)))
    concatenated = type(direct)(
        *(
            np.concatenate([getattr(p, f) for p in hourly_parts])
            for f in direct.__dataclass_fields__
        )
    )
    quarter = merge_rollups(concatenated, uniform_grid(T0, T0 + SPAN, 900))
    assert quarter.equals(rollup_samples(batch, uniform_grid(T0, T0 + SPAN, 900)))
    if coarse.is_aligned_to(900):
        assert merge_rollups(quarter, coarse, fine_step=900).equals(direct)


@pytest.mark.parametrize("zone", ZONES)
def test_dense_random_data(zone: str) -> None:
    rng = np.random.default_rng(7)
    ts = np.arange(T0, T0 + SPAN, 60)
    ts = ts[rng.random(ts.size) > 0.1]  # with gaps
    power = rng.normal(0, 3000, ts.size)
    soc = np.where(rng.random(ts.size) > 0.05, rng.uniform(0, 100, ts.size), np.nan)
    batch = SampleBatch.from_measurements(
        ts, power, soc_percent=soc, state=rng.integers(-1, 5, ts.size)
    )
    for resolution in Resolution:
        grid = grid_for(resolution, zone)
        direct = rollup_samples(batch, grid)
        for fine_step in FINE_STEPS:
            if grid.is_aligned_to(fine_step):
                fine = rollup_samples(batch, uniform_grid(T0, T0 + SPAN, fine_step))
                assert merge_rollups(fine, grid, fine_step=fine_step).equals(direct)
        mean = finish(direct, Aggregation.DEFAULT)
        idx = grid.index(ts)
        for i, start in enumerate(mean.timestamp.tolist()):
            k = int(np.searchsorted(grid.edges, start))
            mask = idx == k
            assert mean.power_W[i] == pytest.approx(power[mask].mean(), abs=6e-4)
            expected = np.nanmean(soc[mask]) if np.any(~np.isnan(soc[mask])) else np.nan
            assert mean.soc_percent[i] == pytest.approx(expected, abs=6e-4, nan_ok=True)


def test_merge_refuses_rollups_that_do_not_nest() -> None:
    grid = local_day_grid(T0, T0 + SPAN, "Asia/Kolkata")
    fine = rollup_samples(
        SampleBatch.from_measurements([T0], [1.0]), uniform_grid(T0, T0 + 60, 3600)
    )
    with pytest.raises(ValueError, match="nest"):
        merge_rollups(fine, grid, fine_step=3600)


def test_a_known_bucket() -> None:
    batch = SampleBatch.from_measurements(
        [T0 + 60, T0, T0 + 120, T0 + 900, T0 + 60],
        [200.0, 100.0, 300.0, 50.0, 999.0],
        soc_percent=[20.0, np.nan, 40.0, 10.0, 1.0],
        state=["charging", "idle", "discharging", None, "fault"],
        energy_Wh_increment=[2.0, 1.0, 3.0, 4.0, 9.0],
        energy_Wh_decrement=[-1.0, -1.0, -2.0, np.nan, 0.0],
    )
    # sorted, and the repeated T0 + 60 keeps its first sample
    assert batch.ts.tolist() == [T0, T0 + 60, T0 + 120, T0 + 900]
    grid = uniform_grid(T0, T0 + 1800, 900)
    mean = aggregate_samples(batch, grid)
    assert mean.timestamp.tolist() == [T0, T0 + 900]
    assert mean.power_W.tolist() == [200.0, 50.0]
    assert mean.soc_percent.tolist() == [30.0, 10.0]
    assert [state_word(s) for s in mean.state.tolist()] == ["discharging", None]
    assert mean.energy_Wh_increment.tolist() == [3.0, 4.0]
    assert mean.energy_Wh_decrement.tolist()[0] == -2.0
    latest = aggregate_samples(batch, grid, Aggregation.LATEST)
    assert latest.power_W.tolist() == [300.0, 50.0]
    assert latest.soc_percent.tolist() == [40.0, 10.0]


def test_samples_outside_the_grid_are_ignored() -> None:
    batch = SampleBatch.from_measurements([T0 - 60, T0, T0 + 900], [1.0, 2.0, 3.0])
    agg = aggregate_samples(batch, uniform_grid(T0, T0 + 900, 900))
    assert agg.timestamp.tolist() == [T0]
    assert agg.power_W.tolist() == [2.0]


def test_empty() -> None:
    agg = aggregate_samples(SampleBatch.empty(), uniform_grid(T0, T0 + 900, 900))
    assert len(agg) == 0


def test_input_validation() -> None:
    with pytest.raises(ValueError, match="finite"):
        SampleBatch.from_measurements([T0], [np.inf])
    with pytest.raises(ValueError, match=r"0\.\.100"):
        SampleBatch.from_measurements([T0], [1.0], soc_percent=[101.0])
    with pytest.raises(ValueError, match="one value"):
        SampleBatch.from_measurements([T0, T0 + 60], [1.0])
    with pytest.raises(ValueError, match="unknown telemetry state"):
        SampleBatch.from_measurements([T0], [1.0], state=["dancing"])


def test_storage_units() -> None:
    batch = SampleBatch.from_measurements(
        [T0, T0 + 60], [1.2344, -0.0004], soc_percent=[55.5555, np.nan], state=[1, -1]
    )
    assert batch.power_mw.tolist() == [1234, 0]
    assert batch.soc_mpct.tolist() == [55556, MISSING]
    assert batch.state.tolist() == [1, NO_STATE]


def test_state_codes_are_append_only() -> None:
    assert STATE_WORDS[:3] == ("idle", "charging", "discharging")
    assert state_code("charging") == 1
    assert state_code(None) == NO_STATE
    assert state_word(NO_STATE) is None
    assert state_word(999) is None
