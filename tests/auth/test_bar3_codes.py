"""Security bar 3: authorization codes have ≥ 128 bits, are bound to client, redirect URI, PKCE
challenge, nonce, scopes and user, are redeemed atomically once, and a replay revokes what the
first redemption issued. A failed client authentication does not consume the code."""

from __future__ import annotations

import asyncio
import base64
import re

from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from gridshare.auth.digests import sha256_hex
from gridshare.storage.models import AuthCode
from tests.auth.bar_support import api
from tests.support import ALL_API, Partner, TestServices


async def test_codes_carry_at_least_128_random_bits_and_are_stored_only_as_digests(
    gs: TestServices,
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    codes = [(await gs.authorize(partner, owner)).code for _ in range(5)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", code), code
        raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
        assert len(raw) * 8 >= 128
    async with gs.services.db.read() as session:
        stored = set((await session.execute(select(AuthCode.code_hash))).scalars())
    assert stored == {sha256_hex(c) for c in codes}
    assert not stored & set(codes)


async def test_second_redemption_fails_and_revokes_the_tokens_of_the_first(
    gs: TestServices,
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    auth = await gs.authorize(partner, owner)
    first = await gs.exchange(partner, auth)
    assert first.status_code == 200, first.text
    tokens = first.json()
    assert (await api(gs.http, tokens["access_token"])).status_code == 200

    replay = await gs.exchange(partner, auth)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"

    assert (await api(gs.http, tokens["access_token"])).status_code == 401
    refreshed = await gs.refresh(partner, tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_failed_client_authentication_does_not_consume_the_code(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    auth = await gs.authorize(partner, owner)
    impostor = Partner(partner.client_id, "wrong-secret-" + "x" * 30)
    failed = await gs.exchange(impostor, auth)
    assert failed.status_code == 401 and failed.json()["error"] == "invalid_client"

    good = await gs.exchange(partner, auth)
    assert good.status_code == 200, good.text
    assert (await api(gs.http, good.json()["access_token"])).status_code == 200


async def test_code_is_bound_to_the_client_it_was_issued_to(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    other = await gs.partner(name="Other App")
    auth = await gs.authorize(partner, owner)
    stolen = await gs.exchange(other, auth)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    good = await gs.exchange(partner, auth)
    assert good.status_code == 200, good.text
    assert good.json()["access_token"]


async def test_code_is_bound_to_the_authorize_redirect_uri(gs: TestServices) -> None:
    owner = await gs.homeowner()
    second = "https://partner.example/other-callback"
    partner = await gs.partner(redirect_uris=["https://partner.example/callback", second])
    auth = await gs.authorize(partner, owner)
    for uri in (second, partner.redirect_uri + "/", partner.redirect_uri.upper()):
        response = await gs.exchange(partner, auth, redirect_uri=uri)
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant", uri
    missing = await gs.http.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": auth.code,
            "code_verifier": auth.verifier or "",
        },
        headers=partner.basic(),
    )
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert (await gs.exchange(partner, auth)).status_code == 200


async def test_code_is_bound_to_its_own_pkce_challenge(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    one = await gs.authorize(partner, owner)
    two = await gs.authorize(partner, owner)
    assert one.verifier and two.verifier
    swapped = await gs.exchange(partner, one, code_verifier=two.verifier)
    assert swapped.status_code == 400 and swapped.json()["error"] == "invalid_grant"
    assert (await gs.exchange(partner, one)).status_code == 200


async def test_code_is_bound_to_user_scopes_and_nonce(gs: TestServices) -> None:
    alice = await gs.homeowner()
    bob = await gs.homeowner()
    partner = await gs.partner()
    jwks = KeySet.import_key_set((await gs.http.get("/.well-known/jwks.json")).json())

    auth = await gs.authorize(partner, alice, scope="openid lunar/device.read", nonce="n-alice")
    # Bob signs in afterwards in the same browser; the code minted for Alice stays Alice's.
    gs.http.cookies.clear()
    await gs.authorize(partner, bob, scope=ALL_API, nonce="n-bob")
    body = (await gs.exchange(partner, auth)).json()
    access = jwt.decode(body["access_token"], jwks, algorithms=["RS256"]).claims
    idt = jwt.decode(body["id_token"], jwks, algorithms=["RS256"]).claims
    assert access["sub"] == alice.sub and idt["sub"] == alice.sub
    assert access["scope"] == "openid lunar/device.read"
    assert idt["nonce"] == "n-alice"


async def test_parallel_redemptions_of_one_code_yield_exactly_one_success(
    gs: TestServices,
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    auth = await gs.authorize(partner, owner)
    responses = await asyncio.gather(*(gs.exchange(partner, auth) for _ in range(10)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 9, [r.text for r in responses]
    errors = {r.json()["error"] for r in responses if r.status_code == 400}
    assert errors == {"invalid_grant"}
    async with gs.services.db.read() as session:
        row = await session.get(AuthCode, sha256_hex(auth.code))
    assert row is not None and row.redeemed_at is not None and row.family_id is not None
