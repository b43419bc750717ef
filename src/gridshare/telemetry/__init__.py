"""Telemetry: query parsing, bucketing, aggregation, rollups, storage and serialisation.

The HTTP layer calls `parse_telemetry_query` then `telemetry_json`; the twin runner builds
`SampleBatch.from_measurements(...)` per sensor and calls `write_samples` inside a transaction.
See docs/telemetry.md.
"""

from gridshare.telemetry.aggregate import (
    Aggregated,
    Rollups,
    SampleBatch,
    aggregate_samples,
    finish,
    merge_rollups,
    rollup_samples,
)
from gridshare.telemetry.buckets import MAX_POINTS, BucketGrid, bucket_count, bucket_grid
from gridshare.telemetry.entries import EMPTY_RESPONSE, encode_entries, entries_list
from gridshare.telemetry.errors import ERROR_CODES, TelemetryQueryError
from gridshare.telemetry.intervals import Interval, parse_interval
from gridshare.telemetry.query import TelemetryQuery, parse_telemetry_query
from gridshare.telemetry.resolution import (
    Aggregation,
    Include,
    Resolution,
    parse_aggregation,
    parse_include,
    parse_resolution,
)
from gridshare.telemetry.states import STATE_WORDS, state_code, state_word
from gridshare.telemetry.store import (
    delete_samples,
    latest_entries,
    query_telemetry,
    rebuild_rollups,
    sensor_keys,
    telemetry_json,
    write_samples,
)

__all__ = [
    "EMPTY_RESPONSE",
    "ERROR_CODES",
    "MAX_POINTS",
    "STATE_WORDS",
    "Aggregated",
    "Aggregation",
    "BucketGrid",
    "Include",
    "Interval",
    "Resolution",
    "Rollups",
    "SampleBatch",
    "TelemetryQuery",
    "TelemetryQueryError",
    "aggregate_samples",
    "bucket_count",
    "bucket_grid",
    "delete_samples",
    "encode_entries",
    "entries_list",
    "finish",
    "latest_entries",
    "merge_rollups",
    "parse_aggregation",
    "parse_include",
    "parse_interval",
    "parse_resolution",
    "parse_telemetry_query",
    "query_telemetry",
    "rebuild_rollups",
    "rollup_samples",
    "sensor_keys",
    "state_code",
    "state_word",
    "telemetry_json",
    "write_samples",
]
