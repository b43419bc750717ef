"""Attack: a used authorization code as a kill switch for the homeowner's tokens.

A used code leaks (browser history, logs, a custom-scheme handler). Replaying it without what a
first redemption needs (the PKCE verifier, the redirect URI, the client's secret) must answer
`invalid_grant` and revoke nothing. A replay that passes those checks is what RFC 9700 §4.5 /
RFC 6749 §4.1.2 are about (the code was stolen and redeemed by someone who also holds the
verifier): it still revokes the family issued from the code, while the code is still unexpired.
"""

from __future__ import annotations

import secrets

import pytest

from tests.e2e.attackers import (
    api_status,
    authorize,
    client_from,
    homeowner,
    partner,
    redeem,
    refresh,
)
from tests.e2e.live import LiveServer
from tests.live import Partner

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("public", [True, False], ids=["public", "confidential"])
async def test_a_leaked_used_code_alone_cannot_revoke_the_homeowners_tokens(
    live_server: LiveServer, public: bool
) -> None:
    live = live_server
    app = partner(live, public=public)
    code, verifier = await authorize(live, app, homeowner(live))
    async with client_from(live) as legit:
        first = await redeem(legit, app, code, verifier)
    assert first.status_code == 200, first.text
    issued = first.json()

    wrong_verifier = secrets.token_urlsafe(48)
    async with client_from(live, "127.0.0.2") as attacker:
        replays = {
            "no verifier": redeem(attacker, app, code, None),
            "wrong verifier": redeem(attacker, app, code, wrong_verifier),
            "wrong redirect_uri": redeem(attacker, app, code, verifier, app.redirect_uri + "x"),
            "no redirect_uri": redeem(attacker, app, code, verifier, send_redirect_uri=False),
        }
        for what, call in replays.items():
            response = await call
            assert response.status_code == 400, (what, response.text)
            assert response.json()["error"] in ("invalid_grant", "invalid_request"), what
            assert await api_status(live, issued["access_token"]) == 200, what
        if not public:
            impostor = Partner(app.client_id, "wrong-" + "x" * 40, app.redirect_uri, app.name)
            response = await redeem(attacker, impostor, code, verifier)
            assert response.status_code == 401
            assert await api_status(live, issued["access_token"]) == 200

    async with client_from(live) as legit:
        still = await refresh(legit, app, issued["refresh_token"])
        assert still.status_code == 200, still.text
        issued = issued | still.json()

        # A replay that passes every check of a first redemption: RFC 9700, revoke the family.
        replay = await redeem(legit, app, code, verifier)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert await api_status(live, issued["access_token"]) == 401
    async with client_from(live) as legit:
        dead = await refresh(legit, app, issued["refresh_token"])
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"


async def test_replay_after_the_code_expired_revokes_nothing(live_server: LiveServer) -> None:
    live = live_server
    app = partner(live, public=True)
    code, verifier = await authorize(live, app, homeowner(live))
    async with client_from(live) as legit:
        first = await redeem(legit, app, code, verifier)
        assert first.status_code == 200, first.text
        live.services.clock.advance(live.settings.code_ttl_seconds + 1)
        late = await redeem(legit, app, code, verifier)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    assert await api_status(live, first.json()["access_token"]) == 200
