"""Response shapes of the customer API, for validation of what we send and for /openapi.json."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    message: str = Field(description="What went wrong, for a human.")
    code: str = Field(description="Machine-readable reason, e.g. `insufficient_scope`.")


class SiteEntry(BaseModel):
    siteId: str


class SiteList(BaseModel):
    entries: list[SiteEntry]


class Address(BaseModel):
    lines: list[str]
    city: str
    postcode: str
    country: str


class SiteDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    siteId: str
    siteReference: str
    address: Address
    timeZone: str
    importTariffId: str
    exportTariffId: str | None = None


class TopologyNode(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    kind: Literal["site", "device", "sensor"]
    deviceKind: str | None = None
    channels: list[str] | None = None
    maxCapacity_J: float | None = None
    children: list[TopologyNode] | None = None


class Topology(BaseModel):
    root: TopologyNode


class DeviceEntry(BaseModel):
    synthId: str


class DeviceList(BaseModel):
    entries: list[DeviceEntry]


class DeviceDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    synthId: str
    kind: str
    type: str
    siteId: str
    manufacturer: str
    model: str
    serialNumber: str
    name: str
    partners: list[str]


class DevicePatchBody(BaseModel):
    """JSON merge-patch of the mutable fields (only `name`)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


class OperationModeBody(BaseModel):
    mode: Literal["simple", "schedule", "smart", "unknown"]


class OperationModeInput(BaseModel):
    mode: str = Field(description="simple, schedule or smart, in any case.")


class OverlayCommand(BaseModel):
    type: Literal["charge", "idle", "setpoint", "heatWater"]
    durationMinutes: int = Field(ge=1)
    powerW: int | None = Field(
        default=None, description="Required for setpoint; positive = into the device."
    )


class OverlayPlanBody(BaseModel):
    startTime: str | None = Field(default=None, description="ISO 8601 date-time with offset.")
    commands: list[OverlayCommand]


class ScheduleIntent(BaseModel):
    kind: Literal["idle", "charge", "discharge", "balance"]
    socMin: float | None = None
    socMax: float | None = None
    powerW: int | None = None


class ScheduleSlot(BaseModel):
    durationMinutes: int = Field(ge=1)
    intent: ScheduleIntent


class SchedulePlanBody(BaseModel):
    slots: list[ScheduleSlot] = Field(
        description="Back to back from Monday 00:00 site-local; 10,080 minutes in all."
    )


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    words = {
        400: "Malformed input",
        401: "Missing, invalid, expired or revoked token",
        403: "The token lacks the scope this call needs",
        404: "Unknown, or not the homeowner's",
        413: "Body too large",
        422: "Well-formed but impossible",
        429: "Rate limited (see Retry-After)",
    }
    return {s: {"model": ErrorBody, "description": words[s]} for s in statuses}
