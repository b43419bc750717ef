"""`gridshare admin disable-client` is final for the tokens the client held (issue: a re-enable
restored them, so rotating a leaked secret and re-enabling gave the attacker's tokens back).

Driven as an operator would: the admin CLI in a subprocess against the live server's database;
the partner talks to the server over a real socket.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import pytest

from gridshare.config import Settings
from tests.e2e.live import LiveServer, gridshare_command
from tests.support import PASSWORD, Homeowner, Partner, TestServices

pytestmark = pytest.mark.e2e

REDIRECT = "https://partner.example/callback"


@pytest.fixture
def uncached_server(settings: Settings) -> Iterator[LiveServer]:
    """The admin CLI shares no revocation feed with the server: ask the database on every call
    rather than trust a family found live within the last second."""
    server = LiveServer.start(settings.model_copy(update={"token_status_cache_seconds": 0}))
    try:
        yield server
    finally:
        server.stop()


async def test_tokens_issued_before_disable_stay_refused_after_enable(
    uncached_server: LiveServer,
) -> None:
    live = uncached_server
    # No sites: the devices list answers 200 (empty) without simulating a home's history.
    made = live.admin("create-user", "--email", "disabled@example.com", "--password", PASSWORD)
    owner = Homeowner(made["sub"], made["email"], PASSWORD)
    client = live.create_client(REDIRECT)
    partner = Partner(client.client_id, client.secret, REDIRECT)
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        gs = TestServices(live.services, http)
        tokens = await gs.tokens(partner, owner)
        # A code the homeowner approved but the partner has not redeemed yet.
        pending = await gs.authorize(partner, owner)
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await http.get("/api/v1/devices", headers=bearer)).status_code == 200

        live.admin("disable-client", partner.client_id)
        assert (await http.get("/api/v1/devices", headers=bearer)).status_code == 401

        live.admin("enable-client", partner.client_id)
        again = await http.get("/api/v1/devices", headers=bearer)
        assert again.status_code == 401, "the access token came back to life"
        refreshed = await gs.refresh(partner, tokens["refresh_token"])
        assert refreshed.status_code == 400, refreshed.text
        assert refreshed.json()["error"] == "invalid_grant"
        redeemed = await gs.exchange(partner, pending)
        assert redeemed.status_code == 400, redeemed.text
        assert redeemed.json()["error"] == "invalid_grant"

        # The client itself works again: a fresh sign-in gets tokens that are accepted.
        fresh = await gs.tokens(partner, owner)
        ok = await http.get(
            "/api/v1/devices", headers={"Authorization": f"Bearer {fresh['access_token']}"}
        )
        assert ok.status_code == 200


def test_disable_client_help_says_tokens_are_revoked() -> None:
    out = subprocess.run(
        [*gridshare_command(), "admin", "disable-client", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "revoke" in out and "enable-client" in out
