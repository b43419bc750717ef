"""The server's HMAC key, shared by every process through the database unless configured."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gridshare.storage.db import Database
from gridshare.storage.models import ServerSecret

_NAME = "hmac_key"


async def load_secret_key(db: Database, configured: str | None) -> bytes:
    if configured:
        return configured.encode()
    async with db.read() as session:
        row = await session.get(ServerSecret, _NAME)
    if row is not None:
        return bytes.fromhex(row.value)
    try:
        async with db.write() as session:
            session.add(ServerSecret(name=_NAME, value=secrets.token_hex(32)))
    except IntegrityError:
        pass  # another process created it first; use theirs
    async with db.read() as session:
        value = (
            await session.execute(select(ServerSecret.value).where(ServerSecret.name == _NAME))
        ).scalar_one()
    return bytes.fromhex(value)
