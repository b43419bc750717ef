"""Minting and checking the JWTs: Cognito's claim set, RS256 only, signed per use.

Verification is written for the resource server's threat model (security bar point 9): only
RS256, only our keys by `kid`, no keys or key URLs embedded in the header, exact issuer, the
right `token_use`, expiry with at most 60 s leeway, and the token's family not revoked (asked
of the database, or of a short per-process memory that every revocation empties: see
`gridshare.auth.revocation`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import select, update

from gridshare.auth.amr import amr_of
from gridshare.auth.keys import KeyStore
from gridshare.auth.revocation import (
    FamilyStatus,
    FamilyStatusCache,
    LocalFeed,
    RevocationFeed,
)
from gridshare.clock import Clock
from gridshare.storage.db import Database
from gridshare.storage.models import Client, Grant, TokenFamily, User

LEEWAY_SECONDS = 60
_FORBIDDEN_HEADER_MEMBERS = ("jwk", "jku", "x5u", "x5c", "crit")
_LAST_USED_PRECISION = timedelta(seconds=60)
#: Access tokens whose signature this process verified, remembered by their exact text.
MAX_VERIFIED = 10_000


class InvalidToken(Exception):
    """The bearer token cannot be accepted; the message is safe to send (RFC 6750)."""


@dataclass(frozen=True)
class AccessToken:
    """What the resource server knows about the caller once the token checks out."""

    sub: str
    client_id: str
    scopes: frozenset[str]
    origin_jti: str
    grant_id: str
    claims: dict[str, Any]
    #: RFC 8707 audience (the MCP endpoint) or None for the customer API's Cognito-shaped tokens.
    audience: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def at_hash(access_token: str) -> str:
    """OIDC `at_hash`: left half of SHA-256 of the access token (RS256 → SHA-256)."""
    digest = hashlib.sha256(access_token.encode()).digest()
    return _b64(digest[: len(digest) // 2])


class TokenService:
    def __init__(
        self,
        db: Database,
        keys: KeyStore,
        clock: Clock,
        issuer: str,
        *,
        feed: RevocationFeed | None = None,
        status_cache_seconds: float = 0.0,
    ) -> None:
        self.db = db
        self.keys = keys
        self.clock = clock
        self.issuer = issuer
        self.feed: RevocationFeed = feed or LocalFeed()
        self.families = FamilyStatusCache(status_cache_seconds)
        #: token text -> (kid, claims) of signatures verified here. A partner sends the same
        #: token for its whole life, and the RS256 check and the JOSE parsing were a sixth of
        #: a small API call. Only the signature is remembered: the key must still be one we
        #: verify with, and every claim, revocation and scope check runs on every call.
        self._verified: dict[str, tuple[str, dict[str, Any]]] = {}

    async def _sign(self, use: str, claims: dict[str, Any]) -> str:
        key = await self.keys.signing_key(use)
        header = {"alg": "RS256", "kid": key.kid}
        return jwt.encode(header, claims, key.key, algorithms=["RS256"], default_type=None)

    async def mint_access_token(
        self, *, user: User, family: TokenFamily, ttl: int, event_id: str
    ) -> str:
        now = int(self.clock.time())
        claims = {
            "sub": user.id,
            "iss": self.issuer,
            "client_id": family.client_id,
            "origin_jti": family.id,
            "event_id": event_id,
            "token_use": "access",
            "scope": " ".join(family.scopes),
            "auth_time": int(family.auth_time.timestamp()),
            "iat": now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),
            "username": user.id,
            "version": 2,
        }
        if family.resource is not None:
            claims["aud"] = family.resource
        return await self._sign("access", claims)

    async def mint_id_token(
        self,
        *,
        user: User,
        family: TokenFamily,
        ttl: int,
        event_id: str,
        access_token: str,
    ) -> str:
        now = int(self.clock.time())
        claims: dict[str, Any] = {
            "sub": user.id,
            "aud": family.client_id,
            "iss": self.issuer,
            "token_use": "id",
            "cognito:username": user.id,
            "auth_time": int(family.auth_time.timestamp()),
            "amr": amr_of(family.amr),
            "iat": now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),
            "origin_jti": family.id,
            "event_id": event_id,
            "at_hash": at_hash(access_token),
        }
        if "email" in family.scopes or "openid" in family.scopes:
            claims["email"] = user.email
            claims["email_verified"] = user.email_verified
        if family.nonce is not None:
            claims["nonce"] = family.nonce
        return await self._sign("id", claims)

    async def verify_access_token(self, token: str) -> AccessToken:
        claims = await self._verify_signature(token)
        now = self.clock.time()
        if claims.get("iss") != self.issuer:
            raise InvalidToken("token issuer is not accepted")
        if claims.get("token_use") != "access":
            raise InvalidToken("not an access token")
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp + LEEWAY_SECONDS < now:
            raise InvalidToken("token expired")
        iat = claims.get("iat")
        if not isinstance(iat, int) or iat - LEEWAY_SECONDS > now:
            raise InvalidToken("token issued in the future")
        sub, client_id, origin = (
            claims.get("sub"),
            claims.get("client_id"),
            claims.get("origin_jti"),
        )
        scope = claims.get("scope", "")
        audience = claims.get("aud")
        if audience is not None and not isinstance(audience, str):
            raise InvalidToken("token audience is not accepted")
        if not all(isinstance(v, str) for v in (sub, client_id, origin, scope)):
            raise InvalidToken("token claims are malformed")
        assert isinstance(sub, str) and isinstance(client_id, str) and isinstance(origin, str)
        grant_id = await self._check_not_revoked(origin, client_id)
        return AccessToken(
            sub=sub,
            client_id=client_id,
            scopes=frozenset(str(scope).split()),
            origin_jti=origin,
            grant_id=grant_id,
            claims=claims,
            audience=audience,
        )

    async def _verify_signature(self, token: str) -> dict[str, Any]:
        known = self._verified.get(token)
        if known is not None:
            known_kid, known_claims = known
            if await self.keys.verification_key(known_kid, "access") is not None:
                return dict(known_claims)
            del self._verified[token]
        parts = token.split(".")
        if len(parts) != 3 or len(token) > 8192:
            raise InvalidToken("malformed token")
        try:
            padded = parts[0] + "=" * (-len(parts[0]) % 4)
            header = json.loads(base64.urlsafe_b64decode(padded))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidToken("malformed token") from exc
        if not isinstance(header, dict) or header.get("alg") != "RS256":
            raise InvalidToken("token algorithm is not accepted")
        if any(member in header for member in _FORBIDDEN_HEADER_MEMBERS):
            raise InvalidToken("token header is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("token has no key id")
        key = await self.keys.verification_key(kid, "access")
        if key is None:
            raise InvalidToken("token signed by an unknown key")
        try:
            decoded = jwt.decode(token, key, algorithms=["RS256"])
        except (JoseError, ValueError) as exc:
            raise InvalidToken("token signature is invalid") from exc
        claims = dict(decoded.claims)
        while len(self._verified) >= MAX_VERIFIED:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (kid, claims)
        return dict(claims)

    async def _check_not_revoked(self, origin_jti: str, client_id: str) -> str:
        generation = await self.feed.generation()
        checked_at = self.clock.time()
        status = self.families.get(origin_jti, generation, checked_at)
        if status is None:
            status = await self._load_family(origin_jti, generation, checked_at)
        if status.client_id != client_id:
            raise InvalidToken("token has been revoked")
        now = self.clock.now()
        if status.last_used is None or now - status.last_used > _LAST_USED_PRECISION:
            await self._touch_grant(status.grant_id, now)
            status.last_used = now
        return status.grant_id

    async def _load_family(
        self, origin_jti: str, generation: int | None, checked_at: float
    ) -> FamilyStatus:
        """The family's status from the database; remembered only if live."""
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(
                        TokenFamily.revoked_at,
                        TokenFamily.grant_id,
                        TokenFamily.client_id,
                        Client.disabled,
                        Grant.revoked_at,
                        Grant.last_used_at,
                    )
                    .join(Client, Client.client_id == TokenFamily.client_id)
                    .join(Grant, Grant.id == TokenFamily.grant_id)
                    .where(TokenFamily.id == origin_jti)
                )
            ).one_or_none()
        if row is None:
            raise InvalidToken("token has been revoked")
        family_revoked, grant_id, family_client, disabled, grant_revoked, last_used = row
        if family_revoked is not None or grant_revoked is not None or disabled:
            raise InvalidToken("token has been revoked")
        status = FamilyStatus(str(grant_id), family_client, last_used, checked_at, generation or 0)
        if generation is not None:
            self.families.put(origin_jti, status)
        return status

    async def _touch_grant(self, grant_id: str, now: datetime) -> None:
        async with self.db.write() as session:
            await session.execute(
                update(Grant).where(Grant.id == grant_id).values(last_used_at=now)
            )
