"""The homes repository: sites, devices, device controls and the audit log, as rows.

Functions over the caller's session (the house style of `telemetry/store.py`): they never open,
commit or roll back a transaction, so a use case can combine them in one unit of work. They know
rows only; turning rows into domain objects is `gridshare.fleet.site_rows`. Every read that
answers a partner is scoped by owner at the query, so another homeowner's rows are never loaded.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from gridshare.storage.models import AuditEvent, DeviceControl, DeviceRow, SiteRow, TwinStateRow


async def add_site(session: AsyncSession, site: SiteRow, devices: Sequence[DeviceRow]) -> None:
    """Write a site and its devices (the site first: the devices refer to it)."""
    session.add(site)
    await session.flush()
    session.add_all(devices)
    await session.flush()


async def site_ids(session: AsyncSession, owner_id: str) -> list[str]:
    rows = await session.execute(
        select(SiteRow.site_id)
        .where(SiteRow.owner_id == owner_id)
        .order_by(SiteRow.created_at, SiteRow.site_id)
    )
    return list(rows.scalars())


async def device_ids(session: AsyncSession, owner_id: str) -> list[str]:
    rows = await session.execute(
        select(DeviceRow.synth_id)
        .join(SiteRow, SiteRow.site_id == DeviceRow.site_id)
        .where(DeviceRow.owner_id == owner_id)
        .order_by(SiteRow.created_at, DeviceRow.site_id, DeviceRow.position)
    )
    return list(rows.scalars())


async def site_row(
    session: AsyncSession, site_id: str, owner_id: str | None = None
) -> SiteRow | None:
    """The site, or None if it does not exist or (when `owner_id` is given) is not theirs."""
    query = select(SiteRow).where(SiteRow.site_id == site_id)
    if owner_id is not None:
        query = query.where(SiteRow.owner_id == owner_id)
    return (await session.execute(query)).scalar_one_or_none()


async def site_row_with_device(
    session: AsyncSession, device_ids: Sequence[str], owner_id: str
) -> SiteRow | None:
    """The owner's site holding any of `device_ids` (a device id, or the device part of a
    sensor id): one statement, the site row found by a subquery."""
    holder = (
        select(DeviceRow.site_id)
        .where(DeviceRow.synth_id.in_(list(device_ids)), DeviceRow.owner_id == owner_id)
        .limit(1)
        .scalar_subquery()
    )
    query = select(SiteRow).where(SiteRow.site_id == holder, SiteRow.owner_id == owner_id)
    return (await session.execute(query)).scalar_one_or_none()


async def device_rows(session: AsyncSession, site_id: str) -> list[DeviceRow]:
    """The site's devices in their stored order."""
    rows = await session.execute(
        select(DeviceRow).where(DeviceRow.site_id == site_id).order_by(DeviceRow.position)
    )
    return list(rows.scalars())


async def owner_sites(
    session: AsyncSession, owner_id: str
) -> list[tuple[SiteRow, list[DeviceRow]]]:
    """Every site of the owner with its devices, in two statements whatever their number."""
    sites = list(
        (
            await session.execute(
                select(SiteRow)
                .where(SiteRow.owner_id == owner_id)
                .order_by(SiteRow.created_at, SiteRow.site_id)
            )
        ).scalars()
    )
    devices: dict[str, list[DeviceRow]] = {row.site_id: [] for row in sites}
    if sites:
        for device in (
            await session.execute(
                select(DeviceRow)
                .where(DeviceRow.owner_id == owner_id)
                .order_by(DeviceRow.site_id, DeviceRow.position)
            )
        ).scalars():
            devices.setdefault(device.site_id, []).append(device)
    return [(row, devices[row.site_id]) for row in sites]


async def all_site_ids(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(SiteRow.site_id))).scalars())


async def site_ids_without_twin(session: AsyncSession) -> list[str]:
    """Sites that have no twin state yet (written by a release that provisioned in two steps,
    or added without a twin runner)."""
    rows = await session.execute(
        select(SiteRow.site_id)
        .outerjoin(TwinStateRow, TwinStateRow.site_id == SiteRow.site_id)
        .where(TwinStateRow.site_id.is_(None))
    )
    return list(rows.scalars())


