"""The clients repository: partner clients and their secrets, as rows.

Functions over the caller's session; they never open or commit a transaction, so the client
service decides what one unit of work holds (disabling a client and revoking what it holds
commit together).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridshare.storage.models import AuthCode, Client, ClientSecret, TokenFamily


def _matched(result: object) -> int:
    return int(result.rowcount)  # type: ignore[attr-defined]


async def add(session: AsyncSession, client: Client, secrets: Sequence[ClientSecret]) -> None:
    """Write a client, then its secrets (they refer to it)."""
    session.add(client)
    await session.flush()
    session.add_all(secrets)


async def get(session: AsyncSession, client_id: str) -> Client | None:
    return await session.get(Client, client_id)


async def all_clients(session: AsyncSession) -> list[Client]:
    return list((await session.execute(select(Client).order_by(Client.created_at))).scalars())


async def set_disabled(session: AsyncSession, client_id: str, disabled: bool) -> bool:
    """False if there is no such client."""
    result = await session.execute(
        update(Client).where(Client.client_id == client_id).values(disabled=disabled)
    )
    return bool(_matched(result))


async def revoke_holdings(session: AsyncSession, client_id: str, now: datetime) -> None:
    """Revoke every live token family of the client and delete its unredeemed codes."""
    await session.execute(
        update(TokenFamily)
        .where(TokenFamily.client_id == client_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="client_disabled")
    )
    await session.execute(
        delete(AuthCode).where(AuthCode.client_id == client_id, AuthCode.redeemed_at.is_(None))
    )


async def pin_redirect_uri(session: AsyncSession, client_id: str, uri: str) -> None:
    await session.execute(
        update(Client)
        .where(Client.client_id == client_id)
        .values(redirect_uris=[uri], loopback_any_port=False)
    )


async def active_secrets(session: AsyncSession, client_id: str) -> list[ClientSecret]:
    rows = await session.execute(
        select(ClientSecret)
        .where(ClientSecret.client_id == client_id, ClientSecret.revoked_at.is_(None))
        .order_by(ClientSecret.id)
    )
    return list(rows.scalars())


async def add_secret(session: AsyncSession, secret: ClientSecret) -> int:
    """Write the secret; its id."""
    session.add(secret)
    await session.flush()
    return secret.id


async def revoke_secret(
    session: AsyncSession, client_id: str, secret_id: int, now: datetime
) -> bool:
    """False if the client has no such active secret."""
    result = await session.execute(
        update(ClientSecret)
        .where(
            ClientSecret.id == secret_id,
            ClientSecret.client_id == client_id,
            ClientSecret.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return bool(_matched(result))
