"""What happened to a home, as partners are told: event types, their bodies, and which
overlay commands start or end within a stretch of simulated time.

Pure domain: the outbox (`storage/events.py`) stores what this module builds, in the same
transaction as the change; webhooks and streams send it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gridshare.homes.plans import OverlayPlan

MODE_CHANGED = "device.operationMode.changed"
OVERLAY_ACCEPTED = "plan.overlay.accepted"
OVERLAY_STARTED = "plan.overlay.started"
OVERLAY_COMPLETED = "plan.overlay.completed"
OVERLAY_SUPERSEDED = "plan.overlay.superseded"
OVERLAY_CLEARED = "plan.overlay.cleared"
SCHEDULE_CHANGED = "plan.schedule.changed"
GRANT_REVOKED = "grant.revoked"
TELEMETRY_LATEST = "telemetry.latest"

#: Every type a subscription may name, and the scope a partner needs to read it.
EVENT_SCOPES: dict[str, str] = {
    MODE_CHANGED: "lunar/device.read",
    OVERLAY_ACCEPTED: "lunar/plan.read",
    OVERLAY_STARTED: "lunar/plan.read",
    OVERLAY_COMPLETED: "lunar/plan.read",
    OVERLAY_SUPERSEDED: "lunar/plan.read",
    OVERLAY_CLEARED: "lunar/plan.read",
    SCHEDULE_CHANGED: "lunar/plan.read",
    #: Every partner learns that it was disconnected, whatever it could read.
    GRANT_REVOKED: "",
}
#: Not produced yet (planned: the site's current state each twin step); refused until it is.
PLANNED = {TELEMETRY_LATEST: "lunar/device.read"}


@dataclass(frozen=True)
class CommandWindow:
    """One overlay command placed in time: [start, end)."""

    index: int
    start: datetime
    end: datetime
    command: dict[str, Any]


def command_windows(plan: OverlayPlan) -> list[CommandWindow]:
    """The plan's commands back to back from its `startTime` (none for an empty plan)."""
    if plan.startTime is None:
        return []
    windows: list[CommandWindow] = []
    start = plan.startTime
    for index, command in enumerate(plan.commands):
        end = start + timedelta(minutes=command.durationMinutes)
        windows.append(CommandWindow(index, start, end, command.model_dump(mode="json")))
        start = end
    return windows


def crossed(
    device_id: str, plan: OverlayPlan, begin: datetime, end: datetime
) -> list[tuple[str, datetime, dict[str, Any]]]:
    """(type, time, body) of each command start and end that a twin step simulating the
    minutes [begin, end) makes happen, in time order. A command starts when its first minute
    is simulated (start in [begin, end)) and completes when its last one is (end in
    (begin, end]), so consecutive steps never tell the same moment twice."""
    found: list[tuple[str, datetime, dict[str, Any]]] = []
    for window in command_windows(plan):
        if begin <= window.start < end:
            found.append((OVERLAY_STARTED, window.start, command_body(device_id, plan, window)))
        if begin < window.end <= end:
            found.append((OVERLAY_COMPLETED, window.end, command_body(device_id, plan, window)))
    # at one moment, a command completes before the next one starts
    found.sort(key=lambda item: (item[1], item[0] == OVERLAY_STARTED))
    return found


def command_body(device_id: str, plan: OverlayPlan, window: CommandWindow) -> dict[str, Any]:
    return {
        "deviceId": device_id,
        "commandIndex": window.index,
        "command": window.command,
        "startTime": window.start.isoformat().replace("+00:00", "Z"),
        "endTime": window.end.isoformat().replace("+00:00", "Z"),
        "plan": plan.to_json(),
    }


def mode_changed(device_id: str, mode: str, previous: str) -> dict[str, Any]:
    return {"deviceId": device_id, "operationMode": {"mode": mode}, "previousMode": previous}


def overlay_body(device_id: str, plan: dict[str, Any]) -> dict[str, Any]:
    return {"deviceId": device_id, "plan": plan}


def schedule_body(device_id: str, plan: dict[str, Any] | None) -> dict[str, Any]:
    return {"deviceId": device_id, "plan": plan if plan is not None else {"slots": []}}


def grant_revoked(client_id: str, grant_id: str) -> dict[str, Any]:
    return {"clientId": client_id, "grantId": grant_id}
