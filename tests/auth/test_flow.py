"""The seed's four steps, in-process: authorize, callback, code exchange, refresh; then the API."""

from __future__ import annotations

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support import ALL_API, TestServices


async def test_code_flow_issues_cognito_shaped_tokens(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    auth = await gs.authorize(partner, owner, scope="openid " + ALL_API, nonce="n-0S6")
    assert auth.location.startswith(partner.redirect_uri + "?")
    assert auth.params["state"] == "xyz-state"
    assert auth.params["iss"] == gs.services.issuer
    response = await gs.exchange(partner, auth)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "id_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600

    jwks = KeySet.import_key_set((await gs.http.get("/.well-known/jwks.json")).json())
    access = jwt.decode(body["access_token"], jwks, algorithms=["RS256"])
    idt = jwt.decode(body["id_token"], jwks, algorithms=["RS256"])
    assert access.header["kid"] != idt.header["kid"], "ID and access tokens use different keys"
    claims = access.claims
    assert claims["token_use"] == "access" and claims["sub"] == owner.sub
    assert claims["client_id"] == partner.client_id and "aud" not in claims
    assert claims["scope"] == "openid " + ALL_API and claims["version"] == 2
    for name in ("origin_jti", "event_id", "auth_time", "iat", "exp", "jti", "username", "iss"):
        assert name in claims
    assert idt.claims["aud"] == partner.client_id and idt.claims["nonce"] == "n-0S6"
    assert idt.claims["token_use"] == "id" and idt.claims["email"] == owner.email
    assert idt.claims["origin_jti"] == claims["origin_jti"]

    api = await gs.http.get(
        "/api/v1/devices", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert api.status_code == 200 and api.json() == {"entries": []}

    refreshed = await gs.refresh(partner, body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    again = refreshed.json()
    assert "refresh_token" not in again, "confidential clients do not rotate by default"
    new_claims = jwt.decode(again["access_token"], jwks, algorithms=["RS256"]).claims
    assert new_claims["auth_time"] == claims["auth_time"]
    assert new_claims["origin_jti"] == claims["origin_jti"]

    info = await gs.http.get(
        "/oauth2/userInfo", headers={"Authorization": f"Bearer {again['access_token']}"}
    )
    assert info.status_code == 200
    assert info.json() == {
        "sub": owner.sub,
        "username": owner.sub,
        "email": owner.email,
        "email_verified": True,
    }
