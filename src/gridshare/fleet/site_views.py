"""Site-level reads built on the owner-scoped homes service: a site's current state, its
telemetry streams by role, its tariffs' price pages and its monthly savings.

Every read first finds the site (or tariff) among the caller's own, so another homeowner's ids
answer 404 exactly like unknown ones.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from gridshare.auth.scopes import PLAN_READ
from gridshare.fleet.savings import months_of, site_savings
from gridshare.fleet.service import Caller, HomesService, NotFound
from gridshare.fleet.tariff_pages import (
    Direction,
    PageRequest,
    parse_token,
    request_from_interval,
    tariff_page,
)
from gridshare.fleet.twin_adapter import site_tariffs
from gridshare.homes.devices import DeviceKind
from gridshare.homes.errors import DomainError, Kind
from gridshare.homes.modes import DEFAULT_MODE
from gridshare.homes.plans import EMPTY_OVERLAY
from gridshare.homes.site_streams import parse_roles, site_sensors, wire_role
from gridshare.homes.sites import Site
from gridshare.storage.homes import (
    ControlState,
    control_states,
    control_states_sqlite,
)
from gridshare.telemetry import TelemetryQuery
from gridshare.telemetry.resolution import Include
from gridshare.telemetry.store import (
    latest_entries,
    latest_entries_sqlite,
    telemetry_entries_many,
)
from gridshare.twin.tariffs import Tariff, resolve_tariff

Controls = dict[str, ControlState]
Readings = dict[str, dict[str, Any]]
CONTROLLABLE = (DeviceKind.BATTERY_PACK, DeviceKind.EV, DeviceKind.LOAD_CONTROL_RELAY)


class SiteViews:
    def __init__(self, homes: HomesService) -> None:
        self.homes = homes
        self.db = homes.db

    async def current_state(self, caller: Caller, site_id: str) -> dict[str, Any]:
        """The newest reading of each primary sensor, and each controllable device's mode
        (and overlay plan, for a token that may read plans)."""
        site = (await self.homes.site(caller, site_id)).site
        sensors = site_sensors(site)
        controls, readings = await self._controls_and_readings(
            site.site_id, [s.sensor_id for s in sensors]
        )
        show_plans = PLAN_READ in caller.scopes
        devices = []
        for device in site.devices:
            if device.kind not in CONTROLLABLE:
                continue
            control = controls.get(device.synth_id)
            item: dict[str, Any] = {
                "synthId": device.synth_id,
                "kind": device.kind.value,
                "operationMode": control.mode if control is not None else DEFAULT_MODE.value,
            }
            if show_plans:
                stored = control.overlay if control is not None else None
                item["overlayPlan"] = stored if stored is not None else EMPTY_OVERLAY.to_json()
            devices.append(item)
        stamps = [r["timestamp"] for r in readings.values()]
        return {
            "siteId": site.site_id,
            "timestamp": max(stamps) if stamps else None,
            "sensors": [
                {
                    "id": s.sensor_id,
                    "role": wire_role(s.role),
                    "deviceId": s.device_id,
                    **readings.get(s.sensor_id, {}),
                }
                for s in sensors
            ],
            "devices": devices,
        }

    async def _controls_and_readings(
        self, site_id: str, sensor_ids: list[str]
    ) -> tuple[dict[str, ControlState], dict[str, dict[str, Any]]]:
        """The site's control rows and its sensors' newest readings, in one read: on SQLite
        one worker-thread call with plain statements (the ORM and aiosqlite's hand-overs cost
        more than both queries), elsewhere one session."""
        include = Include(energy=True)
        pool = self.db.read_pool
        if pool is not None:

            def read(conn: sqlite3.Connection) -> tuple[Controls, Readings]:
                return (
                    control_states_sqlite(conn, site_id),
                    latest_entries_sqlite(conn, sensor_ids, include),
                )

            return await pool.run(read)
        async with self.db.read() as session:
            controls = await control_states(session, site_id)
            return controls, await latest_entries(session, sensor_ids, include)

    async def site(self, caller: Caller, site_id: str) -> Site:
        return (await self.homes.site(caller, site_id)).site

    async def telemetry(
        self, site: Site, roles: str | None, query: TelemetryQuery
    ) -> dict[str, Any]:
        """The site's streams (primary sensors, or those of `roles`), each the entries the
        device telemetry call gives for that sensor."""
        sensors = site_sensors(site, parse_roles(roles))
        entries = await telemetry_entries_many(self.db, [s.sensor_id for s in sensors], query)
        return {
            "siteId": site.site_id,
            "streams": [
                {"sensorId": s.sensor_id, "role": wire_role(s.role), "entries": e}
                for s, e in zip(sensors, entries, strict=True)
            ],
        }

    async def savings(self, caller: Caller, site_id: str, interval: str | None) -> dict[str, Any]:
        site = (await self.homes.site(caller, site_id)).site
        now = self.homes.clock.now()
        months = months_of(interval, site.time_zone, now)
        tariffs = site_tariffs(site)
        return {
            "siteId": site.site_id,
            "currency": tariffs.import_tariff.currency,
            "entries": await site_savings(self.db, site, tariffs, months, now),
        }

    async def _tariff_site(
        self, caller: Caller, tariff_id: str, direction: str | None
    ) -> tuple[Tariff, Site, Direction]:
        """The tariff, the caller's first site (in site-list order) naming it, and the
        direction it names it for (import first); 404 when no site of the caller names it."""
        if direction is not None and direction not in ("import", "export"):
            raise DomainError(
                Kind.MALFORMED, "malformed_direction", "direction must be import or export"
            )
        for site_id in await self.homes.site_ids(caller):
            site = (await self.homes.site(caller, site_id)).site
            named: list[Direction] = []
            if site.import_tariff_id == tariff_id:
                named.append("import")
            if site.export_tariff_id == tariff_id:
                named.append("export")
            chosen = [d for d in named if direction is None or d == direction]
            if chosen:
                return resolve_tariff(tariff_id), site, chosen[0]
        raise NotFound("tariff")

    async def tariff(
        self,
        caller: Caller,
        tariff_id: str,
        interval: str | None,
        next_token: str | None,
        direction: str | None,
    ) -> dict[str, Any]:
        tariff, site, chosen = await self._tariff_site(caller, tariff_id, direction)
        request: PageRequest
        if next_token:
            request = parse_token(next_token, tariff_id)
            if direction is None:
                tariff, site, chosen = await self._tariff_site(caller, tariff_id, request.direction)
            elif request.direction != chosen:
                raise DomainError(
                    Kind.MALFORMED, "malformed_token", "nextToken is for the other direction"
                )
        else:
            request = request_from_interval(interval, tariff_id, chosen, self.homes.clock.now())
        return tariff_page(tariff, request, site.time_zone)
