"""Attacks on the sign-in lockout: outrunning it with concurrent guesses, and abusing it to keep
the real homeowner out.

Cognito's rule (5 failures, then 2^(n-5) s up to 15 minutes) is applied per (username, client
address), with a much higher ceiling per username over all addresses.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gridshare.config import Settings
from tests.e2e.attackers import (
    WRONG,
    client_from,
    homeowner,
    login_form,
    released_together,
    sign_in,
)
from tests.e2e.live import LiveServer
from tests.support import PASSWORD

pytestmark = pytest.mark.e2e

THRESHOLD = 5  # the default, Cognito's
GUESSES = 24


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    overrides: dict[str, Any] = getattr(request, "param", {})
    # Every attempt here comes from few addresses: keep the per-address rate limit out of the way.
    return settings.model_copy(update={"login_rate_per_minute": 1000} | overrides)


@pytest.fixture
def live_server(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    """The server's clock stands still unless the test moves it: a 1 s lock stays exact however
    slow the machine is."""
    clock = live_server.services.clock
    start = clock.time()
    monkeypatch.setattr(clock, "time", lambda: start + clock.offset_seconds)
    return live_server


async def test_concurrent_wrong_passwords_cannot_outrun_the_lockout(
    live_server: LiveServer,
) -> None:
    """24 wrong passwords at once, then the right one while they are in flight: no more than
    `threshold` attempts may be checked at all, so the right one cannot slip in after them."""
    live = live_server
    owner = homeowner(live)
    clients = [client_from(live) for _ in range(GUESSES + 1)]
    try:
        # Each client holds its own open connection and CSRF cookie before the burst.
        csrf = [await login_form(c) for c in clients]

        async def attempt(n: int, password: str) -> httpx.Response:
            form = {"username": owner.email, "password": password, "csrf_token": csrf[n]}
            return await clients[n].post("/login", data=form)

        answers = await released_together(
            *(attempt(n, WRONG) for n in range(GUESSES)), attempt(GUESSES, PASSWORD)
        )
    finally:
        for c in clients:
            await c.aclose()

    statuses = [a.status_code for a in answers]
    checked = [s for s in statuses if s in (400, 302)]  # a password was verified
    assert len(checked) <= THRESHOLD, statuses
    assert sorted(statuses) == sorted(checked + [429] * (len(statuses) - len(checked))), statuses
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers if a.status_code == 429)
    if statuses[-1] == 302:
        # The right password may only win when it was among the first `threshold` counted.
        assert statuses[:-1].count(400) < THRESHOLD, statuses

    # The lock ends: once it has passed, the owner signs in.
    live.services.clock.advance(901)
    async with client_from(live) as owner_browser:
        signed = await sign_in(owner_browser, owner.email, PASSWORD)
    assert signed.status_code == 302 and signed.headers["location"] == "/account", signed.text


async def test_a_guesser_locks_only_himself_out_not_the_owner(live_server: LiveServer) -> None:
    live = live_server
    owner = homeowner(live)
    async with client_from(live, "127.0.0.2") as guesser:
        for _ in range(THRESHOLD):
            assert (await sign_in(guesser, owner.email, WRONG)).status_code == 400
        locked = await sign_in(guesser, owner.email, PASSWORD)
        assert locked.status_code == 429, "the guesser's address is locked, right password or not"
        assert "Too many failed attempts" in locked.text

        async with client_from(live, "127.0.0.1") as owner_browser:
            signed = await sign_in(owner_browser, owner.email, PASSWORD)
            assert signed.status_code == 302 and signed.headers["location"] == "/account"
            # The owner's success does not unlock the guesser's address.
            assert (await sign_in(guesser, owner.email, PASSWORD)).status_code == 429
            # Nor does the guesser's lock reach an address the owner has never used.
            async with client_from(live, "127.0.0.9") as elsewhere:
                assert (await sign_in(elsewhere, owner.email, PASSWORD)).status_code == 302


@pytest.mark.parametrize("settings", [{"lockout_global_threshold": 8}], indirect=True)
async def test_guessing_spread_over_many_addresses_hits_the_per_username_ceiling(
    live_server: LiveServer,
) -> None:
    live = live_server
    owner = homeowner(live)
    for n in range(4):  # 4 addresses x 2 failures: no address reaches its own threshold
        async with client_from(live, f"127.0.1.{n + 1}") as bot:
            for _ in range(2):
                assert (await sign_in(bot, owner.email, WRONG)).status_code == 400
    async with client_from(live, "127.0.0.1") as owner_browser:
        locked = await sign_in(owner_browser, owner.email, PASSWORD)
        assert locked.status_code == 429, "eight failures in all lock the username everywhere"
        live.services.clock.advance(2)  # 2^(8-8) = 1 s
        assert (await sign_in(owner_browser, owner.email, PASSWORD)).status_code == 302
