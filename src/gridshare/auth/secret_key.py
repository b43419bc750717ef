"""The server's HMAC key, shared by every process through the database unless configured.

Every process must use the same key: client secrets are stored as HMACs under it, so a secret
made by a process with another key can never be verified (every exchange answers
`invalid_client`). The first process to open a database records a fingerprint of its key there
(an HMAC of a fixed label under the key: it tells keys apart and reveals nothing of the key), and
every later process whose key gives another fingerprint is refused with `SecretKeyMismatch`
before it can create or check anything. A database from before the fingerprint existed gets it
from the first process started after the upgrade.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gridshare.auth.digests import constant_time_equal, hmac_hex
from gridshare.storage.db import Database
from gridshare.storage.models import ServerSecret

_NAME = "hmac_key"
_FINGERPRINT = "hmac_key_fingerprint"
_FINGERPRINT_LABEL = "gridshare secret key fingerprint v1"


class SecretKeyMismatch(RuntimeError):
    """This process's key is not the one the database was set up with (one-line message)."""


def key_fingerprint(key: bytes) -> str:
    """A stable, non-reversible identifier of `key`."""
    return hmac_hex(key, _FINGERPRINT_LABEL)


async def load_secret_key(db: Database, configured: str | None) -> bytes:
    """The key this process uses, after checking it is the database's (SecretKeyMismatch)."""
    key = configured.encode() if configured else await _stored_key(db, create=True)
    assert key is not None
    await _check_fingerprint(db, key, bool(configured))
    return key


async def _read(db: Database, name: str) -> str | None:
    async with db.read() as session:
        row = await session.get(ServerSecret, name)
    return None if row is None else row.value


async def _insert_once(db: Database, name: str, value: str) -> str:
    """Store `value` under `name` unless a row exists; return the stored value either way."""
    try:
        async with db.write() as session:
            session.add(ServerSecret(name=name, value=value))
    except IntegrityError:
        pass  # another process stored it first; theirs wins
    async with db.read() as session:
        stored: str = (
            await session.execute(select(ServerSecret.value).where(ServerSecret.name == name))
        ).scalar_one()
    return stored


async def _stored_key(db: Database, create: bool) -> bytes | None:
    value = await _read(db, _NAME)
    if value is None and create:
        value = await _insert_once(db, _NAME, secrets.token_hex(32))
    return None if value is None else bytes.fromhex(value)


async def _check_fingerprint(db: Database, key: bytes, configured: bool) -> None:
    mine = key_fingerprint(key)
    recorded = await _read(db, _FINGERPRINT)
    if recorded is None:
        recorded = await _insert_once(db, _FINGERPRINT, mine)
    if constant_time_equal(recorded, mine):
        return
    stored = await _stored_key(db, create=False)
    recorded_is_stored = stored is not None and constant_time_equal(
        recorded, key_fingerprint(stored)
    )
    if configured and recorded_is_stored:
        reason = "GRIDSHARE_SECRET_KEY is set, but this database was set up without one"
    elif configured:
        reason = "GRIDSHARE_SECRET_KEY is not the key this database was set up with"
    else:
        reason = "GRIDSHARE_SECRET_KEY is not set, but this database was set up with one"
    raise SecretKeyMismatch(
        f"{reason}: use the same key as the servers (client secrets made under another key "
        "can never be verified)"
    )
