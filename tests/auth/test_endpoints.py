"""The endpoint table of the contract: authorize, login/consent, token, revoke, userInfo, logout,
discovery and JWKS; token and code lifetimes; signing-key rotation; client-secret rotation."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from gridshare.auth.clients import ClientConfigError
from gridshare.clock import Clock
from gridshare.config import Settings
from gridshare.storage.models import RefreshToken
from tests.auth.bar_support import (
    api,
    consent_form,
    consent_page,
    cookie_attributes,
    set_cookies,
    unverified,
)
from tests.support import ALL_API, REDIRECT, Partner, TestServices, query_of

NATIVE = "http://127.0.0.1/cb"
SIGN_OUT = "https://partner.example/signed-out"


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    overrides: dict[str, Any] = getattr(request, "param", {})
    return settings.model_copy(update=overrides)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _jwks(gs: TestServices) -> KeySet:
    return KeySet.import_key_set((await gs.http.get("/.well-known/jwks.json")).json())


# -- /oauth2/authorize -------------------------------------------------------------------------


AUTHORIZE_ERRORS: list[tuple[dict[str, str], str]] = [
    ({"scope": "lunar/device.read not-a-scope"}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": "id_token"}, "unsupported_response_type"),
    ({"response_type": ""}, "invalid_request"),
    ({"prompt": "select_account"}, "invalid_request"),
    ({"nonce": "n" * 600}, "invalid_request"),
]


async def test_authorize_errors_redirect_with_error_description_state_and_iss(
    gs: TestServices,
) -> None:
    partner = await gs.partner()
    state = "st8 &=?/+é"
    for extra, error in AUTHORIZE_ERRORS:
        query, _ = gs.authorize_query(partner, state=state)
        query = urlencode(query_of("?" + query) | extra)
        response = await gs.http.get(f"/oauth2/authorize?{query}")
        assert response.status_code == 302, extra
        location = response.headers["location"]
        assert location.startswith(REDIRECT + "?"), extra
        params = query_of(location)
        assert params["error"] == error, extra
        assert params["error_description"]
        assert params["state"] == state, "state is echoed byte for byte"
        assert params["iss"] == gs.services.issuer
        assert "code" not in params


async def test_authorize_without_a_proven_client_and_redirect_shows_an_error_page(
    gs: TestServices,
) -> None:
    partner = await gs.partner()
    good = {
        "response_type": "code",
        "client_id": partner.client_id,
        "redirect_uri": REDIRECT,
        "state": "s",
        "scope": "bogus",
    }
    cases = {
        "unknown client": {**good, "client_id": "x" * 26},
        "no client": {k: v for k, v in good.items() if k != "client_id"},
        "unregistered redirect": {**good, "redirect_uri": "https://partner.example/elsewhere"},
        "no redirect": {k: v for k, v in good.items() if k != "redirect_uri"},
    }
    control = await gs.http.get("/oauth2/authorize?" + urlencode(good))
    assert control.status_code == 302, "with both proven, the bad scope goes back to the client"
    await gs.services.clients.set_disabled(partner.client_id, True)
    cases["disabled client"] = good
    for case, params in cases.items():
        response = await gs.http.get("/oauth2/authorize?" + urlencode(params))
        assert response.status_code == 400, case
        assert "location" not in response.headers, case
        assert response.headers["content-type"].startswith("text/html")


async def test_authorize_success_redirects_with_code_state_and_iss(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    auth = await gs.authorize(partner, owner, state="a b&c=d/é")
    assert auth.location.startswith(REDIRECT + "?")
    assert set(auth.params) == {"code", "state", "iss"}
    assert auth.params["state"] == "a b&c=d/é" and auth.params["iss"] == gs.services.issuer


async def test_omitted_scope_means_every_scope_of_the_client(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner(scopes=["openid", "lunar/device.read", "lunar/plan.read"])
    query, verifier = gs.authorize_query(partner)
    query = urlencode([(k, v) for k, v in query_of("?" + query).items() if k != "scope"])
    await gs.sign_in(owner)
    page = await consent_page(gs, query)
    for words in ("lunar/device.read", "lunar/plan.read", "openid"):
        assert words in page.text
    assert "lunar/device.write" not in page.text
    decided = await gs.http.post("/consent", data=consent_form(page))
    code = query_of(decided.headers["location"])["code"]
    body = (
        await gs.http.post(
            "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier or "",
            },
            headers=partner.basic(),
        )
    ).json()
    claims = unverified(body["access_token"])[1]
    assert claims["scope"] == "openid lunar/device.read lunar/plan.read"
    assert "id_token" in body


async def test_prompt_none_answers_login_required_then_consent_required(
    gs: TestServices,
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    query, _ = gs.authorize_query(partner, prompt="none")
    anonymous = await gs.http.get(f"/oauth2/authorize?{query}")
    params = query_of(anonymous.headers["location"])
    assert params["error"] == "login_required" and params["state"] == "xyz-state"
    assert params["iss"] == gs.services.issuer

    await gs.sign_in(owner)
    no_consent = await gs.http.get(f"/oauth2/authorize?{query}")
    params = query_of(no_consent.headers["location"])
    assert params["error"] == "consent_required" and params["state"] == "xyz-state"

    await gs.authorize(partner, owner)  # consent given once
    silent = await gs.http.get(f"/oauth2/authorize?{query}")
    assert silent.status_code == 302 and "code" in query_of(silent.headers["location"])


async def test_prompt_login_asks_to_sign_in_again(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    await gs.sign_in(owner)
    query, _ = gs.authorize_query(partner, prompt="login")
    response = await gs.http.get(f"/oauth2/authorize?{query}")
    assert response.status_code == 302 and response.headers["location"].startswith("/login?")
    assert "prompt" not in response.headers["location"]


async def test_consent_deny_sends_access_denied(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    auth = await gs.authorize(partner, owner, decision="deny")
    assert auth.params["error"] == "access_denied"
    assert auth.params["state"] == "xyz-state" and auth.params["iss"] == gs.services.issuer
    assert "code" not in auth.params
    # Nothing was remembered: the next request asks again.
    await consent_page(gs, gs.authorize_query(partner)[0])


async def test_consent_is_remembered_and_a_larger_scope_set_asks_again(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    await gs.authorize(partner, owner, scope="lunar/device.read lunar/plan.read")

    query, _ = gs.authorize_query(partner, scope="lunar/device.read lunar/plan.read")
    again = await gs.http.get(f"/oauth2/authorize?{query}")
    assert again.status_code == 302 and "code" in query_of(again.headers["location"])
    subset, _ = gs.authorize_query(partner, scope="lunar/plan.read")
    smaller = await gs.http.get(f"/oauth2/authorize?{subset}")
    assert smaller.status_code == 302 and "code" in query_of(smaller.headers["location"])

    larger, _ = gs.authorize_query(partner, scope="lunar/device.read lunar/device.write")
    page = await consent_page(gs, larger)
    assert "lunar/device.write" in page.text

    other = await gs.partner(name="Another partner")
    await consent_page(gs, gs.authorize_query(other, scope="lunar/plan.read")[0])


async def test_withdrawn_consent_kills_its_tokens_and_is_asked_again(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    tokens = await gs.tokens(partner, owner)
    grants = await gs.services.grants.connections(owner.sub)
    assert await gs.services.grants.revoke_grant(owner.sub, grants[0].grant.id)
    assert (await api(gs.http, tokens["access_token"])).status_code == 401
    assert (await gs.refresh(partner, tokens["refresh_token"])).status_code == 400
    await consent_page(gs, gs.authorize_query(partner)[0])


# -- /oauth2/token ------------------------------------------------------------------------------


async def test_token_endpoint_accepts_only_form_encoded_bodies(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    auth = await gs.authorize(partner, owner)
    body = {
        "grant_type": "authorization_code",
        "code": auth.code,
        "redirect_uri": REDIRECT,
        "code_verifier": auth.verifier,
    }
    as_json = await gs.http.post("/oauth2/token", json=body, headers=partner.basic())
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    as_multipart = await gs.http.post(
        "/oauth2/token",
        files={"grant_type": (None, "authorization_code")},
        headers=partner.basic(),
    )
    assert as_multipart.status_code == 400
    as_query = await gs.http.post("/oauth2/token?" + urlencode(body), headers=partner.basic())
    assert as_query.status_code == 400
    assert (await gs.exchange(partner, auth)).status_code == 200


async def test_secret_sent_both_ways_is_invalid_request(gs: TestServices) -> None:
    partner = await gs.partner()
    assert partner.secret is not None
    response = await gs.http.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "x", "client_secret": partner.secret},
        headers=partner.basic(),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_body_client_id_next_to_basic_must_match(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    other = await gs.partner(name="Other")
    auth = await gs.authorize(partner, owner)
    mismatch = await gs.exchange(partner, auth, client_id=other.client_id)
    assert mismatch.status_code == 400 and mismatch.json()["error"] == "invalid_request"
    # The seed's style: Basic plus the same client_id in the body.
    seed_style = await gs.exchange(partner, auth)
    assert seed_style.status_code == 200


async def test_both_client_authentication_methods_work(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    assert partner.secret is not None
    auth = await gs.authorize(partner, owner)
    post = await gs.http.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": partner.client_id,
            "client_secret": partner.secret,
            "code": auth.code,
            "redirect_uri": REDIRECT,
            "code_verifier": auth.verifier or "",
        },
    )
    assert post.status_code == 200, post.text
    # Basic with form-urlencoded id and secret (RFC 6749 §2.3.1), no client_id in the body.
    basic = base64.b64encode(f"{partner.client_id}:{partner.secret}".encode()).decode()
    refreshed = await gs.http.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": post.json()["refresh_token"]},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert refreshed.status_code == 200, refreshed.text


async def test_public_client_authenticates_with_client_id_only(gs: TestServices) -> None:
    owner = await gs.homeowner()
    native = await gs.partner(public=True, redirect_uris=[NATIVE])
    assert native.secret is None
    auth = await gs.authorize(native, owner)
    response = await gs.exchange(native, auth)
    assert response.status_code == 200, response.text
    no_id = await gs.http.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": response.json()["refresh_token"]},
    )
    assert no_id.status_code == 401 and no_id.json()["error"] == "invalid_client"


async def test_invalid_client_is_401_with_www_authenticate_and_no_store(gs: TestServices) -> None:
    partner = await gs.partner()
    response = await gs.http.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        headers=Partner(partner.client_id, "not-the-secret").basic(),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["cache-control"] == "no-store"


async def test_token_responses_are_never_cached(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    auth = await gs.authorize(partner, owner)
    ok = await gs.exchange(partner, auth)
    bad = await gs.exchange(partner, auth, code="nope")
    unsupported = await gs.http.post(
        "/oauth2/token",
        data={"grant_type": "password", "username": "a", "password": "b"},
        headers=partner.basic(),
    )
    assert unsupported.status_code == 400
    assert unsupported.json()["error"] == "unsupported_grant_type"
    for response in (ok, bad, unsupported):
        assert response.headers["cache-control"] == "no-store"
        assert set(response.json()) <= {
            "access_token",
            "id_token",
            "refresh_token",
            "token_type",
            "expires_in",
            "error",
            "error_description",
        }


async def test_refresh_ignores_the_scope_parameter(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    tokens = await gs.tokens(partner, owner, scope="openid lunar/device.read")
    response = await gs.http.post(
        "/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "scope": "lunar/device.read lunar/device.write lunar/plan.write",
        },
        headers=partner.basic(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert unverified(body["access_token"])[1]["scope"] == "openid lunar/device.read"
    assert "id_token" in body


# -- /oauth2/revoke -----------------------------------------------------------------------------


async def test_revoke_answers_200_for_unknown_and_already_revoked_tokens(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    tokens = await gs.tokens(partner, owner)
    for token in ("never-issued", tokens["refresh_token"], tokens["refresh_token"]):
        response = await gs.http.post(
            "/oauth2/revoke", data={"token": token}, headers=partner.basic()
        )
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"


async def test_revoke_refuses_access_tokens_and_bad_clients(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    tokens = await gs.tokens(partner, owner, scope="openid " + ALL_API)
    for token in (tokens["access_token"], tokens["id_token"]):
        response = await gs.http.post(
            "/oauth2/revoke", data={"token": token}, headers=partner.basic()
        )
        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_token_type"
    bad = await gs.http.post(
        "/oauth2/revoke",
        data={"token": tokens["refresh_token"]},
        headers=Partner(partner.client_id, "wrong").basic(),
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert "www-authenticate" in bad.headers
    assert (await api(gs.http, tokens["access_token"])).status_code == 200, "nothing revoked"


async def test_revoking_a_refresh_token_kills_every_access_token_minted_from_it(
    gs: TestServices,
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    tokens = await gs.tokens(partner, owner, scope="openid " + ALL_API)
    refreshed = (await gs.refresh(partner, tokens["refresh_token"])).json()
    unrelated = await gs.tokens(partner, owner)
    response = await gs.http.post(
        "/oauth2/revoke", data={"token": tokens["refresh_token"]}, headers=partner.basic()
    )
    assert response.status_code == 200
    for access in (tokens["access_token"], refreshed["access_token"]):
        assert (await api(gs.http, access)).status_code == 401
        info = await gs.http.get("/oauth2/userInfo", headers=_bearer(access))
        assert info.status_code == 401
    assert (await gs.refresh(partner, tokens["refresh_token"])).status_code == 400
    assert (await api(gs.http, unrelated["access_token"])).status_code == 200


async def test_another_client_cannot_revoke_a_partners_token(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    other = await gs.partner(name="Other")
    tokens = await gs.tokens(partner, owner)
    response = await gs.http.post(
        "/oauth2/revoke", data={"token": tokens["refresh_token"]}, headers=other.basic()
    )
    assert response.status_code == 200
    assert (await api(gs.http, tokens["access_token"])).status_code == 200


async def test_public_client_revokes_with_client_id_only(gs: TestServices) -> None:
    owner = await gs.homeowner()
    native = await gs.partner(public=True, redirect_uris=[NATIVE])
    tokens = await gs.tokens(native, owner)
    response = await gs.http.post(
        "/oauth2/revoke", data={"token": tokens["refresh_token"], "client_id": native.client_id}
    )
    assert response.status_code == 200
    assert (await api(gs.http, tokens["access_token"])).status_code == 401


# -- /oauth2/userInfo ---------------------------------------------------------------------------


async def test_userinfo_needs_openid(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    with_openid = await gs.tokens(partner, owner, scope="openid lunar/device.read")
    for method in ("GET", "POST"):
        info = await gs.http.request(
            method, "/oauth2/userInfo", headers=_bearer(with_openid["access_token"])
        )
        assert info.status_code == 200
        assert info.json() == {
            "sub": owner.sub,
            "username": owner.sub,
            "email": owner.email,
            "email_verified": True,
        }
        assert info.headers["cache-control"] == "no-store"

    without = await gs.tokens(partner, owner, scope="lunar/device.read")
    refused = await gs.http.get("/oauth2/userInfo", headers=_bearer(without["access_token"]))
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert 'scope="openid"' in refused.headers["www-authenticate"]


async def test_userinfo_with_a_revoked_or_expired_token_is_401_invalid_token(
    gs: TestServices, clock: Clock
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    revoked = await gs.tokens(partner, owner, scope="openid")
    await gs.http.post(
        "/oauth2/revoke", data={"token": revoked["refresh_token"]}, headers=partner.basic()
    )
    expired = await gs.tokens(partner, owner, scope="openid")
    clock.advance(3600 + 61)
    for token in (revoked["access_token"], expired["access_token"], "garbage"):
        info = await gs.http.get("/oauth2/userInfo", headers=_bearer(token))
        assert info.status_code == 401
        challenge = info.headers["www-authenticate"]
        assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge
    anonymous = await gs.http.get("/oauth2/userInfo")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


# -- /logout ------------------------------------------------------------------------------------


async def test_logout_with_a_registered_logout_uri_ends_the_sign_in_session(
    gs: TestServices,
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner(logout_uris=[SIGN_OUT])
    tokens = await gs.tokens(partner, owner)
    query, _ = gs.authorize_query(partner)
    signed_in = await gs.http.get(f"/oauth2/authorize?{query}")
    assert signed_in.status_code == 302 and "code=" in signed_in.headers["location"]

    response = await gs.http.get(
        "/logout?" + urlencode({"client_id": partner.client_id, "logout_uri": SIGN_OUT})
    )
    assert response.status_code == 302 and response.headers["location"] == SIGN_OUT
    cleared = cookie_attributes(set_cookies(response)["gridshare_session"])
    assert cleared.get("max-age") == "0"

    after = await gs.http.get(f"/oauth2/authorize?{query}")
    assert after.status_code == 302 and after.headers["location"].startswith("/login?")
    # Cognito's contract: signing out of the hosted UI does not revoke the partner's tokens.
    assert (await gs.refresh(partner, tokens["refresh_token"])).status_code == 200


async def test_logout_session_is_ended_server_side_not_only_in_the_browser(
    gs: TestServices,
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner(logout_uris=[SIGN_OUT])
    await gs.sign_in(owner)
    session_id = gs.http.cookies["gridshare_session"]
    await gs.http.get(
        "/logout?" + urlencode({"client_id": partner.client_id, "logout_uri": SIGN_OUT})
    )
    replayed = await gs.http.get("/account", headers={"Cookie": f"gridshare_session={session_id}"})
    assert replayed.status_code == 303


async def test_logout_with_an_unregistered_logout_uri_is_an_error_page(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner(logout_uris=[SIGN_OUT])
    await gs.sign_in(owner)
    response = await gs.http.get(
        "/logout?"
        + urlencode({"client_id": partner.client_id, "logout_uri": "https://evil.example/"})
    )
    assert response.status_code == 400 and "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert (await gs.http.get("/account")).status_code == 200, "session untouched"
    missing = await gs.http.get("/logout?" + urlencode({"client_id": partner.client_id}))
    assert missing.status_code == 400


async def test_logout_with_redirect_uri_and_response_type_signs_in_again(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    await gs.sign_in(owner)
    params = {
        "client_id": partner.client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "state": "again",
        "scope": "lunar/device.read",
    }
    response = await gs.http.get("/logout?" + urlencode(params))
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("/login?")
    assert query_of(location) == params
    assert (await gs.http.get("/account")).status_code == 303, "the old session is gone"
    page = await gs.http.get(location)
    assert page.status_code == 200 and "Partner App" in page.text


# -- discovery and JWKS -------------------------------------------------------------------------


async def test_discovery_document_lists_the_contract_fields(gs: TestServices) -> None:
    response = await gs.http.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    doc = response.json()
    issuer = gs.services.issuer
    assert doc["issuer"] == issuer
    assert doc["authorization_endpoint"] == f"{issuer}/oauth2/authorize"
    assert doc["token_endpoint"] == f"{issuer}/oauth2/token"
    assert doc["userinfo_endpoint"] == f"{issuer}/oauth2/userInfo"
    assert doc["revocation_endpoint"] == f"{issuer}/oauth2/revoke"
    assert doc["end_session_endpoint"] == f"{issuer}/logout"
    assert doc["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "code" in doc["response_types_supported"]
    assert {"authorization_code", "refresh_token"} <= set(doc["grant_types_supported"])
    assert {"client_secret_basic", "client_secret_post", "none"} <= set(
        doc["token_endpoint_auth_methods_supported"]
    )
    assert {"openid", "lunar/device.read", "lunar/plan.write"} <= set(doc["scopes_supported"])
    # Every advertised endpoint answers here.
    for key in ("jwks_uri", "authorization_endpoint"):
        path = doc[key].removeprefix(issuer)
        assert (await gs.http.get(path)).status_code in (200, 400)


async def test_jwks_publishes_only_public_members(gs: TestServices) -> None:
    await gs.services.keys.rotate()
    jwks = (await gs.http.get("/.well-known/jwks.json")).json()
    assert len(jwks["keys"]) == 4, "access and ID keys, old and new"
    for key in jwks["keys"]:
        assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
        assert key["kid"]
        assert set(key) <= {"kty", "n", "e", "kid", "alg", "use"}, set(key)
        for private in ("d", "p", "q", "dp", "dq", "qi", "oth", "k"):
            assert private not in key
    assert len({k["kid"] for k in jwks["keys"]}) == 4


# -- lifetimes ----------------------------------------------------------------------------------


async def test_access_token_older_than_its_lifetime_is_refused(
    gs: TestServices, clock: Clock
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner(access_token_ttl=300, id_token_ttl=600)
    auth = await gs.authorize(partner, owner, scope="openid lunar/device.read")
    body = (await gs.exchange(partner, auth)).json()
    assert body["expires_in"] == 300
    access = unverified(body["access_token"])[1]
    idt = unverified(body["id_token"])[1]
    assert access["exp"] - access["iat"] == 300
    assert idt["exp"] - idt["iat"] == 600
    clock.advance(299)
    assert (await api(gs.http, body["access_token"])).status_code == 200
    clock.advance(1 + 61)  # now past the lifetime plus the resource server's 60 s leeway
    assert (await api(gs.http, body["access_token"])).status_code == 401


async def test_refresh_token_expires_after_the_client_refresh_lifetime(
    gs: TestServices, clock: Clock
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner(refresh_token_ttl=3600)
    tokens = await gs.tokens(partner, owner)
    clock.advance(3599)
    assert (await gs.refresh(partner, tokens["refresh_token"])).status_code == 200
    clock.advance(2)
    expired = await gs.refresh(partner, tokens["refresh_token"])
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"


async def test_refresh_tokens_are_stored_only_as_digests(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    tokens = await gs.tokens(partner, owner)
    async with gs.services.db.read() as session:
        stored = list((await session.execute(select(RefreshToken.token_hash))).scalars())
    assert stored and tokens["refresh_token"] not in stored
    assert len(tokens["refresh_token"]) >= 43


async def test_code_older_than_five_minutes_is_refused(gs: TestServices, clock: Clock) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    fresh = await gs.authorize(partner, owner)
    stale = await gs.authorize(partner, owner)
    clock.advance(295)
    assert (await gs.exchange(partner, fresh)).status_code == 200
    clock.advance(6)
    expired = await gs.exchange(partner, stale)
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"


# -- key rotation -------------------------------------------------------------------------------


async def test_key_rotation_publishes_the_new_key_and_keeps_old_tokens_valid(
    gs: TestServices, clock: Clock
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    before = await gs.tokens(partner, owner, scope="openid " + ALL_API)
    old_access_kid = unverified(before["access_token"])[0]["kid"]
    old_id_kid = unverified(before["id_token"])[0]["kid"]

    new_kids = await gs.services.keys.rotate()
    published = {k["kid"] for k in (await gs.http.get("/.well-known/jwks.json")).json()["keys"]}
    assert set(new_kids) <= published
    assert {old_access_kid, old_id_kid} <= published

    assert (await api(gs.http, before["access_token"])).status_code == 200
    after = (await gs.refresh(partner, before["refresh_token"])).json()
    new_access_kid = unverified(after["access_token"])[0]["kid"]
    new_id_kid = unverified(after["id_token"])[0]["kid"]
    assert new_access_kid in new_kids and new_id_kid in new_kids
    assert new_access_kid != old_access_kid and new_id_kid != old_id_kid
    assert new_access_kid != new_id_kid
    jwks = await _jwks(gs)
    jwt.decode(after["id_token"], jwks, algorithms=["RS256"])
    assert (await api(gs.http, after["access_token"])).status_code == 200

    # The old key stays until everything it signed has expired (≤ 1 day), then goes.
    clock.advance(3600 - 60)
    assert (await api(gs.http, before["access_token"])).status_code == 200
    clock.advance(86400)
    await gs.services.keys.reload()
    published = {k["kid"] for k in (await gs.http.get("/.well-known/jwks.json")).json()["keys"]}
    assert old_access_kid not in published and new_access_kid in published


@pytest.mark.parametrize("settings", [{"key_publish_ahead_seconds": 600}], indirect=True)
async def test_rotated_key_is_published_before_it_signs(gs: TestServices, clock: Clock) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    tokens = await gs.tokens(partner, owner)
    old_kid = unverified(tokens["access_token"])[0]["kid"]
    new_kids = await gs.services.keys.rotate()
    published = {k["kid"] for k in (await gs.http.get("/.well-known/jwks.json")).json()["keys"]}
    assert set(new_kids) <= published
    soon = (await gs.refresh(partner, tokens["refresh_token"])).json()
    assert unverified(soon["access_token"])[0]["kid"] == old_kid, "not signing yet"
    clock.advance(601)
    later = (await gs.refresh(partner, tokens["refresh_token"])).json()
    assert unverified(later["access_token"])[0]["kid"] in new_kids
    assert (await api(gs.http, later["access_token"])).status_code == 200
    assert (await api(gs.http, soon["access_token"])).status_code == 200


# -- client secrets -----------------------------------------------------------------------------


async def _authenticates(http: httpx.AsyncClient, client_id: str, secret: str) -> bool:
    response = await http.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "unknown"},
        headers=Partner(client_id, secret).basic(),
    )
    if response.status_code == 401:
        return False
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    return True


async def test_two_active_secrets_work_a_removed_one_fails_and_a_third_is_refused(
    gs: TestServices,
) -> None:
    partner = await gs.partner()
    assert partner.secret is not None
    clients = gs.services.clients
    second_id, second = await clients.add_secret(partner.client_id)
    assert second != partner.secret
    assert await _authenticates(gs.http, partner.client_id, partner.secret)
    assert await _authenticates(gs.http, partner.client_id, second)

    with pytest.raises(ClientConfigError):
        await clients.add_secret(partner.client_id)

    first_id = next(
        s.id for s in await clients.active_secrets(partner.client_id) if s.id != second_id
    )
    assert await clients.remove_secret(partner.client_id, first_id)
    assert not await _authenticates(gs.http, partner.client_id, partner.secret)
    assert await _authenticates(gs.http, partner.client_id, second)
    third_id, third = await clients.add_secret(partner.client_id)
    assert await _authenticates(gs.http, partner.client_id, third)
    assert third_id not in (first_id, second_id)


async def test_public_clients_have_no_secrets(gs: TestServices) -> None:
    native = await gs.partner(public=True, redirect_uris=[NATIVE])
    with pytest.raises(ClientConfigError):
        await gs.services.clients.add_secret(native.client_id)
