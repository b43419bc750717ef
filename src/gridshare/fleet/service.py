"""Owner-scoped reads and audited writes over the homes.

Every method takes the caller (`Caller`: homeowner `sub` and partner `client_id`) and answers
`NotFound` both for ids that do not exist and for ids of another homeowner, so a token can never
learn that someone else's resource exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from gridshare.clock import Clock
from gridshare.homes.devices import Device, apply_device_patch, device_resource, parse_device_patch
from gridshare.homes.errors import DomainError
from gridshare.homes.modes import (
    DEFAULT_MODE,
    OperationMode,
    check_mode_change,
    control_device,
    parse_mode_body,
)
from gridshare.homes.plans import (
    EMPTY_OVERLAY,
    OverlayPlan,
    SchedulePlan,
    power_limits,
    validate_overlay,
    validate_schedule,
)
from gridshare.homes.sites import Site
from gridshare.homes.topology import (
    SynthTarget,
    primary_sensor,
    resolve_synth_id,
    split_sensor_id,
)
from gridshare.storage.db import Database
from gridshare.storage.homes import HomesRepository, StoredSite, audit_event
from gridshare.storage.models import Client, DeviceControl, Grant


class NotFound(DomainError):
    def __init__(self, what: str) -> None:
        super().__init__(404, "not_found", f"{what} not found")


def _storable(identifier: str) -> bool:
    """Whether `identifier` could be a stored id at all. Ids are ours (UUIDs and sensor
    suffixes); a path can carry anything, and PostgreSQL errors on NUL or invalid UTF-8
    rather than finding nothing."""
    try:
        identifier.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in identifier


@dataclass(frozen=True)
class Caller:
    user_id: str
    client_id: str
    #: The token's scopes, for answers that show more to a token with more (currentState).
    scopes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Located:
    """A synthId resolved on the caller's site."""

    stored: StoredSite
    target: SynthTarget

    @property
    def site(self) -> Site:
        return self.stored.site


@dataclass(frozen=True)
class TelemetrySource:
    """A synthId as telemetry reads it: the site's zone (for P1D days) and, when the id names
    a device rather than a sensor, the device's primary sensor (what v1 reads for it)."""

    time_zone: str
    device_primary_sensor: str | None
    learnt_at: float


#: Remembered telemetry sources per process, and for how long. Sites never move, change zone
#: or change hands today; the time bound keeps a future change of that kind from being wrong for
#: long in a process that did not make it.
MAX_SOURCES = 100_000
SOURCE_TTL_SECONDS = 300.0
#: How `partners` in a device answer names a partner other than the caller.
OTHER_PARTNER = "another partner"


