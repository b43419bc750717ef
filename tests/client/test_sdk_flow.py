"""The SDK's side of the seed's flow against our server over a real socket: authorization URL
with state + PKCE, sign-in and consent in a scripted browser, the callback on the SDK's loopback
listener, the code exchange with client_secret_basic, refresh (automatic, single-flight,
rotating or not), revocation, and the typed errors of a refused authorization.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from tests.client.conftest import Harness, profile_for
from tests.client.live import Browser, LiveServer
from tests.live import Owner

from gridshare_client import (
    AccessDenied,
    FileTokenStore,
    GridshareClient,
    IssuerMismatch,
    LoginRequired,
    MemoryTokenStore,
    StateMismatch,
    TokenSet,
)
from gridshare_client.oauth import parse_callback

pytestmark = pytest.mark.e2e

ALL = ["lunar/device.read", "lunar/device.write", "lunar/plan.read", "lunar/plan.write"]


def form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}


def test_authorization_url_has_state_and_pkce_s256(harness: Harness, live: LiveServer) -> None:
    client = harness.client(live.partner())
    first = client.auth.start_login("http://127.0.0.1:5000/callback")
    second = client.auth.start_login("http://127.0.0.1:5000/callback")
    query = {k: v[0] for k, v in parse_qs(urlsplit(first.url).query).items()}
    assert first.url.startswith(f"{live.base_url}/oauth2/authorize?")
    assert query["response_type"] == "code"
    assert query["client_id"] == client.profile.client_id
    assert query["state"] == first.state and len(first.state) >= 32
    assert query["code_challenge_method"] == "S256"
    assert 43 <= len(first.code_verifier) <= 128
    assert re.fullmatch(r"[A-Za-z0-9._~-]+", first.code_verifier)
    assert query["scope"] == " ".join(ALL)
    # Fresh randomness per login.
    assert first.state != second.state and first.code_verifier != second.code_verifier
    # Our server advertises RFC 9207, so `iss` is required and must be the server's.
    assert first.require_issuer and first.expected_issuer == live.base_url


def test_confidential_login_end_to_end(harness: Harness, live: LiveServer, owner: Owner) -> None:
    partner = live.partner()
    client = harness.client(partner)
    browser = harness.login(client, owner)
    tokens = client.auth.tokens
    assert tokens is not None and tokens.refresh_token and tokens.access_token
    assert tokens.scope == ALL
    # The callback went to our loopback listener with code, state and iss.
    callback = parse_qs(urlsplit(browser.seen[0]).query)
    assert set(callback) == {"code", "state", "iss"}
    assert callback["iss"] == [live.base_url]
    # The code exchange: HTTP Basic (form-urlencoded id:secret) + client_id in the body, as the
    # seed shows, with the PKCE verifier, and no secret in the body.
    [headers], [body] = harness.token_requests.headers, harness.token_requests.bodies
    expected = base64.b64encode(f"{partner.client_id}:{partner.secret}".encode()).decode()
    assert headers["authorization"] == f"Basic {expected}"
    sent = form(body)
    assert sent["grant_type"] == "authorization_code"
    assert sent["client_id"] == partner.client_id
    assert "client_secret" not in sent and len(sent["code_verifier"]) >= 43
    # The first API call.
    assert [s.site_id for s in client.list_sites()] == owner.sites


def test_public_client_login_any_port_and_rotation(
    harness: Harness, live: LiveServer, owner: Owner
) -> None:
    partner = live.partner(public=True, rotate_refresh_tokens=True, access_token_ttl=300)
    assert partner.secret is None
    client = harness.client(partner)
    harness.login(client, owner)
    sent = form(harness.token_requests.bodies[0])
    assert "authorization" not in harness.token_requests.headers[0]
    assert sent["client_id"] == partner.client_id and "client_secret" not in sent
    before = client.auth.tokens
    assert before is not None and before.refresh_token

    harness.clock.advance(250)  # 50 s left < the 60 s skew: the next call refreshes first
    assert client.list_devices()
    after = client.auth.tokens
    assert after is not None and harness.token_requests.count == 2
    assert after.access_token != before.access_token
    assert after.refresh_token and after.refresh_token != before.refresh_token  # rotated
    assert form(harness.token_requests.bodies[1])["refresh_token"] == before.refresh_token

    harness.clock.advance(300)  # and again, with the rotated token
    assert client.list_sites()
    third = client.auth.tokens
    assert third is not None and harness.token_requests.count == 3
    assert form(harness.token_requests.bodies[2])["refresh_token"] == after.refresh_token
    assert third.refresh_token not in (before.refresh_token, after.refresh_token)


def test_refresh_without_rotation_keeps_the_refresh_token(
    harness: Harness, live: LiveServer, owner: Owner
) -> None:
    partner = live.partner(access_token_ttl=300, rotate_refresh_tokens=False)
    client = harness.client(partner)
    harness.login(client, owner)
    before = client.auth.tokens
    assert before is not None
    harness.clock.advance(240)  # exactly 60 s left: not fresh any more
    client.list_sites()
    after = client.auth.tokens
    assert after is not None and harness.token_requests.count == 2
    assert after.access_token != before.access_token
    assert after.refresh_token == before.refresh_token  # none in the response: the old one stays
    assert after.expires_at is not None and after.expires_at == pytest.approx(
        harness.clock() + 300, abs=5
    )


def test_no_refresh_while_the_token_is_fresh(
    harness: Harness, live: LiveServer, owner: Owner
) -> None:
    client = harness.client(live.partner(access_token_ttl=300))
    harness.login(client, owner)
    harness.clock.advance(200)  # 100 s left
    for _ in range(5):
        client.list_sites()
    assert harness.token_requests.count == 1


def test_explicit_refresh_and_userinfo(harness: Harness, live: LiveServer, owner: Owner) -> None:
    client = harness.client(live.partner())
    harness.login(client, owner, scopes=["openid", "email", *ALL])
    info = client.auth.userinfo()
    assert info.sub == owner.sub and info.email == owner.email
    old = client.auth.tokens
    new = client.auth.refresh()
    assert old is not None and new.access_token != old.access_token
    assert new.id_token  # openid: a new ID token at refresh
    assert client.auth.userinfo().sub == owner.sub


def test_tokens_survive_a_restart_in_the_file_store(
    harness: Harness, live: LiveServer, owner: Owner, tmp_path: object
) -> None:
    partner = live.partner()
    store = FileTokenStore()
    client = harness.client(partner, store=store)
    harness.login(client, owner)
    path = store.path_for("test")
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    assert (path.parent.stat().st_mode & 0o077) == 0
    client.close()
    # A new process: same profile, same store, no login.
    again = GridshareClient(profile_for(live, partner), token_store=FileTokenStore())
    assert [s.site_id for s in again.list_sites()] == owner.sites
    again.close()


def test_logout_revokes_at_the_server(harness: Harness, live: LiveServer, owner: Owner) -> None:
    partner = live.partner()
    store = MemoryTokenStore()
    client = harness.client(partner, store=store)
    harness.login(client, owner)
    tokens = client.auth.tokens
    assert tokens is not None and tokens.refresh_token
    assert client.auth.revoke() is True
    assert client.auth.tokens is None and store.load("test") is None
    # The access token died with the refresh token (origin_jti) ...
    response = httpx.get(
        f"{live.base_url}/api/v2/sites",
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert response.status_code == 401
    # ... and the refresh token is refused.
    other = harness.client(partner, store=MemoryTokenStore())
    other.auth.set_tokens(tokens)
    with pytest.raises(LoginRequired, match="the login expired or was revoked"):
        other.auth.refresh()
    with pytest.raises(LoginRequired):
        client.list_sites()
    assert client.auth.revoke() is False  # nothing left to revoke


def test_revoked_elsewhere_means_login_required(
    harness: Harness, live: LiveServer, owner: Owner
) -> None:
    partner = live.partner()
    client = harness.client(partner)
    harness.login(client, owner)
    tokens = client.auth.tokens
    assert tokens is not None
    # Another copy of the integration logs out: our access token is refused (401), the SDK
    # tries one refresh, which fails with invalid_grant, so the user must log in again.
    other = harness.client(partner, store=MemoryTokenStore())
    other.auth.set_tokens(tokens)
    other.auth.revoke()
    with pytest.raises(LoginRequired, match=r"expired or was revoked \(profile 'test'\)"):
        client.list_sites()
    assert client.auth.tokens is None


def test_homeowner_denies(harness: Harness, live: LiveServer, owner: Owner) -> None:
    client = harness.client(live.partner())
    browser = Browser(owner, decision="deny")
    with pytest.raises(AccessDenied) as caught:
        client.auth.login(port=0, open_browser=browser.open_in_background, timeout=30)
    assert caught.value.error == "access_denied"
    assert client.auth.tokens is None


def test_callback_checks(harness: Harness, live: LiveServer, owner: Owner) -> None:
    """The callback is validated before the code is used: state (constant time), iss."""
    client = harness.client(live.partner())
    request = client.auth.start_login("http://127.0.0.1:5555/callback")
    browser = Browser(owner, visit_callback=False)
    location = browser.approve(request.url)
    code = parse_qs(urlsplit(location).query)["code"][0]

    forged = location.replace(f"state={request.state}", "state=attacker")
    with pytest.raises(StateMismatch):
        parse_callback(request, forged)
    with pytest.raises(StateMismatch):
        parse_callback(request, re.sub(r"[?&]state=[^&]*", "", location))
    with pytest.raises(IssuerMismatch):
        parse_callback(request, re.sub(r"iss=[^&]*", "iss=https%3A%2F%2Fevil.example", location))
    with pytest.raises(IssuerMismatch):  # required: our server advertises RFC 9207
        parse_callback(request, re.sub(r"&?iss=[^&]*", "", location))
    assert parse_callback(request, location) == code
    tokens = client.auth.finish_login(request, location)
    assert isinstance(tokens, TokenSet) and client.list_sites()


def test_registered_fixed_loopback_port(harness: Harness, live: LiveServer, owner: Owner) -> None:
    """A confidential client whose registered redirect is an exact loopback URI (like the demo
    partner's http://127.0.0.1:8765/callback): the SDK listens on exactly that."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri = f"http://127.0.0.1:{port}/cb/partner"
    partner = live.partner(redirect_uri=uri)
    client = harness.client(partner, redirect_uri=uri)
    browser = Browser(owner)
    client.auth.login(open_browser=browser.open_in_background, timeout=30)
    assert browser.seen[0].startswith(uri + "?")
    assert client.list_sites()


async def test_async_login_end_to_end(harness: Harness, live: LiveServer, owner: Owner) -> None:
    from gridshare_client import AsyncGridshareClient

    partner = live.partner(public=True)
    browser = Browser(owner)
    async with AsyncGridshareClient(
        profile_for(live, partner), token_store=MemoryTokenStore()
    ) as client:
        tokens = await client.auth.login(
            port=0, open_browser=browser.open_in_background, timeout=30
        )
        assert tokens.refresh_token and client.auth.tokens == tokens
        assert [s.site_id for s in await client.list_sites()] == owner.sites
        assert await client.auth.revoke() is True
        with pytest.raises(LoginRequired):
            await client.list_sites()


def test_cli_reports_a_busy_loopback_port(live: LiveServer) -> None:
    import socket

    from typer.testing import CliRunner

    from gridshare_client.cli.main import app

    partner = live.partner()
    runner = CliRunner()
    runner.invoke(
        app,
        [
            "profile",
            "set",
            "busy",
            "--auth-url",
            live.base_url,
            "--api-url",
            live.base_url,
            "--client-id",
            partner.client_id,
        ],
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(
            app, ["login", "-p", "busy", "--no-browser", "--redirect-port", str(port)]
        )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot listen for the sign-in redirect on port {port}")
