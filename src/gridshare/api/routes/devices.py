"""Devices (`/api/v2/devices...`, and the v1 list)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path
from starlette.requests import Request
from starlette.responses import Response

from gridshare.api.body import json_body
from gridshare.api.deps import DeviceReader, DeviceWriter, json_response
from gridshare.api.schemas import DeviceDetail, DeviceList, error_responses
from gridshare.deps import Homes

router = APIRouter(tags=["devices"])

SynthId = Annotated[str, Path(max_length=200, description="A device or sensor id.")]


@router.get("/api/v2/devices", response_model=DeviceList, responses=error_responses(401, 403, 429))
async def list_devices(request: Request, caller: DeviceReader, homes: Homes) -> Response:
    """Every device of every site of the homeowner. Scope: `lunar/device.read`."""
    body = {"entries": [{"synthId": d} for d in await homes.device_ids(caller)]}
    return json_response(request, orjson.dumps(body))


@router.get("/api/v1/devices", response_model=DeviceList, responses=error_responses(401, 403, 429))
async def list_devices_v1(request: Request, caller: DeviceReader, homes: Homes) -> Response:
    """v1 sibling of `GET /api/v2/devices`. Scope: `lunar/device.read`."""
    return await list_devices(request, caller, homes)


@router.get(
    "/api/v2/devices/{synthId}",
    response_model=DeviceDetail,
    responses=error_responses(401, 403, 404, 429),
)
async def get_device(synthId: SynthId, caller: DeviceReader, homes: Homes) -> dict[str, Any]:
    """A device's static properties. Scope: `lunar/device.read`."""
    return await homes.device(caller, synthId)


@router.patch(
    "/api/v2/devices/{synthId}",
    response_model=DeviceDetail,
    responses=error_responses(400, 401, 403, 404, 413, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/DevicePatchBody"}},
                "application/merge-patch+json": {
                    "schema": {"$ref": "#/components/schemas/DevicePatchBody"}
                },
            },
        }
    },
)
async def patch_device(
    synthId: SynthId, request: Request, caller: DeviceWriter, homes: Homes
) -> dict[str, Any]:
    """JSON merge-patch of the mutable fields (`name`); anything else is a 400.
    Scope: `lunar/device.write`."""
    body = await json_body(request)
    return await homes.patch_device(caller, synthId, body)
