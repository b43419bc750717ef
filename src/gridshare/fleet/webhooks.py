"""Webhooks: partners' subscriptions (use cases, one unit of work each) and the deliverer that
sends the outbox to them, signed as Standard Webhooks specifies.

Delivery is at-least-once and ordered per site: a subscription sends one event at a time, in
outbox order, and moves its per-site cursor only after the receiver answered 2xx. Any process
may deliver; a subscription is leased to one deliverer at a time (`FOR UPDATE SKIP LOCKED` on
PostgreSQL when claiming, and a lease column checked again before anything is recorded), so no
two processes send the same attempt at once. A failed attempt is retried with exponential
backoff and jitter; after `retry_hours` of failures the subscription is marked `failing`, with
the reason in its answer, and stops.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import os
import random
import secrets
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson

from gridshare import outbound
from gridshare.clock import Clock
from gridshare.fleet.push_events import envelope, event_id, visible
from gridshare.homes.errors import DomainError, Kind
from gridshare.homes.events import EVENT_SCOPES, GRANT_REVOKED
from gridshare.storage import events as outbox
from gridshare.storage import homes as home_rows
from gridshare.storage import webhooks as rows
from gridshare.storage.db import Database
from gridshare.storage.models import EventRow, WebhookAttempt, WebhookSubscription

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
MAX_URL_LENGTH = 2048
MAX_SUBSCRIPTIONS = 20
#: A previous secret keeps signing this long after a rotation (receivers switch over).
ROTATION_OVERLAP = timedelta(hours=24)
#: First retry after about this long; each failure doubles it, up to `MAX_BACKOFF`.
FIRST_BACKOFF_SECONDS = 5.0
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class WebhookRules:
    """What the operator allows (settings)."""

    #: http and loopback callbacks, when the server itself runs on loopback (development).
    allow_loopback: bool = False
    #: Private (RFC 1918, ULA) callback addresses: an operator's own network.
    allow_private: bool = False
    timeout_seconds: float = 10.0
    max_response_bytes: int = 64 * 1024
    retry_hours: float = 24.0
    lease_seconds: float = 60.0


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, the key being the secret's bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def live_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    return [
        item["secret"]
        for item in subscription.secrets
        if item.get("until") is None or datetime.fromisoformat(item["until"]) > now
    ]


def _refuse(code: str, message: str) -> DomainError:
    return DomainError(Kind.IMPOSSIBLE, code, message)


def check_callback_url(url: object, rules: WebhookRules) -> str:
    """The callback URL's shape: https (http only for loopback, when allowed), a host, no user
    info or fragment. Its addresses are checked by `check_callback_addresses`."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise DomainError(Kind.MALFORMED, "invalid_callback", "callbackUrl must be a URL")
    parts = urlsplit(url)
    if parts.username or parts.password or parts.fragment or "#" in url:
        raise _refuse("invalid_callback", "callbackUrl must have no user info or fragment")
    host = parts.hostname or ""
    if not host or parts.scheme not in ("https", "http"):
        raise _refuse("invalid_callback", "callbackUrl must be an https URL")
    loopback = outbound.is_loopback_host(host)
    if loopback and not rules.allow_loopback:
        raise _refuse("invalid_callback", "callbackUrl names this server's own machine")
    if parts.scheme != "https" and not loopback:
        raise _refuse("invalid_callback", "callbackUrl must be an https URL")
    return url


async def check_callback_addresses(url: str, rules: WebhookRules) -> None:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        await outbound.checked_address(
            parts.hostname or "",
            port,
            allow_loopback=rules.allow_loopback,
            allow_private=rules.allow_private,
        )
    except outbound.OutboundError as exc:
        raise _refuse("invalid_callback", f"callbackUrl: {exc}") from exc


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def subscription_body(row: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": row.id,
        "callbackUrl": row.callback_url,
        "events": row.event_types,
        "siteIds": row.site_ids,
        "status": row.status,
        "statusReason": row.status_reason,
        "createdAt": _iso(row.created_at),
        "nextAttemptAt": _iso(row.next_attempt_at) if row.failures else None,
    }


def attempt_body(row: WebhookAttempt) -> dict[str, Any]:
    return {
        "id": row.id,
        "eventId": f"evt_{row.event_id}",
        "webhookId": row.message_id,
        "attempt": row.attempt,
        "at": _iso(row.at),
        "statusCode": row.status_code,
        "error": row.error,
        "nextRetryAt": _iso(row.next_retry_at),
    }


class NotFound(DomainError):
    def __init__(self, what: str) -> None:
        super().__init__(Kind.NOT_FOUND, "not_found", f"{what} not found")


