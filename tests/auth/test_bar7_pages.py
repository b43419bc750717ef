"""Security bar 7: every HTML page sends CSP (frame-ancestors 'none', no third-party sources),
X-Frame-Options: DENY and Referrer-Policy: no-referrer; cookies are HttpOnly, SameSite=Lax and
Secure over HTTPS; sign-in mints a new session id; no 307 after a credential POST; every form
carries a CSRF token that is checked."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from gridshare.auth.sessions import CSRF_COOKIE, SESSION_COOKIE
from tests.auth.bar_support import (
    api,
    client_at,
    consent_form,
    consent_page,
    cookie_attributes,
    cookie_value,
    set_cookies,
)
from tests.support import Homeowner, TestServices, hidden

ALLOWED_SOURCES = {"'self'", "'none'", "data:"}


def assert_page_headers(response: httpx.Response, what: str) -> None:
    assert response.headers["content-type"].startswith("text/html"), what
    csp = response.headers.get("content-security-policy")
    assert csp, f"{what}: no Content-Security-Policy"
    directives = {}
    for part in csp.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    assert directives.get("frame-ancestors") == ["'none'"], what
    for name, sources in directives.items():
        third_party = [s for s in sources if s not in ALLOWED_SOURCES]
        assert not third_party, f"{what}: {name} allows {third_party}"
    assert response.headers.get("x-frame-options") == "DENY", what
    assert response.headers.get("referrer-policy") == "no-referrer", what


async def _signed_in(gs: TestServices, owner: Homeowner, http: httpx.AsyncClient) -> None:
    page = await http.get("/login")
    signed = await http.post(
        "/login",
        data={
            "username": owner.email,
            "password": owner.password,
            "csrf_token": hidden(page.text, "csrf_token"),
        },
    )
    assert signed.status_code == 302, signed.text


async def test_every_html_page_carries_the_security_headers(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    pages: dict[str, httpx.Response] = {}
    pages["login"] = await gs.http.get("/login")
    query, _ = gs.authorize_query(partner)
    pages["login for a partner"] = await gs.http.get(f"/login?{query}")
    pages["login error"] = await gs.http.post(
        "/login",
        data={
            "username": owner.email,
            "password": "nope-nope",
            "csrf_token": hidden(pages["login"].text, "csrf_token"),
        },
    )
    pages["login csrf failure"] = await gs.http.post(
        "/login", data={"username": owner.email, "password": owner.password}
    )
    pages["error page"] = await gs.http.get("/oauth2/authorize?client_id=unknown")
    pages["logout error page"] = await gs.http.get("/logout?client_id=unknown")
    pages["not found"] = await gs.http.get("/no/such/page")
    await _signed_in(gs, owner, gs.http)
    pages["consent"] = await consent_page(gs, query)
    pages["consent csrf failure"] = await gs.http.post(
        "/consent", data={**consent_form(pages["consent"]), "csrf_token": "forged"}
    )
    pages["account"] = await gs.http.get("/account")
    pages["signed out"] = await gs.http.post(
        "/account/signout", data={"csrf_token": hidden(pages["account"].text, "csrf_token")}
    )
    assert "Signed out" in pages["signed out"].text
    for what, response in pages.items():
        assert_page_headers(response, what)


async def test_cookies_are_httponly_samesite_lax_and_not_secure_over_http(
    gs: TestServices,
) -> None:
    owner = await gs.homeowner()
    page = await gs.http.get("/login")
    signed = await gs.http.post(
        "/login",
        data={
            "username": owner.email,
            "password": owner.password,
            "csrf_token": hidden(page.text, "csrf_token"),
        },
    )
    cookies = set_cookies(page) | set_cookies(signed)
    assert set(cookies) >= {CSRF_COOKIE, SESSION_COOKIE}
    for name, line in cookies.items():
        attrs = cookie_attributes(line)
        assert "httponly" in attrs, name
        assert attrs.get("samesite", "").lower() == "lax", name
        assert "secure" not in attrs, f"{name}: a Secure cookie would be lost over plain http"
        assert "domain" not in attrs, f"{name} is host-only"
        assert attrs.get("path") == "/", name
    # And the browser keeps working over http: the cookies come back and the session holds.
    assert (await gs.http.get("/account")).status_code == 200


async def test_cookies_are_secure_over_https(gs: TestServices, app: FastAPI) -> None:
    owner = await gs.homeowner()
    async with client_at(app, base_url="https://testserver") as browser:
        page = await browser.get("/login")
        signed = await browser.post(
            "/login",
            data={
                "username": owner.email,
                "password": owner.password,
                "csrf_token": hidden(page.text, "csrf_token"),
            },
        )
        assert signed.status_code == 302
        account = await browser.get("/account")
        assert account.status_code == 200
        signed_out = await browser.post(
            "/account/signout", data={"csrf_token": hidden(account.text, "csrf_token")}
        )
    cookies = [
        *page.headers.get_list("set-cookie"),
        *signed.headers.get_list("set-cookie"),
        *signed_out.headers.get_list("set-cookie"),
    ]
    assert len(cookies) >= 3
    for line in cookies:
        attrs = cookie_attributes(line)
        assert "secure" in attrs, line
        assert "httponly" in attrs and attrs.get("samesite", "").lower() == "lax", line


async def test_sign_in_mints_a_new_session_id_and_ends_the_previous_one(
    gs: TestServices, app: FastAPI
) -> None:
    owner = await gs.homeowner()
    await _signed_in(gs, owner, gs.http)
    old = gs.http.cookies[SESSION_COOKIE]
    assert (await gs.http.get("/account")).status_code == 200

    page = await gs.http.get("/login")
    again = await gs.http.post(
        "/login",
        data={
            "username": owner.email,
            "password": owner.password,
            "csrf_token": hidden(page.text, "csrf_token"),
        },
    )
    assert again.status_code == 302
    new = cookie_value(set_cookies(again)[SESSION_COOKIE])
    assert new != old

    async with client_at(app) as stale:
        stale.cookies.set(SESSION_COOKIE, old)
        response = await stale.get("/account")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    async with client_at(app) as fresh:
        fresh.cookies.set(SESSION_COOKIE, new)
        assert (await fresh.get("/account")).status_code == 200


async def test_a_planted_session_cookie_never_becomes_the_victims_session(
    gs: TestServices, app: FastAPI
) -> None:
    """Session fixation: the attacker signs in to their own account and plants that cookie."""
    attacker = await gs.homeowner()
    victim = await gs.homeowner()
    async with client_at(app, "198.51.100.66") as evil:
        await _signed_in(gs, attacker, evil)
        planted = evil.cookies[SESSION_COOKIE]
    async with client_at(app, "198.51.100.67") as browser:
        page = await browser.get("/login")
        csrf_cookie = cookie_value(set_cookies(page)[CSRF_COOKIE])
        signed = await browser.post(
            "/login",
            data={
                "username": victim.email,
                "password": victim.password,
                "csrf_token": hidden(page.text, "csrf_token"),
            },
            headers={"Cookie": f"{CSRF_COOKIE}={csrf_cookie}; {SESSION_COOKIE}={planted}"},
        )
    assert signed.status_code == 302
    assert cookie_value(set_cookies(signed)[SESSION_COOKIE]) != planted
    async with client_at(app, "198.51.100.66") as evil:
        evil.cookies.set(SESSION_COOKIE, planted)
        response = await evil.get("/account")
    assert victim.email not in response.text
    assert response.status_code == 303


async def test_credential_post_answers_302_never_307(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    query, _ = gs.authorize_query(partner)
    for q in (query, ""):
        gs.http.cookies.clear()
        signed = await gs.sign_in(owner, q)
        assert signed.status_code == 302, signed.status_code
    consent = await consent_page(gs, query)
    decided = await gs.http.post("/consent", data=consent_form(consent))
    assert decided.status_code == 302


async def test_login_post_without_a_valid_csrf_token_is_refused(
    gs: TestServices, app: FastAPI
) -> None:
    owner = await gs.homeowner()
    page = await gs.http.get("/login")
    token = hidden(page.text, "csrf_token")
    creds = {"username": owner.email, "password": owner.password}
    for form in (creds, creds | {"csrf_token": "0" * len(token)}, creds | {"csrf_token": ""}):
        refused = await gs.http.post("/login", data=form)
        assert refused.status_code == 403, form
        assert SESSION_COOKIE not in set_cookies(refused)
        assert "location" not in refused.headers
    # A token lifted from another browser is bound to that browser's cookie.
    async with client_at(app, "198.51.100.8") as other:
        await other.get("/login")
        refused = await other.post("/login", data=creds | {"csrf_token": token})
    assert refused.status_code == 403
    # Without the CSRF cookie at all, no token is valid.
    async with client_at(app, "198.51.100.9") as cookieless:
        refused = await cookieless.post("/login", data=creds | {"csrf_token": token})
    assert refused.status_code == 403
    accepted = await gs.http.post("/login", data=creds | {"csrf_token": token})
    assert accepted.status_code == 302


async def test_consent_post_without_a_valid_csrf_token_is_refused(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    login = await gs.http.get("/login")
    login_token = hidden(login.text, "csrf_token")
    await _signed_in(gs, owner, gs.http)
    query, _ = gs.authorize_query(partner)
    page = await consent_page(gs, query)
    form = consent_form(page)
    for token in (None, "", "f" * 64, login_token):
        forged = {k: v for k, v in form.items() if k != "csrf_token"}
        if token is not None:
            forged["csrf_token"] = token
        refused = await gs.http.post("/consent", data=forged)
        assert refused.status_code == 403, token
        assert "location" not in refused.headers
    assert (
        await gs.services.grants.consented_grant(
            owner.sub, partner.client_id, ["lunar/device.read"]
        )
        is None
    ), "a refused consent form records nothing"
    accepted = await gs.http.post("/consent", data=form)
    assert accepted.status_code == 302 and "code=" in accepted.headers["location"]


@pytest.mark.parametrize("action", ["revoke", "signout"])
async def test_account_forms_without_a_valid_csrf_token_are_refused(
    gs: TestServices, action: str
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    tokens = await gs.tokens(partner, owner)
    account = await gs.http.get("/account")
    assert account.status_code == 200
    real = hidden(account.text, "csrf_token")
    if action == "revoke":
        match = re.search(r'action="(/account/connections/[^"/]+/revoke)"', account.text)
        assert match
        path = match.group(1)
    else:
        path = "/account/signout"
    for form in ({"nothing": "here"}, {"csrf_token": "0" * 64}):
        refused = await gs.http.post(path, data=form)
        assert refused.status_code == 403, form
    assert (await api(gs.http, tokens["access_token"])).status_code == 200, "grant still live"
    assert (await gs.http.get("/account")).status_code == 200, "session still live"

    done = await gs.http.post(path, data={"csrf_token": real})
    assert done.status_code in (200, 303)
    if action == "revoke":
        assert (await api(gs.http, tokens["access_token"])).status_code == 401
    else:
        assert (await gs.http.get("/account")).status_code == 303
