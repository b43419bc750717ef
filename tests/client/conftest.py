"""Fixtures for the SDK/CLI tests: our server over a real socket (fresh database per test, on
every configured backend), a homeowner with a hybrid home, partners, and logged-in SDK clients.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.client.live import Browser, FakeClock, LiveServer, TokenRequests
from tests.live import Owner, Partner

from gridshare.config import Settings
from gridshare_client import GridshareClient, MemoryTokenStore, Profile, RetryPolicy


@pytest.fixture
def live_factory(settings: Settings) -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        server = LiveServer.start(settings.model_copy(update=overrides))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def live(live_factory: Callable[..., LiveServer]) -> LiveServer:
    return live_factory()


@pytest.fixture
def owner(live: LiveServer) -> Owner:
    return live.owner()


@pytest.fixture
def sdk_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def token_requests() -> TokenRequests:
    return TokenRequests()


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own SDK config dir; no GRIDSHARE_* client settings leak in."""
    directory = tmp_path / "gridshare-config"
    monkeypatch.setenv("GRIDSHARE_CONFIG_DIR", str(directory))
    for var in (
        "GRIDSHARE_PROFILE",
        "GRIDSHARE_CLIENT_ID",
        "GRIDSHARE_CLIENT_SECRET",
        "GRIDSHARE_AUTH_URL",
        "GRIDSHARE_API_URL",
        "GRIDSHARE_REDIRECT_URI",
        "GRIDSHARE_SCOPES",
    ):
        monkeypatch.delenv(var, raising=False)
    return directory


def profile_for(live: LiveServer, partner: Partner, name: str = "test", **extra: Any) -> Profile:
    """A profile for `partner` on `live`; no redirect URI = a loopback one on any free port."""
    return Profile(
        name=name,
        auth_base_url=live.base_url,
        api_base_url=live.base_url,
        client_id=partner.client_id,
        client_secret=partner.secret,
        **extra,
    )


class Harness:
    """Builds SDK clients against the live server and logs them in through the browser."""

    def __init__(self, live: LiveServer, clock: FakeClock, token_requests: TokenRequests) -> None:
        self.live = live
        self.clock = clock
        self.token_requests = token_requests
        self.clients: list[GridshareClient] = []

    def client(
        self,
        partner: Partner,
        *,
        store: Any = None,
        sleep: Callable[[float], None] | None = None,
        retry: RetryPolicy | None = None,
        **profile_extra: Any,
    ) -> GridshareClient:
        http = httpx.Client(timeout=30, event_hooks={"request": [self.token_requests]})
        client = GridshareClient(
            profile_for(self.live, partner, **profile_extra),
            token_store=store if store is not None else MemoryTokenStore(),
            http=http,
            clock=self.clock,
            sleep=sleep or (lambda _s: None),
            retry=retry or RetryPolicy(jitter=False, backoff_initial=0.01),
        )
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.http.close()

    def login(
        self, client: GridshareClient, owner: Owner, scopes: list[str] | None = None
    ) -> Browser:
        browser = Browser(owner)
        client.auth.login(
            scopes=scopes, port=0, open_browser=browser.open_in_background, timeout=30
        )
        assert browser.error is None, browser.error
        return browser


@pytest.fixture
def harness(
    live: LiveServer, sdk_clock: FakeClock, token_requests: TokenRequests
) -> Iterator[Harness]:
    made = Harness(live, sdk_clock, token_requests)
    yield made
    made.close()
