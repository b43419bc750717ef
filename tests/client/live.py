"""Our real server on a real socket for the SDK and CLI tests, and a scripted homeowner browser.

`LiveServer.start(settings)` runs `create_app` under uvicorn in a background thread (its own
event loop) on a free 127.0.0.1 port, with `issuer` = its real base URL. Homeowners and partners
are created through the app's own services on the server's loop (`LiveServer.call`).

`Browser` is the homeowner: an httpx client with a cookie jar that follows the authorization URL
to the hosted sign-in page, posts the credentials with the hidden CSRF token, posts the consent
form, and finally requests the redirect URI (the SDK's loopback listener) like a browser would.
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx
import uvicorn

from gridshare.app import create_app
from gridshare.auth.clients import ClientOptions
from gridshare.config import Settings
from gridshare.fleet.provisioning import provision_sites
from gridshare.services import Services

T = TypeVar("T")

PASSWORD = "correct horse battery"
LOOPBACK = "http://127.0.0.1/callback"


@dataclass(frozen=True)
class Owner:
    sub: str
    email: str
    sites: list[str]
    password: str = PASSWORD


@dataclass(frozen=True)
class Partner:
    client_id: str
    secret: str | None
    redirect_uri: str


class LiveServer:
    def __init__(self, settings: Settings, sock: socket.socket) -> None:
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.settings = settings
        self.app = create_app(settings)
        config = uvicorn.Config(
            self.app,
            lifespan="on",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"uvicorn-{self.port}")
        self.error: BaseException | None = None

    @classmethod
    def start(cls, settings: Settings) -> LiveServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        live = cls(settings.model_copy(update={"issuer": base}), sock)
        live.thread.start()
        deadline = time.monotonic() + 30
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
        except BaseException as exc:
            self.error = exc
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    # -- data ----------------------------------------------------------------------------------

    def owner(self, template: str = "hybrid_home", sites: int = 1) -> Owner:
        email = f"owner-{secrets.token_hex(4)}@example.com"

        async def make() -> Owner:
            user = await self.services.users.create(email, PASSWORD)
            made = await provision_sites(
                self.services.homes.repo, self.services.clock, user.id, template, sites
            )
            return Owner(user.id, user.email, [s.site_id for s in made])

        return self.call(make())

    def partner(
        self, *, public: bool = False, redirect_uri: str | None = None, **options: Any
    ) -> Partner:
        """A partner client; by default its redirect URI is loopback on any port (RFC 8252)."""
        uri = redirect_uri or LOOPBACK
        if redirect_uri is None:
            options.setdefault("loopback_any_port", True)

        async def make() -> Partner:
            client, secret = await self.services.clients.create(
                ClientOptions(
                    name="SDK Test Partner", redirect_uris=[uri], public=public, **options
                )
            )
            return Partner(client.client_id, secret, uri)

        return self.call(make())

    def seed_telemetry(self, sensor_id: str, start: int, end: int, step: int = 60) -> int:
        """Store samples every `step` seconds in [start, end) for `sensor_id` (a battery-like
        curve), through the server's own telemetry store."""
        import numpy as np

        from gridshare.telemetry import SampleBatch, write_samples

        ts = np.arange(start - start % step, end, step, dtype=np.int64)
        phase = (ts % 86_400) / 86_400 * 2 * np.pi
        power = 3000 * np.sin(phase)
        batch = SampleBatch.from_measurements(
            ts,
            power,
            soc_percent=50 + 40 * np.cos(phase),
            state=["charging" if p > 0 else "discharging" for p in power],
            energy_Wh_increment=np.cumsum(np.clip(power, 0, None)) * step / 3600,
            energy_Wh_decrement=-np.cumsum(np.clip(-power, 0, None)) * step / 3600,
        )

        async def write() -> int:
            async with self.services.db.write() as session:
                return await write_samples(session, {sensor_id: batch})

        return self.call(write(), timeout=120)

    def disable(self, client_id: str) -> None:
        self.call(self.services.clients.set_disabled(client_id, True))


# -- the homeowner's browser --------------------------------------------------------------------


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert match, f"no hidden field {name!r} in:\n{page[:1500]}"
    return html.unescape(match.group(1))


@dataclass
class Browser:
    """Signs in and decides on the consent page; `visit_callback` requests the redirect URI."""

    owner: Owner
    decision: str = "allow"
    visit_callback: bool = True
    seen: list[str] = field(default_factory=list)
    error: BaseException | None = None

    def approve(self, authorize_url: str) -> str:
        """Follow the hosted UI; return the Location pointing at the partner's redirect URI."""
        with httpx.Client(follow_redirects=False, timeout=30) as http:
            response = http.get(authorize_url)
            if (
                response.status_code == 302
                and urlsplit(urljoin(authorize_url, response.headers["location"])).path == "/login"
            ):
                login_url = urljoin(authorize_url, response.headers["location"])
                page = http.get(login_url)
                assert page.status_code == 200, page.text
                signed = http.post(
                    login_url,
                    data={
                        "username": self.owner.email,
                        "password": self.owner.password,
                        "csrf_token": hidden(page.text, "csrf_token"),
                    },
                )
                assert signed.status_code == 302, signed.text
                response = http.get(urljoin(login_url, signed.headers["location"]))
            if response.status_code == 200:  # the consent page
                response = http.post(
                    urljoin(authorize_url, "/consent"),
                    data={
                        "csrf_token": hidden(response.text, "csrf_token"),
                        "request": hidden(response.text, "request"),
                        "decision": self.decision,
                    },
                )
            assert response.status_code == 302, response.text
            location = response.headers["location"]
            self.seen.append(location)
            if self.visit_callback:
                http.get(location)  # lands on the SDK's loopback listener
            return location

    def open_in_background(self, url: str) -> None:
        """A `webbrowser.open` stand-in: drive the pages in a thread, like a real browser."""

        def run() -> None:
            try:
                self.approve(url)
            except BaseException as exc:  # reported by the test
                self.error = exc

        threading.Thread(target=run, daemon=True).start()


class FakeClock:
    """The SDK's clock, moved by the tests (the server keeps real time)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class TokenRequests:
    """An httpx event hook counting requests to the token endpoint (thread-safe)."""

    def __init__(self) -> None:
        self.count = 0
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> None:
        if request.url.path == "/oauth2/token":
            with self._lock:
                self.count += 1
                self.bodies.append(request.read())
                self.headers.append(dict(request.headers))

    async def async_hook(self, request: httpx.Request) -> None:
        self(request)


def recorded_sleeps() -> tuple[list[float], Callable[[float], None]]:
    sleeps: list[float] = []
    return sleeps, sleeps.append
