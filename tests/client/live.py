"""Our real server on a real socket for the SDK and CLI tests, and a scripted homeowner browser.

`LiveServer` is the shared live server (`tests.live`) plus the data these tests need: homeowners
with a provisioned home and partners, created through the app's own services on the server's loop
(`LiveServer.call`), and telemetry written straight into its store.

`Browser` is the homeowner: an httpx client with a cookie jar that follows the authorization URL
to the hosted sign-in page, posts the credentials with the hidden CSRF token, posts the consent
form, and finally requests the redirect URI (the SDK's loopback listener) like a browser would.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from tests.live import LiveServer as BaseLiveServer
from tests.live import Owner, Partner
from tests.support import PASSWORD, hidden

from gridshare.auth.clients import ClientOptions
from gridshare.fleet.provisioning import provision_sites

LOOPBACK = "http://127.0.0.1/callback"
PARTNER_NAME = "SDK Test Partner"


class LiveServer(BaseLiveServer):
    """The shared live server, with homeowners, partners and telemetry made in-process."""

    # -- data ----------------------------------------------------------------------------------

    def owner(self, template: str = "hybrid_home", sites: int = 1) -> Owner:
        email = f"owner-{secrets.token_hex(4)}@example.com"

        async def make() -> Owner:
            user = await self.services.users.create(email, PASSWORD)
            made = await provision_sites(
                self.services.db, self.services.clock, user.id, template, sites
            )
            return Owner(user.id, user.email, sites=[s.site_id for s in made])

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
                ClientOptions(name=PARTNER_NAME, redirect_uris=[uri], public=public, **options)
            )
            return Partner(client.client_id, secret, uri, PARTNER_NAME)

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