class WebhookService:
    """A partner's subscriptions on one homeowner's homes (the token says which)."""

    def __init__(self, db: Database, clock: Clock, rules: WebhookRules) -> None:
        self.db = db
        self.clock = clock
        self.rules = rules

    def _parse(self, body: object, scopes: frozenset[str]) -> tuple[str, list[str], Any]:
        if not isinstance(body, dict) or set(body) - {"callbackUrl", "events", "siteIds"}:
            raise DomainError(
                Kind.MALFORMED, "invalid_body", 'expected {"callbackUrl", "events", "siteIds"?}'
            )
        url = check_callback_url(body.get("callbackUrl"), self.rules)
        types = body.get("events")
        if (
            not isinstance(types, list)
            or not types
            or not all(isinstance(t, str) for t in types)
            or len(types) > len(EVENT_SCOPES)
        ):
            raise DomainError(Kind.MALFORMED, "invalid_events", "events must list event types")
        for name in types:
            if name not in EVENT_SCOPES:
                raise DomainError(Kind.MALFORMED, "invalid_events", f"unknown event {name!r}")
            needed = EVENT_SCOPES[name]
            if needed and needed not in scopes:
                raise _refuse("insufficient_scope", f"{name} needs the scope {needed}")
        sites = body.get("siteIds")
        if sites is not None and (
            not isinstance(sites, list)
            or not sites
            or len(sites) > 100
            or not all(isinstance(s, str) and 0 < len(s) <= 100 for s in sites)
        ):
            raise DomainError(Kind.MALFORMED, "invalid_sites", "siteIds must list site ids")
        return url, list(dict.fromkeys(types)), sites

    async def create(
        self, user_id: str, client_id: str, scopes: frozenset[str], body: object
    ) -> dict[str, Any]:
        """A new subscription and its signing secret (the only time the secret is shown).
        It starts at the present: events already in the outbox are not sent."""
        url, types, sites = self._parse(body, scopes)
        await check_callback_addresses(url, self.rules)  # DNS: outside the unit of work
        now = self.clock.now()
        secret = new_secret()
        async with self.db.write() as session:
            owned = await home_rows.site_ids(session, user_id)
            if sites is not None and not set(sites) <= set(owned):
                raise NotFound("site")
            if len(await rows.of_partner(session, client_id, user_id)) >= MAX_SUBSCRIPTIONS:
                raise _refuse("too_many_subscriptions", f"at most {MAX_SUBSCRIPTIONS}")
            cursors = {site: await outbox.last_seq(session, site) for site in owned}
            row = WebhookSubscription(
                id="sub_" + uuid.uuid4().hex,
                client_id=client_id,
                owner_id=user_id,
                callback_url=url,
                event_types=types,
                site_ids=list(dict.fromkeys(sites)) if sites is not None else None,
                scopes=sorted(scopes),
                secrets=[{"secret": secret, "until": None}],
                status="active",
                status_reason=None,
                cursors=cursors,
                failures=0,
                failing_since=None,
                next_attempt_at=now,
                created_at=now,
            )
            rows.add(session, row)
        return subscription_body(row) | {"secret": secret}

    async def all(self, user_id: str, client_id: str) -> list[dict[str, Any]]:
        async with self.db.read() as session:
            found = await rows.of_partner(session, client_id, user_id)
        return [subscription_body(row) for row in found]

    async def get(self, user_id: str, client_id: str, subscription_id: str) -> dict[str, Any]:
        async with self.db.read() as session:
            row = await rows.one(session, subscription_id[:40], client_id, user_id)
            if row is None:
                raise NotFound("subscription")
            return subscription_body(row)

    async def delete(self, user_id: str, client_id: str, subscription_id: str) -> None:
        async with self.db.write() as session:
            if await rows.one(session, subscription_id[:40], client_id, user_id) is None:
                raise NotFound("subscription")
            await rows.remove(session, subscription_id[:40])

    async def rotate_secret(
        self, user_id: str, client_id: str, subscription_id: str
    ) -> dict[str, Any]:
        """A new secret; the previous one keeps signing for `ROTATION_OVERLAP` (every
        delivery meanwhile carries both signatures)."""
        now = self.clock.now()
        secret = new_secret()
        async with self.db.write() as session:
            row = await rows.one(session, subscription_id[:40], client_id, user_id)
            if row is None:
                raise NotFound("subscription")
            previous = [
                {"secret": s, "until": (now + ROTATION_OVERLAP).isoformat()}
                for s in live_secrets(row, now)[:1]
            ]
            row.secrets = [{"secret": secret, "until": None}, *previous]
            return subscription_body(row) | {"secret": secret}

    async def deliveries(
        self, user_id: str, client_id: str, subscription_id: str, limit: int = 100
    ) -> dict[str, Any]:
        async with self.db.read() as session:
            row = await rows.one(session, subscription_id[:40], client_id, user_id)
            if row is None:
                raise NotFound("subscription")
            found = await rows.attempts(session, row.id, limit)
            return subscription_body(row) | {"deliveries": [attempt_body(a) for a in found]}


def backoff(failures: int) -> timedelta:
    """Exponential with full jitter between half and all of the step (so receivers that fail
    together are not retried together)."""
    step = min(FIRST_BACKOFF_SECONDS * 2 ** (failures - 1), MAX_BACKOFF.total_seconds())
    return timedelta(seconds=step * random.uniform(0.5, 1.0))  # noqa: S311 - not a secret


