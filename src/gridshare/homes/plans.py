"""Overlay plans and weekly schedule plans: their wire models, rules and time lookups.

Status rule: **400** `malformed_plan` when the body does not fit the schema: wrong JSON type
(floats, bools and strings are not integers), unknown or missing field, unknown command/intent
word, `durationMinutes` < 1, `powerW` outside +-1,000,000, SoC outside 0..100, `powerW` where
the command/intent has none, or commands without `startTime`. **422** when it fits the schema
but cannot be carried out, checked in this order (the first failure wins):

- `plans_not_supported`: the device kind takes no plans (PV, meter);
- `command_not_allowed` / `intent_not_allowed`: not allowed for the device kind;
- `invalid_soc_range`: a schedule intent with socMin > socMax;
- `power_out_of_range`: wrong sign for the command (`charge` > 0, `discharge` < 0), or
  beyond the device's limits when the caller passes them;
- `plan_too_long`: overlay commands sum to more than 7 days (exactly 10,080 min is fine);
- `plan_out_of_range`: the overlay would end after the year 9999;
- `plan_expired`: the overlay ends at or before `now` (only when the caller passes `now`);
- `schedule_incomplete` / `schedule_too_long`: slots sum to less / more than 10,080 min.

A list of more than 10,080 commands or slots can never be valid (each lasts >= 1 minute); it is
refused with the 422 length code before its items are parsed.

Allowed per device kind (battery = `battery_pack`, or an `inverter` carrying one):

- battery: commands `charge` (powerW optional, > 0; absent = the maximum rate, grid charging
  allowed), `idle` (hold SoC), `setpoint` (powerW required: + charge, - discharge); intents
  idle, charge, discharge, balance.
- EV: commands `charge` (powerW optional, > 0) and `idle` (pause); no `setpoint` (no
  vehicle-to-grid); intents idle and charge (socMax caps the car's SoC when known).
- load_control_relay: commands `heatWater` (element on; no powerW: the element's power is
  fixed) and `idle` (element off); intents idle and charge (= heat; the tank is thermal
  storage whose SoC is its stored heat 0..100).

`powerW` follows telemetry's sign: positive = into the device. Intent `balance` is
self-consumption inside [socMin, socMax]; `idle` and `balance` take no `powerW`. Command and
intent words are read in any case (`HEATWATER`, `heat_water`) and emitted canonically. An
overlay's `startTime` is an ISO 8601 string with an offset, normalised to UTC. Empty
`commands` (or schedule `slots`) means delete, and `startTime` may then be absent. A schedule
body is `{"slots": [...]}`; a bare array of slots is accepted too.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    model_validator,
)

from gridshare.homes.devices import (
    BatteryPackProperties,
    Device,
    DeviceKind,
    EVChargerProperties,
    InverterProperties,
    LoadControlRelayProperties,
    parse_device_kind,
)
from gridshare.homes.errors import Kind, PlanError
from gridshare.homes.sites import Site

WEEK_MINUTES = 7 * 24 * 60
MAX_OVERLAY_MINUTES = WEEK_MINUTES
MAX_ABS_POWER_W = 1_000_000

CommandType = Literal["charge", "idle", "setpoint", "heatWater"]
IntentKind = Literal["idle", "charge", "discharge", "balance"]

_BATTERY_COMMANDS: frozenset[str] = frozenset({"charge", "idle", "setpoint"})
ALLOWED_COMMANDS: dict[DeviceKind, frozenset[str]] = {
    DeviceKind.BATTERY_PACK: _BATTERY_COMMANDS,
    DeviceKind.INVERTER: _BATTERY_COMMANDS,
    DeviceKind.EV: frozenset({"charge", "idle"}),
    DeviceKind.LOAD_CONTROL_RELAY: frozenset({"heatWater", "idle"}),
}
_BATTERY_INTENTS: frozenset[str] = frozenset({"idle", "charge", "discharge", "balance"})
ALLOWED_INTENTS: dict[DeviceKind, frozenset[str]] = {
    DeviceKind.BATTERY_PACK: _BATTERY_INTENTS,
    DeviceKind.INVERTER: _BATTERY_INTENTS,
    DeviceKind.EV: frozenset({"idle", "charge"}),
    DeviceKind.LOAD_CONTROL_RELAY: frozenset({"idle", "charge"}),
}


def _fold(word: str) -> str:
    return word.strip().lower().replace("_", "").replace("-", "")


_COMMAND_WORDS = {_fold(w): w for w in ("charge", "idle", "setpoint", "heatWater")}
_INTENT_WORDS = {_fold(w): w for w in ("idle", "charge", "discharge", "balance")}


def _canonical_word(item: object, key: str, words: dict[str, str]) -> object:
    """Rewrite `item[key]` to its canonical spelling when it is a known word in another case."""
    if isinstance(item, dict) and isinstance(item.get(key), str):
        canonical = words.get(_fold(item[key]))
        if canonical is not None:
            return {**item, key: canonical}
    return item


def _parse_date_time(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not (value.isascii() and value.isprintable()):
        raise ValueError("must be an ISO 8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 date-time string") from None
    if parsed.tzinfo is None:
        raise ValueError("must carry a UTC offset (e.g. 'Z')")
    return parsed


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:30:00+01:00 has no UTC equivalent
        raise ValueError("must be a date-time between the years 1 and 9999 in UTC") from None


StartTime = Annotated[AwareDatetime, BeforeValidator(_parse_date_time), AfterValidator(_to_utc)]
DurationMinutes = Annotated[StrictInt, Field(ge=1)]
PowerW = Annotated[StrictInt, Field(ge=-MAX_ABS_POWER_W, le=MAX_ABS_POWER_W)]
SocPercent = (
    Annotated[StrictInt, Field(ge=0, le=100)]
    | Annotated[StrictFloat, Field(ge=0, le=100, allow_inf_nan=False)]
)


class _Wire(BaseModel):
    """Wire models: field names are the JSON names; unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ChargeCommand(_Wire):
    type: Literal["charge"]
    durationMinutes: DurationMinutes
    powerW: PowerW | None = Field(
        default=None, description="Optional, > 0 (into the device); absent = the maximum rate."
    )


