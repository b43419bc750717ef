"""Telemetry (`GET /api/v2/devices/{synthId}/telemetry` and its v1 sibling).

Large answers are encoded straight to JSON bytes by the telemetry layer (orjson on dicts),
skipping Pydantic serialisation on this hot path; the response model is still declared for
/openapi.json.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from gridshare.api.deps import DeviceReader, json_response
from gridshare.api.schemas import error_responses
from gridshare.deps import Telemetry
from gridshare.fleet.service import Caller
from gridshare.fleet.telemetry_reads import TelemetryReads

router = APIRouter(tags=["telemetry"])


class TelemetryEntry(BaseModel):
    timestamp: str
    power_W: float
    soc_percent: float | None = None
    state: str | None = None
    energy_Wh_increment: float | None = None
    energy_Wh_decrement: float | None = None


class TelemetryResponse(BaseModel):
    entries: list[TelemetryEntry]


SynthId = Annotated[str, Path(max_length=200, description="A sensor id from the topology.")]
#: Generous transport bounds only: the telemetry parser enforces the real limits (200 characters
#: for `interval`, 64 for the others) with the documented codes (`malformed_interval`, ...).
_RAW_LIMIT = 1000
Interval = Annotated[
    str | None,
    Query(
        max_length=_RAW_LIMIT,
        description="ISO 8601 interval in UTC: `start/end` or `start/duration` "
        "(v1 also `duration/end`). Required.",
    ),
]
Resolution = Annotated[
    str | None,
    Query(
        max_length=_RAW_LIMIT,
        description="PT1M, PT5M, PT15M (default), PT30M, PT1H or P1D.",
    ),
]
Include = Annotated[
    str | None,
    Query(max_length=_RAW_LIMIT, description="Comma list of `default` and `energy`."),
]
Aggregation = Annotated[
    str | None,
    Query(max_length=_RAW_LIMIT, description="`default` (mean) or `latest`."),
]
RESPONSES = error_responses(400, 401, 403, 404, 429)


async def _telemetry(
    request: Request,
    telemetry: TelemetryReads,
    caller: Caller,
    synth_id: str,
    api_version: int,
    interval: str | None,
    resolution: str | None,
    include: str | None,
    aggregation: str | None,
) -> Response:
    body = await telemetry.device_telemetry(
        caller, synth_id, api_version, interval, resolution, include, aggregation
    )
    return json_response(request, body)


@router.get(
    "/api/v2/devices/{synthId}/telemetry", response_model=TelemetryResponse, responses=RESPONSES
)
async def telemetry_v2(
    synthId: SynthId,
    request: Request,
    caller: DeviceReader,
    telemetry: Telemetry,
    interval: Interval = None,
    resolution: Resolution = None,
    include: Include = None,
    aggregation: Aggregation = None,
) -> Response:
    """A sensor's telemetry, one entry per bucket that has data, in time order; a bare device id
    answers `{"entries": []}`. Scope: `lunar/device.read`."""
    return await _telemetry(
        request, telemetry, caller, synthId, 2, interval, resolution, include, aggregation
    )


@router.get(
    "/api/v1/devices/{synthId}/telemetry", response_model=TelemetryResponse, responses=RESPONSES
)
async def telemetry_v1(
    synthId: SynthId,
    request: Request,
    caller: DeviceReader,
    telemetry: Telemetry,
    interval: Interval = None,
    resolution: Resolution = None,
    include: Include = None,
    aggregation: Aggregation = None,
) -> Response:
    """v1: `synthId` may be a device (its primary sensor) or a sensor; the interval may also be
    `duration/end`. Scope: `lunar/device.read`."""
    return await _telemetry(
        request, telemetry, caller, synthId, 1, interval, resolution, include, aggregation
    )
