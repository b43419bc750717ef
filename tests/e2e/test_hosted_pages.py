"""The hosted pages over plain http on a real socket, reached as 127.0.0.1 and as localhost.

The commonest OAuth-server bug is a login cookie that a browser drops over plain http (`Secure`),
or with `SameSite=None`, or that is pinned to the wrong host: check the raw Set-Cookie headers and
the page security headers as they come off the wire, and that the whole sign-in still ends with a
code when the user's browser calls the server `localhost` while its issuer says 127.0.0.1.
"""

from __future__ import annotations

from urllib.parse import urlencode, urljoin

import httpx
import pytest

from tests.e2e.live import LiveServer
from tests.support import ALL_API, hidden, query_of

pytestmark = pytest.mark.e2e

REDIRECT = "https://partner.example/callback"


def cookie_attributes(response: httpx.Response, name: str) -> dict[str, str]:
    for header in response.headers.get_list("set-cookie"):
        first, *attrs = (part.strip() for part in header.split(";"))
        if first.split("=", 1)[0] == name:
            out = {"value": first.split("=", 1)[1]}
            for attr in attrs:
                key, _, value = attr.partition("=")
                out[key.lower()] = value
            return out
    raise AssertionError(f"no Set-Cookie for {name!r}: {response.headers.get_list('set-cookie')}")


def assert_plain_http_cookie(response: httpx.Response, name: str) -> None:
    attrs = cookie_attributes(response, name)
    assert attrs["value"]
    assert "httponly" in attrs
    assert attrs.get("samesite", "").lower() == "lax"
    assert "secure" not in attrs, "a Secure cookie is dropped over plain http"
    assert "domain" not in attrs, "host-only cookie"
    assert attrs.get("path") == "/"


def assert_page_headers(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "http:" not in csp and "https:" not in csp, "no third-party sources"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_sign_in_over_plain_http(live_server: LiveServer, host: str) -> None:
    live = live_server
    owner = live.create_user()
    partner = live.create_client(REDIRECT)
    base = f"http://{host}:{live.port}"
    query = urlencode(
        {
            "response_type": "code",
            "client_id": partner.client_id,
            "redirect_uri": REDIRECT,
            "state": "s1",
            "scope": ALL_API,
        }
    )
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as browser:
        start = await browser.get(f"{base}/oauth2/authorize?{query}")
        assert start.status_code == 302
        login_url = urljoin(f"{base}/", start.headers["location"])
        assert login_url.startswith(f"{base}/login?"), "stays on the host the user typed"

        login = await browser.get(login_url)
        assert login.status_code == 200
        assert_page_headers(login)
        assert_plain_http_cookie(login, "gridshare_csrf")

        signed = await browser.post(
            login_url,
            data={
                "username": owner.email,
                "password": owner.password,
                "csrf_token": hidden(login.text, "csrf_token"),
            },
        )
        assert signed.status_code == 302, "never 307 after a credential POST"
        assert_plain_http_cookie(signed, "gridshare_session")
        back = urljoin(login_url, signed.headers["location"])
        assert back.startswith(f"{base}/oauth2/authorize?")

        consent = await browser.get(back)
        assert consent.status_code == 200
        assert_page_headers(consent)
        done = await browser.post(
            f"{base}/consent",
            data={
                "csrf_token": hidden(consent.text, "csrf_token"),
                "request": hidden(consent.text, "request"),
                "decision": "allow",
            },
        )
        assert done.status_code == 302
        callback = done.headers["location"]
        assert callback.startswith(REDIRECT + "?")
        params = query_of(callback)
        assert params["state"] == "s1" and params["code"]
        assert params["iss"] == live.base_url, "iss is the configured issuer, whatever the host"
