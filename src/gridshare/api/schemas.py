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


# -- site-level views ----------------------------------------------------------------------------


class SensorReading(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "id": "0b6f2c1e-8d3a-4f7b-9c1d-2e5a6b7c8d9e__bb_agg",
                "role": "battery",
                "deviceId": "5d1c9e7a-3b2f-4e8d-a6c4-1f0e9d8c7b6a",
                "timestamp": "2026-04-01T12:34:00Z",
                "power_W": 1520.4,
                "soc_percent": 63.2,
                "state": "charging",
                "energy_Wh_increment": 183422.117,
                "energy_Wh_decrement": -171002.5,
            }
        },
    )

    id: str
    role: str = Field(
        description="battery, pv, grid, inverter, consumption, ev, hotWater (block and "
        "optimiser only in site telemetry, when asked for)."
    )
    deviceId: str
    timestamp: str | None = Field(default=None, description="Absent when it has no data yet.")
    power_W: float | None = None
    soc_percent: float | None = None
    state: str | None = None
    energy_Wh_increment: float | None = None
    energy_Wh_decrement: float | None = None


class ControlState(BaseModel):
    synthId: str
    kind: str
    operationMode: Literal["simple", "schedule", "smart"]
    overlayPlan: dict[str, Any] | None = Field(
        default=None,
        description='The stored overlay plan (`{"commands": []}` if none); only for a token '
        "that also has `lunar/plan.read`.",
    )


class CurrentState(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "siteId": "7c0e3f5a-1b2d-4c6e-8f9a-0b1c2d3e4f5a",
                "timestamp": "2026-04-01T12:34:00Z",
                "sensors": [
                    {
                        "id": "0b6f2c1e-8d3a-4f7b-9c1d-2e5a6b7c8d9e__PV_DERIVED",
                        "role": "pv",
                        "deviceId": "2a4c6e8f-0b1d-4f3a-8c5e-7a9b1c3d5e7f",
                        "timestamp": "2026-04-01T12:34:00Z",
                        "power_W": -3120.5,
                        "energy_Wh_decrement": -912003.25,
                    }
                ],
                "devices": [
                    {
                        "synthId": "5d1c9e7a-3b2f-4e8d-a6c4-1f0e9d8c7b6a",
                        "kind": "battery_pack",
                        "operationMode": "smart",
                        "overlayPlan": {"commands": []},
                    }
                ],
            }
        }
    )

    siteId: str
    timestamp: str | None = Field(description="The newest reading's time: the twin's last step.")
    sensors: list[SensorReading]
    devices: list[ControlState]


class SiteStream(BaseModel):
    sensorId: str
    role: str
    entries: list[dict[str, Any]] = Field(description="As the device telemetry call's entries.")


class SiteTelemetry(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "siteId": "7c0e3f5a-1b2d-4c6e-8f9a-0b1c2d3e4f5a",
                "streams": [
                    {
                        "sensorId": "0b6f2c1e-8d3a-4f7b-9c1d-2e5a6b7c8d9e__PV_DERIVED",
                        "role": "pv",
                        "entries": [{"timestamp": "2026-04-01T12:00:00Z", "power_W": -3120.5}],
                    }
                ],
            }
        }
    )

    siteId: str
    streams: list[SiteStream]


class PriceEntry(BaseModel):
    start: str
    end: str
    price: float = Field(description="Currency units per kWh.")


class TariffPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "tariffId": "tou",
                "name": "Time of use",
                "kind": "timeOfUse",
                "direction": "import",
                "currency": "GBP",
                "entries": [
                    {"start": "2026-04-07T23:00:00Z", "end": "2026-04-08T00:00:00Z", "price": 0.26}
                ],
                "nextToken": "eyJ2IjoxLCJ0IjoidG91IiwiZCI6ImltcG9ydCIsImZyb20iOjAsInRvIjo2MH0",
            }
        }
    )

    tariffId: str
    name: str
    kind: str = Field(description="flat, timeOfUse or dynamic.")
    direction: Literal["import", "export"]
    currency: str
    entries: list[PriceEntry] = Field(description="Runs of equal price, newest first.")
    nextToken: str | None = Field(
        default=None, description="Fetches the page before this one; absent on the last page."
    )


class SavingsMonth(BaseModel):
    month: str = Field(description="YYYY-MM in the site's time zone.")
    baselineCost: float
    actualCost: float
    savings: float
    partial: bool = Field(description="The running month (not over yet).")


class Savings(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "siteId": "7c0e3f5a-1b2d-4c6e-8f9a-0b1c2d3e4f5a",
                "currency": "GBP",
                "entries": [
                    {
                        "month": "2026-03",
                        "baselineCost": 182.41,
                        "actualCost": 61.07,
                        "savings": 121.34,
                        "partial": False,
                    }
                ],
            }
        }
    )

    siteId: str
    currency: str
    entries: list[SavingsMonth]
