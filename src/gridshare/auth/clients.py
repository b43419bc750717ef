"""Partner clients: registration, secrets, and client authentication at the token endpoint.

Authentication (RFC 6749 §2.3.1): HTTP Basic with form-urlencoded id and secret, or
`client_id` + `client_secret` in the body, never both; public clients send `client_id` only.
Secrets are compared as HMAC digests in constant time, and an unknown client costs the same as a
wrong secret, so timing tells nothing about which client ids exist.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from sqlalchemy.exc import IntegrityError

from gridshare.auth import redirects
from gridshare.auth.digests import constant_time_equal, hmac_hex, new_client_id, random_token
from gridshare.auth.errors import InvalidClient, InvalidRequest
from gridshare.auth.params import ParamError, Params
from gridshare.auth.revocation import LocalFeed, RevocationFeed
from gridshare.auth.scopes import ALL_SCOPES, DEFAULT_CLIENT_SCOPES
from gridshare.clock import Clock
from gridshare.storage import clients as rows
from gridshare.storage.db import Database
from gridshare.storage.models import Client, ClientSecret

MAX_ACTIVE_SECRETS = 2
ACCESS_TTL_RANGE = (300, 86400)
REFRESH_TTL_RANGE = (3600, 10 * 365 * 86400)
GRACE_RANGE = (0, 60)


class ClientConfigError(ValueError):
    """A client registration asks for something the contract does not allow."""


@dataclass
class ClientOptions:
    name: str
    redirect_uris: list[str]
    logout_uris: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=lambda: list(DEFAULT_CLIENT_SCOPES))
    public: bool = False
    rotate_refresh_tokens: bool | None = None  # None → on for public clients (RFC 9700 §4.14)
    rotation_grace_seconds: int = 30
    require_pkce: bool | None = None  # None → required for public clients
    loopback_any_port: bool | None = None  # None → on for public clients (RFC 8252 §7.3)
    access_token_ttl: int = 3600
    id_token_ttl: int = 3600
    refresh_token_ttl: int = 30 * 86400
    allow_implicit: bool = False
    client_id: str | None = None


def _check_range(name: str, value: int, bounds: tuple[int, int]) -> None:
    if not bounds[0] <= value <= bounds[1]:
        raise ClientConfigError(f"{name} must be between {bounds[0]} and {bounds[1]} seconds")


def _validate(opts: ClientOptions) -> None:
    if not opts.name.strip() or len(opts.name) > 200:
        raise ClientConfigError("client name must be 1-200 characters")
    if not opts.redirect_uris:
        raise ClientConfigError("at least one redirect URI is required")
    try:
        for uri in [*opts.redirect_uris, *opts.logout_uris]:
            redirects.validate_registration(uri)
    except redirects.RedirectURIError as exc:
        raise ClientConfigError(str(exc)) from exc
    unknown = [s for s in opts.scopes if s not in ALL_SCOPES]
    if unknown:
        raise ClientConfigError(f"unknown scopes: {', '.join(unknown)}")
    _check_range("access token lifetime", opts.access_token_ttl, ACCESS_TTL_RANGE)
    _check_range("ID token lifetime", opts.id_token_ttl, ACCESS_TTL_RANGE)
    _check_range("refresh token lifetime", opts.refresh_token_ttl, REFRESH_TTL_RANGE)
    _check_range("rotation grace period", opts.rotation_grace_seconds, GRACE_RANGE)
    if opts.public and opts.require_pkce is False:
        raise ClientConfigError("public clients must use PKCE")


class ClientService:
    def __init__(
        self, db: Database, clock: Clock, hmac_key: bytes, feed: RevocationFeed | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.hmac_key = hmac_key
        #: Told when a client is disabled: its tokens stop working at once.
        self.feed: RevocationFeed = feed or LocalFeed()
        # Compared against when the client is unknown, so that path costs the same.
        self._dummy_hmac = hmac_hex(hmac_key, random_token())

    def _digest(self, secret: str) -> str:
        return hmac_hex(self.hmac_key, secret)

    async def create(self, opts: ClientOptions) -> tuple[Client, str | None]:
        """Register a client; returns it with its first secret (None for public clients)."""
        _validate(opts)
        now = self.clock.now()
        client = Client(
            client_id=opts.client_id or new_client_id(),
            name=opts.name.strip(),
            public=opts.public,
            redirect_uris=list(dict.fromkeys(opts.redirect_uris)),
            logout_uris=list(dict.fromkeys(opts.logout_uris)),
            allowed_scopes=list(dict.fromkeys(opts.scopes)),
            access_token_ttl=opts.access_token_ttl,
            id_token_ttl=opts.id_token_ttl,
            refresh_token_ttl=opts.refresh_token_ttl,
            rotate_refresh_tokens=(
                opts.public if opts.rotate_refresh_tokens is None else opts.rotate_refresh_tokens
            ),
            rotation_grace_seconds=opts.rotation_grace_seconds,
            require_pkce=opts.public if opts.require_pkce is None else opts.require_pkce,
            loopback_any_port=(
                opts.public if opts.loopback_any_port is None else opts.loopback_any_port
            ),
            allow_implicit=opts.allow_implicit,
            disabled=False,
            created_at=now,
        )
        secret = None if opts.public else random_token(32)
        secrets = [] if secret is None else [self._secret_row(client.client_id, secret)]
        async with self.db.write() as session:
            await rows.add(session, client, secrets)
        return client, secret

    async def create_if_absent(self, opts: ClientOptions) -> bool:
        """Register a client under its fixed `client_id` unless it exists; False if it did.

        Safe when several processes start at once: the loser of the race finds the winner's row
        (its insert fails on the primary key and nothing of it is kept)."""
        assert opts.client_id, "a client created if absent needs a fixed id"
        if await self.get(opts.client_id) is not None:
            return False
        try:
            await self.create(opts)
        except IntegrityError:
            return False
        return True

    def _secret_row(self, client_id: str, secret: str) -> ClientSecret:
        return ClientSecret(
            client_id=client_id,
            secret_hmac=self._digest(secret),
            hint=secret[:4],
            created_at=self.clock.now(),
        )

    async def get(self, client_id: str) -> Client | None:
        async with self.db.read() as session:
            return await rows.get(session, client_id)

    async def list_all(self) -> list[Client]:
        async with self.db.read() as session:
            return await rows.all_clients(session)

    async def set_disabled(self, client_id: str, disabled: bool) -> bool:
        """Disable or re-enable a client; False if there is no such client.

        Disabling is final for what the client holds: every token family (so every access and
        refresh token) is revoked and unredeemed codes are deleted, in the same transaction, so
        re-enabling after a leaked secret was rotated restores nothing an attacker may hold.
        """
        now = self.clock.now()
        async with self.db.write() as session:
            found = await rows.set_disabled(session, client_id, disabled)
            if disabled:
                await rows.revoke_holdings(session, client_id, now)
        if disabled:
            await self.feed.bump()
        return found

    async def pin_redirect_uri(self, client_id: str, uri: str) -> None:
        """Make `uri` the client's only redirect URI, matched exactly (port included)."""
        redirects.validate_registration(uri)
        async with self.db.write() as session:
            await rows.pin_redirect_uri(session, client_id, uri)

    async def active_secrets(self, client_id: str) -> list[ClientSecret]:
        async with self.db.read() as session:
            return await rows.active_secrets(session, client_id)

    async def add_secret(self, client_id: str) -> tuple[int, str]:
        """A new secret for a confidential client; at most two are active at once."""
        async with self.db.write() as session:
            client = await rows.get(session, client_id)
            if client is None:
                raise ClientConfigError(f"no client {client_id!r}")
            if client.public:
                raise ClientConfigError("public clients have no secrets")
            active = await rows.active_secrets(session, client_id)
            if len(active) >= MAX_ACTIVE_SECRETS:
                raise ClientConfigError(
                    "two secrets are active already: remove one before adding another"
                )
            secret = random_token(32)
            return await rows.add_secret(session, self._secret_row(client_id, secret)), secret

    async def remove_secret(self, client_id: str, secret_id: int) -> bool:
        async with self.db.write() as session:
            return await rows.revoke_secret(session, client_id, secret_id, self.clock.now())

    async def authenticate(self, authorization: str | None, params: Params) -> Client:
        """The client making a token/revoke request, or InvalidClient/InvalidRequest."""
        client_id, secret = self.credentials(authorization, params)
        client = await self.get(client_id)
        if client is None or client.disabled:
            if secret is not None:
                constant_time_equal(self._dummy_hmac, self._digest(secret))
            raise InvalidClient()
        # Every failure below answers like an unknown client: a more helpful description
        # ("client secret required") would tell a prober that the client id exists.
        if client.public:
            if secret is not None:
                raise InvalidClient()
            return client
        if secret is None:
            raise InvalidClient()
        digest = self._digest(secret)
        matched = False
        for row in await self.active_secrets(client.client_id):
            matched |= constant_time_equal(row.secret_hmac, digest)
        if not matched:
            raise InvalidClient()
        return client

    @staticmethod
    def credentials(authorization: str | None, params: Params) -> tuple[str, str | None]:
        """(client_id, secret or None) from the Basic header or the body, never both."""
        try:
            body_id = params.get("client_id")
            body_secret = params.get("client_secret")
        except ParamError as exc:
            raise InvalidRequest(str(exc)) from exc
        if authorization is not None:
            scheme, _, encoded = authorization.partition(" ")
            if scheme.lower() != "basic":
                raise InvalidClient("unsupported authorization scheme")
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            # ValueError covers binascii.Error, UnicodeDecodeError and non-ASCII header bytes.
            except ValueError as exc:
                raise InvalidClient("malformed Basic credentials") from exc
            raw_id, sep, raw_secret = decoded.partition(":")
            if not sep:
                raise InvalidClient("malformed Basic credentials")
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
            if body_secret is not None:
                raise InvalidRequest("client secret sent in both the header and the body")
            if body_id is not None and body_id != client_id:
                raise InvalidRequest("client_id in the body does not match the Basic credentials")
            if not client_id:
                raise InvalidClient()
            return client_id, secret
        if not body_id:
            raise InvalidClient("client authentication required")
        return body_id, body_secret
