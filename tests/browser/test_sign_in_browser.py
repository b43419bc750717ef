"""One real browser through the hosted UI, over plain http on 127.0.0.1.

Headless Chromium (Debian's, never a downloaded one) signs in, reads the consent page, allows,
and is sent to the partner's loopback redirect URI (where nothing listens: we catch the request).
The code it carries is exchanged to prove it is real; then the homeowner disconnects the partner
from /account. This is where cookie bugs show (Secure over http, SameSite, 127.0.0.1 vs localhost).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.e2e.live import LiveServer, device_entries, free_port
from tests.support import query_of

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(os.environ.get("GRIDSHARE_SCREENSHOT_DIR", "/tmp")) / "gridshare-consent.png"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]

sync_api = pytest.importorskip("playwright.sync_api")


def test_sign_in_consent_callback_and_disconnect(live_server: LiveServer, tmp_path: Path) -> None:
    live = live_server
    owner = live.create_user()
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    partner = live.create_client(redirect, name="Acme Energy")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": partner.client_id,
            "redirect_uri": redirect,
            "state": "st-8fK2",
            "scope": "lunar/device.read lunar/plan.read",
        }
    )
    authorize_url = f"{live.base_url}/oauth2/authorize?{query}"

    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            page = context.new_page()
            page.set_default_timeout(20_000)
            expect = sync_api.expect

            # Sign in.
            page.goto(authorize_url)
            assert page.url.startswith(f"{live.base_url}/login?")
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            expect(page.get_by_text("to continue to Acme Energy")).to_be_visible()
            page.get_by_label("Email").fill(owner.email)
            page.get_by_label("Password").fill(owner.password)
            page.get_by_role("button", name="Sign in").click()

            # Consent: the partner by name, the scopes in plain words.
            expect(page.get_by_role("heading", name="Allow Acme Energy?")).to_be_visible()
            assert page.url.startswith(f"{live.base_url}/oauth2/authorize?")
            scopes = page.locator("ul.scopes li .what")
            expect(scopes).to_have_text(
                [
                    "See your sites, devices and their telemetry, and read their operation mode",
                    "Read the plans your devices follow",
                ]
            )
            expect(page.get_by_text(f"Signed in as {owner.email}")).to_be_visible()
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # Allow: the browser is sent to the partner's redirect URI (nothing listens there).
            with page.expect_request(lambda r: r.url.startswith(redirect + "?")) as caught:
                page.get_by_role("button", name="Allow").click(no_wait_after=True)
            callback = caught.value
            assert callback.is_navigation_request()
            assert callback.redirected_from is not None
            assert callback.redirected_from.url == f"{live.base_url}/consent"
            params = query_of(callback.url)
            assert params["state"] == "st-8fK2"
            assert params["iss"] == live.base_url

            # The code is real: the partner exchanges it and calls the API.
            basic = base64.b64encode(f"{partner.client_id}:{partner.secret}".encode()).decode()
            with httpx.Client(base_url=live.base_url) as http:
                token = http.post(
                    "/oauth2/token",
                    data={
                        "grant_type": "authorization_code",
                        "code": params["code"],
                        "redirect_uri": redirect,
                    },
                    headers={"Authorization": f"Basic {basic}"},
                )
                assert token.status_code == 200, token.text
                access = token.json()["access_token"]
                bearer = {"Authorization": f"Bearer {access}"}
                device_entries(http.get("/api/v1/devices", headers=bearer))

            # The account page lists the partner; Disconnect removes it.
            page.goto(f"{live.base_url}/account")
            row = page.locator(f'tr[data-client-id="{partner.client_id}"]')
            expect(row.locator(".partner")).to_have_text("Acme Energy")
            expect(row.get_by_text("Read the plans your devices follow")).to_be_visible()
            row.get_by_role("button", name="Disconnect").click()
            expect(page.get_by_text("No partner is connected to your account.")).to_be_visible()
            expect(row).to_have_count(0)
            assert page.url == f"{live.base_url}/account"

            # Disconnecting withdrew consent: the partner's tokens stop working.
            with httpx.Client(base_url=live.base_url) as http:
                assert http.get("/api/v1/devices", headers=bearer).status_code == 401
        finally:
            context.close()
