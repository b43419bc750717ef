"""Sign-in cookies on an https deployment, and which proxies `gridshare serve` trusts.

- With an https issuer the cookies are `__Host-` prefixed and `Secure` even when the request
  reaching the process is plain http (a TLS-terminating proxy that sends no X-Forwarded-Proto);
  over plain http on 127.0.0.1 with an http issuer they stay unprefixed and not Secure
  (tests/e2e/test_hosted_pages.py walks that whole flow).
- `gridshare serve` honours X-Forwarded-For from loopback (its default `--forwarded-allow-ips`),
  so a per-address limit counts the client behind the proxy, not the proxy.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gridshare.config import Settings
from tests.e2e.live import LiveServer, free_port, gridshare_command
from tests.e2e.test_hosted_pages import cookie_attributes
from tests.support import PASSWORD, hidden

pytestmark = pytest.mark.e2e

STARTUP_GUARD_SECONDS = 90.0


@pytest.fixture
def https_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer.start(settings, issuer="https://gridshare.example")
    try:
        yield server
    finally:
        server.stop()


def assert_host_cookie(response: httpx.Response, name: str) -> str:
    attrs = cookie_attributes(response, f"__Host-{name}")
    assert "secure" in attrs and "httponly" in attrs
    assert attrs.get("path") == "/" and "domain" not in attrs
    assert attrs.get("samesite", "").lower() == "lax"
    assert name not in [h.split("=", 1)[0] for h in response.headers.get_list("set-cookie")]
    return attrs["value"]


async def test_an_https_issuer_gets_host_prefixed_secure_cookies(https_server: LiveServer) -> None:
    live = https_server
    owner = live.admin("create-user", "--email", "cookie@example.com", "--password", PASSWORD)
    # Plain http to the process, as from a proxy that does not say the client used https.
    async with httpx.AsyncClient(base_url=live.base_url, follow_redirects=False) as http:
        login = await http.get("/login")
        assert login.status_code == 200
        csrf = assert_host_cookie(login, "gridshare_csrf")
        http.cookies.clear()  # a browser would not send Secure cookies over http; we send them
        signed = await http.post(
            "/login",
            data={
                "username": owner["email"],
                "password": PASSWORD,
                "csrf_token": hidden(login.text, "csrf_token"),
            },
            headers={"Cookie": f"__Host-gridshare_csrf={csrf}"},
        )
        assert signed.status_code == 302, signed.text
        session = assert_host_cookie(signed, "gridshare_session")
        http.cookies.clear()
        account = await http.get(
            "/account", headers={"Cookie": f"__Host-gridshare_session={session}"}
        )
        assert account.status_code == 200, "the prefixed session cookie signs the owner in"
        assert owner["email"] in account.text
        unprefixed = await http.get("/account", headers={"Cookie": f"gridshare_session={session}"})
        assert unprefixed.status_code in (302, 303), "only the __Host- cookie is read on https"


@contextlib.contextmanager
def serve(database_url: str, tmp_path: Path, *flags: str, **env: str) -> Iterator[str]:
    """`gridshare serve --no-demo` in a subprocess on a free loopback port; yields its URL."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSHARE_")}
    log = (tmp_path / "serve.log").open("wb")
    command = [*gridshare_command(), "serve", "--no-demo", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--database-url", database_url, *flags],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=clean | {f"GRIDSHARE_{k.upper()}": v for k, v in env.items()},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_GUARD_SECONDS
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/.well-known/openid-configuration").status_code == 200:
                    break
            assert time.monotonic() < deadline, "gridshare serve did not start"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def failed_sign_in(http: httpx.Client, forwarded_for: str) -> int:
    headers = {"X-Forwarded-For": forwarded_for}
    page = http.get("/login", headers=headers)
    response = http.post(
        "/login",
        data={
            "username": "nobody@example.com",
            "password": "wrong password",
            "csrf_token": hidden(page.text, "csrf_token"),
        },
        headers=headers,
    )
    return response.status_code


def test_serve_counts_sign_ins_per_client_behind_a_loopback_proxy(
    database_url: str, tmp_path: Path
) -> None:
    with (
        serve(
            database_url,
            tmp_path,
            "--forwarded-allow-ips",
            "127.0.0.1,::1",
            "--header-timeout",
            "5",
            "--max-connections",
            "64",
            login_rate_per_minute="3",
            twin_live="false",
            argon2_memory_kib="1024",
            argon2_time_cost="1",
            argon2_parallelism="1",
        ) as base,
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        statuses = [failed_sign_in(http, "198.51.100.1") for _ in range(4)]
        assert statuses == [400, 400, 400, 429], statuses
        # Another client behind the same proxy is not slowed by the first one's failures.
        assert failed_sign_in(http, "198.51.100.2") == 400
