"""A process with another GRIDSHARE_SECRET_KEY than the servers' is refused (issue: an admin
command run without the key created client secrets the servers could never verify).

The server runs with a configured key; `gridshare admin` and `gridshare serve` run as an operator
would, in subprocesses against the same database, with and without that key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from gridshare.config import Settings
from gridshare.storage.db import normalize_url
from tests.e2e.live import LiveServer, free_port, gridshare_command

pytestmark = pytest.mark.e2e

SERVER_KEY = "the-servers-own-key-0123456789abcdef"
REDIRECT = "https://partner.example/callback"


@pytest.fixture
def keyed_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer.start(settings.model_copy(update={"secret_key": SERVER_KEY}))
    try:
        yield server
    finally:
        server.stop()


def gridshare(live: LiveServer, *args: str, key: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSHARE_")}
    if key is not None:
        env["GRIDSHARE_SECRET_KEY"] = key
    return subprocess.run(
        [*gridshare_command(), *args, "--database-url", live.settings.database_url],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def assert_refused(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "GRIDSHARE_SECRET_KEY" in lines[0]


async def execute(live: LiveServer, sql: str) -> None:
    """A write on the server's database over a separate connection."""
    engine = create_async_engine(normalize_url(live.settings.database_url), poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def test_admin_without_the_servers_key_is_refused(keyed_server: LiveServer) -> None:
    live = keyed_server
    before = await live.query("SELECT client_id FROM clients")

    for key in (None, "some-other-key"):
        result = gridshare(
            live, "admin", "create-client", "--name", "P", "--redirect-uri", REDIRECT, key=key
        )
        assert_refused(result)
    assert await live.query("SELECT client_id FROM clients") == before, "nothing was created"

    # With the servers' key the secret it prints works at the server's token endpoint.
    made = gridshare(
        live,
        "admin",
        "create-client",
        "--name",
        "P",
        "--redirect-uri",
        REDIRECT,
        "--json",
        key=SERVER_KEY,
    )
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        response = await http.post(
            "/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": "not-a-token"},
            auth=(created["client_id"], created["client_secret"]),
        )
    # The client authenticated; only the (made-up) refresh token is refused.
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant", response.text


async def test_the_fingerprint_identifies_the_key_without_revealing_it(
    keyed_server: LiveServer,
) -> None:
    [row] = await keyed_server.query(
        "SELECT value FROM server_secrets WHERE name = 'hmac_key_fingerprint'"
    )
    assert SERVER_KEY not in row["value"]
    label = b"gridshare secret key fingerprint v1"
    assert row["value"] == hmac.new(SERVER_KEY.encode(), label, hashlib.sha256).hexdigest()


def test_serve_with_another_key_exits_with_one_line(keyed_server: LiveServer) -> None:
    port = str(free_port())
    result = gridshare(keyed_server, "serve", "--port", port, "--no-demo", key="another-key")
    assert_refused(result)
    assert "set up with" in result.stderr


async def test_an_existing_database_records_the_key_of_its_first_process(
    keyed_server: LiveServer,
) -> None:
    """A database from before the fingerprint: the first process after the upgrade records its
    key, and a process without it is refused from then on."""
    live = keyed_server
    await execute(live, "DELETE FROM server_secrets WHERE name = 'hmac_key_fingerprint'")
    listed = gridshare(live, "admin", "list-clients", "--json", key=SERVER_KEY)
    assert listed.returncode == 0, listed.stderr
    assert await live.query("SELECT name FROM server_secrets WHERE name = 'hmac_key_fingerprint'")
    assert_refused(gridshare(live, "admin", "list-clients", key=None))
