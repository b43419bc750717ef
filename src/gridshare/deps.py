"""The narrow typed dependencies routes ask for, in one neutral module.

A route names the services it uses (`homes: Homes`, `grants: Grants`, ...) and never sees the
database, a repository or the whole `Services` object: what a route can touch is visible in
its signature. Each dependency is an `async def` (a plain `def` would run in a worker thread)
that picks one member of the process's `Services`, built once by `build_services`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from gridshare.auth.assistant_clients import AssistantClients
from gridshare.auth.client_metadata_documents import MetadataDocumentClients
from gridshare.auth.clients import ClientService
from gridshare.auth.grants import GrantService
from gridshare.auth.keys import KeyStore
from gridshare.auth.sessions import SessionService
from gridshare.auth.tokens import TokenService
from gridshare.auth.totp import TotpService
from gridshare.auth.users import UserService
from gridshare.config import Settings
from gridshare.fleet.event_streams import EventStreams
from gridshare.fleet.service import HomesService
from gridshare.fleet.site_views import SiteViews
from gridshare.fleet.telemetry_reads import TelemetryReads
from gridshare.fleet.webhooks import WebhookService
from gridshare.services import Services
from gridshare.storage.ratelimit import RateLimits


def services_of(request: Request) -> Services:
    """The process's services (for dependency code such as `api.deps`, not for routes)."""
    services: Services = request.app.state.services
    return services


async def _homes(request: Request) -> HomesService:
    return services_of(request).homes


async def _site_views(request: Request) -> SiteViews:
    return services_of(request).site_views


async def _telemetry(request: Request) -> TelemetryReads:
    return services_of(request).telemetry


async def _webhooks(request: Request) -> WebhookService:
    return services_of(request).webhooks


async def _streams(request: Request) -> EventStreams:
    return services_of(request).streams


async def _grants(request: Request) -> GrantService:
    return services_of(request).grants


async def _clients(request: Request) -> ClientService:
    return services_of(request).clients


async def _users(request: Request) -> UserService:
    return services_of(request).users


async def _sessions(request: Request) -> SessionService:
    return services_of(request).sessions


async def _tokens(request: Request) -> TokenService:
    return services_of(request).tokens


async def _totp(request: Request) -> TotpService:
    return services_of(request).totp


async def _keys(request: Request) -> KeyStore:
    return services_of(request).keys


async def _limits(request: Request) -> RateLimits:
    return services_of(request).limits


async def _settings(request: Request) -> Settings:
    return services_of(request).settings


async def _assistants(request: Request) -> AssistantClients:
    return services_of(request).assistants


async def _issuer(request: Request) -> str:
    return services_of(request).issuer


@dataclass(frozen=True)
class PortalServices:
    """What the homeowner's portal pages use: no database, no partner-facing services."""

    sessions: SessionService
    grants: GrantService
    homes: HomesService
    totp: TotpService
    users: UserService
    assistants: AssistantClients


@dataclass(frozen=True)
class HostedPages:
    """What the hosted authorization pages (authorize, consent, sign-in, second factor) use:
    the authorization server's services, no database and nothing of the homes."""

    settings: Settings
    issuer: str
    clients: ClientService
    grants: GrantService
    sessions: SessionService
    users: UserService
    totp: TotpService
    tokens: TokenService
    limits: RateLimits
    assistants: AssistantClients
    metadata_documents: MetadataDocumentClients


async def _portal(request: Request) -> PortalServices:
    s = services_of(request)
    return PortalServices(s.sessions, s.grants, s.homes, s.totp, s.users, s.assistants)


async def _hosted_pages(request: Request) -> HostedPages:
    s = services_of(request)
    return HostedPages(
        s.settings,
        s.issuer,
        s.clients,
        s.grants,
        s.sessions,
        s.users,
        s.totp,
        s.tokens,
        s.limits,
        s.assistants,
        s.metadata_documents,
    )


Portal = Annotated[PortalServices, Depends(_portal)]
HostedPagesDep = Annotated[HostedPages, Depends(_hosted_pages)]
Homes = Annotated[HomesService, Depends(_homes)]
SiteViewsDep = Annotated[SiteViews, Depends(_site_views)]
Telemetry = Annotated[TelemetryReads, Depends(_telemetry)]
Grants = Annotated[GrantService, Depends(_grants)]
Webhooks = Annotated[WebhookService, Depends(_webhooks)]
Streams = Annotated[EventStreams, Depends(_streams)]
Clients = Annotated[ClientService, Depends(_clients)]
Users = Annotated[UserService, Depends(_users)]
Sessions = Annotated[SessionService, Depends(_sessions)]
Tokens = Annotated[TokenService, Depends(_tokens)]
Totp = Annotated[TotpService, Depends(_totp)]
Keys = Annotated[KeyStore, Depends(_keys)]
Limits = Annotated[RateLimits, Depends(_limits)]
Config = Annotated[Settings, Depends(_settings)]
Issuer = Annotated[str, Depends(_issuer)]
Assistants = Annotated[AssistantClients, Depends(_assistants)]