async def device_row(session: AsyncSession, device_id: str) -> DeviceRow | None:
    return await session.get(DeviceRow, device_id)


async def control(session: AsyncSession, device_id: str) -> DeviceControl | None:
    return await session.get(DeviceControl, device_id)


async def controls_of_site(session: AsyncSession, site_id: str) -> dict[str, DeviceControl]:
    rows = await session.execute(
        select(DeviceControl)
        .join(DeviceRow, DeviceRow.synth_id == DeviceControl.device_id)
        .where(DeviceRow.site_id == site_id)
    )
    return {c.device_id: c for c in rows.scalars()}


@dataclass(frozen=True)
class ControlState:
    """What a reader needs of a device's control row: its mode and overlay plan."""

    mode: str
    overlay: dict[str, Any] | None


async def control_states(session: AsyncSession, site_id: str) -> dict[str, ControlState]:
    rows = await session.execute(
        select(DeviceControl.device_id, DeviceControl.mode, DeviceControl.overlay)
        .join(DeviceRow, DeviceRow.synth_id == DeviceControl.device_id)
        .where(DeviceRow.site_id == site_id)
    )
    return {device: ControlState(mode, overlay) for device, mode, overlay in rows}


#: `control_states` as one plain SQL statement (see `gridshare.storage.sqlite_reads`).
_CONTROL_STATES_SQL = (
    "SELECT c.device_id, c.mode, c.overlay FROM device_controls AS c "
    "JOIN devices AS d ON d.synth_id = c.device_id WHERE d.site_id = ?"
)


def control_states_sqlite(conn: sqlite3.Connection, site_id: str) -> dict[str, ControlState]:
    """`control_states` on a plain sqlite3 connection, synchronously (for a worker thread);
    the overlay column holds JSON text, decoded as SQLAlchemy's JSON type decodes it."""
    return {
        device: ControlState(mode, json.loads(overlay) if overlay is not None else None)
        for device, mode, overlay in conn.execute(_CONTROL_STATES_SQL, (site_id,))
    }


async def locked_control(
    session: AsyncSession, device_id: str, default_mode: str, now: datetime
) -> DeviceControl:
    """The device's control row, created if missing and locked for the rest of the transaction.

    Created with an insert that ignores a conflict, so concurrent first writes cannot collide on
    the primary key; then read with `FOR UPDATE` (PostgreSQL; SQLite's write transaction holds
    the database lock already), so checks on the returned state hold until the commit.
    """
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    await session.execute(
        insert(DeviceControl)
        .values(device_id=device_id, mode=default_mode, overlay=None, schedule=None, updated_at=now)
        .on_conflict_do_nothing(index_elements=["device_id"])
    )
    row = await session.get(DeviceControl, device_id, with_for_update=True, populate_existing=True)
    assert row is not None  # inserted above, or already there
    return row


def add_audit(session: AsyncSession, event: AuditEvent) -> None:
    session.add(event)


async def recent_actions(
    session: AsyncSession, user_id: str, client_ids: Sequence[str], limit: int
) -> list[AuditEvent]:
    """The newest `limit` audit events of each of `client_ids` for the homeowner, in one
    statement (a window per client), newest first within each client."""
    if not client_ids:
        return []
    rank = (
        func.row_number()
        .over(
            partition_by=AuditEvent.client_id,
            order_by=(AuditEvent.at.desc(), AuditEvent.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(AuditEvent.id, rank)
        .where(AuditEvent.user_id == user_id, AuditEvent.client_id.in_(list(client_ids)))
        .subquery()
    )
    rows = await session.execute(
        select(AuditEvent)
        .join(ranked, ranked.c.id == AuditEvent.id)
        .where(ranked.c.rank <= limit)
        .order_by(AuditEvent.client_id, AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    return list(rows.scalars())
