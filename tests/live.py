"""Our real app on a real socket: the one live-server core the SDK/CLI, e2e and browser tests share.

`LiveServer.start(settings)` runs `gridshare.app.create_app` under uvicorn (configured as
`gridshare serve` configures it: `gridshare.serving`) in a background thread with its own event
loop, listening on 127.0.0.1 on a free port, with `issuer` set to its real base URL. Coroutines
that need the app's services (bound to the server's loop) go through `LiveServer.call`.
`tests.client.live` and `tests.e2e.live` subclass it with the ways their tests create homeowners
and partners (the app's services, or the operator's `gridshare admin` CLI).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

import uvicorn
from fastapi import FastAPI

from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.services import Services
from gridshare.serving import uvicorn_config
from tests.support import PASSWORD

T = TypeVar("T")

STARTUP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Owner:
    """A homeowner the tests can sign in as."""

    sub: str
    email: str
    password: str = PASSWORD
    #: Sites provisioned for them (each with devices), if any.
    sites: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Partner:
    """A registered partner client; `secret` is None for a public client."""

    client_id: str
    secret: str | None
    redirect_uri: str
    name: str


class LiveServer:
    """The app under uvicorn in a thread: `base_url`, `services`, and `call` onto its loop."""

    def __init__(self, settings: Settings, sock: socket.socket) -> None:
        self.settings = settings
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.app: FastAPI = create_app(settings)
        config = uvicorn_config(
            self.app,
            settings,
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
    def start(cls, settings: Settings, issuer: str | None = None) -> Self:
        """Bind first, so the issuer can name the real port before the app is created.

        `issuer`: a public URL other than the socket's own (a deployment behind a proxy).
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        public = issuer or f"http://127.0.0.1:{port}"
        live = cls(
            settings.model_copy(update={"issuer": public, "host": "127.0.0.1", "port": port}), sock
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
        """Fail loudly rather than leak a server thread still holding the test's database."""
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
