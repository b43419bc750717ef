"""Per-token rate limiting of the customer API: RateLimit-* headers on every counted call, 429
with Retry-After beyond the limit, and, with Redis, one counter shared by every server process.
"""

from __future__ import annotations

import asyncio
import math
import random

import httpx

from gridshare.clock import Clock
from gridshare.config import Settings
from gridshare.storage.ratelimit import MemoryWindows
from tests.api.homes_support import (
    ENDPOINTS,
    make_home,
    running_app,
    token_for,
)
from tests.support import require_redis

LIMIT = 3


def _limited(settings: Settings, **extra: object) -> Settings:
    return settings.model_copy(update={"api_rate_per_minute": LIMIT, **extra})


def _check_headers(headers: httpx.Headers, remaining: int) -> None:
    assert headers.get("ratelimit-limit") == str(LIMIT)
    assert headers.get("ratelimit-remaining") == str(remaining)
    reset = int(headers.get("ratelimit-reset", "0"))
    assert 1 <= reset <= 60


async def test_the_call_beyond_the_limit_is_429(settings: Settings) -> None:
    async with running_app(_limited(settings)) as (_, gs):
        home = await make_home(gs)
        for n in range(LIMIT):
            response = await gs.http.get("/api/v2/sites", headers=home.headers)
            assert response.status_code == 200, response.text
            _check_headers(response.headers, remaining=LIMIT - 1 - n)
        response = await gs.http.get("/api/v2/sites", headers=home.headers)
        assert response.status_code == 429, response.text
        assert response.json()["code"] == "rate_limited"
        assert set(response.json()) == {"message", "code"}
        retry_after = int(response.headers["retry-after"])
        assert 1 <= retry_after <= 60
        _check_headers(response.headers, remaining=0)
        # Every endpoint shares the token's budget, writes included.
        for endpoint in ENDPOINTS:
            response = await endpoint.call(
                gs.http,
                home.headers,
                site=home.site.site_id,
                device=home.device_id("battery_pack"),
                tariff=home.site.import_tariff_id,
            )
            assert response.status_code == 429, (endpoint.id, response.text)
        assert (
            await gs.services.homes.recent_actions(home.owner.sub, home.partner.client_id) == []
        ), "a rate-limited write does nothing"


async def test_every_counted_answer_says_what_is_left(settings: Settings) -> None:
    """The RateLimit-* headers ride on every answered call, also on bodies a route serialises
    itself and on 204s (FastAPI copies a dependency's headers only onto what it renders)."""
    generous = settings.model_copy(update={"api_rate_per_minute": 1000})
    async with running_app(generous) as (_, gs):
        home = await make_home(gs)
        for n, endpoint in enumerate(ENDPOINTS):
            response = await endpoint.call(
                gs.http,
                home.headers,
                site=home.site.site_id,
                device=home.device_id("battery_pack"),
                tariff=home.site.import_tariff_id,
            )
            assert response.status_code == endpoint.ok, (endpoint.id, response.text)
            assert response.headers.get("ratelimit-limit") == "1000", endpoint.id
            assert response.headers.get("ratelimit-remaining") == str(999 - n), endpoint.id


async def test_each_token_family_has_its_own_budget(settings: Settings) -> None:
    async with running_app(_limited(settings)) as (_, gs):
        home = await make_home(gs)
        for _ in range(LIMIT + 1):
            await gs.http.get("/api/v2/devices", headers=home.headers)
        assert (await gs.http.get("/api/v2/devices", headers=home.headers)).status_code == 429
        other = await token_for(gs, home, "lunar/device.read")
        response = await gs.http.get(
            "/api/v2/devices", headers={"Authorization": f"Bearer {other}"}
        )
        assert response.status_code == 200, response.text
        _check_headers(response.headers, remaining=LIMIT - 1)


