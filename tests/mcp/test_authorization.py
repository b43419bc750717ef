"""`/mcp` as an OAuth protected resource: discovery from a bare 401 (RFC 9728, RFC 8414),
audience-bound tokens (RFC 8707) in both directions, scopes, registration (RFC 7591) limited by
the callback allow-list, and a homeowner's disconnect ending the assistant's access."""

from __future__ import annotations

import secrets

import httpx
import pytest

from gridshare.auth.pkce import s256
from tests.client.live import LiveServer
from tests.mcp.support import mcp_session, mcp_url, public_partner, token_for
from tests.support import Partner, TestServices, query_of

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream"}


async def _post_mcp(live: LiveServer, token: str | None) -> httpx.Response:
    headers = dict(HEADERS)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(mcp_url(live), json=INITIALIZE, headers=headers)


async def test_discovery_from_a_bare_401(live: LiveServer) -> None:
    response = await _post_mcp(live, None)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    metadata_url = f"{live.base_url}/.well-known/oauth-protected-resource/mcp"
    assert challenge.startswith("Bearer ") and f'resource_metadata="{metadata_url}"' in challenge
    async with httpx.AsyncClient(timeout=30) as http:
        prm = (await http.get(metadata_url)).json()
        assert prm["resource"] == mcp_url(live)
        assert prm["authorization_servers"] == [live.base_url]
        bare = (await http.get(f"{live.base_url}/.well-known/oauth-protected-resource")).json()
        assert bare["resource"] == mcp_url(live)
        assert bare["authorization_servers"] == [live.base_url]
        asm = (await http.get(f"{live.base_url}/.well-known/oauth-authorization-server")).json()
        oidc = (await http.get(f"{live.base_url}/.well-known/openid-configuration")).json()
    assert asm["issuer"] == oidc["issuer"] == live.base_url
    assert asm["code_challenge_methods_supported"] == ["S256"]
    assert asm["registration_endpoint"] == f"{live.base_url}/oauth2/register"
    assert asm["authorization_endpoint"] == oidc["authorization_endpoint"]
    assert asm["token_endpoint"] == oidc["token_endpoint"]


async def test_tokens_are_for_one_resource_each(live: LiveServer) -> None:
    owner = live.owner()
    partner = public_partner(live)
    rest_token = await token_for(live, owner, partner)
    mcp_token = await token_for(live, owner, partner, resource=mcp_url(live))
    assert (await _post_mcp(live, rest_token)).status_code == 401
    assert (await _post_mcp(live, mcp_token)).status_code == 200
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        for token, status in ((rest_token, 200), (mcp_token, 401)):
            got = await http.get("/api/v2/sites", headers={"Authorization": f"Bearer {token}"})
            assert got.status_code == status, got.text


async def test_a_token_without_device_read_is_refused(live: LiveServer) -> None:
    owner = live.owner()
    partner = public_partner(live)
    token = await token_for(live, owner, partner, "lunar/plan.read", resource=mcp_url(live))
    response = await _post_mcp(live, token)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_an_unknown_resource_and_a_missing_pkce_are_refused(live: LiveServer) -> None:
    owner = live.owner()
    partner = public_partner(live)
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        gs = TestServices(live.services, http)
        other = await gs.authorize(partner, owner, resource="https://elsewhere.example/api")  # type: ignore[arg-type]
        assert other.params["error"] == "invalid_target"
        confidential = live.partner()
        query, _ = gs.authorize_query(
            Partner(confidential.client_id, confidential.secret, confidential.redirect_uri),
            pkce=False,
            resource=mcp_url(live),
        )
        answer = await http.get(f"/oauth2/authorize?{query}")
        assert answer.status_code == 302
        assert query_of(answer.headers["location"])["error"] == "invalid_request"


