"""Homes as stored: rows to domain `Site` objects and back, device control, the audit log.

The domain (`gridshare.homes`) validates; this module only persists. Every read that answers a
partner is scoped by owner at the query, so another homeowner's rows are never loaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gridshare.homes.devices import Device
from gridshare.homes.sites import Site
from gridshare.storage.db import Database
from gridshare.storage.models import AuditEvent, DeviceControl, DeviceRow, SiteRow


@dataclass(frozen=True)
class StoredSite:
    site: Site
    owner_id: str
    seed: int
    template: str


def audit_event(
    *, at: datetime, user_id: str, client_id: str, action: str, target: str, detail: dict[str, Any]
) -> AuditEvent:
    return AuditEvent(
        at=at,
        user_id=user_id,
        client_id=client_id,
        action=action,
        target=target,
        detail=json.dumps(detail, separators=(",", ":"))[:4000],
    )


@dataclass(frozen=True)
class Action:
    at: datetime
    action: str
    target: str
    detail: str


def _site_from_rows(row: SiteRow, devices: list[DeviceRow]) -> Site:
    return Site.model_validate(
        {
            "site_id": row.site_id,
            "owner": row.owner_id,
            "site_reference": row.site_reference,
            "address": row.address,
            "time_zone": row.time_zone,
            "latitude": row.latitude,
            "longitude": row.longitude,
            "import_tariff_id": row.import_tariff_id,
            "export_tariff_id": row.export_tariff_id,
            "battery_grid_export": row.battery_grid_export,
            "devices": [
                {
                    "synth_id": d.synth_id,
                    "type": d.type,
                    "manufacturer": d.manufacturer,
                    "model": d.model,
                    "serial_number": d.serial_number,
                    "name": d.name,
                    "parent_id": d.parent_id,
                    "properties": d.properties,
                }
                for d in sorted(devices, key=lambda d: d.position)
            ],
        }
    )


class HomesRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_site(
        self, site: Site, *, owner_id: str, template: str, seed: int, now: datetime
    ) -> None:
        data = site.model_dump(mode="json")
        async with self.db.write() as session:
            session.add(
                SiteRow(
                    site_id=site.site_id,
                    owner_id=owner_id,
                    template=template,
                    site_reference=site.site_reference,
                    address=data["address"],
                    time_zone=site.time_zone,
                    latitude=site.latitude,
                    longitude=site.longitude,
                    import_tariff_id=site.import_tariff_id,
                    export_tariff_id=site.export_tariff_id,
                    battery_grid_export=site.battery_grid_export,
                    seed=seed,
                    created_at=now,
                )
            )
            await session.flush()
            for position, device in enumerate(data["devices"]):
                session.add(
                    DeviceRow(
                        synth_id=device["synth_id"],
                        site_id=site.site_id,
                        owner_id=owner_id,
                        position=position,
                        kind=device["properties"]["kind"],
                        parent_id=device["parent_id"],
                        type=device["type"],
                        manufacturer=device["manufacturer"],
                        model=device["model"],
                        serial_number=device["serial_number"],
                        name=device["name"],
                        properties=device["properties"],
                    )
                )

    async def site_ids(self, owner_id: str) -> list[str]:
        async with self.db.read() as session:
            rows = await session.execute(
                select(SiteRow.site_id)
                .where(SiteRow.owner_id == owner_id)
                .order_by(SiteRow.created_at, SiteRow.site_id)
            )
            return list(rows.scalars())

    async def device_ids(self, owner_id: str) -> list[str]:
        async with self.db.read() as session:
            rows = await session.execute(
                select(DeviceRow.synth_id)
                .join(SiteRow, SiteRow.site_id == DeviceRow.site_id)
                .where(DeviceRow.owner_id == owner_id)
                .order_by(SiteRow.created_at, DeviceRow.site_id, DeviceRow.position)
            )
            return list(rows.scalars())

    async def load_site(self, site_id: str, owner_id: str | None = None) -> StoredSite | None:
        """The site, or None if it does not exist or (when `owner_id` is given) is not theirs."""
        query = select(SiteRow).where(SiteRow.site_id == site_id)
        if owner_id is not None:
            query = query.where(SiteRow.owner_id == owner_id)
        return await self._load(query)

    async def site_with_device(self, device_ids: Sequence[str], owner_id: str) -> StoredSite | None:
        """The owner's site holding any of `device_ids` (a device id, or the device part of a
        sensor id), read in one transaction: the site row by a subquery, then its devices."""
        holder = (
            select(DeviceRow.site_id)
            .where(DeviceRow.synth_id.in_(list(device_ids)), DeviceRow.owner_id == owner_id)
            .limit(1)
            .scalar_subquery()
        )
        return await self._load(
            select(SiteRow).where(SiteRow.site_id == holder, SiteRow.owner_id == owner_id)
        )

    async def _load(self, site_query: Select[SiteRow]) -> StoredSite | None:
        async with self.db.read() as session:
            row = (await session.execute(site_query)).scalar_one_or_none()
            if row is None:
                return None
            devices = list(
                (
                    await session.execute(select(DeviceRow).where(DeviceRow.site_id == row.site_id))
                ).scalars()
            )
        return StoredSite(_site_from_rows(row, devices), row.owner_id, row.seed, row.template)

    async def all_sites(self) -> list[str]:
        async with self.db.read() as session:
            return list((await session.execute(select(SiteRow.site_id))).scalars())

    async def rename_device(self, device: Device, audit: AuditEvent) -> None:
        """Rename, and record who did it, in one transaction (no change without its audit)."""
        async with self.db.write() as session:
            row = await session.get(DeviceRow, device.synth_id)
            if row is not None:
                row.name = device.name
            session.add(audit)

    async def control(self, device_id: str) -> DeviceControl | None:
        async with self.db.read() as session:
            return await session.get(DeviceControl, device_id)

    async def controls_of_site(self, site_id: str) -> dict[str, DeviceControl]:
        async with self.db.read() as session:
            rows = await session.execute(
                select(DeviceControl)
                .join(DeviceRow, DeviceRow.synth_id == DeviceControl.device_id)
                .where(DeviceRow.site_id == site_id)
            )
            return {c.device_id: c for c in rows.scalars()}

    async def update_control(
        self,
        device_id: str,
        now: datetime,
        default_mode: str,
        audit: AuditEvent,
        check: Callable[[DeviceControl], None] | None = None,
        **changes: Any,
    ) -> DeviceControl:
        """Create-or-update the control row (`changes`: mode/overlay/schedule) with its audit.

        One transaction: the row is created if missing (concurrent first writes must not
        collide on the primary key), then locked, then `check` sees its current state and may
        raise to refuse the change. Rules that span fields (schedule mode needs a schedule) are
        checked here rather than on an earlier read, so no interleaving of writes breaks them.
        """
        async with self.db.write() as session:
            values = {
                "device_id": device_id,
                "mode": default_mode,
                "overlay": None,
                "schedule": None,
                "updated_at": now,
            }
            insert = sqlite_insert if self.db.sqlite else pg_insert
            await session.execute(
                insert(DeviceControl)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["device_id"])
            )
            row = await session.get(
                DeviceControl, device_id, with_for_update=True, populate_existing=True
            )
            assert row is not None  # inserted above, or already there
            if check is not None:
                check(row)
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = now
            session.add(audit)
            return row

    async def recent_actions(self, user_id: str, client_id: str, limit: int = 5) -> list[Action]:
        async with self.db.read() as session:
            rows = await session.execute(
                select(AuditEvent)
                .where(AuditEvent.user_id == user_id, AuditEvent.client_id == client_id)
                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                .limit(limit)
            )
            return [Action(e.at, e.action, e.target, e.detail) for e in rows.scalars()]
