"""Tariff price pages: `GET /api/v1/dynamicTariffs/{tariffId}` (the real Partner API's path)
and `GET /api/v2/tariffs/{tariffId}`, one answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from gridshare.api.deps import DeviceReader
from gridshare.api.schemas import TariffPage, error_responses
from gridshare.deps import SiteViewsDep
from gridshare.fleet.service import Caller
from gridshare.fleet.site_views import SiteViews

router = APIRouter(tags=["tariffs"])
RESPONSES = error_responses(400, 401, 403, 404, 429)
TariffId = Annotated[
    str, Path(max_length=100, description="A tariff id named by one of the homeowner's sites.")
]
IntervalParam = Annotated[
    str | None,
    Query(
        max_length=1000,
        description="ISO 8601 interval (as telemetry's); default: the last 7 UTC days.",
    ),
]
NextToken = Annotated[
    str | None,
    Query(max_length=1000, description="From the previous page; wins over `interval`."),
]
DirectionParam = Annotated[
    str | None,
    Query(
        max_length=20,
        description="import or export; default: how the homeowner's first site naming the "
        "tariff uses it (import first).",
    ),
]


async def _page(
    views: SiteViews,
    caller: Caller,
    tariff_id: str,
    interval: str | None,
    next_token: str | None,
    direction: str | None,
) -> dict[str, Any]:
    return await views.tariff(caller, tariff_id, interval, next_token, direction)


@router.get(
    "/api/v2/tariffs/{tariffId}",
    response_model=TariffPage,
    response_model_exclude_none=True,
    responses=RESPONSES,
)
async def tariff_v2(
    tariffId: TariffId,
    caller: DeviceReader,
    views: SiteViewsDep,
    interval: IntervalParam = None,
    nextToken: NextToken = None,
    direction: DirectionParam = None,
) -> dict[str, Any]:
    """A page of at most 7 days of the tariff's prices (runs of equal price, newest first);
    `nextToken` fetches the page before. Scope: `lunar/device.read`."""
    return await _page(views, caller, tariffId, interval, nextToken, direction)


@router.get(
    "/api/v1/dynamicTariffs/{tariffId}",
    response_model=TariffPage,
    response_model_exclude_none=True,
    responses=RESPONSES,
)
async def tariff_v1(
    tariffId: TariffId,
    caller: DeviceReader,
    views: SiteViewsDep,
    interval: IntervalParam = None,
    nextToken: NextToken = None,
    direction: DirectionParam = None,
) -> dict[str, Any]:
    """The real Partner API's path for `GET /api/v2/tariffs/{tariffId}`.
    Scope: `lunar/device.read`."""
    return await _page(views, caller, tariffId, interval, nextToken, direction)
