"""The second factor in a real browser: enrol from /account, then sign in to a partner with it.

Headless Chromium (Debian's) signs in to the portal, sets up an authenticator app by reading the
key off the page (the QR code is inline SVG, under the page's strict CSP), confirms with a code
computed by pyotp, keeps the recovery codes, and signs out. A partner's authorization-code flow
then needs the code after the password; the exchanged ID token says `amr: ["pwd","otp","mfa"]`.
Finally a sign-in with a recovery code instead of the app.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pyotp
import pytest

from tests.browser.test_sign_in_browser import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.live import LiveServer, free_port
from tests.live import Partner
from tests.support import query_of

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]

sync_api = pytest.importorskip("playwright.sync_api")


def _exchange(live: LiveServer, partner: Partner, callback_url: str) -> dict[str, Any]:
    params = query_of(callback_url)
    assert params["state"] == "st-2fa"
    basic = base64.b64encode(f"{partner.client_id}:{partner.secret}".encode()).decode()
    with httpx.Client(base_url=live.base_url) as http:
        token = http.post(
            "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": partner.redirect_uri,
            },
            headers={"Authorization": f"Basic {basic}"},
        )
    assert token.status_code == 200, token.text
    body: dict[str, Any] = token.json()
    return body


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def test_enrol_then_sign_in_with_a_code_and_with_a_recovery_code(
    live_server: LiveServer, tmp_path: Path
) -> None:
    live = live_server
    owner = live.create_user()
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    partner = live.create_client(redirect, name="Acme Energy")
    query = {
        "response_type": "code",
        "client_id": partner.client_id,
        "redirect_uri": redirect,
        "state": "st-2fa",
        "scope": "openid lunar/device.read",
    }
    authorize_url = f"{live.base_url}/oauth2/authorize?{urlencode(query)}"

    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = context.new_page()
            page.set_default_timeout(20_000)
            expect = sync_api.expect
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))

            # Sign in to the portal (password only: no factor yet).
            page.goto(f"{live.base_url}/account")
            page.get_by_label("Email").fill(owner.email)
            page.get_by_label("Password").fill(owner.password)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Your account")).to_be_visible()
            expect(page.get_by_text("Two-step verification is off")).to_be_visible()

            # Set up: a QR code drawn on the page, and the key as text.
            page.get_by_role("button", name="Set up an authenticator app").click()
            qr = page.locator("figure.qr svg")
            expect(qr).to_be_visible()
            box = qr.bounding_box()
            assert box is not None and box["width"] >= 100 and box["height"] >= 100
            secret = page.locator("code.totp-secret").inner_text().replace(" ", "")
            totp = pyotp.TOTP(secret)

            # Confirm with a current code; the recovery codes are shown once.
            page.get_by_label("Enter the 6-digit code the app shows").fill(totp.now())
            page.get_by_role("button", name="Turn on").click()
            expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
            recovery = page.locator("ul.recovery-codes code").all_inner_texts()
            assert len(recovery) == 10
            page.get_by_role("link", name="Back to your account").click()
            expect(page.get_by_text("Two-step verification is on")).to_be_visible()
            expect(page.get_by_text("10 unused recovery codes left")).to_be_visible()
            assert not [m for m in console if "Content Security Policy" in m], console

            # Sign out.
            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_role("heading", name="Signed out")).to_be_visible()

            # The partner's flow: password, then the code, then consent.
            page.goto(authorize_url)
            page.get_by_label("Email").fill(owner.email)
            page.get_by_label("Password").fill(owner.password)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
            assert page.url.startswith(f"{live.base_url}/login/code?")
            expect(page.get_by_text("to continue to Acme Energy")).to_be_visible()
            # A wrong code is refused and the page asks again.
            page.get_by_label("Code").fill("000000" if totp.now() != "000000" else "111111")
            page.get_by_role("button", name="Verify").click()
            expect(page.get_by_role("alert")).to_contain_text("That code is not right")
            # The next step's code: never the one spent on confirming (replay), and within the
            # ±1 step window whatever second this runs.
            page.get_by_label("Code").fill(totp.at(time.time(), counter_offset=1))
            page.get_by_role("button", name="Verify").click()
            expect(page.get_by_role("heading", name="Allow Acme Energy?")).to_be_visible()
            with page.expect_request(lambda r: r.url.startswith(redirect + "?")) as caught:
                page.get_by_role("button", name="Allow").click(no_wait_after=True)
            tokens = _exchange(live, partner, caught.value.url)
            id_claims = _claims(tokens["id_token"])
            assert id_claims["amr"] == ["pwd", "otp", "mfa"]
            assert id_claims["sub"] == owner.sub

            # Again with prompt=login, this time with a recovery code instead of the app.
            page.goto(authorize_url + "&prompt=login")
            page.get_by_label("Email").fill(owner.email)
            page.get_by_label("Password").fill(owner.password)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
            page.get_by_label("Code").fill(recovery[0])
            with page.expect_request(lambda r: r.url.startswith(redirect + "?")) as caught:
                page.get_by_role("button", name="Verify").click(no_wait_after=True)
            again = _exchange(live, partner, caught.value.url)
            assert _claims(again["id_token"])["amr"] == ["pwd", "otp", "mfa"]

            page.goto(f"{live.base_url}/account")
            expect(page.get_by_text("9 unused recovery codes left")).to_be_visible()
            assert not [m for m in console if "Content Security Policy" in m], console
        finally:
            context.close()
