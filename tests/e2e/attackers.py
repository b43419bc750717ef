"""Helpers for attack tests over a real socket: clients from other addresses, quick set-up.

Every 127.x.y.z address is the loopback interface on Linux, so an httpx client bound to
127.0.0.2 reaches the live server (listening on 127.0.0.1) as a second machine would: the server
sees `request.client.host == "127.0.0.2"`. Homeowners and partners are created through the app's
own services (fast Argon2 settings, no twin backfill); everything attacked goes over HTTP.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx

from gridshare.auth.clients import ClientOptions
from gridshare.auth.pkce import s256
from tests.e2e.live import LiveServer, approve
from tests.live import Owner, Partner
from tests.support import ALL_API, PASSWORD, hidden, query_of

WRONG = "not the right password"
PUBLIC_REDIRECT = "http://127.0.0.1/callback"
CONFIDENTIAL_REDIRECT = "https://partner.example/callback"


def client_from(live: LiveServer, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """An HTTP client whose connections leave from `address` (a loopback address)."""
    return httpx.AsyncClient(
        base_url=live.base_url,
        transport=httpx.AsyncHTTPTransport(local_address=address),
        follow_redirects=False,
        timeout=60,
    )


def homeowner(live: LiveServer) -> Owner:
    email = f"owner-{secrets.token_hex(4)}@example.com"
    user = live.call(live.services.users.create(email, PASSWORD))
    return Owner(user.id, user.email)


def partner(live: LiveServer, public: bool = False) -> Partner:
    redirect = PUBLIC_REDIRECT if public else CONFIDENTIAL_REDIRECT
    opts = ClientOptions(name="Partner App", redirect_uris=[redirect], public=public)
    client, secret = live.call(live.services.clients.create(opts))
    return Partner(client.client_id, secret, redirect, opts.name)


def client_auth(partner: Partner, secret: str | None = None) -> dict[str, Any]:
    """httpx keyword arguments authenticating `partner` (or claiming to, with `secret`)."""
    secret = secret if secret is not None else partner.secret
    if secret is None:
        return {"data": {"client_id": partner.client_id}}
    return {"auth": (partner.client_id, secret)}


async def authorize(live: LiveServer, partner: Partner, owner: Owner) -> tuple[str, str]:
    """A fresh code and its PKCE verifier, through the hosted pages like a browser."""
    verifier = secrets.token_urlsafe(48)
    query = httpx.QueryParams(
        {
            "response_type": "code",
            "client_id": partner.client_id,
            "redirect_uri": partner.redirect_uri,
            "state": "attack",
            "scope": ALL_API,
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        }
    )
    async with client_from(live) as browser:
        seen = await approve(browser, f"{live.base_url}/oauth2/authorize?{query}", owner)
    return query_of(seen.callback)["code"], verifier


async def redeem(
    http: httpx.AsyncClient,
    partner: Partner,
    code: str,
    verifier: str | None,
    redirect_uri: str | None = None,
    send_redirect_uri: bool = True,
) -> httpx.Response:
    """Redeem `code` as `partner` (its registered redirect URI unless told otherwise)."""
    auth = client_auth(partner)
    form = {"grant_type": "authorization_code", "code": code}
    if send_redirect_uri:
        form["redirect_uri"] = redirect_uri or partner.redirect_uri
    if verifier is not None:
        form["code_verifier"] = verifier
    return await http.post("/oauth2/token", data=auth.pop("data", {}) | form, **auth)


async def tokens(live: LiveServer, partner: Partner, owner: Owner) -> dict[str, Any]:
    code, verifier = await authorize(live, partner, owner)
    async with client_from(live) as http:
        response = await redeem(http, partner, code, verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh(
    http: httpx.AsyncClient, partner: Partner, refresh_token: str, secret: str | None = None
) -> httpx.Response:
    auth = client_auth(partner, secret)
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return await http.post("/oauth2/token", data=auth.pop("data", {}) | form, **auth)


async def api_status(live: LiveServer, access_token: str) -> int:
    async with client_from(live) as http:
        response = await http.get(
            "/api/v1/devices", headers={"Authorization": f"Bearer {access_token}"}
        )
    return response.status_code


async def login_form(http: httpx.AsyncClient) -> str:
    """Open the sign-in page (sets the CSRF cookie on `http`); its CSRF token."""
    page = await http.get("/login")
    assert page.status_code == 200, page.text
    return hidden(page.text, "csrf_token")


async def sign_in(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    csrf = await login_form(http)
    return await http.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf}
    )


async def released_together(*calls: Any) -> list[Any]:
    """Start coroutines parked on one event, release them at once, gather their results."""
    start = asyncio.Event()

    async def parked(call: Any) -> Any:
        await start.wait()
        return await call

    tasks = [asyncio.create_task(parked(c)) for c in calls]
    await asyncio.sleep(0)
    start.set()
    return await asyncio.gather(*tasks)
