"""Security bar 5: client secrets compared in constant time, unknown client and wrong secret
indistinguishable, and repeated bad secrets throttled per (client, address) and per address,
never refusing a correct secret."""

from __future__ import annotations

import base64
import secrets

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from gridshare.auth import clients as clients_module
from gridshare.auth import digests
from gridshare.auth.errors import InvalidClient
from gridshare.auth.params import Params
from gridshare.config import Settings
from gridshare.storage.models import ClientSecret
from tests.auth.bar_support import client_at
from tests.support import TestServices

FAILURES_PER_MINUTE = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"client_auth_failures_per_minute": FAILURES_PER_MINUTE})


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _refresh_form(client_id: str | None = None) -> dict[str, str]:
    form = {"grant_type": "refresh_token", "refresh_token": "not-a-real-refresh-token"}
    if client_id:
        form["client_id"] = client_id
    return form


async def _token_call(
    http: httpx.AsyncClient, client_id: str, secret: str, basic: bool = True
) -> httpx.Response:
    if basic:
        return await http.post(
            "/oauth2/token", data=_refresh_form(), headers=_basic(client_id, secret)
        )
    form = _refresh_form(client_id) | {"client_secret": secret}
    return await http.post("/oauth2/token", data=form)


def _shape(response: httpx.Response) -> tuple[int, str, str | None, str | None]:
    return (
        response.status_code,
        response.text,
        response.headers.get("www-authenticate"),
        response.headers.get("cache-control"),
    )


@pytest.mark.parametrize("basic", [True, False], ids=["basic", "body"])
async def test_wrong_secret_and_unknown_client_get_identical_answers(
    gs: TestServices, app: FastAPI, basic: bool
) -> None:
    partner = await gs.partner()
    unknown_id = "z" * 26
    # Two fresh addresses so that neither answer is a throttle.
    async with client_at(app, "198.51.100.1") as one, client_at(app, "198.51.100.2") as two:
        wrong = await _token_call(one, partner.client_id, "w" * 43, basic)
        unknown = await _token_call(two, unknown_id, "w" * 43, basic)
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic ")
    assert _shape(wrong) == _shape(unknown)


async def test_authenticate_fails_the_same_way_for_unknown_client_and_wrong_secret(
    gs: TestServices,
) -> None:
    partner = await gs.partner()
    outcomes = []
    for client_id in (partner.client_id, "q" * 26):
        with pytest.raises(InvalidClient) as caught:
            await gs.services.clients.authenticate(
                _basic(client_id, "bad-secret-" + "b" * 32)["Authorization"], Params([])
            )
        exc = caught.value
        outcomes.append((type(exc), str(exc), exc.error, exc.description, exc.status_code))
    assert outcomes[0] == outcomes[1]


