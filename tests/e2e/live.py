"""A real server on a real socket, for end-to-end and browser tests.

`LiveServer.start(settings)` runs `gridshare.app.create_app` under uvicorn in a background thread
with its own event loop, listening on 127.0.0.1 on a free port, with `issuer` set to its real base
URL. Partners and homeowners are created the way an operator would: `gridshare admin ... --json`
in a subprocess against the same database. Coroutines that need the app's services (bound to the
server's loop) go through `LiveServer.call`.

Also: a small browser-like driver of the hosted pages over plain httpx (cookies, hidden fields).
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.services import Services
from gridshare.storage.db import normalize_url

T = TypeVar("T")

PASSWORD = "correct horse battery"
ALL_API = "lunar/device.read lunar/device.write lunar/plan.read lunar/plan.write"
STARTUP_TIMEOUT = 30.0


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
    return [sys.executable, "-m", "gridshare.cli.main"]


@dataclass(frozen=True)
class PartnerApp:
    client_id: str
    secret: str | None
    redirect_uri: str
    name: str


@dataclass(frozen=True)
class Owner:
    sub: str
    email: str
    password: str = PASSWORD
    #: Sites `create-user` provisioned for them (each with devices), if any.
    sites: tuple[str, ...] = ()


class LiveServer:
    """The app under uvicorn in a thread; `base_url`, `services`, and admin helpers."""

    def __init__(self, settings: Settings, sock: socket.socket) -> None:
        self.settings = settings
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.app: FastAPI = create_app(settings)
        config = uvicorn.Config(
            self.app,
            lifespan="on",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=f"uvicorn-{self.port}", daemon=True)
        self.error: BaseException | None = None

    @classmethod
    def start(cls, settings: Settings) -> LiveServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        live = cls(
            settings.model_copy(update={"issuer": base, "host": "127.0.0.1", "port": port}), sock
        )
        live.thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not live.server.started:
            if not live.thread.is_alive():
                raise RuntimeError(f"live server failed to start: {live.error!r}")
            if time.monotonic() > deadline:
                live.stop()
                raise RuntimeError("live server did not start in time")
            time.sleep(0.01)
        return live

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # reported by start()/stop()
            self.error = exc
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()
        if self.thread.is_alive():
            raise RuntimeError("live server did not shut down")

    # -- the app's own services, on the server's loop ------------------------------------

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine that uses `services` on the server's event loop; wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

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
        return Owner(out["sub"], out["email"], password, tuple(out.get("sites", ())))

    def create_client(
        self, redirect_uri: str, *options: str, name: str = "Partner App"
    ) -> PartnerApp:
        """A partner; `options` are extra `create-client` flags (`--rotate-refresh-tokens`)."""
        out = self.admin("create-client", "--name", name, "--redirect-uri", redirect_uri, *options)
        return PartnerApp(out["client_id"], out["client_secret"], redirect_uri, name)

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


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert match, f"no hidden field {name!r} in page:\n{page[:2000]}"
    return html.unescape(match.group(1))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


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
