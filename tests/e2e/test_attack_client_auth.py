"""Attack: shutting a partner out of the token endpoint by failing to authenticate as it.

A stranger who knows a `client_id` sends wrong secrets (or, for a public client, a bogus
`client_secret`) from its own address. The partner, refreshing correctly from another address,
must never be refused; the stranger is the one who gets 429. A correct credential passes even
from the throttled address (addresses are shared behind NAT).
"""

from __future__ import annotations

import pytest

from gridshare.config import Settings
from tests.e2e.attackers import client_from, homeowner, partner, refresh, tokens
from tests.e2e.live import LiveServer

pytestmark = pytest.mark.e2e

LIMIT = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"client_auth_failures_per_minute": LIMIT})


@pytest.mark.parametrize("public", [False, True], ids=["confidential", "public"])
async def test_strangers_failures_never_refuse_the_partners_correct_credentials(
    live_server: LiveServer, public: bool
) -> None:
    live = live_server
    app = partner(live, public=public)
    issued = await tokens(live, app, homeowner(live))
    refresh_token = issued["refresh_token"]
    bogus = "wrong-" + "x" * 40

    async with client_from(live, "127.0.0.2") as stranger, client_from(live) as legit:
        attack = []
        for _ in range(3 * LIMIT):
            attack.append((await refresh(stranger, app, "whatever", secret=bogus)).status_code)
            answer = await refresh(legit, app, refresh_token)
            assert answer.status_code == 200, answer.text
            refresh_token = answer.json().get("refresh_token", refresh_token)
        # The stranger alone is slowed down: 401 up to the limit, 429 after it.
        assert attack == [401] * LIMIT + [429] * (2 * LIMIT), attack

        # The stranger's address is throttled, yet a correct credential from it still passes.
        shared = await refresh(stranger, app, refresh_token)
        assert shared.status_code == 200, shared.text
        refresh_token = shared.json().get("refresh_token", refresh_token)

    # Failures from a third address that name other (unknown) clients throttle only that address.
    async with client_from(live, "127.0.0.3") as prober, client_from(live) as legit:
        for n in range(LIMIT + 1):
            ghost = partner(live, public=public)
            probe = await refresh(prober, ghost, "whatever", secret=bogus)
            assert probe.status_code == (401 if n < LIMIT else 429), probe.text
        limited = await prober.post("/oauth2/revoke", data={"token": "x"}, auth=("nobody", "x"))
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"] == "slow_down"
        answer = await refresh(legit, app, refresh_token)
        assert answer.status_code == 200, answer.text
