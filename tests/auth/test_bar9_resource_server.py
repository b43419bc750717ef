"""Security bar 9: the resource server takes tokens only from the Authorization header, accepts
only RS256 from our JWKS (no alg none, no HS256 keyed with the public key, no unknown kid, no
embedded jwk/jku/x5u), checks the exact iss, token_use == "access", exp with ≤ 60 s leeway and
the revocation of origin_jti, and answers per RFC 6750."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc.jwk import RSAKey

from gridshare.clock import Clock
from tests.auth.bar_support import DEVICES, api, b64url, b64url_json, unverified
from tests.support import ALL_API, Partner, TestServices


def sign_rs256(header: dict[str, Any], claims: dict[str, Any], key: RSAKey) -> str:
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    signature = key.private_key.sign(  # type: ignore[union-attr]
        signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{signing_input}.{b64url(signature)}"


def sign_hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


class Forge:
    """A genuine token set, plus tokens built from its claims and signed however a test needs."""

    def __init__(self, partner: Partner, tokens: dict[str, Any], key: RSAKey, kid: str) -> None:
        self.partner = partner
        self.genuine: str = tokens["access_token"]
        self.id_token: str = tokens["id_token"]
        self.refresh_token: str = tokens["refresh_token"]
        self.header, self.claims = unverified(self.genuine)
        self.key = key
        self.kid = kid

    def real(self, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """Signed with the server's real access-token key; a None value drops that member."""
        head = {"alg": "RS256", "kid": self.kid, **(header or {})}
        body = {**self.claims, **claims}
        return sign_rs256(
            {k: v for k, v in head.items() if v is not None},
            {k: v for k, v in body.items() if v is not None},
            self.key,
        )


@pytest.fixture
async def forge(gs: TestServices) -> Forge:
    owner = await gs.homeowner()
    partner = await gs.partner()
    tokens = await gs.tokens(partner, owner, scope="openid " + ALL_API)
    signing = await gs.services.keys.signing_key("access")
    forge = Forge(partner, tokens, signing.key, signing.kid)
    assert forge.header["kid"] == signing.kid
    return forge


async def _status(gs: TestServices, token: str) -> int:
    return (await api(gs.http, token)).status_code


async def test_forged_tokens_with_genuine_claims_and_key_are_accepted(
    gs: TestServices, forge: Forge
) -> None:
    """The control for every negative test below: the forging helper itself works."""
    assert await _status(gs, forge.genuine) == 200
    assert await _status(gs, forge.real()) == 200


