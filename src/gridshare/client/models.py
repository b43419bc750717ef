"""Pydantic models of every customer API response (and of the plan bodies a partner sends).

Attributes are snake_case; the wire names (`siteId`, `power_W`, ...) are their aliases, so a model
is built from the API's JSON with `Model.model_validate(body)` and sent back with
`model.model_dump(by_alias=True, exclude_none=True)`. Unknown fields are kept (`extra="allow"`):
the real service may send more than our contract names, and an SDK must not break on that.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gridshare.client.errors import MissingDependency


class WireModel(BaseModel):
    """Base: snake_case attributes, wire-name aliases, unknown fields kept."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    def to_wire(self) -> dict[str, Any]:
        """The JSON body the API expects (wire names, no nulls)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# -- sites -------------------------------------------------------------------------------------


class SiteSummary(WireModel):
    """An entry of `GET /api/v2/sites` (ids only)."""

    site_id: str = Field(alias="siteId")


class Address(WireModel):
    lines: list[str] = Field(default_factory=list)
    city: str | None = None
    postcode: str | None = None
    country: str | None = None

    def one_line(self) -> str:
        parts = [*self.lines, self.city or "", self.postcode or "", self.country or ""]
        return ", ".join(p for p in parts if p)


class Site(WireModel):
    """`GET /api/v2/sites/{siteId}`: the customer-visible attributes of a site."""

    site_id: str = Field(alias="siteId")
    site_reference: str | None = Field(default=None, alias="siteReference")
    address: Address | None = None
    time_zone: str | None = Field(default=None, alias="timeZone")
    import_tariff_id: str | None = Field(default=None, alias="importTariffId")
    export_tariff_id: str | None = Field(default=None, alias="exportTariffId")


class TopologyNode(WireModel):
    """A site, device or sensor node; any sensor's `id` is a telemetry `synthId`."""

    id: str
    kind: Literal["site", "device", "sensor"] | str
    device_kind: str | None = Field(default=None, alias="deviceKind")
    channels: list[str] | None = None
    max_capacity_j: float | None = Field(default=None, alias="maxCapacity_J")
    children: list[TopologyNode] = Field(default_factory=list)

    def walk(self) -> Iterator[TopologyNode]:
        """This node and every node below it, depth first, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def sensors(self) -> list[TopologyNode]:
        return [n for n in self.walk() if n.kind == "sensor"]

    def devices(self) -> list[TopologyNode]:
        return [n for n in self.walk() if n.kind == "device"]

    def find(self, node_id: str) -> TopologyNode | None:
        return next((n for n in self.walk() if n.id == node_id), None)

    def parent_of(self, node_id: str) -> TopologyNode | None:
        for node in self.walk():
            if any(c.id == node_id for c in node.children):
                return node
        return None


class Topology(WireModel):
    """`GET /api/v2/sites/{siteId}/topology`."""

    root: TopologyNode

    def sensors(self) -> list[TopologyNode]:
        return self.root.sensors()

    def devices(self) -> list[TopologyNode]:
        return self.root.devices()

    def find(self, node_id: str) -> TopologyNode | None:
        return self.root.find(node_id)

    def devices_of_kind(self, device_kind: str) -> list[TopologyNode]:
        return [d for d in self.devices() if (d.device_kind or "").lower() == device_kind.lower()]

    def battery_sensor(self) -> TopologyNode | None:
        """The (first) aggregated battery sensor, `...__bb_agg`, which carries the capacity."""
        return next(
            (s for s in self.sensors() if s.id.endswith("__bb_agg")),
            next((s for s in self.sensors() if s.max_capacity_j is not None), None),
        )


# -- devices -----------------------------------------------------------------------------------


class DeviceSummary(WireModel):
    """An entry of `GET /api/v2/devices`."""

    synth_id: str = Field(alias="synthId")


class Device(WireModel):
    """`GET /api/v2/devices/{synthId}`: a device's static properties."""

    synth_id: str = Field(alias="synthId")
    kind: str | None = None
    type: str | None = None
    site_id: str | None = Field(default=None, alias="siteId")
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = Field(default=None, alias="serialNumber")
    name: str | None = None
    partners: list[str] = Field(default_factory=list)


OperationModeName = Literal["simple", "schedule", "smart", "unknown"]
"""The modes the contract names; any case is accepted on the way in."""


class OperationMode(WireModel):
    """`GET|PUT /api/v2/devices/{synthId}/operationMode`. `mode` is lower-cased."""

    mode: str

    @field_validator("mode")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