class HomesService:
    def __init__(self, db: Database, repo: HomesRepository, clock: Clock) -> None:
        self.db = db
        self.repo = repo
        self.clock = clock
        self._sources: dict[tuple[str, str], TelemetrySource] = {}

    # -- reads -------------------------------------------------------------------------------

    async def site_ids(self, caller: Caller) -> list[str]:
        return await self.repo.site_ids(caller.user_id)

    async def device_ids(self, caller: Caller) -> list[str]:
        return await self.repo.device_ids(caller.user_id)

    async def site(self, caller: Caller, site_id: str) -> StoredSite:
        if not _storable(site_id):
            raise NotFound("site")
        stored = await self.repo.load_site(site_id, owner_id=caller.user_id)
        if stored is None:
            raise NotFound("site")
        return stored

    async def locate(self, caller: Caller, synth_id: str) -> Located:
        """Resolve a device or sensor id on one of the caller's sites."""
        if not _storable(synth_id):
            raise NotFound("device")
        candidates = [synth_id]
        if (parts := split_sensor_id(synth_id)) is not None:
            candidates.append(parts[0])
        stored = await self.repo.site_with_device(candidates, caller.user_id)
        target = resolve_synth_id(stored.site, synth_id) if stored else None
        if stored is None or target is None:
            raise NotFound("device")
        return Located(stored, target)

    async def telemetry_source(self, caller: Caller, synth_id: str) -> TelemetrySource:
        """What a telemetry read of `synth_id` needs, remembered per homeowner and id.

        Telemetry is the hot read path; what it needs of the site (time zone, whether the id is
        a device and its primary sensor) is fixed when the site is created, so unlike device
        names it can be remembered. Only ids found on the caller's own site are remembered,
        under the caller's id: another homeowner's lookup never hits the entry.
        """
        key = (caller.user_id, synth_id)
        source = self._sources.get(key)
        if source is not None and self.clock.time() - source.learnt_at < SOURCE_TTL_SECONDS:
            return source
        located = await self.locate(caller, synth_id)
        device = located.target.device if located.target.kind == "device" else None
        source = TelemetrySource(
            located.site.time_zone,
            primary_sensor(device) if device is not None else None,
            self.clock.time(),
        )
        self._sources.pop(key, None)
        while len(self._sources) >= MAX_SOURCES:
            del self._sources[next(iter(self._sources))]
        self._sources[key] = source
        return source

    async def device(self, caller: Caller, synth_id: str) -> dict[str, Any]:
        located = await self.locate(caller, synth_id)
        if located.target.kind != "device":
            raise NotFound("device")
        return device_resource(
            located.target.device,
            site_id=located.site.site_id,
            partners=await self._partners(caller),
        )

    async def _partners(self, caller: Caller) -> list[str]:
        """The partners the homeowner's devices publish to (live grants), as `caller` may see
        them: its own name, and every other partner only as `OTHER_PARTNER`. A homeowner's other
        business relationships are not one partner's to read; the count stays, so the field
        still says how widely the device's data is shared."""
        async with self.db.read() as session:
            rows = await session.execute(
                select(Client.client_id, Client.name)
                .join(Grant, Grant.client_id == Client.client_id)
                .where(Grant.user_id == caller.user_id, Grant.revoked_at.is_(None))
            )
            names = {client_id: name for client_id, name in rows}
        own = [names.pop(caller.client_id)] if caller.client_id in names else []
        return own + [OTHER_PARTNER] * len(names)

    async def _control_target(self, caller: Caller, synth_id: str) -> tuple[Located, Device]:
        located = await self.locate(caller, synth_id)
        return located, control_device(located.site, synth_id)

    async def mode(self, caller: Caller, synth_id: str) -> OperationMode:
        _, device = await self._control_target(caller, synth_id)
        control = await self.repo.control(device.synth_id)
        if control is None:
            return DEFAULT_MODE
        return OperationMode(control.mode)

    async def overlay(self, caller: Caller, synth_id: str) -> OverlayPlan:
        _, device = await self._control_target(caller, synth_id)
        control = await self.repo.control(device.synth_id)
        if control is None or control.overlay is None:
            return EMPTY_OVERLAY
        return OverlayPlan.model_validate(control.overlay)

    async def schedule(self, caller: Caller, synth_id: str) -> SchedulePlan | None:
        _, device = await self._control_target(caller, synth_id)
        control = await self.repo.control(device.synth_id)
        if control is None or control.schedule is None:
            return None
        return SchedulePlan.model_validate(control.schedule)

    # -- writes (each audited in the same transaction) ----------------------------------------

    def _audit(self, caller: Caller, action: str, target: str, detail: dict[str, Any]) -> Any:
        return audit_event(
            at=self.clock.now(),
            user_id=caller.user_id,
            client_id=caller.client_id,
            action=action,
            target=target,
            detail=detail,
        )

    async def patch_device(self, caller: Caller, synth_id: str, body: object) -> dict[str, Any]:
        located = await self.locate(caller, synth_id)
        if located.target.kind != "device":
            raise NotFound("device")
        patch = parse_device_patch(body)
        updated = apply_device_patch(located.target.device, patch)
        await self.repo.rename_device(
            updated,
            self._audit(caller, "device.rename", synth_id, {"name": updated.name}),
        )
        return device_resource(
            updated, site_id=located.site.site_id, partners=await self._partners(caller)
        )

    async def set_mode(self, caller: Caller, synth_id: str, body: object) -> OperationMode:
        _, device = await self._control_target(caller, synth_id)
        mode = parse_mode_body(body)

        def schedule_present(row: DeviceControl) -> None:
            check_mode_change(mode, has_schedule=row.schedule is not None)

        await self.repo.update_control(
            device.synth_id,
            self.clock.now(),
            DEFAULT_MODE.value,
            self._audit(caller, "mode.set", device.synth_id, {"mode": mode.value}),
            check=schedule_present,
            mode=mode.value,
        )
        return mode

    async def set_overlay(self, caller: Caller, synth_id: str, body: object) -> None:
        located, device = await self._control_target(caller, synth_id)
        plan = validate_overlay(
            body,
            device.kind,
            limits=power_limits(located.site, device),
            now=self.clock.now(),
        )
        stored = None if plan.is_delete else plan.to_json()
        action = "overlay.clear" if plan.is_delete else "overlay.set"
        detail = {"commands": len(plan.commands)}
        if plan.startTime is not None:
            detail["startTime"] = plan.startTime.isoformat()  # type: ignore[assignment]
        await self.repo.update_control(
            device.synth_id,
            self.clock.now(),
            DEFAULT_MODE.value,
            self._audit(caller, action, device.synth_id, detail),
            overlay=stored,
        )

    async def set_schedule(self, caller: Caller, synth_id: str, body: object) -> None:
        located, device = await self._control_target(caller, synth_id)
        plan = validate_schedule(body, device.kind, limits=power_limits(located.site, device))

        def not_in_use(row: DeviceControl) -> None:
            if plan.is_delete and row.mode == OperationMode.SCHEDULE:
                raise DomainError(
                    422,
                    "schedule_in_use",
                    "the device is in schedule mode: switch mode before deleting its schedule",
                )

        action = "schedule.clear" if plan.is_delete else "schedule.set"
        await self.repo.update_control(
            device.synth_id,
            self.clock.now(),
            DEFAULT_MODE.value,
            self._audit(caller, action, device.synth_id, {"slots": len(plan.slots)}),
            check=not_in_use,
            schedule=None if plan.is_delete else plan.to_json(),
        )
