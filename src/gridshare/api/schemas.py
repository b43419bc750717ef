"""Response shapes of the customer API, for validation of what we send and for /openapi.json."""

from __future__ import annotations

from datetime import datetime
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
    maxCapacity_J: int | None = Field(
        default=None, description="Summed capacity of the battery blocks, in joules."
    )
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
    """JSON merge-patch of the mutable fields (only `name`); `{}` changes nothing."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        default=None,  # type: ignore[assignment]  # optional, but never null
        min_length=1,
        max_length=100,
        pattern=r"\S",
        description="1 to 100 characters once surrounding spaces are trimmed.",
    )


class OperationModeBody(BaseModel):
    mode: Literal["simple", "schedule", "smart", "unknown"]


class OperationModeInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: str = Field(description="simple, schedule or smart, in any case.")


MAX_ABS_POWER_W = 1_000_000


class OverlayCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["charge", "idle", "setpoint", "heatWater"]
    durationMinutes: int = Field(ge=1)
    powerW: int | None = Field(
        default=None,
        ge=-MAX_ABS_POWER_W,
        le=MAX_ABS_POWER_W,
        description="Required for setpoint, optional for charge, refused otherwise; "
        "positive = into the device.",
    )


class OverlayPlanBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    startTime: datetime | None = Field(
        default=None,
        description="ISO 8601 date-time with offset; required unless `commands` is empty.",
    )
    commands: list[OverlayCommand] = Field(
        description="Back to back from startTime, at most 7 days in all; empty deletes the plan."
    )


class ScheduleIntent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["idle", "charge", "discharge", "balance"]
    # `int | float`, not `float`: a stored 20 is sent back as 20, not 20.0.
    socMin: int | float = Field(ge=0, le=100)
    socMax: int | float = Field(ge=0, le=100)
    powerW: int | None = Field(
        default=None,
        ge=-MAX_ABS_POWER_W,
        le=MAX_ABS_POWER_W,
        description="Only for charge (> 0) and discharge (< 0).",
    )


class ScheduleSlot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    durationMinutes: int = Field(ge=1)
    intent: ScheduleIntent


class SchedulePlanBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slots: list[ScheduleSlot] = Field(
        description="Back to back from Monday 00:00 site-local; 10,080 minutes in all; "
        "empty deletes the schedule."
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
