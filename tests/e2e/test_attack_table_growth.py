"""Attack: filling the database with rows anyone can make the server write.

Failed sign-ins (login throttles, kept for unknown usernames too), started sign-ins (sessions)
and codes nobody redeems must not pile up forever: every process purges expired rows in the
background, in batches. Rows past their expiry disappear; live rows stay.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import pytest

from gridshare.config import Settings
from tests.e2e.attackers import WRONG, authorize, client_from, homeowner, partner, sign_in
from tests.e2e.live import LiveServer
from tests.live import Owner

pytestmark = pytest.mark.e2e

BATCH = 2
PATIENCE_SECONDS = 60.0  # how long the background purge may take to get round to it


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "purge_interval_seconds": 0.1,
            "purge_batch_size": BATCH,
            "login_rate_per_minute": 1000,
        }
    )


async def _traffic(live: LiveServer, owner: Owner, strangers: list[str]) -> None:
    """What anyone can cause: failed sign-ins, a sign-in session, an unredeemed code."""
    async with client_from(live, "127.0.0.2") as stranger:
        for name in strangers:
            assert (await sign_in(stranger, name, WRONG)).status_code == 400
    await authorize(live, partner(live), owner)  # signs in (a session) and leaves a code


async def _rows(live: LiveServer, owner: Owner, strangers: list[str]) -> dict[str, int]:
    names = ", ".join(f"'{n}'" for n in strangers)
    queries: dict[str, tuple[str, dict[str, Any]]] = {
        "throttles": (f"SELECT count(*) AS n FROM login_throttles WHERE username IN ({names})", {}),
        "sessions": (
            "SELECT count(*) AS n FROM sign_in_sessions WHERE user_id = :u",
            {"u": owner.sub},
        ),
        "codes": ("SELECT count(*) AS n FROM auth_codes WHERE user_id = :u", {"u": owner.sub}),
    }
    return {k: (await live.query(sql, **p))[0]["n"] for k, (sql, p) in queries.items()}


async def test_expired_rows_are_purged_in_the_background_and_live_rows_stay(
    live_server: LiveServer,
) -> None:
    live = live_server
    old_owner, new_owner = homeowner(live), homeowner(live)
    old_names = [f"nobody-{secrets.token_hex(4)}@example.com" for _ in range(2 * BATCH + 1)]
    new_names = [f"nobody-{secrets.token_hex(4)}@example.com" for _ in range(BATCH + 1)]

    await _traffic(live, old_owner, old_names)
    # Each name has a row per address and one over all addresses.
    assert await _rows(live, old_owner, old_names) == {
        "throttles": 2 * len(old_names),
        "sessions": 1,
        "codes": 1,
    }
    # Two days on, everything above has expired (codes 5 min, sessions 1 h, throttles 1 day).
    live.services.clock.advance(2 * 86400)
    await _traffic(live, new_owner, new_names)

    deadline = time.monotonic() + PATIENCE_SECONDS
    while await _rows(live, old_owner, old_names) != {"throttles": 0, "sessions": 0, "codes": 0}:
        assert time.monotonic() < deadline, await _rows(live, old_owner, old_names)
        await asyncio.sleep(0.1)
    assert await _rows(live, new_owner, new_names) == {
        "throttles": 2 * len(new_names),
        "sessions": 1,
        "codes": 1,
    }
