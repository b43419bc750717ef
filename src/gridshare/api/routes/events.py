"""A site's live events as Server-Sent Events (`GET /api/v2/sites/{siteId}/events`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from starlette.responses import StreamingResponse

from gridshare.api.deps import DeviceReader
from gridshare.api.schemas import error_responses
from gridshare.deps import Streams

router = APIRouter(tags=["push"])

SiteId = Annotated[str, Path(max_length=100, description="A site id from the sites list.")]


@router.get(
    "/api/v2/sites/{siteId}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "text/event-stream of the site's events",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **error_responses(400, 401, 403, 404, 429),
    },
)
async def site_events(
    siteId: SiteId,
    caller: DeviceReader,
    streams: Streams,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", max_length=20, include_in_schema=True)
    ] = None,
    types: Annotated[str | None, Query(max_length=1000, description="Comma-separated.")] = None,
) -> StreamingResponse:
    """The site's events as they happen (`id:` is the site's event number: reconnect with
    `Last-Event-ID` and nothing is missed), with heartbeats; the stream ends after
    `grant.revoked`. Scope: `lunar/device.read`, and each event's own read scope."""
    stream = await streams.open(caller, siteId, last_event_id, types)
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
