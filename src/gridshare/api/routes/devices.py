"""Devices (`/api/v1/devices`, `/api/v2/devices`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from gridshare.api.deps import requires
from gridshare.auth.scopes import DEVICE_READ
from gridshare.auth.tokens import AccessToken

router = APIRouter(tags=["devices"])

DeviceReader = Annotated[AccessToken, Depends(requires(DEVICE_READ))]


@router.get("/api/v1/devices")
async def list_devices_v1(token: DeviceReader) -> dict[str, list[dict[str, str]]]:
    """The homeowner's devices. (Homes arrive with the customer API; until then: none.)"""
    return {"entries": []}
