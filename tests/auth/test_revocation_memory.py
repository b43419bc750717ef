"""What each process's memory of live token families may and may not do
(`gridshare.auth.revocation`): a revocation is refused at once by the process that made it and by
every process sharing Redis; any other process refuses it within `token_status_cache_seconds`;
Redis being down costs speed, never a revocation.

Two app instances on one database stand for two server processes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from gridshare.auth.revocation import FamilyStatus, FamilyStatusCache, RedisFeed
from gridshare.auth.tokens import InvalidToken, TokenService
from gridshare.clock import Clock
from gridshare.config import Settings
from tests.api.homes_support import Home, make_home, running_app
from tests.support import TestServices, require_redis

#: Long enough that the calls of a test never outlast it on a slow machine; tests move the clock.
WINDOW = 30.0
Revoke = Callable[[TestServices, Home], Awaitable[None]]


async def revoke_refresh_token(gs: TestServices, home: Home) -> None:
    response = await gs.http.post(
        "/oauth2/revoke",
        data={"token": home.tokens["refresh_token"]},
        headers=home.partner.basic(),
    )
    assert response.status_code == 200, response.text


async def withdraw_consent(gs: TestServices, home: Home) -> None:
    [connection] = await gs.services.grants.connections(home.owner.sub)
    assert await gs.services.grants.revoke_grant(home.owner.sub, connection.grant.id)


async def disable_client(gs: TestServices, home: Home) -> None:
    assert await gs.services.clients.set_disabled(home.partner.client_id, True)


REVOCATIONS = pytest.mark.parametrize(
    "revoke", [revoke_refresh_token, withdraw_consent, disable_client], ids=lambda f: f.__name__
)


async def _status(gs: TestServices, home: Home) -> int:
    return (await gs.http.get("/api/v2/sites", headers=home.headers)).status_code


def _windowed(settings: Settings, **extra: object) -> Settings:
    return settings.model_copy(update={"token_status_cache_seconds": WINDOW, **extra})


@REVOCATIONS
async def test_the_revoking_process_refuses_at_once(settings: Settings, revoke: Revoke) -> None:
    async with running_app(_windowed(settings)) as (_, gs):
        home = await make_home(gs)
        assert await _status(gs, home) == 200  # now remembered as live
        await revoke(gs, home)
        assert await _status(gs, home) == 401


@REVOCATIONS
async def test_another_process_refuses_within_the_window(
    settings: Settings, revoke: Revoke
) -> None:
    """Without Redis, a process that did not make the revocation may trust its memory for at
    most the window, then asks the database again."""
    other_clock = Clock()
    async with running_app(_windowed(settings)) as (_, one):
        home = await make_home(one)
        async with running_app(_windowed(settings), other_clock) as (_, two):
            assert await _status(two, home) == 200
            await revoke(one, home)
            assert await _status(one, home) == 401
            assert await _status(two, home) == 200, "within the window the memory answers"
            other_clock.advance(WINDOW)
            assert await _status(two, home) == 401


@REVOCATIONS
async def test_processes_sharing_redis_refuse_at_once(settings: Settings, revoke: Revoke) -> None:
    shared = _windowed(settings, redis_url=await require_redis())
    async with running_app(shared, Clock(), client="203.0.113.31") as (_, one):
        home = await make_home(one)
        async with running_app(shared, Clock(), client="203.0.113.32") as (_, two):
            assert await _status(two, home) == 200
            await revoke(one, home)
            assert await _status(two, home) == 401


async def test_no_memory_when_the_window_is_zero(settings: Settings) -> None:
    forgetful = settings.model_copy(update={"token_status_cache_seconds": 0})
    async with running_app(forgetful) as (_, one):
        home = await make_home(one)
        async with running_app(forgetful) as (_, two):
            assert await _status(two, home) == 200
            await disable_client(one, home)
            assert await _status(two, home) == 401


async def test_redis_down_means_asking_the_database_every_time(gs: TestServices) -> None:
    """A verifier whose feed cannot reach Redis trusts no memory: a revocation it never heard
    of is refused on the next call."""
    services = gs.services
    home = await make_home(gs)
    verifier = TokenService(
        services.db,
        services.keys,
        services.clock,
        services.issuer,
        feed=RedisFeed("redis://127.0.0.1:1/0"),  # nothing listens on port 1
        status_cache_seconds=60,
    )
    try:
        assert (await verifier.verify_access_token(home.token)).sub == home.owner.sub
        await withdraw_consent(gs, home)  # announced to `services`' feed, not to the verifier's
        with pytest.raises(InvalidToken):
            await verifier.verify_access_token(home.token)
    finally:
        await verifier.feed.aclose()


# -- the memory itself ---------------------------------------------------------------------------


def _status_at(checked_at: float, generation: int = 0) -> FamilyStatus:
    return FamilyStatus("grant", "client", None, checked_at, generation)


def test_an_entry_lives_for_the_window_within_its_generation() -> None:
    cache = FamilyStatusCache(ttl=1.0)
    cache.put("f", _status_at(100.0, generation=7))
    assert cache.get("f", 7, 100.9) is not None
    assert cache.get("f", 8, 100.1) is None, "a revocation announced since: forgotten"
    assert cache.get("f", 7, 100.1) is None, "and it stays forgotten"
    cache.put("f", _status_at(100.0, generation=7))
    assert cache.get("f", 7, 101.0) is None, "the window has passed"
    cache.put("f", _status_at(100.0, generation=7))
    assert cache.get("f", 7, 99.0) is None, "a clock moved backwards trusts nothing"
    cache.put("f", _status_at(100.0, generation=7))
    assert cache.get("f", None, 100.1) is None, "an unknown generation trusts nothing"


def test_the_memory_is_bounded_and_forgets_the_oldest_first() -> None:
    cache = FamilyStatusCache(ttl=10.0, max_entries=3)
    for name in "abcd":
        cache.put(name, _status_at(0.0))
    assert cache.get("a", 0, 1.0) is None
    assert all(cache.get(name, 0, 1.0) is not None for name in "bcd")


def test_a_zero_window_remembers_nothing() -> None:
    cache = FamilyStatusCache(ttl=0.0)
    cache.put("f", _status_at(0.0))
    assert cache.get("f", 0, 0.0) is None
