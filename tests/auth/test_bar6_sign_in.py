"""Security bar 6: sign-in answers the same for unknown users and wrong passwords, locks a
username at an address after 5 failures (backing off 2^(n-5) s up to 15 minutes), rate-limits
per address, and hashes with Argon2id off the event loop with bounded concurrency."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from gridshare.auth.passwords import Passwords
from gridshare.clock import Clock
from gridshare.config import Settings
from gridshare.storage.models import LoginThrottle, User
from tests.auth.bar_support import client_at, set_cookies
from tests.support import PASSWORD, Homeowner, TestServices, hidden

WRONG = "not the right password"


class FrozenClock(Clock):
    """Time stands still unless the test moves it: lockout windows of one second stay exact."""

    def __init__(self) -> None:
        super().__init__()
        self._base = time.time()

    def time(self) -> float:
        return self._base + self.offset_seconds


@pytest.fixture
def clock() -> Clock:
    return FrozenClock()


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    overrides: dict[str, Any] = getattr(request, "param", {})
    return settings.model_copy(update=overrides)


async def _attempt(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    page = await http.get("/login")
    assert page.status_code == 200
    return await http.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": hidden(page.text, "csrf_token"),
        },
    )


def _masked(response: httpx.Response, username: str) -> str:
    text = response.text.replace(username, "USERNAME")
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value="CSRF"', text)


async def test_unknown_user_and_wrong_password_get_identical_answers(
    gs: TestServices, app: FastAPI
) -> None:
    owner = await gs.homeowner()
    nobody = "nobody-here@example.com"
    async with client_at(app, "198.51.100.1") as one, client_at(app, "198.51.100.2") as two:
        wrong = await _attempt(one, owner.email, WRONG)
        unknown = await _attempt(two, nobody, WRONG)
    assert wrong.status_code == unknown.status_code == 400
    assert "Incorrect username or password." in wrong.text
    assert _masked(wrong, owner.email) == _masked(unknown, nobody)
    assert "location" not in wrong.headers and "location" not in unknown.headers
    assert set(wrong.headers) - {"set-cookie"} == set(unknown.headers) - {"set-cookie"}


async def test_unknown_user_costs_one_full_argon2_verification_like_a_wrong_password(
    gs: TestServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await gs.homeowner()
    calls: list[str] = []
    real = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        calls.append(str(hash))
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    users = gs.services.users
    assert (await users.sign_in(owner.email, WRONG, address="203.0.113.7")).user is None
    assert (await users.sign_in("ghost@example.com", WRONG, address="203.0.113.7")).user is None
    assert len(calls) == 2
    assert all(c.startswith("$argon2id$") for c in calls)


async def test_lockout_after_five_failures_refuses_even_the_right_password(
    gs: TestServices, clock: Clock
) -> None:
    owner = await gs.homeowner()
    for n in range(5):
        # Case and spaces do not give a fresh counter.
        name = owner.email.upper() if n % 2 else f" {owner.email} "
        failed = await _attempt(gs.http, name, WRONG)
        assert failed.status_code == 400, failed.text
    locked = await _attempt(gs.http, owner.email, PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.text
    assert int(locked.headers["retry-after"]) >= 1
    assert "location" not in locked.headers

    clock.advance(2)  # 2^(5-5) = 1 s lock has passed
    signed = await _attempt(gs.http, owner.email, PASSWORD)
    assert signed.status_code == 302 and signed.headers["location"] == "/account"
    # A success clears the counter: one new failure does not lock again.
    assert (await _attempt(gs.http, owner.email, WRONG)).status_code == 400
    assert (await _attempt(gs.http, owner.email, PASSWORD)).status_code == 302


async def test_lockout_backs_off_exponentially_up_to_fifteen_minutes(
    gs: TestServices, clock: Clock
) -> None:
    owner = await gs.homeowner()
    for _ in range(4):
        assert (await _attempt(gs.http, owner.email, WRONG)).status_code == 400
    seen = []
    for failures in range(5, 17):
        assert (await _attempt(gs.http, owner.email, WRONG)).status_code == 400
        locked = await _attempt(gs.http, owner.email, PASSWORD)
        assert locked.status_code == 429, failures
        wait = int(locked.headers["retry-after"])
        seen.append(wait)
        lock = min(2 ** (failures - 5), 900)
        assert lock <= wait <= lock + 1, (failures, wait)  # whole seconds, rounded up
        clock.advance(wait)
    assert 900 <= max(seen) <= 901, "capped at 15 minutes"
    assert (await _attempt(gs.http, owner.email, PASSWORD)).status_code == 302


async def test_parallel_failed_sign_ins_never_exceed_the_threshold(gs: TestServices) -> None:
    """A burst of guesses at once must neither crash (500) nor slip past the failure counter:
    each attempt is counted before its password is checked, so only 5 are checked at all."""
    owner = await gs.homeowner()
    page = await gs.http.get("/login")
    form = {
        "username": owner.email,
        "password": WRONG,
        "csrf_token": hidden(page.text, "csrf_token"),
    }
    responses = await asyncio.gather(*(gs.http.post("/login", data=form) for _ in range(12)))
    assert sorted(r.status_code for r in responses) == [400] * 5 + [429] * 7
    async with gs.services.db.read() as session:
        here = await session.get(LoginThrottle, (owner.email, "203.0.113.7"))
        everywhere = await session.get(LoginThrottle, (owner.email, "*"))
    assert here is not None and here.failures == 5
    assert everywhere is not None and everywhere.failures == 5
    locked = await _attempt(gs.http, owner.email, PASSWORD)
    assert locked.status_code == 429


async def test_lockout_applies_to_unknown_usernames_too(gs: TestServices) -> None:
    """Otherwise the lockout itself would reveal which usernames exist."""
    owner = await gs.homeowner()
    ghost = Homeowner(sub="-", email="ghost@example.com")
    answers = []
    for who in (owner, ghost):
        for _ in range(5):
            assert (await _attempt(gs.http, who.email, WRONG)).status_code == 400
        sixth = await _attempt(gs.http, who.email, PASSWORD)
        answers.append((sixth.status_code, _masked(sixth, who.email)))
    assert answers[0] == answers[1]
    assert answers[0][0] == 429


@pytest.mark.parametrize("settings", [{"login_rate_per_minute": 3}], indirect=True)
async def test_sign_in_attempts_are_rate_limited_per_address(
    gs: TestServices, app: FastAPI
) -> None:
    owner = await gs.homeowner()
    async with client_at(app, "198.51.100.30") as noisy:
        for n in range(3):
            response = await _attempt(noisy, f"someone-{n}@example.com", WRONG)
            assert response.status_code == 400
        limited = await _attempt(noisy, owner.email, PASSWORD)
        assert limited.status_code == 429
        assert "Too many sign-in attempts" in limited.text
        assert int(limited.headers["retry-after"]) >= 1
        assert "gridshare_session" not in set_cookies(limited)
    async with client_at(app, "198.51.100.31") as quiet:
        assert (await _attempt(quiet, owner.email, PASSWORD)).status_code == 302


async def test_passwords_are_stored_as_argon2id_hashes(gs: TestServices) -> None:
    owner = await gs.homeowner()
    async with gs.services.db.read() as session:
        user = await session.get(User, owner.sub)
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


class _SlowHasher:
    """Stands in for argon2's hasher: blocks its thread like a real hash, records concurrency."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.threads: set[int] = set()

    def verify(self, _hash: str, _password: str) -> bool:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.threads.add(threading.get_ident())
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        return True


async def test_argon2_runs_off_the_event_loop_with_bounded_concurrency() -> None:
    passwords = Passwords(time_cost=1, memory_kib=1024, parallelism=1, concurrency=2)
    slow = _SlowHasher()
    passwords._hasher = slow  # type: ignore[assignment]
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    tick_task = asyncio.create_task(ticker())
    results = await asyncio.gather(*(passwords.verify("$argon2id$x", "pw") for _ in range(6)))
    done.set()
    await tick_task
    assert results == [True] * 6
    assert slow.peak == 2, "at most `concurrency` hashes at once, and they do overlap"
    assert threading.get_ident() not in slow.threads, "hashing never runs on the loop's thread"
    assert ticks >= 10, "the event loop kept running while 6 x 50 ms of hashing went on"
