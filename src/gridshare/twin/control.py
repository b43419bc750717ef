"""Resolve a device's mode, weekly schedule and overlay into per-minute instructions.

Everything here is vectorised over a calendar: the mode (or the schedule slot of the local
minute-of-week) gives the default, and overlay commands replace it inside their window. The
device models then apply physics; only `SMART` needs a decision inside the time loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

import numpy as np
import numpy.typing as npt

from gridshare.twin.plans import (
    CommandType,
    DeviceControl,
    Intent,
    IntentKind,
    Mode,
    OverlayCommand,
)
from gridshare.twin.timebase import Calendar, FloatArray

UNLIMITED = float("inf")  # "as fast as the hardware allows"; the device models clip it


class Action(IntEnum):
    IDLE = 0  # no power (battery holds, EV waits, relay open)
    POWER = 1  # battery: power_w (signed) within the SoC window; EV: charge at most power_w;
    #            relay: closed
    SELF = 2  # battery: self-consumption within the SoC window (never from the grid)
    SMART = 3  # the device's optimiser decides


@dataclass(frozen=True)
class Command:
    action: Action
    power_w: float = 0.0
    soc_lo_pct: float = 0.0
    soc_hi_pct: float = 100.0


@dataclass(frozen=True, eq=False)
class Commands:
    """Per-minute instructions for one device."""

    action: npt.NDArray[np.int8]
    power_w: FloatArray
    soc_lo_pct: FloatArray
    soc_hi_pct: FloatArray

    def __getitem__(self, index: slice) -> Commands:
        return Commands(
            self.action[index], self.power_w[index], self.soc_lo_pct[index],
            self.soc_hi_pct[index],
        )  # fmt: skip


class Rules(Protocol):
    """How one device kind reads modes, schedule intents and overlay commands."""

    def mode(self, mode: Mode) -> Command: ...

    def intent(self, intent: Intent) -> Command: ...

    def command(self, command: OverlayCommand) -> Command | None:
        """None = this command does not concern the device; the mode carries on."""


def _magnitude(power_w: float | None) -> float:
    return UNLIMITED if power_w is None else abs(power_w)


class BatteryRules:
    def mode(self, mode: Mode) -> Command:
        return Command(Action.SMART) if mode is Mode.SMART else Command(Action.SELF)

    def intent(self, intent: Intent) -> Command:
        lo, hi = intent.soc_min, intent.soc_max
        match intent.kind:
            case IntentKind.IDLE:
                return Command(Action.IDLE)
            case IntentKind.CHARGE:
                return Command(Action.POWER, _magnitude(intent.power_w), 0.0, hi)
            case IntentKind.DISCHARGE:
                return Command(Action.POWER, -_magnitude(intent.power_w), lo, 100.0)
            case IntentKind.BALANCE:
                return Command(Action.SELF, 0.0, lo, hi)

    def command(self, command: OverlayCommand) -> Command | None:
        match command.type:
            case CommandType.CHARGE:
                return Command(Action.POWER, _magnitude(command.power_w))
            case CommandType.IDLE:
                return Command(Action.IDLE)
            case CommandType.SETPOINT:
                return Command(Action.POWER, float(command.power_w or 0.0))
            case CommandType.HEAT_WATER:
                return None


class EvRules:
    def mode(self, mode: Mode) -> Command:
        return Command(Action.SMART if mode is Mode.SMART else Action.POWER, UNLIMITED)

    def intent(self, intent: Intent) -> Command:
        if intent.kind in (IntentKind.CHARGE, IntentKind.BALANCE):
            return Command(Action.POWER, _magnitude(intent.power_w))
        return Command(Action.IDLE)  # no vehicle-to-home: discharge means "do not charge"

    def command(self, command: OverlayCommand) -> Command | None:
        match command.type:
            case CommandType.CHARGE:
                return Command(Action.POWER, _magnitude(command.power_w))
            case CommandType.IDLE:
                return Command(Action.IDLE)
            case CommandType.SETPOINT:
                power = float(command.power_w or 0.0)
                return Command(Action.POWER, power) if power > 0 else Command(Action.IDLE)
            case CommandType.HEAT_WATER:
                return None


class RelayRules:
    def mode(self, mode: Mode) -> Command:
        return Command(Action.SMART if mode is Mode.SMART else Action.POWER)

    def intent(self, intent: Intent) -> Command:
        on = intent.kind in (IntentKind.CHARGE, IntentKind.BALANCE)
        return Command(Action.POWER if on else Action.IDLE)

    def command(self, command: OverlayCommand) -> Command | None:
        match command.type:
            case CommandType.HEAT_WATER | CommandType.CHARGE:
                return Command(Action.POWER)
            case CommandType.IDLE:
                return Command(Action.IDLE)
            case CommandType.SETPOINT:
                on = float(command.power_w or 0.0) > 0
                return Command(Action.POWER if on else Action.IDLE)


BATTERY_RULES = BatteryRules()
EV_RULES = EvRules()
RELAY_RULES = RelayRules()


def _fill(out: Commands, mask: npt.NDArray[np.bool_] | slice, command: Command) -> None:
    out.action[mask] = int(command.action)
    out.power_w[mask] = command.power_w
    out.soc_lo_pct[mask] = command.soc_lo_pct
    out.soc_hi_pct[mask] = command.soc_hi_pct


def resolve(control: DeviceControl, cal: Calendar, rules: Rules) -> Commands:
    """Per-minute commands over `cal`: the mode's (or schedule's), then the overlay's."""
    n = cal.n
    out = Commands(np.zeros(n, dtype=np.int8), np.zeros(n), np.zeros(n), np.full(n, 100.0))
    if control.mode is Mode.SCHEDULE and control.schedule is not None:
        slots = control.schedule.slots
        ends = np.cumsum([s.duration_minutes for s in slots])
        slot_of_minute = np.searchsorted(ends, cal.minute_of_week, side="right")
        for index, slot in enumerate(slots):
            _fill(out, slot_of_minute == index, rules.intent(slot.intent))
    else:
        _fill(out, slice(None), rules.mode(control.mode))
    overlay = control.overlay
    if overlay is not None and overlay.commands:
        offset = cal.minutes - overlay.start_minute
        ends = np.cumsum([c.duration_minutes for c in overlay.commands])
        inside = (offset >= 0) & (offset < ends[-1])
        which = np.searchsorted(ends, offset, side="right")
        for index, item in enumerate(overlay.commands):
            command = rules.command(item)
            if command is not None:
                _fill(out, inside & (which == index), command)
    return out
