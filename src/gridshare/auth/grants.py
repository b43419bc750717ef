"""Consent, authorization codes and refresh-token families: the stateful heart of the server.

Each code redemption starts a *token family*; its id is the `origin_jti` of every access and ID
token minted from it, so revoking the family kills them all at once. Races are settled inside one
write transaction (BEGIN IMMEDIATE on SQLite, a row lock on PostgreSQL) plus a conditional
update, so two redemptions of a code or two rotations of a refresh token cannot both win.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gridshare.auth import pkce
from gridshare.auth.amr import PASSWORD_ONLY
from gridshare.auth.digests import random_token, sha256_hex
from gridshare.auth.errors import InvalidGrant, InvalidRequest
from gridshare.auth.revocation import LocalFeed, RevocationFeed
from gridshare.clock import Clock
from gridshare.homes import events
from gridshare.storage import events as outbox
from gridshare.storage import grants as rows
from gridshare.storage import homes as homes_rows
from gridshare.storage.db import Database
from gridshare.storage.models import (
    AuthCode,
    Client,
    Grant,
    RefreshToken,
    TokenFamily,
    User,
)


@dataclass(frozen=True)
class Issued:
    """What the token endpoint needs to answer: who, which family, and a refresh token if new."""

    user: User
    family: TokenFamily
    refresh_token: str | None


@dataclass(frozen=True)
class Connection:
    """A partner as the homeowner's connections page shows it."""

    grant: Grant
    client_name: str