async def _register(live: LiveServer, callback: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(
            f"{live.base_url}/oauth2/register",
            json={
                "client_name": "Claude",
                "redirect_uris": [callback],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
            },
        )


@pytest.mark.parametrize(
    "callback",
    [
        "https://claude.ai/api/mcp/auth_callback",
        "https://chatgpt.com/connector_platform_oauth_redirect",
        "http://localhost:49152/oauth/callback",
    ],
)
async def test_allow_listed_assistants_register_and_get_mcp_tokens(
    live: LiveServer, callback: str
) -> None:
    registered = await _register(live, callback)
    assert registered.status_code == 201, registered.text
    body = registered.json()
    assert body["token_endpoint_auth_method"] == "none"
    assert body["redirect_uris"] == [callback]
    owner = live.owner()
    assistant = Partner(body["client_id"], None, callback)
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        gs = TestServices(live.services, http)
        auth = await gs.authorize(assistant, owner, scope="lunar/device.read")  # type: ignore[arg-type]
        response = await gs.exchange(assistant, auth)
        assert response.status_code == 200, response.text
    # No `resource` was sent: an assistant's own client gets tokens for /mcp only.
    token = response.json()["access_token"]
    assert (await _post_mcp(live, token)).status_code == 200
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        got = await http.get("/api/v2/sites", headers={"Authorization": f"Bearer {token}"})
        assert got.status_code == 401


@pytest.mark.parametrize(
    "callback",
    ["https://evil.example/callback", "https://claude.ai.evil.example/api/mcp/auth_callback"],
)
async def test_a_callback_outside_the_allow_list_is_refused(
    live: LiveServer, callback: str
) -> None:
    refused = await _register(live, callback)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_redirect_uri"


async def test_a_confidential_registration_is_refused(live: LiveServer) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        refused = await http.post(
            f"{live.base_url}/oauth2/register",
            json={
                "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"],
                "token_endpoint_auth_method": "client_secret_basic",
            },
        )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_client_metadata"


async def test_disconnecting_ends_the_assistants_access_at_its_next_call(
    live: LiveServer,
) -> None:
    owner = live.owner()
    partner = public_partner(live)
    token = await token_for(live, owner, partner, resource=mcp_url(live))
    async with mcp_session(live, token) as session:
        assert not (await session.call_tool("list_sites", {})).is_error
    connections = live.call(live.services.grants.connections(owner.sub))
    assert [c.grant.client_id for c in connections] == [partner.client_id]
    assert live.call(live.services.grants.revoke_grant(owner.sub, connections[0].grant.id))
    assert (await _post_mcp(live, token)).status_code == 401


def test_pkce_helper_is_s256() -> None:
    verifier = secrets.token_urlsafe(48)
    assert s256(verifier) != verifier


async def test_tool_calls_share_the_token_rate_limit(live_factory_rate: LiveServer) -> None:
    live = live_factory_rate
    owner = live.owner()
    partner = public_partner(live)
    token = await token_for(live, owner, partner, resource=mcp_url(live))
    async with mcp_session(live, token) as session:
        answers = [await session.call_tool("list_sites", {}) for _ in range(4)]
    assert [a.is_error for a in answers] == [False, False, False, True]
    assert "Rate limit of 3 calls per minute" in answers[-1].content[0].text  # type: ignore[union-attr]


async def test_the_audience_holds_at_the_token_endpoint_and_after_refresh(
    live: LiveServer,
) -> None:
    owner = live.owner()
    partner = public_partner(live)
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        gs = TestServices(live.services, http)
        # A REST grant cannot be turned into an MCP token at the token endpoint (RFC 8707 §2.2).
        rest_auth = await gs.authorize(partner, owner)  # type: ignore[arg-type]
        refused = await gs.exchange(partner, rest_auth, resource=mcp_url(live))
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_target"
        auth = await gs.authorize(partner, owner, resource=mcp_url(live))  # type: ignore[arg-type]
        issued = await gs.exchange(partner, auth, resource=mcp_url(live))
        assert issued.status_code == 200, issued.text
        refreshed = await http.post(
            "/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": partner.client_id,
                "refresh_token": issued.json()["refresh_token"],
            },
        )
        assert refreshed.status_code == 200, refreshed.text
    token = refreshed.json()["access_token"]
    assert (await _post_mcp(live, token)).status_code == 200
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        got = await http.get("/api/v2/sites", headers={"Authorization": f"Bearer {token}"})
        assert got.status_code == 401
