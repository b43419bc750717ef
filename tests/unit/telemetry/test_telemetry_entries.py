"""The response body: shape, timestamps, rounding, omitted fields."""

from __future__ import annotations

import numpy as np
import orjson

from gridshare.telemetry.aggregate import Aggregated, SampleBatch, aggregate_samples
from gridshare.telemetry.buckets import uniform_grid
from gridshare.telemetry.entries import (
    EMPTY_RESPONSE,
    encode_entries,
    entries_list,
    format_timestamps,
)
from gridshare.telemetry.resolution import Include

T0 = 1_775_001_600  # 2026-04-01T00:00:00Z


def agg(**columns: list[float] | list[int]) -> Aggregated:
    n = len(columns["power_W"])
    nan = [np.nan] * n
    return Aggregated(
        timestamp=np.array(columns.get("timestamp", [T0 + 900 * i for i in range(n)]), np.int64),
        power_W=np.array(columns["power_W"], np.float64),
        soc_percent=np.array(columns.get("soc_percent", nan), np.float64),
        state=np.array(columns.get("state", [-1] * n), np.int16),
        energy_Wh_increment=np.array(columns.get("inc", nan), np.float64),
        energy_Wh_decrement=np.array(columns.get("dec", nan), np.float64),
    )


def test_timestamps() -> None:
    stamps = format_timestamps(np.array([0, T0, 253_402_214_400], np.int64))
    assert stamps == ["1970-01-01T00:00:00Z", "2026-04-01T00:00:00Z", "9999-12-31T00:00:00Z"]


def test_minimal_entries_have_timestamp_and_power_only() -> None:
    body = orjson.loads(encode_entries(agg(power_W=[1.26, -0.04]), Include()))
    assert body == {
        "entries": [
            {"timestamp": "2026-04-01T00:00:00Z", "power_W": 1.3},
            {"timestamp": "2026-04-01T00:15:00Z", "power_W": 0.0},
        ]
    }
    assert b"-0.0" not in encode_entries(agg(power_W=[-0.04]), Include())


def test_full_entries_in_canonical_key_order() -> None:
    a = agg(
        power_W=[-1500.04, 2.0],
        soc_percent=[55.54, 56.0],
        state=[1, 2],
        inc=[1234.56789, 1240.0],
        dec=[-99.0001, -99.5],
    )
    entries = entries_list(a, Include(energy=True))
    assert list(entries[0]) == [
        "timestamp",
        "power_W",
        "soc_percent",
        "state",
        "energy_Wh_increment",
        "energy_Wh_decrement",
    ]
    assert entries[0] == {
        "timestamp": "2026-04-01T00:00:00Z",
        "power_W": -1500.0,
        "soc_percent": 55.5,
        "state": "charging",
        "energy_Wh_increment": 1234.568,
        "energy_Wh_decrement": -99.0,
    }
    assert "energy_Wh_increment" not in entries_list(a, Include(energy=False))[0]


def test_missing_values_are_left_out_not_null() -> None:
    a = agg(power_W=[1.0, 2.0, 3.0], soc_percent=[np.nan, 50.0, np.nan], state=[-1, -1, 0])
    entries = entries_list(a, Include(energy=True))
    assert entries == [
        {"timestamp": "2026-04-01T00:00:00Z", "power_W": 1.0},
        {"timestamp": "2026-04-01T00:15:00Z", "power_W": 2.0, "soc_percent": 50.0},
        {"timestamp": "2026-04-01T00:30:00Z", "power_W": 3.0, "state": "idle"},
    ]
    assert b"null" not in encode_entries(a, Include(energy=True))


def test_unknown_state_codes_are_left_out() -> None:
    assert entries_list(agg(power_W=[1.0], state=[999]), Include()) == [
        {"timestamp": "2026-04-01T00:00:00Z", "power_W": 1.0}
    ]


def test_empty() -> None:
    assert encode_entries(agg(power_W=[]), Include()) == EMPTY_RESPONSE


def test_round_trip_from_samples() -> None:
    ts = np.arange(T0, T0 + 86_400, 60)
    batch = SampleBatch.from_measurements(
        ts, np.full(ts.size, 100.0), soc_percent=np.full(ts.size, 50.0)
    )
    body = orjson.loads(
        encode_entries(aggregate_samples(batch, uniform_grid(T0, T0 + 86_400, 900)), Include())
    )
    assert len(body["entries"]) == 96
    assert {e["power_W"] for e in body["entries"]} == {100.0}
    assert body["entries"][-1]["timestamp"] == "2026-04-01T23:45:00Z"
