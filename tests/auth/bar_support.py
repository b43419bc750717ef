"""Helpers shared by the security-bar tests: calling the API, reading cookies, forging JWTs."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from gridshare.services import Services
from gridshare.storage.models import TokenFamily
from tests.support import TestServices, hidden

DEVICES = "/api/v1/devices"


async def api(http: httpx.AsyncClient, access_token: str) -> httpx.Response:
    """GET the one protected API endpoint with a bearer token."""
    return await http.get(DEVICES, headers={"Authorization": f"Bearer {access_token}"})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a JWT, without checking anything."""
    header, payload, _ = token.split(".")

    def load(part: str) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return value

    return load(header), load(payload)


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers of a response, by cookie name."""
    result = {}
    for line in response.headers.get_list("set-cookie"):
        name = line.split("=", 1)[0].strip()
        result[name] = line
    return result


def cookie_attributes(line: str) -> dict[str, str]:
    """Attributes of one Set-Cookie line, lower-cased names (flags map to "")."""
    attrs = {}
    for part in line.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attrs[name.lower()] = value
    return attrs


def cookie_value(line: str) -> str:
    return line.split(";", 1)[0].split("=", 1)[1].strip('"')


async def live_families(services: Services, client_id: str) -> list[TokenFamily]:
    async with services.db.read() as session:
        rows = await session.execute(
            select(TokenFamily).where(
                TokenFamily.client_id == client_id, TokenFamily.revoked_at.is_(None)
            )
        )
        return list(rows.scalars())


async def all_families(services: Services, client_id: str) -> list[TokenFamily]:
    async with services.db.read() as session:
        rows = await session.execute(select(TokenFamily).where(TokenFamily.client_id == client_id))
        return list(rows.scalars())


@asynccontextmanager
async def client_at(
    app: FastAPI, address: str = "198.51.100.20", base_url: str = "http://testserver"
) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser/partner against the same app, from another address or over https."""
    transport = httpx.ASGITransport(app=app, client=(address, 41000))
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        yield client


async def consent_page(gs: TestServices, query: str) -> httpx.Response:
    """GET authorize for a signed-in browser and return the consent page (asserted)."""
    page = await gs.http.get(f"/oauth2/authorize?{query}")
    assert page.status_code == 200, page.text
    assert 'name="decision"' in page.text
    return page


def consent_form(page: httpx.Response, decision: str = "allow") -> dict[str, str]:
    return {
        "csrf_token": hidden(page.text, "csrf_token"),
        "request": hidden(page.text, "request"),
        "decision": decision,
    }


async def raw_asgi(
    app: FastAPI,
    method: str,
    path: str,
    query_string: bytes = b"",
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request straight to the ASGI app, with bytes no HTTP client library would send."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("203.0.113.9", 40000),
        "server": ("testserver", 80),
        "state": {},
    }
    sent = False
    status = 0
    response_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", []):
                response_headers[name.decode().lower()] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, response_headers, b"".join(chunks)
