"""Security bar 2: PKCE S256 only; required for public clients, a per-client option for
confidential ones; a code_verifier for a code minted without a challenge is a downgrade."""

from __future__ import annotations

import secrets

import pytest

from gridshare.auth.clients import ClientConfigError, ClientOptions
from gridshare.auth.pkce import s256
from tests.support import Partner, TestServices, query_of

NATIVE = "http://127.0.0.1/cb"


async def _authorize_error(gs: TestServices, partner: Partner, **params: str) -> dict[str, str]:
    """Start an authorization; return the error parameters sent back to the client."""
    query, _ = gs.authorize_query(partner, pkce=False, **params)
    response = await gs.http.get(f"/oauth2/authorize?{query}")
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(partner.redirect_uri + "?"), location
    return query_of(location)


async def test_plain_code_challenge_method_is_rejected(gs: TestServices) -> None:
    partner = await gs.partner()
    verifier = secrets.token_urlsafe(48)
    error = await _authorize_error(
        gs, partner, code_challenge=verifier, code_challenge_method="plain"
    )
    assert error["error"] == "invalid_request"
    assert "S256" in error["error_description"]


async def test_challenge_without_method_is_rejected_because_it_would_mean_plain(
    gs: TestServices,
) -> None:
    partner = await gs.partner()
    error = await _authorize_error(gs, partner, code_challenge=s256(secrets.token_urlsafe(48)))
    assert error["error"] == "invalid_request"


async def test_malformed_code_challenge_is_rejected(gs: TestServices) -> None:
    partner = await gs.partner()
    for challenge in ("short", "x" * 129, "a" * 42 + "!"):
        error = await _authorize_error(
            gs, partner, code_challenge=challenge, code_challenge_method="S256"
        )
        assert error["error"] == "invalid_request", challenge


async def test_public_client_without_pkce_is_refused(gs: TestServices) -> None:
    native = await gs.partner(public=True, redirect_uris=[NATIVE])
    error = await _authorize_error(gs, native)
    assert error["error"] == "invalid_request"
    assert "PKCE" in error["error_description"]
    assert error["state"] == "xyz-state"


async def test_public_client_cannot_be_registered_without_pkce(gs: TestServices) -> None:
    with pytest.raises(ClientConfigError):
        await gs.services.clients.create(
            ClientOptions(name="Native", redirect_uris=[NATIVE], public=True, require_pkce=False)
        )


async def test_pkce_is_optional_for_confidential_clients_unless_required(gs: TestServices) -> None:
    owner = await gs.homeowner()
    relaxed = await gs.partner()
    auth = await gs.authorize(relaxed, owner, pkce=False)
    assert "code" in auth.params
    assert (await gs.exchange(relaxed, auth)).status_code == 200

    strict = await gs.partner(require_pkce=True)
    error = await _authorize_error(gs, strict)
    assert error["error"] == "invalid_request" and "PKCE" in error["error_description"]


async def test_code_minted_with_a_challenge_needs_the_matching_verifier(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    auth = await gs.authorize(partner, owner)
    assert auth.verifier is not None

    missing = await gs.exchange(partner, auth, code_verifier="")
    assert missing.status_code == 400 and missing.json()["error"] in (
        "invalid_grant",
        "invalid_request",
    )
    data = {
        "grant_type": "authorization_code",
        "client_id": partner.client_id,
        "code": auth.code,
        "redirect_uri": partner.redirect_uri,
    }
    no_verifier = await gs.http.post("/oauth2/token", data=data, headers=partner.basic())
    assert no_verifier.status_code == 400 and no_verifier.json()["error"] == "invalid_grant"

    wrong = await gs.exchange(partner, auth, code_verifier=secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"

    # `plain` smuggled in at the token endpoint: the challenge itself as the verifier.
    challenge = s256(auth.verifier)
    as_plain = await gs.exchange(partner, auth, code_verifier=challenge)
    assert as_plain.status_code == 400 and as_plain.json()["error"] == "invalid_grant"

    right = await gs.exchange(partner, auth)
    assert right.status_code == 200, right.text


async def test_verifier_for_a_code_minted_without_challenge_is_rejected_as_downgrade(
    gs: TestServices,
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    auth = await gs.authorize(partner, owner, pkce=False)
    downgrade = await gs.exchange(partner, auth, code_verifier=secrets.token_urlsafe(48))
    assert downgrade.status_code == 400
    assert downgrade.json()["error"] == "invalid_grant"
    assert "without PKCE" in downgrade.json()["error_description"]


async def test_public_client_redeems_with_verifier_and_client_id_only(gs: TestServices) -> None:
    owner = await gs.homeowner()
    native = await gs.partner(public=True, redirect_uris=[NATIVE])
    auth = await gs.authorize(native, owner)
    wrong = await gs.exchange(native, auth, code_verifier=secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    right = await gs.exchange(native, auth)
    assert right.status_code == 200, right.text
