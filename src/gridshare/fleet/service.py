"""Owner-scoped reads and audited writes over the homes: the homes use cases.

Each public method is one use case and opens exactly one unit of work (`db.read()` or
`db.write()`), passing its session down to the repositories (`gridshare.storage.homes`), so a
write, the checks it depends on and its audit row commit or roll back together.

Every method takes the caller (`Caller`: homeowner `sub` and partner `client_id`) and answers
`NotFound` both for ids that do not exist and for ids of another homeowner, so a token can never
learn that someone else's resource exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridshare.clock import Clock
from gridshare.fleet.homes_memory import HomesMemory
from gridshare.fleet.site_rows import Action, StoredSite, action_of, audit_event, stored_site
from gridshare.homes import events
from gridshare.homes.devices import Device, apply_device_patch, device_resource, parse_device_patch
from gridshare.homes.errors import DomainError, Kind
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
from gridshare.storage import events as outbox
from gridshare.storage import grants as grant_rows
from gridshare.storage import homes as rows
from gridshare.storage.db import Database
from gridshare.storage.models import AuditEvent, DeviceControl


class NotFound(DomainError):
    def __init__(self, what: str) -> None:
        super().__init__(Kind.NOT_FOUND, "not_found", f"{what} not found")


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
    def __init__(self, db: Database, clock: Clock, memory: HomesMemory | None = None) -> None:
        self.db = db
        self.clock = clock
        #: Sites and devices per homeowner between the writes that change them.
        self.memory = memory or HomesMemory()
        self._sources: dict[tuple[str, str], TelemetrySource] = {}

    # -- reads -------------------------------------------------------------------------------

    async def site_ids(self, caller: Caller) -> list[str]:
        async def load() -> list[str]:
            async with self.db.read() as session:
                return await rows.site_ids(session, caller.user_id)

        return await self.memory.get(("site_ids", caller.user_id), load)

    async def device_ids(self, caller: Caller) -> list[str]:
        async def load() -> list[str]:
            async with self.db.read() as session:
                return await rows.device_ids(session, caller.user_id)

        return await self.memory.get(("device_ids", caller.user_id), load)

    async def site(self, caller: Caller, site_id: str) -> StoredSite:
        async def load() -> StoredSite:
            async with self.db.read() as session:
                return await self._site(session, caller, site_id)

        return await self.memory.get(("site", caller.user_id, site_id), load)

    async def site_and_controls(
        self, caller: Caller, site_id: str
    ) -> tuple[StoredSite, dict[str, DeviceControl]]:
        """The caller's site (remembered) and the control rows of its devices (read: modes
        and plans change far more often than sites), e.g. what the twin steps from."""
        stored = await self.site(caller, site_id)
        async with self.db.read() as session:
            return stored, await rows.controls_of_site(session, site_id)

    @staticmethod
    async def _site(session: AsyncSession, caller: Caller, site_id: str) -> StoredSite:
        if not _storable(site_id):
            raise NotFound("site")
        row = await rows.site_row(session, site_id, owner_id=caller.user_id)
        if row is None:
            raise NotFound("site")
        return stored_site(row, await rows.device_rows(session, site_id))

    async def locate(self, caller: Caller, synth_id: str) -> Located:
        """Resolve a device or sensor id on one of the caller's sites."""

        async def load() -> Located:
            async with self.db.read() as session:
                return await self._locate(session, caller, synth_id)

        return await self.memory.get(("locate", caller.user_id, synth_id), load)

    @staticmethod
    async def _locate(session: AsyncSession, caller: Caller, synth_id: str) -> Located:
        if not _storable(synth_id):
            raise NotFound("device")
        candidates = [synth_id]
        if (parts := split_sensor_id(synth_id)) is not None:
            candidates.append(parts[0])
        row = await rows.site_row_with_device(session, candidates, caller.user_id)
        if row is None:
            raise NotFound("device")
        stored = stored_site(row, await rows.device_rows(session, row.site_id))
        target = resolve_synth_id(stored.site, synth_id)
        if target is None:
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
        async with self.db.read() as session:
            located = await self._locate(session, caller, synth_id)
            if located.target.kind != "device":
                raise NotFound("device")
            partners = await self._partners(session, caller)
        return device_resource(
            located.target.device, site_id=located.site.site_id, partners=partners
        )

    @staticmethod
    async def _partners(session: AsyncSession, caller: Caller) -> list[str]:
        """The partners the homeowner's devices publish to (live grants), as `caller` may see
        them: its own name, and every other partner only as `OTHER_PARTNER`. A homeowner's other
        business relationships are not one partner's to read; the count stays, so the field
        still says how widely the device's data is shared."""
        names = await grant_rows.partner_names(session, caller.user_id)
        own = [names.pop(caller.client_id)] if caller.client_id in names else []
        return own + [OTHER_PARTNER] * len(names)

    async def _control(self, caller: Caller, synth_id: str) -> DeviceControl | None:
        async with self.db.read() as session:
            _, device = await self._control_target(session, caller, synth_id)
            return await rows.control(session, device.synth_id)

    async def mode(self, caller: Caller, synth_id: str) -> OperationMode:
        control = await self._control(caller, synth_id)
        if control is None:
            return DEFAULT_MODE
        return OperationMode(control.mode)

    async def overlay(self, caller: Caller, synth_id: str) -> OverlayPlan:
        control = await self._control(caller, synth_id)
        if control is None or control.overlay is None:
            return EMPTY_OVERLAY
        return OverlayPlan.model_validate(control.overlay)

    async def schedule(self, caller: Caller, synth_id: str) -> SchedulePlan | None:
        control = await self._control(caller, synth_id)
        if control is None or control.schedule is None:
            return None
        return SchedulePlan.model_validate(control.schedule)

    # -- the homeowner's own view (portal) ------------------------------------------------------

    async def owner_sites(self, user_id: str) -> list[Site]:
        """Every site of the homeowner with its devices (a fixed number of statements)."""
        async with self.db.read() as session:
            return [
                stored_site(row, devices).site
                for row, devices in await rows.owner_sites(session, user_id)
            ]

    async def recent_actions_by_partner(
        self, user_id: str, client_ids: list[str], limit: int = 5
    ) -> dict[str, list[Action]]:
        """The newest `limit` audited writes of each partner on the homeowner's homes (one
        statement whatever the number of partners)."""
        found: dict[str, list[Action]] = {client_id: [] for client_id in client_ids}
        async with self.db.read() as session:
            for event in await rows.recent_actions(session, user_id, client_ids, limit):
                found[event.client_id].append(action_of(event))
        return found

    async def recent_actions(self, user_id: str, client_id: str, limit: int = 5) -> list[Action]:
        return (await self.recent_actions_by_partner(user_id, [client_id], limit))[client_id]

    # -- writes: each one transaction with its checks and its audit row ------------------------

    def _audit(
        self, caller: Caller, action: str, target: str, detail: dict[str, Any]
    ) -> AuditEvent:
        return audit_event(
            at=self.clock.now(),
            user_id=caller.user_id,
            client_id=caller.client_id,
            action=action,
            target=target,
            detail=detail,
        )

    async def _event(
        self,
        session: AsyncSession,
        caller: Caller,
        located: Located,
        device: Device,
        type: str,
        body: dict[str, Any],
    ) -> None:
        """Into the outbox, in the write's own unit: told if and only if it commits."""
        await outbox.append(
            session,
            site_id=located.site.site_id,
            owner_id=caller.user_id,
            type=type,
            at=self.clock.now(),
            body=body,
            device_id=device.synth_id,
            client_id=caller.client_id,
        )

    async def patch_device(self, caller: Caller, synth_id: str, body: object) -> dict[str, Any]:
        async with self.db.write() as session:
            located = await self._locate(session, caller, synth_id)
            if located.target.kind != "device":
                raise NotFound("device")
            patch = parse_device_patch(body)
            updated = apply_device_patch(located.target.device, patch)
            row = await rows.device_row(session, updated.synth_id)
            if row is not None:
                row.name = updated.name
            rows.add_audit(
                session, self._audit(caller, "device.rename", synth_id, {"name": updated.name})
            )
            partners = await self._partners(session, caller)
        await self.memory.changed()
        return device_resource(updated, site_id=located.site.site_id, partners=partners)

    async def _control_target(
        self, session: AsyncSession, caller: Caller, synth_id: str
    ) -> tuple[Located, Device]:
        """The caller's site and the device `synth_id` controls on it."""
        located = await self._locate(session, caller, synth_id)
        return located, control_device(located.site, synth_id)

    async def _lock(self, session: AsyncSession, device: Device) -> DeviceControl:
        """The device's control row, created if missing, locked until the unit commits: the
        checks that read it and the change hold together against concurrent writes."""
        return await rows.locked_control(
            session, device.synth_id, DEFAULT_MODE.value, self.clock.now()
        )

    async def set_mode(self, caller: Caller, synth_id: str, body: object) -> OperationMode:
        async with self.db.write() as session:
            located, device = await self._control_target(session, caller, synth_id)
            mode = parse_mode_body(body)
            row = await self._lock(session, device)
            check_mode_change(mode, has_schedule=row.schedule is not None)
            previous = row.mode
            row.mode = mode.value
            row.updated_at = self.clock.now()
            rows.add_audit(
                session, self._audit(caller, "mode.set", device.synth_id, {"mode": mode.value})
            )
            body_out = events.mode_changed(device.synth_id, mode.value, previous)
            await self._event(session, caller, located, device, events.MODE_CHANGED, body_out)
        return mode

    async def set_overlay(self, caller: Caller, synth_id: str, body: object) -> None:
        async with self.db.write() as session:
            located, device = await self._control_target(session, caller, synth_id)
            plan = validate_overlay(
                body,
                device.kind,
                limits=power_limits(located.site, device),
                now=self.clock.now(),
            )
            row = await self._lock(session, device)
            previous = row.overlay
            row.overlay = None if plan.is_delete else plan.to_json()
            row.updated_at = self.clock.now()
            if previous is not None and not plan.is_delete:
                old = events.overlay_body(device.synth_id, previous)
                await self._event(session, caller, located, device, events.OVERLAY_SUPERSEDED, old)
            told = events.OVERLAY_CLEARED if plan.is_delete else events.OVERLAY_ACCEPTED
            new = events.overlay_body(device.synth_id, plan.to_json())
            await self._event(session, caller, located, device, told, new)
            detail: dict[str, Any] = {"commands": len(plan.commands)}
            if plan.startTime is not None:
                detail["startTime"] = plan.startTime.isoformat()
            action = "overlay.clear" if plan.is_delete else "overlay.set"
            rows.add_audit(session, self._audit(caller, action, device.synth_id, detail))

    async def set_schedule(self, caller: Caller, synth_id: str, body: object) -> None:
        async with self.db.write() as session:
            located, device = await self._control_target(session, caller, synth_id)
            plan = validate_schedule(body, device.kind, limits=power_limits(located.site, device))
            row = await self._lock(session, device)
            if plan.is_delete and row.mode == OperationMode.SCHEDULE:
                raise DomainError(
                    Kind.IMPOSSIBLE,
                    "schedule_in_use",
                    "the device is in schedule mode: switch mode before deleting its schedule",
                )
            row.schedule = None if plan.is_delete else plan.to_json()
            row.updated_at = self.clock.now()
            told = events.schedule_body(device.synth_id, row.schedule)
            await self._event(session, caller, located, device, events.SCHEDULE_CHANGED, told)
            action = "schedule.clear" if plan.is_delete else "schedule.set"
            rows.add_audit(
                session,
                self._audit(caller, action, device.synth_id, {"slots": len(plan.slots)}),
            )
