"""/docs in a real browser: Swagger UI (served from our origin) logs in through our own
authorization server with PKCE, then "Try it out" calls the API with the token it got."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.test_sign_in_browser import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.live import LiveServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]

sync_api = pytest.importorskip("playwright.sync_api")


def test_swagger_ui_logs_in_with_pkce_and_tries_a_call(
    live_server: LiveServer, tmp_path: Path
) -> None:
    live = live_server
    owner = live.create_user()
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = context.new_page()
            page.set_default_timeout(20_000)
            expect = sync_api.expect
            foreign: list[str] = []
            page.on(
                "request",
                lambda r: None if r.url.startswith(live.base_url) else foreign.append(r.url),
            )
            page.goto(f"{live.base_url}/docs")
            page.locator("button.btn.authorize").first.click()
            dialog = page.locator(".dialog-ux")
            for checkbox in dialog.locator("input[type=checkbox]").all():
                checkbox.check()
            with context.expect_page() as popup_info:
                dialog.locator("button.modal-btn.authorize").first.click()
            popup = popup_info.value
            popup.set_default_timeout(20_000)
            popup.get_by_label("Email").fill(owner.email)
            popup.get_by_label("Password").fill(owner.password)
            popup.get_by_role("button", name="Sign in").click()
            expect(
                popup.get_by_role("heading", name="Allow Gridshare API docs (Swagger UI)?")
            ).to_be_visible()
            popup.get_by_role("button", name="Allow").click()
            # The popup hands the code to Swagger UI, which exchanges it (PKCE) and closes it.
            expect(dialog.locator("button", has_text="Logout").first).to_be_visible()
            assert popup.is_closed()
            dialog.locator("button", has_text="Close").first.click()

            operation = page.locator("#operations-sites-list_sites_api_v2_sites_get")
            operation.locator(".opblock-summary").click()
            operation.get_by_role("button", name="Try it out").click()
            with page.expect_response(lambda r: r.url.endswith("/api/v2/sites")) as answer:
                operation.get_by_role("button", name="Execute").click()
            response = answer.value
            assert response.status == 200, response.text()
            assert response.json()["entries"] == [{"siteId": s} for s in owner.sites]
            assert response.request.headers["authorization"].startswith("Bearer ey")
            assert foreign == [], f"/docs fetched third-party resources: {foreign}"
        finally:
            context.close()
