"""One validated telemetry query: the HTTP layer's single entry point for parsing.

Parsing needs the site's time zone because the 10,000-point limit counts `P1D` buckets in
local days, and the grid built here is what the store reads and aggregates over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from gridshare.telemetry.buckets import MAX_POINTS, BucketGrid, bucket_grid, get_zone
from gridshare.telemetry.intervals import Interval, parse_interval
from gridshare.telemetry.resolution import (
    Aggregation,
    Include,
    Resolution,
    parse_aggregation,
    parse_include,
    parse_resolution,
)


@dataclass(frozen=True, slots=True, eq=False)
class TelemetryQuery:
    """A parsed, limit-checked query and the bucket grid that answers it."""

    interval: Interval
    resolution: Resolution
    include: Include
    aggregation: Aggregation
    zone: tzinfo
    grid: BucketGrid


def parse_telemetry_query(
    interval: str | None,
    resolution: str | None = None,
    include: str | None = None,
    aggregation: str | None = None,
    *,
    zone: str | tzinfo = "UTC",
    api_version: int = 2,
    max_points: int = MAX_POINTS,
) -> TelemetryQuery:
    """Validate the raw query-string values; raises `TelemetryQueryError` (an HTTP 400).

    Parameters are checked in order interval, resolution, include, aggregation, then the point
    limit, so a request with several mistakes reports the first.
    """
    parsed_interval = parse_interval(interval, api_version=api_version)
    parsed_resolution = parse_resolution(resolution)
    parsed_include = parse_include(include)
    parsed_aggregation = parse_aggregation(aggregation)
    tz = get_zone(zone)
    grid = bucket_grid(parsed_interval, parsed_resolution, tz, max_points=max_points)
    return TelemetryQuery(
        parsed_interval, parsed_resolution, parsed_include, parsed_aggregation, tz, grid
    )
