"""RSA signing keys: creation, rotation and the public JWKS.

Access and ID tokens are signed with different keys (as Cognito does). A rotated-in key is
published in the JWKS `key_publish_ahead` seconds before it signs anything, so resource servers
that cache the JWKS already know it; a retired key stays published until every token it signed
has expired (the longest lifetime a client may configure is one day).

Each process keeps the keys in memory and asks the database every `CHECK_SECONDS` whether the
set changed (a rotation by another process or by `gridshare admin rotate-keys` is only a database
write): the question reads ids and dates, and key material only for a key it has not seen. The
JWKS it publishes is rebuilt (bytes and ETag) only when the published set changes, so serving it
costs no work per request.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from joserfc.jwk import RSAKey
from sqlalchemy import select, update

from gridshare.auth.digests import random_token
from gridshare.clock import Clock
from gridshare.storage.db import Database
from gridshare.storage.models import SigningKey

KEY_USES = ("access", "id")
MAX_TOKEN_LIFETIME = timedelta(days=1)
#: How stale a process's view of the signing keys may be (and so the JWKS it serves): well
#: below `key_publish_ahead_seconds`, so every process publishes a new key before it signs.
CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    use: str
    key: RSAKey
    activates_at: datetime
    retires_at: datetime | None


@dataclass(frozen=True)
class Document:
    """A JSON document as served: its bytes and their ETag (a quoted digest of the bytes)."""

    body: bytes
    etag: bytes

    @classmethod
    def of_json(cls, value: Any) -> Document:
        body = orjson.dumps(value)
        return cls(body, b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"')


def _jwks_of(keys: list[LoadedKey]) -> Document:
    return Document.of_json({"keys": [k.key.as_dict(private=False) for k in keys]})


def _generate(use: str, now: datetime, activates_at: datetime) -> SigningKey:
    kid = f"{use}-{random_token(12)}"
    key = RSAKey.generate_key(2048, {"kid": kid, "use": "sig", "alg": "RS256"}, private=True)
    return SigningKey(
        kid=kid,
        use=use,
        private_pem=key.as_pem(private=True).decode(),
        created_at=now,
        activates_at=activates_at,
        retires_at=None,
    )


class KeyStore:
    """Process-local copy of the `signing_keys` table, checked every `check_seconds`."""

    check_seconds = CHECK_SECONDS

    def __init__(self, db: Database, clock: Clock, publish_ahead_seconds: int) -> None:
        self.db = db
        self.clock = clock
        self.publish_ahead = timedelta(seconds=publish_ahead_seconds)
        self._keys: list[LoadedKey] = []
        self._document = _jwks_of([])
        self._loaded_at = float("-inf")
        #: One check at a time: requests arriving meanwhile wait for it instead of repeating it.
        self._checking = asyncio.Lock()

    async def ensure_keys(self) -> None:
        """Create an active key per use when the database has none (first start)."""
        now = self.clock.now()
        async with self.db.write() as session:
            rows = (await session.execute(select(SigningKey))).scalars().all()
            for use in KEY_USES:
                if not any(r.use == use and r.retires_at is None for r in rows):
                    session.add(_generate(use, now, activates_at=now))
        await self.reload()

    async def rotate(self) -> list[str]:
        """Publish a new key per use now; it signs from `publish_ahead` on, when the old retires."""
        now = self.clock.now()
        switch = now + self.publish_ahead
        new: list[str] = []
        async with self.db.write() as session:
            for use in KEY_USES:
                await session.execute(
                    update(SigningKey)
                    .where(SigningKey.use == use, SigningKey.retires_at.is_(None))
                    .values(retires_at=switch)
                )
                key = _generate(use, now, activates_at=switch)
                session.add(key)
                new.append(key.kid)
        await self.reload()
        return new

    async def reload(self) -> None:
        """Read the key set; import (the costly part) only keys not already held."""
        columns = (SigningKey.kid, SigningKey.use, SigningKey.activates_at, SigningKey.retires_at)
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(*columns).order_by(SigningKey.created_at, SigningKey.kid)
                )
            ).all()
            now = self.clock.now()
            # Keys past retirement plus the longest token lifetime signed nothing still valid.
            live = [
                r for r in rows if r.retires_at is None or r.retires_at + MAX_TOKEN_LIFETIME >= now
            ]
            held = {k.kid: k.key for k in self._keys}
            missing = [r.kid for r in live if r.kid not in held]
            if missing:
                pems = await session.execute(
                    select(SigningKey.kid, SigningKey.private_pem).where(
                        SigningKey.kid.in_(missing)
                    )
                )
                for kid, pem in pems.all():
                    held[kid] = RSAKey.import_key(pem, {"kid": kid, "use": "sig", "alg": "RS256"})
        keys = [LoadedKey(r.kid, r.use, held[r.kid], r.activates_at, r.retires_at) for r in live]
        if [k.kid for k in keys] != [k.kid for k in self._keys]:
            self._document = _jwks_of(keys)
        self._keys = keys
        self._loaded_at = time.monotonic()

    async def _fresh(self) -> list[LoadedKey]:
        if time.monotonic() - self._loaded_at > self.check_seconds:
            async with self._checking:
                if time.monotonic() - self._loaded_at > self.check_seconds:
                    await self.reload()
        return self._keys

    async def signing_key(self, use: str) -> LoadedKey:
        now = self.clock.now()
        candidates = [
            k
            for k in await self._fresh()
            if k.use == use
            and k.activates_at <= now
            and (k.retires_at is None or k.retires_at > now)
        ]
        if not candidates:
            await self.reload()
            candidates = [k for k in self._keys if k.use == use and k.activates_at <= now]
        if not candidates:
            raise RuntimeError(f"no active {use} signing key; run `gridshare admin rotate-keys`")
        return max(candidates, key=lambda k: k.activates_at)

    async def verification_key(self, kid: str, use: str) -> RSAKey | None:
        """The public key for `kid` if it is one of ours for `use`; reloads once on a miss."""
        for attempt in range(2):
            for k in await self._fresh():
                if k.kid == kid and k.use == use:
                    return k.key
            if attempt == 0 and time.monotonic() - self._loaded_at > 1.0:
                await self.reload()
        return None

    async def jwks(self) -> dict[str, Any]:
        keys = [k.key.as_dict(private=False) for k in await self._fresh()]
        return {"keys": keys}

    async def jwks_document(self) -> Document:
        """The published keys as served bytes (rebuilt only when the set changes)."""
        await self._fresh()
        return self._document