# -- plans -------------------------------------------------------------------------------------


class OverlayCommand(WireModel):
    """One overlay command: `charge`, `idle`, `setpoint` (needs `power_w`) or `heatWater`.

    `power_w` follows telemetry's sign: positive = into the device (charging).
    """

    type: Literal["charge", "idle", "setpoint", "heatWater"] | str
    duration_minutes: int = Field(alias="durationMinutes", ge=1)
    power_w: int | None = Field(default=None, alias="powerW")


class OverlayPlan(WireModel):
    """`GET|PUT /api/v2/devices/{synthId}/plans/overlay`: commands back to back from
    `start_time`; an empty `commands` list means no plan (and deletes it when sent)."""

    start_time: datetime | None = Field(default=None, alias="startTime")
    commands: list[OverlayCommand] = Field(default_factory=list)

    @field_validator("start_time")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _utc(value) if value is not None else None

    @property
    def end_time(self) -> datetime | None:
        if self.start_time is None or not self.commands:
            return None
        return self.start_time + timedelta(minutes=sum(c.duration_minutes for c in self.commands))

    def to_wire(self) -> dict[str, Any]:
        body = super().to_wire()
        if self.start_time is not None:
            body["startTime"] = self.start_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        return body


class ScheduleIntent(WireModel):
    kind: Literal["idle", "charge", "discharge", "balance"] | str
    soc_min: float | None = Field(default=None, alias="socMin")
    soc_max: float | None = Field(default=None, alias="socMax")
    power_w: int | None = Field(default=None, alias="powerW")


class ScheduleSlot(WireModel):
    duration_minutes: int = Field(alias="durationMinutes", ge=1)
    intent: ScheduleIntent


class SchedulePlan(WireModel):
    """`GET|PUT /api/v2/devices/{synthId}/plans/schedule`: weekly slots from Monday 00:00
    site-local time, summing to 10,080 minutes; empty `slots` means none (deletes when sent)."""

    slots: list[ScheduleSlot] = Field(default_factory=list)


# -- telemetry ---------------------------------------------------------------------------------


class TelemetryEntry(WireModel):
    """One bucket. `power_w` > 0 = into the device (charging, consuming, importing)."""

    timestamp: datetime
    power_w: float | None = Field(default=None, alias="power_W")
    soc_percent: float | None = None
    state: str | None = None
    energy_wh_increment: float | None = Field(default=None, alias="energy_Wh_increment")
    energy_wh_decrement: float | None = Field(default=None, alias="energy_Wh_decrement")

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _utc(value)


TELEMETRY_COLUMNS = (
    "power_W",
    "soc_percent",
    "state",
    "energy_Wh_increment",
    "energy_Wh_decrement",
)


class TelemetrySeries(WireModel):
    """Entries of one sensor in time order (one call, or many calls merged)."""

    synth_id: str = Field(alias="synthId")
    resolution: str
    start: datetime
    end: datetime
    entries: list[TelemetryEntry] = Field(default_factory=list)
    #: How many API calls produced this series.
    calls: int = 1

    def __iter__(self) -> Iterator[TelemetryEntry]:  # type: ignore[override]
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def columns(self) -> list[str]:
        """The wire names of the fields present in at least one entry."""
        present = {k for e in self.entries for k in e.to_wire()}
        return [c for c in TELEMETRY_COLUMNS if c in present]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per entry with the timestamp and every present column (None when absent)."""
        cols = self.columns()
        out = []
        for entry in self.entries:
            wire = entry.to_wire()
            out.append({"timestamp": wire["timestamp"], **{c: wire.get(c) for c in cols}})
        return out

    def to_dataframe(self) -> Any:
        """A pandas DataFrame indexed by UTC timestamp (needs pandas)."""
        import importlib

        try:
            pd = importlib.import_module("pandas")
        except ImportError:
            raise MissingDependency("pandas", "TelemetrySeries.to_dataframe()") from None
        cols = self.columns()
        frame = pd.DataFrame(
            {c: [e.to_wire().get(c) for e in self.entries] for c in cols},
            index=pd.DatetimeIndex([e.timestamp for e in self.entries], name="timestamp"),
            columns=cols,
        )
        for column in cols:
            if column != "state":
                frame[column] = pd.to_numeric(frame[column])
        return frame


# -- OAuth -------------------------------------------------------------------------------------


class UserInfo(WireModel):
    """`/oauth2/userInfo` (needs the `openid` scope)."""

    sub: str
    username: str | None = None
    email: str | None = None
    email_verified: bool | str | None = None
