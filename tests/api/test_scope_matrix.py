"""The scope matrix: every endpoint × every single API scope, plus no token and broken tokens.

Exactly the scope the contract names for an endpoint lets the call through; each other scope
gets 403 `insufficient_scope` naming the needed scope (body and WWW-Authenticate), and leaves
no trace. No token, or a token that does not verify, gets the contract's 401, before any
lookup: an unknown id answers 401 too, never 404.
"""

from __future__ import annotations

import pytest

from tests.api.homes_support import (
    ENDPOINTS,
    SCOPES,
    Endpoint,
    Home,
    make_home,
    random_ids,
    token_for,
)
from tests.support import TestServices


def test_the_table_covers_each_scope_and_every_route() -> None:
    """Guards the table itself: all four scopes are exercised, reads and writes alike."""
    assert {e.scope for e in ENDPOINTS} == set(SCOPES)
    assert {e.method for e in ENDPOINTS} == {"GET", "PATCH", "PUT"}
    assert len({e.id for e in ENDPOINTS}) == len(ENDPOINTS)


def _ids(home: Home) -> dict[str, str]:
    return {
        "site": home.site.site_id,
        "device": home.device_id("battery_pack"),
        "tariff": home.site.import_tariff_id,
    }


def _assert_unauthorized(endpoint: Endpoint, response_status: int, body: object, www: str) -> None:
    assert response_status == 401, (endpoint.id, response_status, body)
    assert isinstance(body, dict) and body.get("message") == "Unauthorized", body
    assert www.startswith("Bearer ") and 'error="invalid_token"' in www, www


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
async def test_only_the_contract_scope_passes(gs: TestServices, endpoint: Endpoint) -> None:
    home = await make_home(gs, scope=endpoint.scope)
    tokens = {endpoint.scope: home.token}
    for scope in SCOPES:
        if scope not in tokens:
            tokens[scope] = await token_for(gs, home, scope)
    ids = _ids(home)
    for scope in SCOPES:
        headers = {"Authorization": f"Bearer {tokens[scope]}"}
        response = await endpoint.call(gs.http, headers, **ids)
        if scope == endpoint.scope:
            assert response.status_code == endpoint.ok, (scope, response.text)
            assert "www-authenticate" not in response.headers
            continue
        assert response.status_code == 403, (scope, response.status_code, response.text)
        body = response.json()
        assert body["code"] == "insufficient_scope", body
        assert endpoint.scope in body["message"], body
        www = response.headers["www-authenticate"]
        assert www.startswith("Bearer "), www
        assert 'error="insufficient_scope"' in www and f'scope="{endpoint.scope}"' in www, www
    # Refused writes left no trace.
    actions = await gs.services.homes.recent_actions(home.owner.sub, home.partner.client_id)
    assert len(actions) == (1 if endpoint.is_write else 0), actions


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
async def test_no_or_broken_token_is_401(gs: TestServices, endpoint: Endpoint) -> None:
    home = await make_home(gs)
    site, device = random_ids()
    broken = {
        "no header": {},
        "empty bearer": {"Authorization": "Bearer "},
        "basic scheme": {"Authorization": f"Basic {home.token}"},
        "token in wrong case scheme only": {"Authorization": f"Token {home.token}"},
        "garbage": {"Authorization": "Bearer not-a-jwt"},
        "tampered": {"Authorization": f"Bearer {home.token[:-4]}AAAA"},
        "id token": {"Authorization": f"Bearer {home.tokens.get('id_token', 'x.y.z')}"},
        "refresh token": {"Authorization": f"Bearer {home.tokens['refresh_token']}"},
    }
    for label, headers in broken.items():
        for ids in (_ids(home), {"site": site, "device": device, "tariff": "no-such-tariff"}):
            response = await endpoint.call(gs.http, headers, **ids)
            try:
                _assert_unauthorized(
                    endpoint,
                    response.status_code,
                    response.json(),
                    response.headers.get("www-authenticate", ""),
                )
            except AssertionError as exc:
                raise AssertionError(f"{label}: {exc}") from exc
    assert await gs.services.homes.recent_actions(home.owner.sub, home.partner.client_id) == []
    # The token itself is fine: the same call with it succeeds.
    response = await endpoint.call(gs.http, home.headers, **_ids(home))
    assert response.status_code == endpoint.ok, response.text


async def test_a_token_from_a_query_parameter_is_ignored(gs: TestServices) -> None:
    home = await make_home(gs)
    response = await gs.http.get(f"/api/v2/sites?access_token={home.token}")
    assert response.status_code == 401


async def test_expired_and_revoked_tokens_are_401_everywhere(gs: TestServices) -> None:
    home = await make_home(gs)
    ids = _ids(home)
    revoked = await make_home(gs)
    response = await gs.http.post(
        "/oauth2/revoke",
        data={"token": revoked.tokens["refresh_token"], "client_id": revoked.partner.client_id},
        headers=revoked.partner.basic(),
    )
    assert response.status_code == 200, response.text
    for endpoint in ENDPOINTS:
        response = await endpoint.call(gs.http, revoked.headers, **_ids(revoked))
        _assert_unauthorized(
            endpoint, response.status_code, response.json(), response.headers["www-authenticate"]
        )
    gs.services.clock.advance(int(home.tokens["expires_in"]) + 120)
    for endpoint in ENDPOINTS:
        response = await endpoint.call(gs.http, home.headers, **ids)
        _assert_unauthorized(
            endpoint, response.status_code, response.json(), response.headers["www-authenticate"]
        )
