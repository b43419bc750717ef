"""Site-level views: `currentState`, site `telemetry` by role, monthly `savings`."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from gridshare.api.deps import DeviceReader, json_response
from gridshare.api.routes.sites import SiteId
from gridshare.api.routes.telemetry import Aggregation, Include, Interval, Resolution
from gridshare.api.schemas import CurrentState, Savings, SiteTelemetry, error_responses
from gridshare.deps import SiteViewsDep
from gridshare.telemetry import parse_telemetry_query

router = APIRouter(tags=["sites"])
RESPONSES = error_responses(400, 401, 403, 404, 429)
Roles = Annotated[
    str | None,
    Query(
        max_length=1000,
        description="Comma list of roles (battery, pv, grid, inverter, consumption, ev, "
        "hotWater, block, optimiser); default: every primary stream (no block or optimiser).",
    ),
]


@router.get(
    "/api/v2/sites/{siteId}/currentState",
    response_model=CurrentState,
    responses=RESPONSES,
)
async def current_state(
    siteId: SiteId, request: Request, caller: DeviceReader, views: SiteViewsDep
) -> Response:
    """The newest reading of every primary sensor (channels as in telemetry, counters
    included; the twin's last step) and each controllable device's operation mode; each
    device's `overlayPlan` only when the token also has `lunar/plan.read`.
    Scope: `lunar/device.read`."""
    body = await views.current_state(caller, siteId)
    return json_response(request, orjson.dumps(body))


@router.get("/api/v2/sites/{siteId}/telemetry", response_model=SiteTelemetry, responses=RESPONSES)
async def site_telemetry(
    siteId: SiteId,
    request: Request,
    caller: DeviceReader,
    views: SiteViewsDep,
    interval: Interval = None,
    resolution: Resolution = None,
    include: Include = None,
    aggregation: Aggregation = None,
    roles: Roles = None,
) -> Response:
    """Every primary stream of the site (or those of `roles`), each labelled with its role;
    the same grammar, defaults, errors and per-stream point limit as device telemetry.
    Scope: `lunar/device.read`."""
    site = await views.site(caller, siteId)
    query = parse_telemetry_query(
        interval, resolution, include, aggregation, zone=site.time_zone, api_version=2
    )
    body = await views.telemetry(site, roles, query)
    return json_response(request, orjson.dumps(body))


@router.get("/api/v2/sites/{siteId}/savings", response_model=Savings, responses=RESPONSES)
async def savings(
    siteId: SiteId,
    caller: DeviceReader,
    views: SiteViewsDep,
    interval: Annotated[
        str | None,
        Query(
            max_length=1000,
            description="ISO 8601 interval; every site-local month it touches is listed. "
            "Default: the running month and the 11 before it.",
        ),
    ] = None,
) -> dict[str, Any]:
    """Monthly cost against a consumption-only baseline (all consumption imported at the import
    tariff), from stored telemetry; months in the site's time zone, the running one `partial`.
    Scope: `lunar/device.read`."""
    return await views.savings(caller, siteId, interval)