class IdleCommand(_Wire):
    type: Literal["idle"]
    durationMinutes: DurationMinutes


class SetpointCommand(_Wire):
    type: Literal["setpoint"]
    durationMinutes: DurationMinutes
    powerW: PowerW = Field(description="Positive = charge (into the device), negative = discharge.")


class HeatWaterCommand(_Wire):
    type: Literal["heatWater"]
    durationMinutes: DurationMinutes


OverlayCommand = Annotated[
    ChargeCommand | IdleCommand | SetpointCommand | HeatWaterCommand, Field(discriminator="type")
]


class OverlayPlan(_Wire):
    """`{"startTime", "commands"}`: commands run back to back from `startTime` (UTC)."""

    startTime: StartTime | None = Field(
        default=None,
        description="ISO 8601 date-time with offset; required unless `commands` is empty.",
    )
    commands: tuple[OverlayCommand, ...] = Field(
        description="Back to back from startTime, at most 7 days in all; empty deletes the plan."
    )

    @model_validator(mode="before")
    @classmethod
    def _canonical_types(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("commands"), list):
            commands = [_canonical_word(c, "type", _COMMAND_WORDS) for c in data["commands"]]
            return {**data, "commands": commands}
        return data

    @model_validator(mode="after")
    def _start_needed(self) -> OverlayPlan:
        if self.commands and self.startTime is None:
            raise ValueError("startTime is required when commands are given")
        if not self.commands and self.startTime is not None:
            return self.model_copy(update={"startTime": None})
        return self

    @property
    def is_delete(self) -> bool:
        return not self.commands

    @property
    def total_minutes(self) -> int:
        return sum(c.durationMinutes for c in self.commands)

    @property
    def end_time(self) -> datetime | None:
        if self.startTime is None:
            return None
        return self.startTime + timedelta(minutes=self.total_minutes)

    def to_json(self) -> dict[str, Any]:
        """The GET body; a deleted/empty plan is `{"commands": []}`."""
        return self.model_dump(mode="json", exclude_none=True)


EMPTY_OVERLAY = OverlayPlan(commands=())


class ScheduleIntent(_Wire):
    kind: IntentKind
    socMin: SocPercent
    socMax: SocPercent
    powerW: PowerW | None = Field(
        default=None, description="Only for charge (> 0) and discharge (< 0)."
    )

    @model_validator(mode="before")
    @classmethod
    def _canonical_kind(cls, data: Any) -> Any:
        return _canonical_word(data, "kind", _INTENT_WORDS)

    @model_validator(mode="after")
    def _power_only_when_moving(self) -> ScheduleIntent:
        if self.powerW is not None and self.kind in ("idle", "balance"):
            raise ValueError(f"powerW is not allowed for a {self.kind} intent")
        return self


class ScheduleSlot(_Wire):
    durationMinutes: DurationMinutes
    intent: ScheduleIntent


class SchedulePlan(_Wire):
    """`{"slots"}`: slots run back to back from Monday 00:00 site-local, one week in all."""

    slots: tuple[ScheduleSlot, ...] = Field(
        description="Back to back from Monday 00:00 site-local; 10,080 minutes in all; "
        "empty deletes the schedule. A bare array of slots is accepted too."
    )

    @property
    def is_delete(self) -> bool:
        return not self.slots

    @property
    def total_minutes(self) -> int:
        return sum(s.durationMinutes for s in self.slots)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True, slots=True)
