"""The seed's four steps over a real socket, with an independent OAuth library as the partner.

The partner is authlib's `AsyncOAuth2Client` (it builds the authorization URL, checks `state`,
authenticates with `client_secret_basic`, refreshes and revokes); the homeowner's browser is a
plain httpx client with a cookie jar filling in the hosted sign-in and consent forms. The last test
replays the seed's literal requests (Basic *and* `client_id` in the body, curl-style API call).
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.oauth2.rfc6749.errors import MismatchingStateException

with warnings.catch_warnings():
    # authlib prefers the `httpx2` fork and warns when it falls back to httpx; httpx is what
    # partners mostly have installed, so that is what we test with.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from tests.e2e.live import LiveServer, approve, device_entries
from tests.support import ALL_API, query_of

pytestmark = pytest.mark.e2e

REDIRECT = "https://partner.example/callback"


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """The homeowner's browser tab: keeps cookies, does not follow redirects."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as client:
        yield client


async def discover(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{base_url}/.well-known/openid-configuration")
    assert response.status_code == 200
    meta: dict[str, Any] = response.json()
    assert meta["issuer"] == base_url
    return meta


class TokenRequests:
    """Records what the partner library actually sent to the token and revocation endpoints."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str], dict[str, str]]] = []

    async def __call__(self, request: httpx.Request) -> None:
        if request.url.path in ("/oauth2/token", "/oauth2/revoke"):
            body = dict(parse_qsl(request.content.decode()))
            self.seen.append((request.url.path, dict(request.headers), body))


def assert_basic_auth(recorded: TokenRequests, client_id: str, secret: str) -> None:
    assert recorded.seen, "the library made no token request"
    expected = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    for path, headers, body in recorded.seen:
        assert headers.get("authorization") == expected, path
        assert "client_secret" not in body, f"{path}: secret must not also be in the body"


async def api_devices(base_url: str, access_token: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(
            f"{base_url}/api/v1/devices", headers={"Authorization": f"Bearer {access_token}"}
        )


async def test_authlib_partner_code_flow_state_refresh_revoke(
    live_server: LiveServer, browser: httpx.AsyncClient
) -> None:
    live = live_server
    owner = live.create_user()
    partner = live.create_client(REDIRECT, name="Acme Energy")
    assert partner.secret
    meta = await discover(live.base_url)
    recorded = TokenRequests()

    async with AsyncOAuth2Client(
        client_id=partner.client_id,
        client_secret=partner.secret,
        token_endpoint_auth_method="client_secret_basic",
        scope=ALL_API,
        redirect_uri=REDIRECT,
        event_hooks={"request": [recorded]},
    ) as client:
        # 1. Redirect the user to the login page (authlib makes the URL and a random state).
        url, state = client.create_authorization_url(meta["authorization_endpoint"])
        assert url.startswith(f"{live.base_url}/oauth2/authorize?")
        sent = query_of(url)
        assert sent["state"] == state and sent["client_id"] == partner.client_id
        assert "code_challenge" not in sent

        seen = await approve(browser, url, owner)
        assert "Acme Energy" in seen.page
        assert "See your sites, devices and their telemetry" in seen.page

        # 2. The callback: our redirect URI, with code, the exact state, and RFC 9207 `iss`.
        callback = seen.callback
        assert callback.startswith(REDIRECT + "?"), callback
        params = query_of(callback)
        assert params["state"] == state
        assert params["iss"] == live.base_url

        # authlib compares `state` before any network call: a forged callback is refused.
        forged = callback.replace(f"state={state}", "state=forged-by-attacker")
        assert forged != callback
        with pytest.raises(MismatchingStateException):
            await client.fetch_token(
                meta["token_endpoint"], authorization_response=forged, state=state
            )
        assert recorded.seen == [], "the forged callback must not reach the token endpoint"

        # 3. Exchange the code (client_secret_basic).
        token = await client.fetch_token(
            meta["token_endpoint"], authorization_response=callback, state=state
        )
        assert token["token_type"] == "Bearer"
        assert token["expires_in"] == 3600
        assert token["access_token"] and token["refresh_token"]
        assert "id_token" not in token, "no openid scope, no ID token"
        first_access = token["access_token"]
        refresh_token = token["refresh_token"]

        # Sending requests: the library attaches the bearer token.
        devices = device_entries(await client.get(f"{live.base_url}/api/v1/devices"))
        assert bool(devices) == bool(owner.sites), "the token speaks for this homeowner"

        # 4. Refresh (no rotation by default for confidential clients: authlib keeps the old one).
        refreshed = await client.refresh_token(meta["token_endpoint"])
        assert refreshed["access_token"] != first_access
        assert refreshed["refresh_token"] == refresh_token
        assert device_entries(await client.get(f"{live.base_url}/api/v1/devices")) == devices

        # Revoke the refresh token: every access token of its family dies with it.
        revoked = await client.revoke_token(
            meta["revocation_endpoint"], token=refresh_token, token_type_hint="refresh_token"
        )
        assert revoked.status_code == 200, revoked.text
        for access in (first_access, refreshed["access_token"]):
            denied = await api_devices(live.base_url, access)
            assert denied.status_code == 401, denied.text
            assert 'error="invalid_token"' in denied.headers["www-authenticate"]
        with pytest.raises(OAuthError) as failure:
            await client.refresh_token(meta["token_endpoint"], refresh_token=refresh_token)
        assert failure.value.error == "invalid_grant"

    assert_basic_auth(recorded, partner.client_id, partner.secret)
    assert [path for path, _, _ in recorded.seen] == [
        "/oauth2/token",
        "/oauth2/token",
        "/oauth2/revoke",
        "/oauth2/token",
    ]


async def test_authlib_partner_code_flow_with_pkce_and_rotation(
    live_server: LiveServer, browser: httpx.AsyncClient
) -> None:
    live = live_server
    owner = live.create_user()
    partner = live.create_client(REDIRECT, "--rotate-refresh-tokens", name="Acme Energy")
    assert partner.secret
    meta = await discover(live.base_url)
    assert meta["code_challenge_methods_supported"] == ["S256"]
    recorded = TokenRequests()
    verifier = generate_token(48)

    async with AsyncOAuth2Client(
        client_id=partner.client_id,
        client_secret=partner.secret,
        token_endpoint_auth_method="client_secret_basic",
        scope="openid " + ALL_API,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        event_hooks={"request": [recorded]},
    ) as client:
        url, state = client.create_authorization_url(
            meta["authorization_endpoint"], code_verifier=verifier, nonce="n-0S6_WzA2Mj"
        )
        sent = query_of(url)
        assert sent["code_challenge_method"] == "S256"
        assert sent["code_challenge"] and sent["code_challenge"] != verifier

        callback = (await approve(browser, url, owner)).callback
        assert query_of(callback)["state"] == state

        token = await client.fetch_token(
            meta["token_endpoint"],
            authorization_response=callback,
            state=state,
            code_verifier=verifier,
        )
        assert token["id_token"] and token["refresh_token"]
        assert recorded.seen[-1][2]["code_verifier"] == verifier
        devices = device_entries(await client.get(f"{live.base_url}/api/v1/devices"))

        # Rotation is on: the library stores the new refresh token it is given.
        first_refresh = token["refresh_token"]
        refreshed = await client.refresh_token(meta["token_endpoint"])
        assert refreshed["refresh_token"] != first_refresh
        assert device_entries(await client.get(f"{live.base_url}/api/v1/devices")) == devices

        revoked = await client.revoke_token(
            meta["revocation_endpoint"],
            token=refreshed["refresh_token"],
            token_type_hint="refresh_token",
        )
        assert revoked.status_code == 200
        denied = await api_devices(live.base_url, refreshed["access_token"])
        assert denied.status_code == 401
        for old in (refreshed["refresh_token"], first_refresh):
            with pytest.raises(OAuthError) as failure:
                await client.refresh_token(meta["token_endpoint"], refresh_token=old)
            assert failure.value.error == "invalid_grant"

    assert_basic_auth(recorded, partner.client_id, partner.secret)


async def test_seed_literal_requests(live_server: LiveServer, browser: httpx.AsyncClient) -> None:
    """The requests exactly as the seed documents them (curl-style, hand-built)."""
    live = live_server
    owner = live.create_user()
    redirect = "https://www.example.com"
    partner = live.create_client(redirect)
    assert partner.secret

    # Step 1, the seed's URL (scopes separated by a space, slashes unescaped).
    url = (
        f"{live.base_url}/oauth2/authorize?response_type=code&"
        f"client_id={partner.client_id}&"
        f"redirect_uri={redirect}&"
        "state=abcdefg&"
        "scope=lunar/device.read lunar/device.write"
    )
    seen = await approve(browser, url, owner)
    # Step 2: `Location: https://www.example.com?code=...&state=abcdefg`.
    assert seen.callback.startswith(f"{redirect}?code="), seen.callback
    params = query_of(seen.callback)
    assert params["state"] == "abcdefg"
    code = params["code"]

    basic = "Basic " + base64.b64encode(f"{partner.client_id}:{partner.secret}".encode()).decode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": basic}
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        # Step 3: Basic auth AND client_id in the body, as the seed sends it.
        body = urlencode(
            {
                "grant_type": "authorization_code",
                "client_id": partner.client_id,
                "code": code,
                "redirect_uri": redirect,
            }
        )
        response = await http.post("/oauth2/token", content=body, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["cache-control"] == "no-store"
        tokens = response.json()
        assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600

        # Sending API requests: curl -H "Authorization: Bearer ${access_token}" .../api/v1/devices
        api = await http.get(
            "/api/v1/devices", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        devices = device_entries(api)

        # Step 4: refresh, again Basic + client_id in the body.
        body = urlencode(
            {
                "grant_type": "refresh_token",
                "client_id": partner.client_id,
                "refresh_token": tokens["refresh_token"],
            }
        )
        response = await http.post("/oauth2/token", content=body, headers=headers)
        assert response.status_code == 200, response.text
        again = response.json()
        assert set(again) == {"access_token", "token_type", "expires_in"}
        api = await http.get(
            "/api/v1/devices", headers={"Authorization": f"Bearer {again['access_token']}"}
        )
        assert device_entries(api) == devices

        # A body client_id that disagrees with the Basic credentials is refused.
        body = urlencode(
            {
                "grant_type": "refresh_token",
                "client_id": "someoneelse0000000000000000",
                "refresh_token": tokens["refresh_token"],
            }
        )
        response = await http.post("/oauth2/token", content=body, headers=headers)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"