class GrantService:
    def __init__(
        self, db: Database, clock: Clock, code_ttl: int, feed: RevocationFeed | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.code_ttl = timedelta(seconds=code_ttl)
        #: Told after every committed revocation, so verifiers drop what they remember.
        self.feed: RevocationFeed = feed or LocalFeed()

    # -- consent ---------------------------------------------------------------------------

    async def consented_grant(
        self, user_id: str, client_id: str, scopes: list[str]
    ) -> Grant | None:
        """The live grant covering `scopes`, if the homeowner already agreed to them."""
        async with self.db.read() as session:
            grant = await rows.live_grant(session, user_id, client_id)
        if grant is not None and set(scopes) <= set(grant.scopes):
            return grant
        return None

    async def record_consent(self, user_id: str, client_id: str, scopes: list[str]) -> Grant:
        """Remember consent; an existing grant grows to the union of the scopes."""
        async with self.db.write() as session:
            grant = await rows.live_grant(session, user_id, client_id)
            if grant is None:
                grant = Grant(
                    id=str(uuid.uuid4()),
                    user_id=user_id,
                    client_id=client_id,
                    scopes=list(scopes),
                    created_at=self.clock.now(),
                )
                session.add(grant)
            else:
                grant.scopes = list(dict.fromkeys([*grant.scopes, *scopes]))
            return grant

    async def connections(self, user_id: str) -> list[Connection]:
        async with self.db.read() as session:
            found = await rows.live_grants_with_names(session, user_id)
        return [Connection(grant, name) for grant, name in found]

    async def revoke_grant(self, user_id: str, grant_id: str) -> bool:
        """Withdraw consent: every token of every family under the grant dies at once, and the
        partner is told (`grant.revoked` on each of the homeowner's sites, in the same unit:
        the last event it receives)."""
        now = self.clock.now()
        async with self.db.write() as session:
            if not await rows.revoke_grant(session, user_id, grant_id, now):
                return False
            grant = await session.get(Grant, grant_id)
            assert grant is not None  # just revoked
            for site_id in await homes_rows.site_ids(session, user_id):
                await outbox.append(
                    session,
                    site_id=site_id,
                    owner_id=user_id,
                    type=events.GRANT_REVOKED,
                    at=now,
                    body=events.grant_revoked(grant.client_id, grant_id),
                    private_to=grant.client_id,
                )
        await self.feed.bump()
        return True

    # -- authorization codes -----------------------------------------------------------------

    async def issue_code(
        self,
        *,
        client: Client,
        user_id: str,
        grant: Grant,
        redirect_uri: str,
        scopes: list[str],
        code_challenge: str | None,
        nonce: str | None,
        auth_time: datetime,
        amr: tuple[str, ...] = PASSWORD_ONLY,
        resource: str | None = None,
    ) -> str:
        code = random_token(32)
        now = self.clock.now()
        async with self.db.write() as session:
            session.add(
                AuthCode(
                    code_hash=sha256_hex(code),
                    client_id=client.client_id,
                    user_id=user_id,
                    grant_id=grant.id,
                    redirect_uri=redirect_uri,
                    scopes=scopes,
                    code_challenge=code_challenge,
                    nonce=nonce,
                    auth_time=auth_time,
                    amr=list(amr),
                    expires_at=now + self.code_ttl,
                    resource=resource,
                )
            )
        return code

    async def redeem_code(
        self, client: Client, code: str, redirect_uri: str | None, verifier: str | None
    ) -> Issued:
        now = self.clock.now()
        replayed = False
        async with self.db.write() as session:
            row = await rows.code_for_update(session, sha256_hex(code))
            if row is None or row.client_id != client.client_id:
                raise InvalidGrant("authorization code is invalid")
            # A replay must pass every check a first redemption would (the caller authenticated
            # the client) before it may revoke anything: otherwise a leaked used code, without
            # its verifier, would let anyone revoke the homeowner's tokens. Past the code's
            # expiry a replay revokes nothing either (the purge deletes the record then).
            self._check_code(row, now, redirect_uri, verifier)
            if row.redeemed_at is not None:
                replayed = True
                if row.family_id is not None:
                    await rows.revoke_family(session, row.family_id, "code_replayed", now)
            else:
                grant = await session.get(Grant, row.grant_id)
                user = await session.get(User, row.user_id)
                if grant is None or grant.revoked_at is not None or user is None or user.disabled:
                    raise InvalidGrant("authorization code is invalid")
                family = TokenFamily(
                    id=str(uuid.uuid4()),
                    grant_id=grant.id,
                    client_id=client.client_id,
                    user_id=user.id,
                    scopes=row.scopes,
                    nonce=row.nonce,
                    auth_time=row.auth_time,
                    amr=row.amr,
                    created_at=now,
                    expires_at=now + timedelta(seconds=client.refresh_token_ttl),
                    generation=0,
                    resource=row.resource,
                )
                if not await rows.claim_code(session, row.code_hash, family.id, now):
                    raise InvalidGrant("authorization code is invalid")
                session.add(family)
                await session.flush()  # the family row must exist before its first token
                refresh = random_token(32)
                session.add(self._refresh_row(family.id, 0, refresh, now))
                grant.last_used_at = now
                return Issued(user, family, refresh)
        assert replayed
        await self.feed.bump()
        raise InvalidGrant("authorization code has already been used")

    @staticmethod
    def _check_code(
        row: AuthCode, now: datetime, redirect_uri: str | None, verifier: str | None
    ) -> None:
        if row.expires_at <= now:
            raise InvalidGrant("authorization code has expired")
        if redirect_uri is None:
            raise InvalidRequest("missing required parameter 'redirect_uri'")
        if redirect_uri != row.redirect_uri:
            raise InvalidGrant("redirect_uri does not match the authorization request")
        if row.code_challenge is None:
            if verifier is not None:
                raise InvalidGrant("code_verifier sent for a code issued without PKCE")
        elif verifier is None:
            raise InvalidGrant("code_verifier required")
        elif not pkce.verify(verifier, row.code_challenge):
            raise InvalidGrant("code_verifier does not match the code challenge")

    # -- refresh tokens ----------------------------------------------------------------------

    @staticmethod
    def _refresh_row(family_id: str, generation: int, token: str, now: datetime) -> RefreshToken:
        return RefreshToken(
            token_hash=sha256_hex(token), family_id=family_id, generation=generation, created_at=now
        )

    async def refresh(self, client: Client, token: str) -> Issued:
        """Exchange a refresh token; rotation, grace and reuse detection per security bar #4."""
        now = self.clock.now()
        reused = False
        async with self.db.write() as session:
            row = await rows.refresh_row(session, sha256_hex(token))
            if row is None:
                raise InvalidGrant("refresh token is invalid")
            family = await rows.family(session, row.family_id, for_update=True)
            if family is None or family.client_id != client.client_id:
                raise InvalidGrant("refresh token is invalid")
            if family.revoked_at is not None or family.expires_at <= now:
                raise InvalidGrant("refresh token has been revoked or has expired")
            grant = await session.get(Grant, family.grant_id)
            user = await session.get(User, family.user_id)
            if grant is None or grant.revoked_at is not None or user is None or user.disabled:
                raise InvalidGrant("refresh token has been revoked")
            new_token: str | None = None
            if row.generation == family.generation:
                if client.rotate_refresh_tokens:
                    new_token = await self._rotate(session, family, now)
            elif (
                client.rotate_refresh_tokens
                and row.generation == family.generation - 1
                and family.rotated_at is not None
                and now - family.rotated_at <= timedelta(seconds=client.rotation_grace_seconds)
            ):
                # A retry of the previous token (its response was lost): hand out a sibling of
                # the current generation rather than forking the family.
                new_token = random_token(32)
                session.add(self._refresh_row(family.id, family.generation, new_token, now))
            else:
                reused = True
                await rows.revoke_family(session, family.id, "refresh_token_reused", now)
            if not reused:
                grant.last_used_at = now
                return Issued(user, family, new_token)
        await self.feed.bump()
        raise InvalidGrant("refresh token has been revoked")

    async def _rotate(self, session: AsyncSession, family: TokenFamily, now: datetime) -> str:
        current = family.generation
        if not await rows.next_generation(session, family.id, current, now):
            raise InvalidGrant("refresh token is invalid")
        family.generation = current + 1
        family.rotated_at = now
        token = random_token(32)
        session.add(self._refresh_row(family.id, current + 1, token, now))
        return token

    async def revoke_refresh_token(self, client: Client, token: str) -> None:
        """RFC 7009: revoke the token's family; unknown tokens (or another client's) are a no-op."""
        now = self.clock.now()
        async with self.db.write() as session:
            row = await rows.refresh_row(session, sha256_hex(token))
            if row is None:
                return
            family = await rows.family(session, row.family_id)
            if family is None or family.client_id != client.client_id:
                return
            await rows.revoke_family(session, family.id, "revoked_by_client", now)
        await self.feed.bump()

    async def start_implicit_family(
        self,
        *,
        client: Client,
        user_id: str,
        grant: Grant,
        scopes: list[str],
        nonce: str | None,
        auth_time: datetime,
        amr: tuple[str, ...] = PASSWORD_ONLY,
    ) -> Issued:
        """A family with no refresh token, for the implicit grant (off unless enabled per client).

        The access token still carries an `origin_jti`, so disconnecting the partner revokes it.
        """
        now = self.clock.now()
        async with self.db.write() as session:
            user = await session.get(User, user_id)
            if user is None:
                raise InvalidGrant("user no longer exists")
            family = TokenFamily(
                id=str(uuid.uuid4()),
                grant_id=grant.id,
                client_id=client.client_id,
                user_id=user_id,
                scopes=scopes,
                nonce=nonce,
                auth_time=auth_time,
                amr=list(amr),
                created_at=now,
                expires_at=now + timedelta(seconds=client.access_token_ttl),
                generation=0,
            )
            session.add(family)
            live = await session.get(Grant, grant.id)
            if live is not None:
                live.last_used_at = now
        return Issued(user, family, None)
