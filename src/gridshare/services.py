"""The process's service objects, built once at start-up and shared by every route and command.

Keeping construction in one place means the server, the admin CLI and the tests wire the system
the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from gridshare.auth.assistant_clients import AssistantClients
from gridshare.auth.client_metadata_documents import MetadataDocumentClients
from gridshare.auth.clients import ClientService
from gridshare.auth.grants import GrantService
from gridshare.auth.keys import KeyStore
from gridshare.auth.lockout import Lockout, LockoutRule
from gridshare.auth.passwords import Passwords
from gridshare.auth.revocation import RevocationFeed, revocation_feed
from gridshare.auth.secret_key import load_secret_key
from gridshare.auth.sessions import SessionService
from gridshare.auth.tokens import TokenService
from gridshare.auth.totp import TotpService
from gridshare.auth.users import UserService
from gridshare.clock import Clock
from gridshare.config import Settings
from gridshare.fleet.event_hub import EventHub
from gridshare.fleet.event_streams import EventStreams
from gridshare.fleet.homes_memory import HomesMemory, homes_generation
from gridshare.fleet.service import HomesService
from gridshare.fleet.site_views import SiteViews
from gridshare.fleet.telemetry_reads import TelemetryReads
from gridshare.fleet.twin_runner import TwinRunner
from gridshare.fleet.webhooks import Deliverer, WebhookRules, WebhookService
from gridshare.ops import metrics
from gridshare.outbound import is_loopback_host
from gridshare.storage.db import Database
from gridshare.storage.ratelimit import RateLimits


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Database
    issuer: str
    keys: KeyStore
    tokens: TokenService
    clients: ClientService
    users: UserService
    grants: GrantService
    sessions: SessionService
    totp: TotpService
    limits: RateLimits
    revocations: RevocationFeed
    homes: HomesService
    site_views: SiteViews
    telemetry: TelemetryReads
    twin: TwinRunner
    assistants: AssistantClients
    metadata_documents: MetadataDocumentClients
    webhooks: WebhookService
    deliverer: Deliverer
    hub: EventHub
    streams: EventStreams

    async def aclose(self) -> None:
        """Release what the services hold besides the database (its owner disposes of it)."""
        await self.revocations.aclose()
        await self.homes.memory.feed.aclose()


def lockout_rule(settings: Settings) -> LockoutRule:
    return LockoutRule(
        threshold=settings.lockout_threshold,
        global_threshold=settings.lockout_global_threshold,
        max_lock_seconds=settings.lockout_max_seconds,
        memory_seconds=settings.lockout_memory_seconds,
    )


async def build_services(settings: Settings, db: Database, clock: Clock | None = None) -> Services:
    clock = clock or Clock()
    issuer = settings.resolved_issuer()
    hmac_key = await load_secret_key(db, settings.secret_key)
    keys = KeyStore(db, clock, settings.key_publish_ahead_seconds)
    await keys.ensure_keys()
    passwords = Passwords(
        settings.argon2_time_cost,
        settings.argon2_memory_kib,
        settings.argon2_parallelism,
        settings.password_hash_concurrency,
    )
    feed = revocation_feed(settings.redis_url)
    homes = HomesService(
        db,
        clock,
        HomesMemory(homes_generation(settings.redis_url), settings.homes_cache_seconds, clock),
    )
    rules = webhook_rules(settings, issuer)
    hub = EventHub(db)
    deliverer = Deliverer(db, clock, rules)
    hub.also.append(deliverer.wake.set)
    clients = ClientService(db, clock, hmac_key, feed)
    return Services(
        settings=settings,
        clock=clock,
        db=db,
        issuer=issuer,
        keys=keys,
        tokens=TokenService(
            db,
            keys,
            clock,
            issuer,
            feed=feed,
            status_cache_seconds=settings.token_status_cache_seconds,
        ),
        clients=clients,
        users=UserService(db, clock, passwords, Lockout(db, clock, lockout_rule(settings))),
        grants=GrantService(db, clock, settings.code_ttl_seconds, feed),
        sessions=SessionService(db, clock, hmac_key, settings.session_ttl_seconds),
        totp=TotpService(
            db, clock, hmac_key, settings.lockout_threshold, settings.lockout_max_seconds
        ),
        limits=RateLimits(settings.redis_url, on_refused=metrics.rate_limited),
        revocations=feed,
        homes=homes,
        site_views=SiteViews(homes),
        telemetry=TelemetryReads(db, homes),
        twin=TwinRunner(
            db,
            clock,
            backfill_days=settings.twin_backfill_days,
            raw_retention_days=settings.telemetry_raw_retention_days,
            lease_seconds=settings.twin_lease_seconds,
        ),
        assistants=AssistantClients(db, clock, clients),
        metadata_documents=MetadataDocumentClients(
            db, clock, clients, settings.mcp_metadata_allow_loopback
        ),
        webhooks=WebhookService(db, clock, rules),
        deliverer=deliverer,
        hub=hub,
        streams=EventStreams(db, homes, hub),
    )


def webhook_rules(settings: Settings, issuer: str) -> WebhookRules:
    """Loopback callbacks only for a server that is itself on loopback (unless the operator
    says otherwise)."""
    loopback = settings.webhook_allow_loopback
    if loopback is None:
        loopback = is_loopback_host(urlsplit(issuer).hostname or "")
    return WebhookRules(
        allow_loopback=loopback,
        allow_private=settings.webhook_allow_private,
        timeout_seconds=settings.webhook_timeout_seconds,
        max_response_bytes=settings.webhook_max_response_bytes,
        retry_hours=settings.webhook_retry_hours,
        lease_seconds=settings.webhook_lease_seconds,
    )
