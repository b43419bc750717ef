"""Outbox rows as partners receive them (webhooks and streams send the same envelope), and who
may receive which."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from gridshare.homes.events import EVENT_SCOPES, GRANT_REVOKED
from gridshare.storage.models import EventRow


def event_id(row: EventRow) -> str:
    """The event's id everywhere (`webhook-id`, the envelope's `id`): unique across sites."""
    return f"evt_{row.id}"


def envelope(row: EventRow) -> dict[str, Any]:
    """`{"id", "type", "time", "siteId", "deviceId", "seq", "data"}`: `data` is in the API's own
    shapes; `seq` orders the site's events (a stream's `Last-Event-ID`)."""
    return {
        "id": event_id(row),
        "type": row.type,
        "time": row.at.isoformat().replace("+00:00", "Z"),
        "siteId": row.site_id,
        "deviceId": row.device_id,
        "seq": row.seq,
        "data": row.body,
    }


def visible(row: EventRow, client_id: str, scopes: Collection[str], types: Collection[str]) -> bool:
    """Whether a partner (its client id and token scopes) receives `row`, given the types it
    asked for. `grant.revoked` reaches the partner it concerns whatever it asked for: it is the
    last event it receives."""
    if row.private_to is not None and row.private_to != client_id:
        return False
    if row.type == GRANT_REVOKED:
        return row.private_to == client_id
    needed = EVENT_SCOPES.get(row.type)
    return row.type in types and needed is not None and (not needed or needed in scopes)