class PowerLimits:
    """How hard a device can be driven: into it (charge) and out of it (discharge), in W."""

    max_into_W: int
    max_out_of_W: int


def power_limits(site: Site, device: Device) -> PowerLimits | None:
    """The limits plan powers are checked against (None: the device takes no power commands).

    A battery is capped by both its blocks and the inverter carrying it.
    """
    props = device.properties
    if isinstance(props, InverterProperties):
        battery = next(
            (c for c in site.children_of(device.synth_id) if c.kind is DeviceKind.BATTERY_PACK),
            None,
        )
        return power_limits(site, battery) if battery is not None else None
    if isinstance(props, BatteryPackProperties):
        parent = site.device(device.parent_id) if device.parent_id else None
        cap = (
            parent.properties.rated_power_W
            if parent is not None and isinstance(parent.properties, InverterProperties)
            else MAX_ABS_POWER_W
        )
        return PowerLimits(
            min(props.max_charge_power_W, cap), min(props.max_discharge_power_W, cap)
        )
    if isinstance(props, EVChargerProperties):
        return PowerLimits(props.max_power_W, 0)
    if isinstance(props, LoadControlRelayProperties):
        return PowerLimits(props.element_power_W, 0)
    return None


_FIELD_NAMES = frozenset(
    {"startTime", "commands", "type", "durationMinutes", "powerW"}
    | {"slots", "intent", "kind", "socMin", "socMax"}
)


def _malformed(exc: ValidationError) -> PlanError:
    """A 400 naming the offending fields (union-branch names stripped, one line per field)."""
    by_place: dict[str, str] = {}
    for err in exc.errors():
        loc = err["loc"]
        kept = [
            str(p)
            for i, p in enumerate(loc)
            if isinstance(p, int)
            or p in _FIELD_NAMES
            or (err["type"] == "extra_forbidden" and i == len(loc) - 1)
        ]
        by_place[".".join(kept) or "body"] = err["msg"]  # the last union branch reads best
    parts = [f"{where}: {msg}" for where, msg in list(by_place.items())[:3]]
    more = len(by_place) - len(parts)
    suffix = f" (and {more} more)" if more > 0 else ""
    return PlanError(Kind.MALFORMED, "malformed_plan", "; ".join(parts) + suffix)


def _kind(device_kind: DeviceKind | str) -> DeviceKind:
    return device_kind if isinstance(device_kind, DeviceKind) else parse_device_kind(device_kind)


def _check_power(what: str, power: int | None, kind: str, limits: PowerLimits | None) -> None:
    if power is None:
        return
    if kind == "charge" and power <= 0:
        raise PlanError(
            Kind.IMPOSSIBLE,
            "power_out_of_range",
            f"{what}: charge powerW must be > 0 (into the device)",
        )
    if kind == "discharge" and power >= 0:
        raise PlanError(
            Kind.IMPOSSIBLE,
            "power_out_of_range",
            f"{what}: discharge powerW must be < 0 (out of the device)",
        )
    if limits is not None and not -limits.max_out_of_W <= power <= limits.max_into_W:
        raise PlanError(
            Kind.IMPOSSIBLE,
            "power_out_of_range",
            f"{what}: powerW {power} outside the device's range "
            f"{-limits.max_out_of_W}..{limits.max_into_W} W",
        )


def _too_many(raw: object, key: str) -> bool:
    items = raw.get(key) if isinstance(raw, dict) else None
    return isinstance(items, list) and len(items) > WEEK_MINUTES


def validate_overlay(
    raw: object,
    device_kind: DeviceKind | str,
    *,
    limits: PowerLimits | None = None,
    now: datetime | None = None,
) -> OverlayPlan:
    """Check a PUT overlay body for a device of `device_kind`; raise `PlanError` (400/422).

    Pass the kind of the control device (see `modes.control_device`), its `power_limits` to
    check powers against the hardware, and `now` to refuse plans that are already over.
    """
    kind = _kind(device_kind)
    if _too_many(raw, "commands"):
        raise PlanError(Kind.IMPOSSIBLE, "plan_too_long", "more commands than minutes in 7 days")
    try:
        plan = OverlayPlan.model_validate(raw)
    except ValidationError as exc:
        raise _malformed(exc) from None
    allowed = ALLOWED_COMMANDS.get(kind)
    if allowed is None:
        raise PlanError(
            Kind.IMPOSSIBLE, "plans_not_supported", f"a {kind.value} device takes no plans"
        )
    for n, command in enumerate(plan.commands):
        if command.type not in allowed:
            names = ", ".join(sorted(allowed))
            raise PlanError(
                Kind.IMPOSSIBLE,
                "command_not_allowed",
                f"commands.{n}: {command.type!r} is not allowed for a {kind.value} device "
                f"(allowed: {names})",
            )
        if isinstance(command, ChargeCommand | SetpointCommand):
            _check_power(f"commands.{n}", command.powerW, command.type, limits)
    if plan.total_minutes > MAX_OVERLAY_MINUTES:
        raise PlanError(
            Kind.IMPOSSIBLE,
            "plan_too_long",
            f"commands last {plan.total_minutes} min; at most {MAX_OVERLAY_MINUTES} (7 days)",
        )
    try:
        end = plan.end_time
    except OverflowError:
        raise PlanError(
            Kind.IMPOSSIBLE, "plan_out_of_range", "the plan would end after the year 9999"
        ) from None
    if now is not None and end is not None and end <= now:
        raise PlanError(Kind.IMPOSSIBLE, "plan_expired", "the plan ends before now")
    return plan