async def test_tokens_are_taken_only_from_the_authorization_header(
    gs: TestServices, forge: Forge
) -> None:
    token = forge.genuine
    in_query = await gs.http.get(f"{DEVICES}?access_token={token}")
    assert in_query.status_code == 401
    in_form = await gs.http.request(
        "GET",
        DEVICES,
        content=f"access_token={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert in_form.status_code == 401
    in_cookie = await gs.http.get(DEVICES, headers={"Cookie": f"access_token={token}"})
    assert in_cookie.status_code == 401
    assert in_query.headers["www-authenticate"].startswith("Bearer")
    other_scheme = await gs.http.get(DEVICES, headers={"Authorization": f"Token {token}"})
    assert other_scheme.status_code == 401
    assert await _status(gs, token) == 200


async def test_alg_none_is_refused(gs: TestServices, forge: Forge) -> None:
    for alg in ("none", "None", "NONE"):
        token = f"{b64url_json({'alg': alg, 'kid': forge.kid})}.{b64url_json(forge.claims)}."
        assert await _status(gs, token) == 401, alg


async def test_hs256_keyed_with_the_public_key_is_refused(gs: TestServices, forge: Forge) -> None:
    """The classic algorithm confusion: HMAC with the published RSA key as the secret."""
    public_pem = forge.key.as_pem(private=False)
    for secret in (public_pem, public_pem.strip(), forge.key.as_bytes(private=False)):
        token = sign_hs256({"alg": "HS256", "kid": forge.kid}, forge.claims, secret)
        assert await _status(gs, token) == 401


async def test_only_rs256_is_accepted(gs: TestServices, forge: Forge) -> None:
    for alg in ("RS512", "PS256", "ES256", "RS256 "):
        # Signed with the real key (RS256 math), only the header's alg differs.
        assert await _status(gs, forge.real({"alg": alg})) == 401, alg


async def test_unknown_kid_or_a_foreign_signature_is_refused(
    gs: TestServices, forge: Forge
) -> None:
    attacker = RSAKey.generate_key(2048, private=True)
    assert (
        await _status(
            gs, sign_rs256({"alg": "RS256", "kid": "access-unknown"}, forge.claims, attacker)
        )
        == 401
    )
    # Our kid, the attacker's signature: the signature really is checked.
    assert (
        await _status(gs, sign_rs256({"alg": "RS256", "kid": forge.kid}, forge.claims, attacker))
        == 401
    )
    # Our key, but a kid we never published.
    assert await _status(gs, forge.real({"kid": "access-" + uuid.uuid4().hex})) == 401
    assert await _status(gs, forge.real({"kid": None})) == 401


async def test_header_with_an_embedded_key_or_key_url_is_refused(
    gs: TestServices, forge: Forge
) -> None:
    attacker = RSAKey.generate_key(2048, private=True, parameters={"kid": "evil"})
    values = {
        "jwk": attacker.as_dict(private=False),
        "jku": "https://evil.example/jwks.json",
        "x5u": "https://evil.example/cert.pem",
        "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
    }
    for member, value in values.items():
        # Signed by the attacker and pointing at the attacker's key: the real attack.
        evil = sign_rs256({"alg": "RS256", "kid": "evil", member: value}, forge.claims, attacker)
        assert await _status(gs, evil) == 401, member
        # Even signed by our real key, such a header is not accepted.
        assert await _status(gs, forge.real({member: value})) == 401, member


async def test_wrong_issuer_is_refused(gs: TestServices, forge: Forge) -> None:
    issuer = gs.services.issuer
    for iss in (
        "https://evil.example",
        issuer + "/",
        issuer.upper(),
        issuer + ".evil.example",
        None,
        "",
    ):
        assert await _status(gs, forge.real(iss=iss)) == 401, iss


async def test_id_token_is_not_accepted_as_a_bearer_token(gs: TestServices, forge: Forge) -> None:
    assert await _status(gs, forge.id_token) == 401
    # The token_use claim is checked on its own, not only by which key signed it.
    assert await _status(gs, forge.real(token_use="id")) == 401
    assert await _status(gs, forge.real(token_use=None)) == 401


async def test_expiry_is_enforced_with_at_most_60_seconds_leeway(
    gs: TestServices, forge: Forge, clock: Clock
) -> None:
    exp = forge.claims["exp"]
    clock.advance(exp - clock.time() + 30)  # 30 s past exp: within the leeway
    assert await _status(gs, forge.genuine) == 200
    clock.advance(31)  # 61 s past exp
    assert await _status(gs, forge.genuine) == 401
    expired = await api(gs.http, forge.genuine)
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]


async def test_malformed_time_claims_are_refused(gs: TestServices, forge: Forge) -> None:
    now = int(time.time())
    assert await _status(gs, forge.real(exp=None)) == 401
    assert await _status(gs, forge.real(exp=str(now + 3600))) == 401
    assert await _status(gs, forge.real(iat=now + 3600)) == 401
    assert await _status(gs, forge.real(exp=now - 120)) == 401


async def test_tokens_of_a_revoked_family_are_refused(gs: TestServices, forge: Forge) -> None:
    assert await _status(gs, forge.genuine) == 200
    revoked = await gs.http.post(
        "/oauth2/revoke", data={"token": forge.refresh_token}, headers=forge.partner.basic()
    )
    assert revoked.status_code == 200
    assert await _status(gs, forge.genuine) == 401
    # Nor does a fresh signature over the same origin_jti help.
    assert await _status(gs, forge.real(jti=str(uuid.uuid4()))) == 401


async def test_origin_jti_must_name_a_live_family_of_that_client(
    gs: TestServices, forge: Forge
) -> None:
    assert await _status(gs, forge.real(origin_jti=str(uuid.uuid4()))) == 401
    other = await gs.partner(name="Other")
    assert await _status(gs, forge.real(client_id=other.client_id)) == 401
    assert await _status(gs, forge.real(origin_jti=None)) == 401


async def test_disabling_a_client_stops_its_tokens(gs: TestServices, forge: Forge) -> None:
    assert await gs.services.clients.set_disabled(forge.partner.client_id, True)
    assert await _status(gs, forge.genuine) == 401


async def test_missing_scope_is_403_insufficient_scope_naming_the_scope(
    gs: TestServices, forge: Forge
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner(name="Plans only")
    tokens = await gs.tokens(partner, owner, scope="lunar/plan.read")
    response = await api(gs.http, tokens["access_token"])
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="lunar/device.read"' in challenge
    assert "insufficient_scope" in response.text
    # The same holds for a token whose scope claim was narrowed (and honestly signed).
    assert await _status(gs, forge.real(scope="lunar/device.write")) == 403


async def test_invalid_token_answers_follow_rfc_6750(gs: TestServices, forge: Forge) -> None:
    missing = await gs.http.get(DEVICES)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    bad = await api(gs.http, forge.real(iss="https://evil.example"))
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    assert forge.genuine not in bad.text
