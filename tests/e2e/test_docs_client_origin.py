"""The API docs' OAuth client (Swagger UI) is pinned to the server's own origin, port included
(issue: on a loopback issuer it accepted any loopback port, so any local program listening on
another port could receive a homeowner's code)."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import update

from gridshare.auth.pkce import s256
from gridshare.storage.models import Client
from gridshare.web.docs import DOCS_CLIENT_ID, REDIRECT_PATH, ensure_docs_client
from tests.e2e.live import LiveServer, free_port
from tests.support import ALL_API

pytestmark = pytest.mark.e2e


def authorize_url(live: LiveServer, redirect_uri: str) -> str:
    query = {
        "response_type": "code",
        "client_id": DOCS_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "state": "s",
        "scope": ALL_API,
        "code_challenge": s256(secrets.token_urlsafe(48)),
        "code_challenge_method": "S256",
    }
    return f"{live.base_url}/oauth2/authorize?{urlencode(query)}"


async def assert_pinned(live: LiveServer) -> None:
    own = live.base_url + REDIRECT_PATH
    other = f"http://127.0.0.1:{free_port()}{REDIRECT_PATH}"
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as http:
        ours = await http.get(authorize_url(live, own))
        assert ours.status_code == 302 and ours.headers["location"].startswith("/login?")
        theirs = await http.get(authorize_url(live, other))
        assert theirs.status_code == 400, "another loopback port must not receive the code"
        assert "location" not in theirs.headers


async def test_the_docs_client_accepts_only_the_servers_own_port(live_server: LiveServer) -> None:
    await assert_pinned(live_server)


async def test_a_docs_client_registered_before_is_pinned_at_start(live_server: LiveServer) -> None:
    """A database from before the pin: any-port matching and a stale port are dropped."""
    live = live_server
    stale = f"http://127.0.0.1:{free_port()}{REDIRECT_PATH}"

    async def as_registered_before() -> None:
        async with live.services.db.write() as session:
            await session.execute(
                update(Client)
                .where(Client.client_id == DOCS_CLIENT_ID)
                .values(loopback_any_port=True, redirect_uris=[stale])
            )

    live.call(as_registered_before())
    # what every start does
    live.call(ensure_docs_client(live.services.clients, live.services.issuer))
    await assert_pinned(live)
