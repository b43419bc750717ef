"""Pydantic models of every customer API response (and of the plan bodies a partner sends).

Attributes and constructor arguments are snake_case; the wire names (`siteId`, `power_W`, ...) are
their aliases, so a model is built from the API's JSON with `Model.model_validate(body)` and sent
back with `model.to_wire()` (`model_dump(by_alias=True, exclude_none=True)`). Unknown fields are
kept (`extra="allow"`): the real service may send more than our contract names, and an SDK must
not break on that.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from gridshare_client.errors import MissingDependency


class WireModel(BaseModel):
    """Base: snake_case attributes, wire-name aliases, unknown fields kept.

    The wire names are `validation_alias` + `serialization_alias`, not `alias`: type checkers
    (with or without pydantic's mypy plugin) then see the snake_case names in constructors too,
    `Site(site_id=..., time_zone=...)`, as in the attributes; the wire names still validate
    (`Site(siteId=...)` and `model_validate(body)`) and `to_wire()` writes them."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, extra="allow")

    def to_wire(self) -> dict[str, Any]:
        """The JSON body the API expects (wire names, no nulls)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# -- sites -------------------------------------------------------------------------------------


class SiteSummary(WireModel):
    """An entry of `GET /api/v2/sites` (ids only)."""

    site_id: str = Field(validation_alias="siteId", serialization_alias="siteId")


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

    site_id: str = Field(validation_alias="siteId", serialization_alias="siteId")
    site_reference: str | None = Field(
        default=None, validation_alias="siteReference", serialization_alias="siteReference"
    )
    address: Address | None = None
    time_zone: str | None = Field(
        default=None, validation_alias="timeZone", serialization_alias="timeZone"
    )
    import_tariff_id: str | None = Field(
        default=None, validation_alias="importTariffId", serialization_alias="importTariffId"
    )
    export_tariff_id: str | None = Field(
        default=None, validation_alias="exportTariffId", serialization_alias="exportTariffId"
    )


class TopologyNode(WireModel):
    """A site, device or sensor node; any sensor's `id` is a telemetry `synthId`."""

    id: str
    kind: Literal["site", "device", "sensor"] | str
    device_kind: str | None = Field(
        default=None, validation_alias="deviceKind", serialization_alias="deviceKind"
    )
    channels: list[str] | None = None
    max_capacity_j: float | None = Field(
        default=None, validation_alias="maxCapacity_J", serialization_alias="maxCapacity_J"
    )
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

    synth_id: str = Field(validation_alias="synthId", serialization_alias="synthId")


class Device(WireModel):
    """`GET /api/v2/devices/{synthId}`: a device's static properties."""

    synth_id: str = Field(validation_alias="synthId", serialization_alias="synthId")
    kind: str | None = None
    type: str | None = None
    site_id: str | None = Field(
        default=None, validation_alias="siteId", serialization_alias="siteId"
    )
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = Field(
        default=None, validation_alias="serialNumber", serialization_alias="serialNumber"
    )
    name: str | None = None
    partners: list[str] = Field(default_factory=list)


ModeName = Literal["simple", "schedule", "smart"]
"""The modes a partner may set (the server accepts any case)."""
OperationModeName = Literal["simple", "schedule", "smart", "unknown"]
"""The modes the contract names in answers."""
CommandType = Literal["charge", "idle", "setpoint", "heatWater"]
IntentKind = Literal["idle", "charge", "discharge", "balance"]


def _mode_name(value: object) -> object:
    """Lower-case; a mode the contract does not name (a newer service) reads as `unknown`."""
    if not isinstance(value, str):
        return value
    lowered = value.lower()
    return lowered if lowered in get_args(OperationModeName) else "unknown"


ReportedMode = Annotated[OperationModeName, BeforeValidator(_mode_name)]


class OperationMode(WireModel):
    """`GET|PUT /api/v2/devices/{synthId}/operationMode`. `mode` is lower-cased."""

    mode: ReportedMode


# -- plans -------------------------------------------------------------------------------------


class OverlayCommand(WireModel):
    """One overlay command: `charge`, `idle`, `setpoint` (needs `power_w`) or `heatWater`.

    `power_w` follows telemetry's sign: positive = into the device (charging).
    """

    type: CommandType
    duration_minutes: int = Field(
        validation_alias="durationMinutes", serialization_alias="durationMinutes", ge=1
    )
    power_w: int | None = Field(
        default=None, validation_alias="powerW", serialization_alias="powerW"
    )


class OverlayPlan(WireModel):
    """`GET|PUT /api/v2/devices/{synthId}/plans/overlay`: commands back to back from
    `start_time`; an empty `commands` list means no plan (and deletes it when sent)."""

    start_time: datetime | None = Field(
        default=None, validation_alias="startTime", serialization_alias="startTime"
    )
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
    kind: IntentKind
    soc_min: float | None = Field(
        default=None, validation_alias="socMin", serialization_alias="socMin"
    )
    soc_max: float | None = Field(
        default=None, validation_alias="socMax", serialization_alias="socMax"
    )
    power_w: int | None = Field(
        default=None, validation_alias="powerW", serialization_alias="powerW"
    )


class ScheduleSlot(WireModel):
    duration_minutes: int = Field(
        validation_alias="durationMinutes", serialization_alias="durationMinutes", ge=1
    )
    intent: ScheduleIntent


class SchedulePlan(WireModel):
    """`GET|PUT /api/v2/devices/{synthId}/plans/schedule`: weekly slots from Monday 00:00
    site-local time, summing to 10,080 minutes; empty `slots` means none (deletes when sent)."""

    slots: list[ScheduleSlot] = Field(default_factory=list)


# -- telemetry ---------------------------------------------------------------------------------


class TelemetryEntry(WireModel):
    """One bucket. `power_w` > 0 = into the device (charging, consuming, importing)."""

    timestamp: datetime
    power_w: float | None = Field(
        default=None, validation_alias="power_W", serialization_alias="power_W"
    )
    soc_percent: float | None = None
    state: str | None = None
    energy_wh_increment: float | None = Field(
        default=None,
        validation_alias="energy_Wh_increment",
        serialization_alias="energy_Wh_increment",
    )
    energy_wh_decrement: float | None = Field(
        default=None,
        validation_alias="energy_Wh_decrement",
        serialization_alias="energy_Wh_decrement",
    )

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

    synth_id: str = Field(validation_alias="synthId", serialization_alias="synthId")
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


# -- site-level views --------------------------------------------------------------------------


class SensorReading(WireModel):
    """A sensor's newest reading in `currentState` (no `timestamp`: no data yet)."""

    id: str
    role: str
    device_id: str = Field(validation_alias="deviceId", serialization_alias="deviceId")
    timestamp: datetime | None = None
    power_w: float | None = Field(
        default=None, validation_alias="power_W", serialization_alias="power_W"
    )
    soc_percent: float | None = None
    state: str | None = None
    energy_wh_increment: float | None = Field(
        default=None,
        validation_alias="energy_Wh_increment",
        serialization_alias="energy_Wh_increment",
    )
    energy_wh_decrement: float | None = Field(
        default=None,
        validation_alias="energy_Wh_decrement",
        serialization_alias="energy_Wh_decrement",
    )

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _utc(value) if value is not None else None


class ControlState(WireModel):
    """A controllable device in `currentState`: its mode, and its overlay plan when the token
    may read plans (`lunar/plan.read`)."""

    synth_id: str = Field(validation_alias="synthId", serialization_alias="synthId")
    kind: str | None = None
    operation_mode: ReportedMode = Field(
        validation_alias="operationMode", serialization_alias="operationMode"
    )
    overlay_plan: OverlayPlan | None = Field(
        default=None, validation_alias="overlayPlan", serialization_alias="overlayPlan"
    )

    def active_command(self, at: datetime) -> OverlayCommand | None:
        """The overlay command in force at `at`, if any."""
        plan = self.overlay_plan
        if plan is None or plan.start_time is None:
            return None
        moment = _utc(at)
        start = plan.start_time
        for command in plan.commands:
            end = start + timedelta(minutes=command.duration_minutes)
            if start <= moment < end:
                return command
            start = end
        return None


class CurrentState(WireModel):
    """`GET /api/v2/sites/{siteId}/currentState`."""

    site_id: str = Field(validation_alias="siteId", serialization_alias="siteId")
    timestamp: datetime | None = None
    sensors: list[SensorReading] = Field(default_factory=list)
    devices: list[ControlState] = Field(default_factory=list)

    def of_role(self, role: str) -> list[SensorReading]:
        return [s for s in self.sensors if s.role == role]

    def power(self, role: str) -> float | None:
        """The power of the first sensor of `role` with a reading (W, + into the device)."""
        return next((s.power_w for s in self.of_role(role) if s.power_w is not None), None)

    def device(self, kind: str) -> ControlState | None:
        return next((d for d in self.devices if d.kind == kind), None)


class SiteStream(WireModel):
    sensor_id: str = Field(validation_alias="sensorId", serialization_alias="sensorId")
    role: str
    entries: list[TelemetryEntry] = Field(default_factory=list)


class SiteTelemetry(WireModel):
    """`GET /api/v2/sites/{siteId}/telemetry`: each stream labelled with its role."""

    site_id: str = Field(validation_alias="siteId", serialization_alias="siteId")
    streams: list[SiteStream] = Field(default_factory=list)

    def column_prefixes(self) -> list[str]:
        """Per stream, its column prefix: the role, or `role[SUFFIX]` for a role that more than
        one stream has after the first (e.g. a grid meter beside the derived grid stream)."""
        seen: set[str] = set()
        out = []
        for stream in self.streams:
            if stream.role in seen:
                out.append(f"{stream.role}[{stream.sensor_id.rpartition('__')[2]}]")
            else:
                out.append(stream.role)
            seen.add(stream.role)
        return out

    def to_dataframe(self) -> Any:
        """A pandas DataFrame indexed by UTC timestamp, one column per role and channel
        (`pv.power_W`, `battery.soc_percent`, ...; needs pandas)."""
        import importlib

        try:
            pd = importlib.import_module("pandas")
        except ImportError:
            raise MissingDependency("pandas", "SiteTelemetry.to_dataframe()") from None
        frames = []
        for prefix, stream in zip(self.column_prefixes(), self.streams, strict=True):
            series = TelemetrySeries(
                synth_id=stream.sensor_id,
                resolution="",
                start=datetime.min.replace(tzinfo=UTC),
                end=datetime.min.replace(tzinfo=UTC),
                entries=stream.entries,
            )
            frame = series.to_dataframe()
            frames.append(frame.rename(columns=lambda c, p=prefix: f"{p}.{c}"))
        if not frames:
            return pd.DataFrame(index=pd.DatetimeIndex([], name="timestamp", tz="UTC"))
        return pd.concat(frames, axis=1).sort_index()


class PriceEntry(WireModel):
    start: datetime
    end: datetime
    price: float

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _utc(value)


class TariffPage(WireModel):
    """A page of `GET /api/v2/tariffs/{tariffId}`: runs of equal price, newest first."""

    tariff_id: str = Field(validation_alias="tariffId", serialization_alias="tariffId")
    name: str | None = None
    kind: str | None = None
    direction: str | None = None
    currency: str | None = None
    entries: list[PriceEntry] = Field(default_factory=list)
    next_token: str | None = Field(
        default=None, validation_alias="nextToken", serialization_alias="nextToken"
    )


class SavingsMonth(WireModel):
    month: str
    baseline_cost: float = Field(
        validation_alias="baselineCost", serialization_alias="baselineCost"
    )
    actual_cost: float = Field(validation_alias="actualCost", serialization_alias="actualCost")
    savings: float
    partial: bool = False


class Savings(WireModel):
    """`GET /api/v2/sites/{siteId}/savings`: monthly cost against a consumption-only baseline."""

    site_id: str = Field(validation_alias="siteId", serialization_alias="siteId")
    currency: str | None = None
    entries: list[SavingsMonth] = Field(default_factory=list)


# -- OAuth -------------------------------------------------------------------------------------


class UserInfo(WireModel):
    """`/oauth2/userInfo` (needs the `openid` scope)."""

    sub: str
    username: str | None = None
    email: str | None = None
    email_verified: bool | str | None = None
