"""The purge of expired rows: what has expired goes, what is live stays, and two processes
purging the same database at once neither fail nor miss anything."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from gridshare.auth.digests import random_token, sha256_hex
from gridshare.auth.purge import ExpiredRows
from gridshare.config import Settings
from gridshare.storage.db import Database
from gridshare.storage.models import AuthCode, LoginThrottle, SignInSession
from tests.support import TestServices


async def _seed(gs: TestServices, count: int) -> None:
    """`count` expired and `count` live rows in each purged table."""
    owner = await gs.homeowner()
    partner = await gs.partner()
    grant = await gs.services.grants.record_consent(owner.sub, partner.client_id, ["openid"])
    now = gs.services.clock.now()
    async with gs.services.db.write() as session:
        for n in range(2 * count):
            expires = now + timedelta(seconds=-60 if n < count else 60)
            session.add(
                AuthCode(
                    code_hash=sha256_hex(random_token()),
                    client_id=partner.client_id,
                    user_id=owner.sub,
                    grant_id=grant.id,
                    redirect_uri=partner.redirect_uri,
                    scopes=["openid"],
                    auth_time=now,
                    expires_at=expires,
                )
            )
            session.add(
                SignInSession(
                    id_hash=sha256_hex(random_token()),
                    user_id=owner.sub,
                    auth_time=now,
                    expires_at=expires,
                )
            )
            session.add(
                LoginThrottle(
                    username=f"nobody-{n}@example.com", address="*", failures=1, expires_at=expires
                )
            )


async def _remaining(gs: TestServices) -> dict[str, tuple[int, int]]:
    """(expired, live) rows left per table."""
    now = gs.services.clock.now()
    out = {}
    async with gs.services.db.read() as session:
        for model in (AuthCode, SignInSession, LoginThrottle):
            expired = await session.scalar(
                select(func.count()).select_from(model).where(model.expires_at <= now)
            )
            live = await session.scalar(
                select(func.count()).select_from(model).where(model.expires_at > now)
            )
            out[model.__tablename__] = (int(expired or 0), int(live or 0))
    return out


async def test_expired_rows_go_and_live_rows_stay(gs: TestServices) -> None:
    await _seed(gs, 7)
    purger = ExpiredRows(gs.services.db, gs.services.clock, batch_size=3)
    counts = await purger.purge()
    assert counts == {"auth_codes": 7, "sign_in_sessions": 7, "login_throttles": 7}
    assert await _remaining(gs) == {
        "auth_codes": (0, 7),
        "sign_in_sessions": (0, 7),
        "login_throttles": (0, 7),
    }
    assert await purger.purge() == {"auth_codes": 0, "sign_in_sessions": 0, "login_throttles": 0}


async def test_two_processes_purging_at_once(gs: TestServices, settings: Settings) -> None:
    await _seed(gs, 20)
    # Each "process" has its own engines and connections to the same database.
    other = Database(settings.database_url)
    try:
        purgers = [
            ExpiredRows(gs.services.db, gs.services.clock, batch_size=4),
            ExpiredRows(other, gs.services.clock, batch_size=4),
        ]
        results = await asyncio.gather(*(p.purge() for p in purgers))
    finally:
        await other.dispose()
    for table in ("auth_codes", "sign_in_sessions", "login_throttles"):
        assert sum(r[table] for r in results) == 20, results
    assert await _remaining(gs) == {
        "auth_codes": (0, 20),
        "sign_in_sessions": (0, 20),
        "login_throttles": (0, 20),
    }
