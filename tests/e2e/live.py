"""The shared live server (`tests.live`) as an operator drives it, for end-to-end and browser tests.

Partners and homeowners are created the way an operator would: `gridshare admin ... --json` in a
subprocess against the same database; `query` reads that database over its own connection.

Also: a small browser-like driver of the hosted pages over plain httpx (cookies, hidden fields).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from gridshare.storage.db import normalize_url
from tests.live import LiveServer as BaseLiveServer
from tests.live import Owner, Partner
from tests.support import PASSWORD, hidden


def free_port() -> int:
    """A port nothing listens on right now (for a loopback redirect URI no one serves)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def gridshare_command() -> list[str]:
    script = Path(sys.executable).with_name("gridshare")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "gridshare_client.cli.main"]


class LiveServer(BaseLiveServer):
    """The shared live server, with admin-CLI helpers and direct database reads."""

    # -- administration, as an operator does it -------------------------------------------

    def admin(self, *args: str) -> Any:
        """`gridshare admin <args> --json --database-url <this server's database>`."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSHARE_")}
        result = subprocess.run(
            [
                *gridshare_command(),
                "admin",
                *args,
                "--json",
                "--database-url",
                self.settings.database_url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert result.returncode == 0, f"gridshare admin {args[0]} failed: {result.stderr}"
        return json.loads(result.stdout)

    def create_user(self, email: str | None = None, password: str = PASSWORD) -> Owner:
        email = email or f"owner-{secrets.token_hex(4)}@example.com"
        out = self.admin("create-user", "--email", email, "--password", password)
        return Owner(out["sub"], out["email"], password, list(out.get("sites", ())))

    def create_client(self, redirect_uri: str, *options: str, name: str = "Partner App") -> Partner:
        """A partner; `options` are extra `create-client` flags (`--rotate-refresh-tokens`)."""
        out = self.admin("create-client", "--name", name, "--redirect-uri", redirect_uri, *options)
        return Partner(out["client_id"], out["client_secret"], redirect_uri, name)

    # -- direct database reads --------------------------------------------------------------

    async def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Read the server's database with a separate SQLAlchemy engine (no shared state)."""
        engine = create_async_engine(normalize_url(self.settings.database_url), poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(text(sql), params)
                return [dict(r._mapping) for r in rows]
        finally:
            await engine.dispose()


def device_entries(response: httpx.Response) -> list[Any]:
    """The body of a successful `GET /api/v1/devices`: `{"entries": [...]}`."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"entries"}, body
    assert isinstance(body["entries"], list)
    entries: list[Any] = body["entries"]
    return entries


# -- driving the hosted pages like a browser, with plain httpx --------------------------------


@dataclass
class ConsentSeen:
    """What the consent page showed, and where the user ended up after deciding."""

    page: str
    callback: str


async def approve(
    http: httpx.AsyncClient,
    authorize_url: str,
    owner: Owner,
    decision: str = "allow",
    expect_consent: bool = True,
) -> ConsentSeen:
    """Follow the hosted UI from an authorization URL to the partner's redirect URI.

    `http` must not follow redirects and must keep cookies (like a browser tab). Returns the
    consent page's HTML and the final Location (pointing at the partner's redirect URI).
    """
    response = await http.get(authorize_url)
    assert response.status_code == 302, response.text
    login_url = urljoin(authorize_url, response.headers["location"])
    assert urlsplit(login_url).path == "/login", login_url

    login_page = await http.get(login_url)
    assert login_page.status_code == 200, login_page.text
    assert 'name="username"' in login_page.text and 'name="password"' in login_page.text
    signed_in = await http.post(
        login_url,
        data={
            "username": owner.email,
            "password": owner.password,
            "csrf_token": hidden(login_page.text, "csrf_token"),
        },
    )
    assert signed_in.status_code == 302, signed_in.text
    back = urljoin(login_url, signed_in.headers["location"])
    assert urlsplit(back).path == "/oauth2/authorize", back

    page = await http.get(back)
    consent_html = ""
    if page.status_code == 200:
        consent_html = page.text
        page = await http.post(
            urljoin(back, "/consent"),
            data={
                "csrf_token": hidden(page.text, "csrf_token"),
                "request": hidden(page.text, "request"),
                "decision": decision,
            },
        )
    else:
        assert not expect_consent, f"expected the consent page, got {page.status_code}"
    assert page.status_code == 302, page.text
    return ConsentSeen(consent_html, page.headers["location"])
