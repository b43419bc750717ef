"""Security bar 1: exact redirect URI match; no open redirect anywhere (/logout, login, errors)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from gridshare.auth.clients import ClientConfigError, ClientOptions
from tests.auth.bar_support import consent_form, consent_page
from tests.support import REDIRECT, Partner, TestServices

NEAR_MISSES = [
    REDIRECT + "/",
    REDIRECT + "x",
    REDIRECT + "?next=https://evil.example/",
    REDIRECT + "#fragment",
    REDIRECT + "/../../evil",
    REDIRECT.upper(),
    "HTTPS://partner.example/callback",
    "https://PARTNER.example/callback",
    "https://partner.example:443/callback",
    "https://partner.example/Callback",
    "https://partner.example/callback%2F..%2Fevil",
    "https://partner.example.evil.example/callback",
    "https://evil.example/callback",
    "https://partner.example@evil.example/callback",
    "http://partner.example/callback",
    "//evil.example/callback",
    " " + REDIRECT,
]


def _authorize(partner: Partner, redirect_uri: str, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": partner.client_id,
        "redirect_uri": redirect_uri,
        "state": "s1",
        "scope": "lunar/device.read",
        **extra,
    }
    return "/oauth2/authorize?" + urlencode(params)


async def test_authorize_accepts_only_the_exact_registered_redirect_uri(
    gs: TestServices,
) -> None:
    partner = await gs.partner()
    exact = await gs.http.get(_authorize(partner, REDIRECT))
    assert exact.status_code == 302 and exact.headers["location"].startswith("/login?")

    for redirect_uri in NEAR_MISSES:
        near = await gs.http.get(_authorize(partner, redirect_uri))
        assert near.status_code == 400, redirect_uri
        assert "location" not in near.headers, f"followed an unregistered {redirect_uri!r}"
        assert near.headers["content-type"].startswith("text/html")
        assert "not registered" in near.text, redirect_uri


async def test_authorize_errors_are_never_sent_to_an_unregistered_redirect_uri(
    gs: TestServices,
) -> None:
    """Even an error that would normally go back to the client (bad scope, bad response_type,
    prompt=none) is an HTML page when the redirect URI is not proven."""
    partner = await gs.partner()
    evil = "https://evil.example/steal"
    for extra in (
        {"scope": "not-a-scope"},
        {"response_type": "token"},
        {"prompt": "none"},
        {"code_challenge_method": "plain"},
    ):
        response = await gs.http.get(_authorize(partner, evil, **extra))
        assert response.status_code == 400, extra
        assert "location" not in response.headers, extra
    # The same errors with the registered URI do go back to it, so the check above is meaningful.
    response = await gs.http.get(_authorize(partner, REDIRECT, scope="not-a-scope"))
    assert response.status_code == 302
    assert response.headers["location"].startswith(REDIRECT + "?error=invalid_scope")


async def test_unknown_client_gets_an_error_page_not_a_redirect(gs: TestServices) -> None:
    fake = Partner(client_id="a" * 26, secret=None)
    response = await gs.http.get(_authorize(fake, "https://evil.example/cb", scope="bad"))
    assert response.status_code == 400 and "location" not in response.headers
    assert "not registered" in response.text


async def test_loopback_port_must_match_exactly_for_confidential_clients(gs: TestServices) -> None:
    partner = await gs.partner(redirect_uris=["http://127.0.0.1:8080/cb"])
    ok = await gs.http.get(_authorize(partner, "http://127.0.0.1:8080/cb"))
    assert ok.status_code == 302
    other_port = await gs.http.get(_authorize(partner, "http://127.0.0.1:9999/cb"))
    assert other_port.status_code == 400 and "location" not in other_port.headers


async def test_loopback_any_port_applies_only_to_the_port_of_an_opted_in_public_client(
    gs: TestServices,
) -> None:
    native = await gs.partner(public=True, redirect_uris=["http://127.0.0.1/cb"])
    challenge = {
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    any_port = await gs.http.get(_authorize(native, "http://127.0.0.1:53117/cb", **challenge))
    assert any_port.status_code == 302 and any_port.headers["location"].startswith("/login?")
    for uri in (
        "http://127.0.0.1:53117/other",  # path differs
        "http://localhost:53117/cb",  # host differs
        "https://127.0.0.1:53117/cb",  # scheme differs
        "http://127.0.0.1:53117/cb?x=1",  # query differs
    ):
        response = await gs.http.get(_authorize(native, uri, **challenge))
        assert response.status_code == 400 and "location" not in response.headers, uri

    strict = await gs.partner(
        public=True, redirect_uris=["http://127.0.0.1/cb"], loopback_any_port=False
    )
    response = await gs.http.get(_authorize(strict, "http://127.0.0.1:53117/cb", **challenge))
    assert response.status_code == 400 and "location" not in response.headers


UNSAFE = [
    "http://partner.example/cb",  # plain http off loopback
    "https://partner.example/cb#frag",
    "/relative/cb",
    "javascript:alert(1)",
    "data:text/html,hi",
    "myapp:/cb",  # private-use schemes must be reverse domain names
    "http://user@127.0.0.1/cb",
    "https://partner.example/c b",
]


async def test_unsafe_redirect_uris_cannot_be_registered(gs: TestServices) -> None:
    for uri in UNSAFE:
        with pytest.raises(ClientConfigError):
            await gs.services.clients.create(ClientOptions(name="Bad", redirect_uris=[uri]))
        with pytest.raises(ClientConfigError):
            await gs.services.clients.create(
                ClientOptions(name="Bad", redirect_uris=[REDIRECT], logout_uris=[uri])
            )
    # The same call with safe URIs succeeds, so the refusals above are about the URIs.
    await gs.services.clients.create(
        ClientOptions(
            name="Good",
            redirect_uris=[REDIRECT, "http://127.0.0.1:8080/cb", "com.example.app:/cb"],
            logout_uris=["https://partner.example/bye"],
        )
    )


async def test_sign_in_redirects_only_back_to_our_own_authorize_endpoint(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    query, _ = gs.authorize_query(partner)
    signed = await gs.sign_in(owner, query)
    assert signed.status_code == 302
    assert signed.headers["location"] == "/oauth2/authorize?" + query

    bare = await gs.sign_in(owner)
    assert bare.status_code == 302 and bare.headers["location"] == "/account"


async def test_login_page_refuses_an_unregistered_redirect_uri(gs: TestServices) -> None:
    partner = await gs.partner()
    evil = urlencode(
        {
            "response_type": "code",
            "client_id": partner.client_id,
            "redirect_uri": "https://evil.example/cb",
            "state": "s",
        }
    )
    page = await gs.http.get(f"/login?{evil}")
    assert page.status_code == 400 and "location" not in page.headers
    posted = await gs.http.post(f"/login?{evil}", data={"username": "a@b.c", "password": "x"})
    assert posted.status_code == 400 and "location" not in posted.headers


async def test_consent_post_cannot_redirect_to_an_unregistered_uri(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    await gs.sign_in(owner)
    query, _ = gs.authorize_query(partner)
    page = await consent_page(gs, query)
    form = consent_form(page)
    form["request"] = form["request"].replace(
        "partner.example%2Fcallback", "evil.example%2Fcallback"
    )
    assert "evil.example" in form["request"]
    for decision in ("allow", "deny"):
        response = await gs.http.post("/consent", data={**form, "decision": decision})
        assert response.status_code == 400 and "location" not in response.headers


async def test_logout_redirects_only_to_a_registered_sign_out_url(gs: TestServices) -> None:
    signout = "https://partner.example/signed-out"
    partner = await gs.partner(logout_uris=[signout])
    for uri in (signout + "/", signout + "?x=1", "https://evil.example/signed-out", REDIRECT):
        query = urlencode({"client_id": partner.client_id, "logout_uri": uri})
        response = await gs.http.get(f"/logout?{query}")
        assert response.status_code == 400 and "location" not in response.headers, uri
    query = urlencode({"client_id": partner.client_id, "logout_uri": signout})
    response = await gs.http.get(f"/logout?{query}")
    assert response.status_code == 302 and response.headers["location"] == signout


async def test_logout_sign_in_again_form_checks_the_redirect_uri(gs: TestServices) -> None:
    partner = await gs.partner()
    query = urlencode(
        {
            "client_id": partner.client_id,
            "response_type": "code",
            "redirect_uri": "https://evil.example/cb",
        }
    )
    response = await gs.http.get(f"/logout?{query}")
    assert response.status_code == 400 and "location" not in response.headers
    unknown = urlencode({"client_id": "b" * 26, "logout_uri": "https://evil.example/"})
    response = await gs.http.get(f"/logout?{unknown}")
    assert response.status_code == 400 and "location" not in response.headers
