"""Test helpers: create homeowners and partners, and drive the hosted pages like a browser."""

from __future__ import annotations

import base64
import html
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import redis.asyncio

from gridshare.auth.clients import ClientOptions
from gridshare.auth.pkce import s256
from gridshare.services import Services

PASSWORD = "correct horse battery"
REDIRECT = "https://partner.example/callback"
ALL_API = "lunar/device.read lunar/device.write lunar/plan.read lunar/plan.write"
REDIS_URL = os.environ.get("GRIDSHARE_TEST_REDIS", "redis://127.0.0.1:6379/0")


async def require_redis() -> str:
    """The test Redis URL; skips the test when Redis is down, or fails it where CI requires
    Redis (GRIDSHARE_REQUIRE_REDIS=1)."""
    client = redis.asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
        return REDIS_URL
    except (OSError, redis.RedisError):
        if os.environ.get("GRIDSHARE_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis is required (GRIDSHARE_REQUIRE_REDIS=1) but {REDIS_URL} is down")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    finally:
        await client.aclose()


@dataclass
class Partner:
    client_id: str
    secret: str | None
    redirect_uri: str = REDIRECT

    def basic(self) -> dict[str, str]:
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@dataclass
class Homeowner:
    sub: str
    email: str
    password: str = PASSWORD


@dataclass
class Authorized:
    """Outcome of a finished authorization: the code (or error) and what the client sent."""

    location: str
    params: dict[str, str]
    verifier: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.params["code"]


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert match, f"no hidden field {name!r} in page:\n{page[:2000]}"
    return html.unescape(match.group(1))


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


class TestServices:
    __test__ = False

    def __init__(self, services: Services, http: httpx.AsyncClient) -> None:
        self.services = services
        self.http = http
        #: Whose sign-in session the shared client's cookies hold (None: nobody's yet).
        self.signed_in_as: str | None = None

    async def homeowner(self, email: str | None = None) -> Homeowner:
        email = email or f"owner-{secrets.token_hex(4)}@example.com"
        user = await self.services.users.create(email, PASSWORD)
        return Homeowner(user.id, user.email)

    async def partner(self, **options: Any) -> Partner:
        opts = ClientOptions(
            name=options.pop("name", "Partner App"),
            redirect_uris=options.pop("redirect_uris", [REDIRECT]),
            **options,
        )
        client, secret = await self.services.clients.create(opts)
        return Partner(client.client_id, secret, opts.redirect_uris[0])

    def authorize_query(
        self,
        partner: Partner,
        scope: str = ALL_API,
        state: str = "xyz-state",
        pkce: bool = True,
        **extra: str,
    ) -> tuple[str, str | None]:
        verifier = secrets.token_urlsafe(48) if pkce else None
        params = {
            "response_type": "code",
            "client_id": partner.client_id,
            "redirect_uri": partner.redirect_uri,
            "state": state,
            "scope": scope,
        }
        if verifier:
            params |= {"code_challenge": s256(verifier), "code_challenge_method": "S256"}
        params |= extra
        return urlencode(params), verifier

    async def sign_in(self, owner: Homeowner, query: str = "") -> httpx.Response:
        page = await self.http.get("/login" + (f"?{query}" if query else ""))
        assert page.status_code == 200, page.text
        response = await self.http.post(
            "/login" + (f"?{query}" if query else ""),
            data={
                "username": owner.email,
                "password": owner.password,
                "csrf_token": hidden(page.text, "csrf_token"),
            },
        )
        if response.status_code == 302:
            self.signed_in_as = owner.sub
        return response

    async def authorize(
        self,
        partner: Partner,
        owner: Homeowner,
        scope: str = ALL_API,
        decision: str = "allow",
        pkce: bool = True,
        **extra: str,
    ) -> Authorized:
        """The whole browser side: authorize → sign in → consent → redirect with a code."""
        if self.signed_in_as not in (None, owner.sub):
            # Another homeowner's session would silently authorize as them: start clean.
            self.http.cookies.clear()
            self.signed_in_as = None
        query, verifier = self.authorize_query(partner, scope=scope, pkce=pkce, **extra)
        first = await self.http.get(f"/oauth2/authorize?{query}")
        if first.status_code == 302 and first.headers["location"].startswith("/login"):
            signed = await self.sign_in(owner, first.headers["location"].split("?", 1)[1])
            assert signed.status_code == 302, signed.text
            first = await self.http.get(signed.headers["location"])
        if first.status_code == 200:  # consent page
            first = await self.http.post(
                "/consent",
                data={
                    "csrf_token": hidden(first.text, "csrf_token"),
                    "request": hidden(first.text, "request"),
                    "decision": decision,
                },
            )
        assert first.status_code == 302, first.text
        location = first.headers["location"]
        return Authorized(location, query_of(location), verifier)

    async def exchange(
        self, partner: Partner, auth: Authorized, **overrides: str
    ) -> httpx.Response:
        data = {
            "grant_type": "authorization_code",
            "client_id": partner.client_id,
            "code": auth.code,
            "redirect_uri": partner.redirect_uri,
        }
        if auth.verifier:
            data["code_verifier"] = auth.verifier
        data |= overrides
        headers = partner.basic() if partner.secret else {}
        return await self.http.post("/oauth2/token", data=data, headers=headers)

    async def tokens(
        self, partner: Partner, owner: Homeowner, scope: str = ALL_API
    ) -> dict[str, Any]:
        auth = await self.authorize(partner, owner, scope=scope)
        response = await self.exchange(partner, auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def refresh(self, partner: Partner, refresh_token: str) -> httpx.Response:
        headers = partner.basic() if partner.secret else {}
        data = {
            "grant_type": "refresh_token",
            "client_id": partner.client_id,
            "refresh_token": refresh_token,
        }
        return await self.http.post("/oauth2/token", data=data, headers=headers)
