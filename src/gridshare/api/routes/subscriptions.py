"""Webhook subscriptions (`/api/v2/subscriptions...`): a partner's, on the token's homeowner.

See docs/push.md for the events, the signatures and the retries.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.requests import Request
from starlette.responses import Response

from gridshare.api.body import json_body
from gridshare.api.deps import DeviceReader
from gridshare.api.schemas import error_responses
from gridshare.deps import Webhooks

router = APIRouter(tags=["push"])

SubscriptionId = Annotated[str, Path(max_length=40, description="A subscription id.")]
READ_ERRORS = error_responses(401, 403, 404, 429)


@router.post(
    "/api/v2/subscriptions",
    status_code=201,
    responses=error_responses(400, 401, 403, 404, 413, 422, 429),
)
async def create_subscription(
    request: Request, caller: DeviceReader, webhooks: Webhooks
) -> dict[str, Any]:
    """Subscribe a callback URL to events (`{"callbackUrl", "events", "siteIds"?}`); the answer
    carries the signing secret, shown this once. Scope: `lunar/device.read`, plus each event's
    own read scope."""
    body = await json_body(request)
    return await webhooks.create(caller.user_id, caller.client_id, caller.scopes, body)


@router.get("/api/v2/subscriptions", responses=error_responses(401, 403, 429))
async def list_subscriptions(caller: DeviceReader, webhooks: Webhooks) -> dict[str, Any]:
    """This partner's subscriptions on the homeowner's homes. Scope: `lunar/device.read`."""
    return {"entries": await webhooks.all(caller.user_id, caller.client_id)}


@router.get("/api/v2/subscriptions/{subscriptionId}", responses=READ_ERRORS)
async def get_subscription(
    subscriptionId: SubscriptionId, caller: DeviceReader, webhooks: Webhooks
) -> dict[str, Any]:
    """One subscription, with its status (`active`, `failing` and why, `ended`)."""
    return await webhooks.get(caller.user_id, caller.client_id, subscriptionId)


@router.delete("/api/v2/subscriptions/{subscriptionId}", status_code=204, responses=READ_ERRORS)
async def delete_subscription(
    subscriptionId: SubscriptionId, caller: DeviceReader, webhooks: Webhooks
) -> Response:
    """Stop and forget a subscription."""
    await webhooks.delete(caller.user_id, caller.client_id, subscriptionId)
    return Response(status_code=204)


@router.post("/api/v2/subscriptions/{subscriptionId}/rotate-secret", responses=READ_ERRORS)
async def rotate_secret(
    subscriptionId: SubscriptionId, caller: DeviceReader, webhooks: Webhooks
) -> dict[str, Any]:
    """A new signing secret (shown once); the previous one keeps signing for 24 hours."""
    return await webhooks.rotate_secret(caller.user_id, caller.client_id, subscriptionId)


@router.get("/api/v2/subscriptions/{subscriptionId}/deliveries", responses=READ_ERRORS)
async def deliveries(
    subscriptionId: SubscriptionId, caller: DeviceReader, webhooks: Webhooks
) -> dict[str, Any]:
    """The subscription and its newest delivery attempts (status codes, errors, next retry)."""
    return await webhooks.deliveries(caller.user_id, caller.client_id, subscriptionId)
