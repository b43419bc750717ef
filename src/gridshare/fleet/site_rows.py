"""Homes domain objects to storage rows and back (storage itself knows rows only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gridshare.homes.sites import Site
from gridshare.storage.models import AuditEvent, DeviceRow, SiteRow


@dataclass(frozen=True)
class StoredSite:
    site: Site
    owner_id: str
    seed: int
    template: str


@dataclass(frozen=True)
class Action:
    """An audited write as the homeowner's portal lists it."""

    at: datetime
    action: str
    target: str
    detail: str


def stored_site(row: SiteRow, devices: list[DeviceRow]) -> StoredSite:
    return StoredSite(site_from_rows(row, devices), row.owner_id, row.seed, row.template)


def site_from_rows(row: SiteRow, devices: list[DeviceRow]) -> Site:
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


def site_to_rows(
    site: Site, *, owner_id: str, template: str, seed: int, now: datetime
) -> tuple[SiteRow, list[DeviceRow]]:
    data = site.model_dump(mode="json")
    row = SiteRow(
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
    devices = [
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
        for position, device in enumerate(data["devices"])
    ]
    return row, devices


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


def action_of(event: AuditEvent) -> Action:
    return Action(event.at, event.action, event.target, event.detail)
