"""The grants repository: consent grants, authorization codes, token families and refresh
tokens, as rows.

Functions over the caller's session; they never open or commit a transaction, so the grant
service decides what one unit of work holds (a redemption's checks, its claim and its new
family commit together). Conditional updates report whether they matched, which is how races
are settled (see `gridshare.auth.grants`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridshare.storage.models import AuthCode, Client, Grant, RefreshToken, TokenFamily


def _matched(result: object) -> int:
    return int(result.rowcount)  # type: ignore[attr-defined]


async def live_grant(session: AsyncSession, user_id: str, client_id: str) -> Grant | None:
    """The homeowner's newest unrevoked grant to the client."""
    result = await session.execute(
        select(Grant)
        .where(
            Grant.user_id == user_id,
            Grant.client_id == client_id,
            Grant.revoked_at.is_(None),
        )
        .order_by(Grant.created_at.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def live_grants_with_names(session: AsyncSession, user_id: str) -> list[tuple[Grant, str]]:
    """The homeowner's live grants, oldest first, each with its client's name."""
    rows = await session.execute(
        select(Grant, Client.name)
        .join(Client, Client.client_id == Grant.client_id)
        .where(Grant.user_id == user_id, Grant.revoked_at.is_(None))
        .order_by(Grant.created_at)
    )
    return [(grant, name) for grant, name in rows.all()]


async def partner_names(session: AsyncSession, user_id: str) -> dict[str, str]:
    """client id → name of every client holding a live grant of the homeowner."""
    rows = await session.execute(
        select(Client.client_id, Client.name)
        .join(Grant, Grant.client_id == Client.client_id)
        .where(Grant.user_id == user_id, Grant.revoked_at.is_(None))
    )
    return {client_id: name for client_id, name in rows}


async def revoke_grant(session: AsyncSession, user_id: str, grant_id: str, now: datetime) -> bool:
    """Revoke the homeowner's grant and every live family under it; False if there was none."""
    result = await session.execute(
        update(Grant)
        .where(Grant.id == grant_id, Grant.user_id == user_id, Grant.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if not _matched(result):
        return False
    await session.execute(
        update(TokenFamily)
        .where(TokenFamily.grant_id == grant_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="grant_revoked")
    )
    return True


async def code_for_update(session: AsyncSession, code_hash: str) -> AuthCode | None:
    return await session.get(AuthCode, code_hash, with_for_update=True)


async def claim_code(session: AsyncSession, code_hash: str, family_id: str, now: datetime) -> bool:
    """Mark the code redeemed by `family_id`, unless someone redeemed it first."""
    claimed = await session.execute(
        update(AuthCode)
        .where(AuthCode.code_hash == code_hash, AuthCode.redeemed_at.is_(None))
        .values(redeemed_at=now, family_id=family_id)
    )
    return _matched(claimed) == 1


async def refresh_row(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    return await session.get(RefreshToken, token_hash)


async def family(
    session: AsyncSession, family_id: str, *, for_update: bool = False
) -> TokenFamily | None:
    return await session.get(TokenFamily, family_id, with_for_update=for_update)


async def next_generation(
    session: AsyncSession, family_id: str, current: int, now: datetime
) -> bool:
    """Move the family to the next refresh-token generation, unless it already moved."""
    result = await session.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family_id, TokenFamily.generation == current)
        .values(generation=current + 1, rotated_at=now)
    )
    return _matched(result) == 1


async def revoke_family(session: AsyncSession, family_id: str, reason: str, now: datetime) -> None:
    await session.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
