"""Security bar 4: refresh-token rotation (per client, on by default for public clients) keeps the
family's original expiry, accepts only the immediately previous token during the grace period,
revokes the whole family on any other reuse, and stays atomic under concurrent refreshes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from gridshare.clock import Clock
from tests.auth.bar_support import all_families, api, live_families
from tests.support import ALL_API, Partner, TestServices

NATIVE = "http://127.0.0.1/cb"


async def _native(gs: TestServices, **options: Any) -> Partner:
    return await gs.partner(public=True, redirect_uris=[NATIVE], **options)


async def _first_tokens(gs: TestServices, partner: Partner) -> dict[str, Any]:
    owner = await gs.homeowner()
    return await gs.tokens(partner, owner, scope=ALL_API)


async def _refresh_ok(gs: TestServices, partner: Partner, token: str) -> dict[str, Any]:
    response = await gs.refresh(partner, token)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _invalid_grant(response: httpx.Response) -> bool:
    return response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_public_client_rotates_refresh_tokens_by_default(gs: TestServices) -> None:
    native = await _native(gs)
    r0 = (await _first_tokens(gs, native))["refresh_token"]
    r1 = (await _refresh_ok(gs, native, r0))["refresh_token"]
    r2 = (await _refresh_ok(gs, native, r1))["refresh_token"]
    assert len({r0, r1, r2}) == 3
    assert all(len(t) >= 43 for t in (r0, r1, r2)), "refresh tokens carry ≥ 256 bits"


async def test_confidential_client_rotation_is_opt_in(gs: TestServices) -> None:
    plain = await gs.partner()
    r0 = (await _first_tokens(gs, plain))["refresh_token"]
    for _ in range(3):
        assert "refresh_token" not in await _refresh_ok(gs, plain, r0)

    rotating = await gs.partner(name="Rotating", rotate_refresh_tokens=True)
    s0 = (await _first_tokens(gs, rotating))["refresh_token"]
    s1 = (await _refresh_ok(gs, rotating, s0))["refresh_token"]
    assert s1 != s0


async def test_rotated_refresh_token_keeps_the_family_original_expiry(
    gs: TestServices, clock: Clock
) -> None:
    native = await _native(gs, refresh_token_ttl=3600)
    r0 = (await _first_tokens(gs, native))["refresh_token"]
    clock.advance(1800)
    r1 = (await _refresh_ok(gs, native, r0))["refresh_token"]
    clock.advance(1700)
    r2 = (await _refresh_ok(gs, native, r1))["refresh_token"]
    clock.advance(101)  # 3601 s after the code was redeemed; r2 itself is only 101 s old
    assert _invalid_grant(await gs.refresh(native, r2))


async def test_previous_token_is_accepted_during_the_grace_period(
    gs: TestServices, clock: Clock
) -> None:
    """A client whose refresh response was lost retries with the token it still has."""
    native = await _native(gs)
    r0 = (await _first_tokens(gs, native))["refresh_token"]
    r1 = (await _refresh_ok(gs, native, r0))["refresh_token"]
    clock.advance(29)
    retried = await _refresh_ok(gs, native, r0)
    sibling = retried["refresh_token"]
    assert sibling not in (r0, r1)
    assert (await api(gs.http, retried["access_token"])).status_code == 200
    # Neither the retry nor the lost response's token broke the family.
    assert (await _refresh_ok(gs, native, sibling))["refresh_token"]
    assert len(await live_families(gs.services, native.client_id)) == 1


async def test_previous_token_after_the_grace_period_revokes_the_whole_family(
    gs: TestServices, clock: Clock
) -> None:
    native = await _native(gs)
    r0 = (await _first_tokens(gs, native))["refresh_token"]
    latest = await _refresh_ok(gs, native, r0)
    clock.advance(31)
    assert _invalid_grant(await gs.refresh(native, r0))
    assert _invalid_grant(await gs.refresh(native, latest["refresh_token"]))
    assert (await api(gs.http, latest["access_token"])).status_code == 401
    assert await live_families(gs.services, native.client_id) == []


async def test_reuse_of_an_older_token_revokes_the_whole_family(gs: TestServices) -> None:
    native = await _native(gs)
    r0 = (await _first_tokens(gs, native))["refresh_token"]
    r1 = (await _refresh_ok(gs, native, r0))["refresh_token"]
    latest = await _refresh_ok(gs, native, r1)
    # r0 is two generations old: not "the immediately previous token", even inside the grace.
    assert _invalid_grant(await gs.refresh(native, r0))
    assert _invalid_grant(await gs.refresh(native, latest["refresh_token"]))
    assert _invalid_grant(await gs.refresh(native, r1))
    assert (await api(gs.http, latest["access_token"])).status_code == 401


async def test_grace_period_is_a_per_client_setting(gs: TestServices, clock: Clock) -> None:
    strict = await _native(gs, name="No grace", rotation_grace_seconds=0)
    r0 = (await _first_tokens(gs, strict))["refresh_token"]
    r1 = (await _refresh_ok(gs, strict, r0))["refresh_token"]
    clock.advance(1)
    assert _invalid_grant(await gs.refresh(strict, r0))
    assert _invalid_grant(await gs.refresh(strict, r1))

    lenient = await _native(gs, name="Long grace", rotation_grace_seconds=60)
    s0 = (await _first_tokens(gs, lenient))["refresh_token"]
    await _refresh_ok(gs, lenient, s0)
    clock.advance(59)
    await _refresh_ok(gs, lenient, s0)


async def test_parallel_refreshes_of_one_token_leave_at_most_one_live_family(
    gs: TestServices,
) -> None:
    native = await _native(gs)
    r0 = (await _first_tokens(gs, native))["refresh_token"]
    responses = await asyncio.gather(*(gs.refresh(native, r0) for _ in range(10)))
    for response in responses:
        assert response.status_code == 200 or _invalid_grant(response), response.text
    winners = [r.json() for r in responses if r.status_code == 200]
    assert winners, "at least one of the parallel refreshes succeeds"

    families = await all_families(gs.services, native.client_id)
    assert len(families) == 1, "a refresh never forks a new family"
    alive = await live_families(gs.services, native.client_id)
    assert len(alive) <= 1
    assert alive, "concurrent retries inside the grace period are not mistaken for reuse"
    assert alive[0].generation == 1, "exactly one of the parallel refreshes rotated"
    # Every token handed out is usable once more (each is current or its sibling).
    for body in winners[:3]:
        assert (await api(gs.http, body["access_token"])).status_code == 200
    await _refresh_ok(gs, native, winners[-1]["refresh_token"])