async def test_retry_after_agrees_with_the_reset_header(settings: Settings) -> None:
    """The limiter counts in real time, so rather than wait out a minute this checks the
    promise: Retry-After is within the window and equals RateLimit-Reset."""
    async with running_app(_limited(settings)) as (_, gs):
        home = await make_home(gs)
        for _ in range(LIMIT):
            await gs.http.get("/api/v2/sites", headers=home.headers)
        response = await gs.http.get("/api/v2/sites", headers=home.headers)
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) <= 60
        assert int(response.headers["retry-after"]) == int(response.headers["ratelimit-reset"])


async def test_rejected_calls_are_not_counted_before_authentication(settings: Settings) -> None:
    """No token or a wrong scope is answered 401/403 without spending the token's budget."""
    async with running_app(_limited(settings)) as (_, gs):
        home = await make_home(gs, scope="lunar/device.read")
        for _ in range(LIMIT + 2):
            response = await gs.http.get(
                f"/api/v2/devices/{home.device_id('battery_pack')}/plans/overlay",
                headers=home.headers,
            )
            assert response.status_code == 403
            assert "ratelimit-limit" not in response.headers
        for _ in range(LIMIT + 2):
            assert (await gs.http.get("/api/v2/sites")).status_code == 401
        response = await gs.http.get("/api/v2/sites", headers=home.headers)
        assert response.status_code == 200
        _check_headers(response.headers, remaining=LIMIT - 1)


async def test_two_app_instances_share_the_counter_through_redis(settings: Settings) -> None:
    shared = _limited(settings, redis_url=await require_redis())
    async with running_app(shared, Clock(), client="203.0.113.21") as (_, one):
        home = await make_home(one)
        async with running_app(shared, Clock(), client="203.0.113.22") as (_, two):
            statuses = []
            for n in range(LIMIT + 1):
                client = (one, two)[n % 2].http
                response = await client.get("/api/v2/sites", headers=home.headers)
                statuses.append(response.status_code)
                if response.status_code == 200:
                    _check_headers(response.headers, remaining=LIMIT - 1 - n)
            assert statuses == [200] * LIMIT + [429], statuses
            # Both processes now refuse the token.
            for gs in (one, two):
                response = await gs.http.get("/api/v2/devices", headers=home.headers)
                assert response.status_code == 429
                assert "retry-after" in response.headers


async def test_without_redis_two_instances_count_separately(settings: Settings) -> None:
    """The control for the test above: in-memory counters are per process."""
    limited = _limited(settings)
    async with running_app(limited, Clock()) as (_, one):
        home = await make_home(one)
        async with running_app(limited, Clock()) as (_, two):
            results = await asyncio.gather(
                *[
                    gs.http.get("/api/v2/sites", headers=home.headers)
                    for gs in (one, two)
                    for _ in range(LIMIT)
                ]
            )
            assert [r.status_code for r in results] == [200] * (2 * LIMIT)


# -- the in-process windows ----------------------------------------------------------------------


def test_memory_windows_agree_with_counting_the_last_minute() -> None:
    """Each decision equals a brute-force count of the admitted hits of the last 60 s."""
    now = [1000.0]
    windows = MemoryWindows(clock=lambda: now[0])
    admitted: list[float] = []
    rng = random.Random(11)
    for _ in range(2000):
        now[0] += rng.choice([0.0, 0.5, 3.0, 7.0, 20.0])
        recent = [t for t in admitted if t > now[0] - 60]
        expected = len(recent) < LIMIT
        decision = windows.hit(LIMIT, ("api", "family"))
        assert decision.allowed == expected
        if expected:
            admitted.append(now[0])
            recent.append(now[0])
        assert decision.remaining == LIMIT - len(recent)
        assert decision.reset_after == max(1, math.ceil(min(recent) + 60 - now[0]))


def test_memory_windows_forget_idle_keys() -> None:
    now = [0.0]
    windows = MemoryWindows(clock=lambda: now[0])
    windows.hit(LIMIT, ("api", "a"))
    now[0] += 61
    windows.hit(LIMIT, ("api", "b"))
    assert [k[-1] for k in windows._hits] == ["b"]