async def test_secrets_are_checked_by_constant_time_digest_comparison_on_every_path(
    gs: TestServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both the wrong-secret and the unknown-client path compare equal-length HMAC digests with
    `hmac.compare_digest` (never `==` on the secret), so they cost the same."""
    partner = await gs.partner()
    calls: list[tuple[str, str]] = []
    real = digests.constant_time_equal

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(clients_module, "constant_time_equal", spy)
    for client_id in (partner.client_id, "q" * 26):
        calls.clear()
        with pytest.raises(InvalidClient):
            await gs.services.clients.authenticate(
                _basic(client_id, "bad-secret-" + "b" * 32)["Authorization"], Params([])
            )
        assert calls, f"no constant-time comparison for {client_id}"
        for a, b in calls:
            assert len(a) == len(b) == 64
            assert "bad-secret" not in a + b, "the raw secret is never compared"
    calls.clear()
    assert partner.secret is not None
    good = await gs.services.clients.authenticate(
        _basic(partner.client_id, partner.secret)["Authorization"], Params([])
    )
    assert good.client_id == partner.client_id and calls


async def test_client_secrets_are_stored_only_as_keyed_digests(gs: TestServices) -> None:
    partner = await gs.partner()
    assert partner.secret is not None and len(partner.secret) >= 43
    async with gs.services.db.read() as session:
        rows = list((await session.execute(select(ClientSecret))).scalars())
    assert len(rows) == 1
    assert partner.secret not in rows[0].secret_hmac
    assert len(rows[0].secret_hmac) == 64


async def test_bad_secrets_throttle_the_guessing_address_never_the_right_secret(
    gs: TestServices, app: FastAPI
) -> None:
    partner = await gs.partner()
    assert partner.secret is not None
    async with client_at(app, "198.51.100.10") as guesser:
        for _ in range(FAILURES_PER_MINUTE):
            failed = await _token_call(guesser, partner.client_id, "wrong-" + "x" * 40)
            assert failed.status_code == 401
        blocked = await _token_call(guesser, partner.client_id, "wrong-" + "x" * 40)
        assert blocked.status_code == 429, blocked.text
        assert blocked.json()["error"] == "slow_down"
        assert int(blocked.headers["retry-after"]) >= 1
        assert blocked.headers["cache-control"] == "no-store"
        # The right secret passes, from the throttled address too (addresses are shared).
        fine = await _token_call(guesser, partner.client_id, partner.secret)
        assert fine.status_code == 400 and fine.json()["error"] == "invalid_grant"
    async with client_at(app, "198.51.100.99") as partner_host:
        fine = await _token_call(partner_host, partner.client_id, partner.secret)
    assert fine.status_code == 400 and fine.json()["error"] == "invalid_grant"


async def test_bad_secrets_from_many_addresses_do_not_throttle_the_client(
    gs: TestServices, app: FastAPI
) -> None:
    """There is no per-client counter anyone could fill: each address pays for its own failures."""
    partner = await gs.partner()
    assert partner.secret is not None
    for n in range(3 * FAILURES_PER_MINUTE):
        async with client_at(app, f"198.51.100.{10 + n}") as http:
            failed = await _token_call(http, partner.client_id, "wrong-" + "x" * 40)
            assert failed.status_code == 401
    async with client_at(app, "198.51.100.99") as http:
        fine = await _token_call(http, partner.client_id, partner.secret)
    assert fine.status_code == 400 and fine.json()["error"] == "invalid_grant"


async def test_repeated_bad_secrets_throttle_the_address(gs: TestServices, app: FastAPI) -> None:
    partner = await gs.partner()
    assert partner.secret is not None
    async with client_at(app, "198.51.100.50") as attacker:
        # Each attempt names a different client, so only the per-address counter fills up.
        for _ in range(FAILURES_PER_MINUTE):
            failed = await _token_call(attacker, secrets.token_hex(13), "guess")
            assert failed.status_code == 401
        blocked = await _token_call(attacker, secrets.token_hex(13), "guess")
        assert blocked.status_code == 429 and "retry-after" in blocked.headers
    async with client_at(app, "198.51.100.51") as elsewhere:
        fresh = await _token_call(elsewhere, secrets.token_hex(13), "guess")
        assert fresh.status_code == 401
        fine = await _token_call(elsewhere, partner.client_id, partner.secret)
    assert fine.status_code == 400 and fine.json()["error"] == "invalid_grant"


async def test_revoke_endpoint_is_throttled_too(gs: TestServices, app: FastAPI) -> None:
    partner = await gs.partner()
    assert partner.secret is not None
    async with client_at(app, "198.51.100.60") as http:
        for _ in range(FAILURES_PER_MINUTE):
            failed = await http.post(
                "/oauth2/revoke", data={"token": "x"}, headers=_basic(partner.client_id, "bad")
            )
            assert failed.status_code == 401
        blocked = await http.post(
            "/oauth2/revoke", data={"token": "x"}, headers=_basic(partner.client_id, "bad")
        )
        assert blocked.status_code == 429
        fine = await http.post(
            "/oauth2/revoke", data={"token": "x"}, headers=_basic(partner.client_id, partner.secret)
        )
    assert fine.status_code == 200


async def test_missing_or_unexpected_secret_does_not_reveal_whether_a_client_exists(
    gs: TestServices, app: FastAPI
) -> None:
    """Probing with a bare client_id (or a secret for a public client) must answer exactly like
    probing an id that does not exist, or client ids could be enumerated."""
    confidential = await gs.partner()
    public = await gs.partner(name="Native", public=True, redirect_uris=["http://127.0.0.1/cb"])
    unknown = "u" * 26
    async with client_at(app, "198.51.100.70") as one, client_at(app, "198.51.100.71") as two:
        bare_known = await one.post("/oauth2/token", data=_refresh_form(confidential.client_id))
        bare_unknown = await two.post("/oauth2/token", data=_refresh_form(unknown))
    assert bare_known.status_code == 401
    assert _shape(bare_known) == _shape(bare_unknown)
    async with client_at(app, "198.51.100.72") as one, client_at(app, "198.51.100.73") as two:
        secret_public = await _token_call(one, public.client_id, "s" * 43, basic=False)
        secret_unknown = await _token_call(two, unknown, "s" * 43, basic=False)
    assert secret_public.status_code == 401
    assert _shape(secret_public) == _shape(secret_unknown)
