"""Sites and their topology (`/api/v2/sites...`, and the v1 list)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from gridshare.api.deps import DeviceReader
from gridshare.api.schemas import SiteDetail, SiteList, Topology, error_responses
from gridshare.deps import Homes
from gridshare.homes.sites import site_resource
from gridshare.homes.topology import build_topology

router = APIRouter(tags=["sites"])

SiteId = Annotated[str, Path(max_length=100, description="A site id from the sites list.")]
READ_ERRORS = error_responses(401, 403, 429)


@router.get("/api/v2/sites", response_model=SiteList, responses=READ_ERRORS)
async def list_sites(caller: DeviceReader, homes: Homes) -> dict[str, Any]:
    """The homeowner's sites (ids only). Scope: `lunar/device.read`."""
    return {"entries": [{"siteId": s} for s in await homes.site_ids(caller)]}


@router.get("/api/v1/sites", response_model=SiteList, responses=READ_ERRORS)
async def list_sites_v1(caller: DeviceReader, homes: Homes) -> dict[str, Any]:
    """v1 sibling of `GET /api/v2/sites`. Scope: `lunar/device.read`."""
    return await list_sites(caller, homes)


@router.get(
    "/api/v2/sites/{siteId}",
    response_model=SiteDetail,
    responses=error_responses(401, 403, 404, 429),
)
async def get_site(siteId: SiteId, caller: DeviceReader, homes: Homes) -> dict[str, Any]:
    """Address, site reference, time zone, tariff ids. Scope: `lunar/device.read`."""
    stored = await homes.site(caller, siteId)
    return site_resource(stored.site)


@router.get(
    "/api/v2/sites/{siteId}/topology",
    response_model=Topology,
    response_model_exclude_none=True,
    responses=error_responses(400, 401, 403, 404, 429),
)
async def get_topology(
    siteId: SiteId,
    caller: DeviceReader,
    homes: Homes,
    compact: Annotated[
        bool, Query(description="Fold battery blocks and PV optimisers into their parent.")
    ] = True,
) -> dict[str, Any]:
    """The site's devices and sensors; every sensor id is a telemetry `synthId`.
    Scope: `lunar/device.read`."""
    stored = await homes.site(caller, siteId)
    topology: dict[str, Any] = build_topology(stored.site, compact=compact).to_json()
    return topology