def validate_schedule(
    raw: object, device_kind: DeviceKind | str, *, limits: PowerLimits | None = None
) -> SchedulePlan:
    """Check a PUT schedule body (`{"slots": [...]}` or a bare list); raise `PlanError`."""
    kind = _kind(device_kind)
    if isinstance(raw, list):
        raw = {"slots": raw}
    if _too_many(raw, "slots"):
        raise PlanError(Kind.IMPOSSIBLE, "schedule_too_long", "more slots than minutes in a week")
    try:
        plan = SchedulePlan.model_validate(raw)
    except ValidationError as exc:
        raise _malformed(exc) from None
    allowed = ALLOWED_INTENTS.get(kind)
    if allowed is None:
        raise PlanError(
            Kind.IMPOSSIBLE, "plans_not_supported", f"a {kind.value} device takes no plans"
        )
    for n, slot in enumerate(plan.slots):
        intent = slot.intent
        if intent.kind not in allowed:
            names = ", ".join(sorted(allowed))
            raise PlanError(
                Kind.IMPOSSIBLE,
                "intent_not_allowed",
                f"slots.{n}: intent {intent.kind!r} is not allowed for a {kind.value} device "
                f"(allowed: {names})",
            )
        if intent.socMin > intent.socMax:
            raise PlanError(
                Kind.IMPOSSIBLE, "invalid_soc_range", f"slots.{n}: socMin is above socMax"
            )
        _check_power(f"slots.{n}", intent.powerW, intent.kind, limits)
    total = plan.total_minutes
    if plan.slots and total < WEEK_MINUTES:
        raise PlanError(
            Kind.IMPOSSIBLE,
            "schedule_incomplete",
            f"slots cover {total} min; a week is {WEEK_MINUTES}",
        )
    if total > WEEK_MINUTES:
        raise PlanError(
            Kind.IMPOSSIBLE,
            "schedule_too_long",
            f"slots cover {total} min; a week is {WEEK_MINUTES}",
        )
    return plan


@dataclass(frozen=True, slots=True)
class CommandWindow:
    start: datetime
    end: datetime
    command: ChargeCommand | IdleCommand | SetpointCommand | HeatWaterCommand


def command_windows(plan: OverlayPlan) -> tuple[CommandWindow, ...]:
    """Each command with its [start, end) window in UTC."""
    if plan.startTime is None:
        return ()
    out: list[CommandWindow] = []
    start = plan.startTime
    for command in plan.commands:
        end = start + timedelta(minutes=command.durationMinutes)
        out.append(CommandWindow(start, end, command))
        start = end
    return tuple(out)


def active_command(
    plan: OverlayPlan, at: datetime
) -> ChargeCommand | IdleCommand | SetpointCommand | HeatWaterCommand | None:
    """The command in force at `at` (aware); None before the start or from the end on."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    for window in command_windows(plan):
        if window.start <= at < window.end:
            return window.command
    return None


def week_minute(at_local: datetime) -> float:
    """Minutes since Monday 00:00 of `at_local`'s own wall clock (seconds as a fraction)."""
    return (
        at_local.weekday() * 1440
        + at_local.hour * 60
        + at_local.minute
        + (at_local.second + at_local.microsecond / 1e6) / 60
    )


def schedule_intent_at(schedule: SchedulePlan, at_local: datetime) -> ScheduleIntent | None:
    """The intent in force at site-local wall-clock time `at_local` (None: no schedule).

    Wall-clock time is used as is (convert with `Site.local_time` first): on DST days the
    repeated hour runs its slot twice and the skipped hour's slot is skipped.
    """
    if not schedule.slots:
        return None
    ends = list(accumulate(s.durationMinutes for s in schedule.slots))
    index = bisect_right(ends, week_minute(at_local))
    return schedule.slots[min(index, len(schedule.slots) - 1)].intent