class Deliverer:
    """Sends the outbox to subscriptions; one per process."""

    def __init__(self, db: Database, clock: Clock, rules: WebhookRules) -> None:
        self.db = db
        self.clock = clock
        self.rules = rules
        self.owner = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.lease = timedelta(seconds=rules.lease_seconds)
        self.wake = asyncio.Event()

    async def deliver_once(self, batch: int = 20) -> int:
        """One round: lease the due subscriptions, send what each has pending; the number of
        attempts made."""
        now = self.clock.now()
        async with self.db.write() as session:
            claimed = await rows.claim_due(session, self.owner, now, now + self.lease, batch)
        made = 0
        for subscription_id in claimed:
            try:
                made += await self._serve(subscription_id)
            except Exception:  # one broken subscription must not stop the others
                log.exception("webhook delivery for %s failed", subscription_id)
        return made

    async def _serve(self, subscription_id: str, limit: int = 50) -> int:
        async with self.db.read() as session:
            sub = await rows.leased(session, subscription_id, self.owner)
            if sub is None:
                return 0
            pending = await rows.events_after(
                session, sub.owner_id, sub.cursors, sub.site_ids, limit
            )
        cursors = dict(sub.cursors)
        made = 0
        for event in pending:
            if not visible(event, sub.client_id, sub.scopes, sub.event_types):
                cursors[event.site_id] = event.seq
                continue
            made += 1
            if not await self._attempt(sub, event, cursors):
                return made  # failed: backoff set, lease released
            if event.type == GRANT_REVOKED:
                return made
            cursors[event.site_id] = event.seq
        async with self.db.write() as session:
            held = await rows.leased(session, subscription_id, self.owner)
            if held is not None:
                held.cursors = cursors
                held.lease_owner = held.lease_until = None
        return made

    async def _attempt(
        self, sub: WebhookSubscription, event: EventRow, cursors: dict[str, int]
    ) -> bool:
        """Send `event` once and record the outcome (only while the lease is still ours)."""
        now = self.clock.now()
        body = orjson.dumps(envelope(event))
        message_id = event_id(event)
        # Real time, not the app's clock (which tests move): receivers compare it with theirs.
        timestamp = int(time.time())
        signatures = " ".join(
            signature(secret, message_id, timestamp, body) for secret in live_secrets(sub, now)
        )
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signatures,
            "user-agent": "gridshare-webhooks",
        }
        status: int | None = None
        error: str | None = None
        try:
            reply = await outbound.request(
                "POST",
                sub.callback_url,
                content=body,
                headers=headers,
                seconds=self.rules.timeout_seconds,
                max_bytes=self.rules.max_response_bytes,
                allow_loopback=self.rules.allow_loopback,
                allow_private=self.rules.allow_private,
            )
            status = reply.status_code
            if not 200 <= status < 300:
                error = f"the receiver answered {status}"
        except outbound.OutboundError as exc:
            error = str(exc)
        done = self.clock.now()
        async with self.db.write() as session:
            held = await rows.leased(session, sub.id, self.owner)
            if held is None:
                return False  # another process took over (this one stalled past its lease)
            attempt = WebhookAttempt(
                id="att_" + uuid.uuid4().hex,
                subscription_id=sub.id,
                event_id=event.id,
                message_id=message_id,
                attempt=held.failures + 1,
                at=done,
                status_code=status,
                error=error,
                next_retry_at=None,
            )
            if error is None:
                cursors[event.site_id] = event.seq
                held.cursors = dict(cursors)
                held.failures = 0
                held.failing_since = None
                held.next_attempt_at = done
                if event.type == GRANT_REVOKED:
                    held.status = "ended"
                    held.status_reason = "the homeowner disconnected the partner"
                    held.lease_owner = held.lease_until = None
            else:
                held.cursors = dict(cursors)
                held.failures += 1
                held.failing_since = held.failing_since or done
                if done - held.failing_since >= timedelta(hours=self.rules.retry_hours):
                    held.status = "failing"
                    held.status_reason = (
                        f"no successful delivery for {self.rules.retry_hours:g} hours; "
                        f"last attempt: {error}"
                    )
                else:
                    held.next_attempt_at = done + backoff(held.failures)
                    attempt.next_retry_at = held.next_attempt_at
                held.lease_owner = held.lease_until = None
            rows.add_attempt(session, attempt)
        return error is None

    async def run_forever(self, interval_seconds: float = 1.0) -> None:
        while True:
            try:
                while await self.deliver_once():
                    pass
            except Exception:  # the database away for a moment: try again next round
                log.exception("webhook delivery round failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval_seconds):
                    await self.wake.wait()
            self.wake.clear()


@contextlib.asynccontextmanager
async def delivering(
    deliverer: Deliverer, enabled: bool = True, interval_seconds: float = 1.0
) -> AsyncIterator[Deliverer]:
    """Deliver webhooks in the background for the lifetime of the server."""
    task = asyncio.create_task(deliverer.run_forever(interval_seconds)) if enabled else None
    try:
        yield deliverer
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
