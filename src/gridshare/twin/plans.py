"""Typed mirrors of the API's operation mode, weekly schedule and overlay plan.

They are plain frozen dataclasses so the twin stays free of Pydantic and HTTP; `from_json`
helpers accept the API's JSON shapes (camelCase, any case for the mode) so an adapter can pass
stored plans straight through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from gridshare.twin.timebase import MINUTES_PER_WEEK, ceil_minute


class Mode(StrEnum):
    SIMPLE = "simple"
    SCHEDULE = "schedule"
    SMART = "smart"

    @classmethod
    def parse(cls, value: str) -> Mode:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise ValueError(f"unknown operation mode {value!r}") from None


class IntentKind(StrEnum):
    IDLE = "idle"
    CHARGE = "charge"
    DISCHARGE = "discharge"
    BALANCE = "balance"


class CommandType(StrEnum):
    CHARGE = "charge"
    IDLE = "idle"
    SETPOINT = "setpoint"
    HEAT_WATER = "heatWater"

    @classmethod
    def parse(cls, value: str) -> CommandType:
        for member in cls:
            if member.value.lower() == value.strip().lower():
                return member
        raise ValueError(f"unknown command type {value!r}")


@dataclass(frozen=True)
class Intent:
    """What a schedule slot asks for; SoC window in percent of capacity, power as a magnitude."""

    kind: IntentKind
    soc_min: float = 0.0
    soc_max: float = 100.0
    power_w: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.soc_min <= self.soc_max <= 100.0:
            raise ValueError("intent needs 0 <= socMin <= socMax <= 100")


@dataclass(frozen=True)
class ScheduleSlot:
    duration_minutes: int
    intent: Intent

    def __post_init__(self) -> None:
        if self.duration_minutes <= 0:
            raise ValueError("slot durationMinutes must be > 0")


@dataclass(frozen=True)
class WeeklySchedule:
    """Contiguous slots from Monday 00:00 site-local time, summing to one week."""

    slots: tuple[ScheduleSlot, ...]

    def __post_init__(self) -> None:
        total = sum(s.duration_minutes for s in self.slots)
        if total != MINUTES_PER_WEEK:
            raise ValueError(f"schedule slots sum to {total} minutes, not {MINUTES_PER_WEEK}")

    @classmethod
    def from_json(cls, data: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> WeeklySchedule:
        raw = data["slots"] if isinstance(data, Mapping) else data
        slots = []
        for slot in raw:
            intent = slot["intent"]
            slots.append(
                ScheduleSlot(
                    int(slot["durationMinutes"]),
                    Intent(
                        IntentKind(str(intent["kind"]).lower()),
                        float(intent.get("socMin", 0.0)),
                        float(intent.get("socMax", 100.0)),
                        None if intent.get("powerW") is None else float(intent["powerW"]),
                    ),
                )
            )
        return cls(tuple(slots))


@dataclass(frozen=True)
class OverlayCommand:
    type: CommandType
    duration_minutes: int
    power_w: float | None = None

    def __post_init__(self) -> None:
        if self.duration_minutes <= 0:
            raise ValueError("command durationMinutes must be > 0")
        if self.type is CommandType.SETPOINT and self.power_w is None:
            raise ValueError("a setpoint command needs powerW")


@dataclass(frozen=True)
class OverlayPlan:
    """Commands run back to back from `start_time`; the mode resumes after the last one."""

    start_time: datetime
    commands: tuple[OverlayCommand, ...] = ()

    def __post_init__(self) -> None:
        if self.start_time.tzinfo is None:
            raise ValueError("overlay startTime must carry a time zone")

    @property
    def start_minute(self) -> int:
        """Commands take effect from the first whole minute at or after `start_time`."""
        return ceil_minute(self.start_time)

    @property
    def duration_minutes(self) -> int:
        return sum(c.duration_minutes for c in self.commands)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OverlayPlan | None:
        """None for an empty plan (an empty `commands` deletes the plan)."""
        commands = tuple(
            OverlayCommand(
                CommandType.parse(str(c["type"])),
                int(c["durationMinutes"]),
                None if c.get("powerW") is None else float(c["powerW"]),
            )
            for c in data.get("commands", ())
        )
        if not commands:
            return None
        start = data["startTime"]
        if isinstance(start, str):
            start = datetime.fromisoformat(start.replace("Z", "+00:00"))
        return cls(start, commands)


@dataclass(frozen=True)
class DeviceControl:
    """A controllable device's operation mode, weekly plan and overlay plan."""

    mode: Mode = Mode.SIMPLE
    schedule: WeeklySchedule | None = None
    overlay: OverlayPlan | None = None

    def __post_init__(self) -> None:
        if self.mode is Mode.SCHEDULE and self.schedule is None:
            raise ValueError("schedule mode needs a schedule plan")


@dataclass(frozen=True)
class SiteControl:
    """Controls for every controllable device; the battery's also steers the inverter."""

    battery: DeviceControl = field(default_factory=DeviceControl)
    ev: DeviceControl = field(default_factory=DeviceControl)
    hot_water: DeviceControl = field(default_factory=DeviceControl)
