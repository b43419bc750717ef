"""The homeowner's optional second factor (TOTP), in-process: enrolment from /account, the
sign-in's second step, replay, throttling, recovery codes, turning it off, and `amr`.

Codes are computed with pyotp from the secret the page shows, on the app's own clock; the clock
is frozen so a test decides exactly which 30-second step it is in.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from gridshare.clock import Clock
from gridshare.storage.models import RecoveryCode, TotpFactor
from tests.support import ALL_API, Homeowner, Partner, TestServices, hidden, query_of

STEP = 30


class FrozenClock(Clock):
    """Time stands still unless the test moves it; starts 10 s into a 30-second step."""

    def __init__(self) -> None:
        super().__init__()
        now = time.time()
        self._base = now - now % STEP + 10

    def time(self) -> float:
        return self._base + self.offset_seconds


@pytest.fixture
def clock() -> Clock:
    return FrozenClock()


# -- helpers -------------------------------------------------------------------------------------


def another_browser(app: FastAPI, gs: TestServices) -> httpx.AsyncClient:
    """A second cookie jar on the same app (another browser, or an attacker's)."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 41000))
    return httpx.AsyncClient(transport=transport, base_url=gs.http.base_url)


async def portal(gs: TestServices, owner: Homeowner) -> httpx.Response:
    """Sign in to /account (password only: the factor is not on yet) and load the page."""
    signed = await gs.sign_in(owner)
    assert signed.status_code == 302 and signed.headers["location"] == "/account", signed.text
    page = await gs.http.get("/account")
    assert page.status_code == 200
    return page


async def post_form(gs: TestServices, path: str, **fields: str) -> httpx.Response:
    page = await gs.http.get("/account")
    return await gs.http.post(path, data={"csrf_token": hidden(page.text, "csrf_token"), **fields})


def shown_secret(page: str) -> str:
    match = re.search(r'<code class="totp-secret">([A-Z2-7 ]+)</code>', page)
    assert match, "the page shows no secret"
    return match.group(1).replace(" ", "")


def shown_recovery_codes(page: str) -> list[str]:
    return [html.unescape(c) for c in re.findall(r"<li><code>([a-z0-9-]+)</code></li>", page)]


def code_at(secret: str, clock: Clock, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.time(), counter_offset=steps)


async def enrol(gs: TestServices, owner: Homeowner, clock: Clock) -> tuple[str, list[str]]:
    """Turn the factor on from the portal; returns the secret and the recovery codes."""
    await portal(gs, owner)
    started = await post_form(gs, "/account/totp/setup")
    assert started.status_code == 303, started.text
    secret = shown_secret((await gs.http.get("/account")).text)
    confirmed = await post_form(gs, "/account/totp/confirm", code=code_at(secret, clock))
    assert confirmed.status_code == 200, confirmed.text
    codes = shown_recovery_codes(confirmed.text)
    return secret, codes


async def password_step(gs: TestServices, owner: Homeowner, query: str = "") -> httpx.Response:
    gs.http.cookies.clear()
    gs.signed_in_as = None
    return await gs.sign_in(owner, query)


async def code_step(gs: TestServices, location: str, code: str) -> httpx.Response:
    page = await gs.http.get(location)
    assert page.status_code == 200, page.text
    return await gs.http.post(
        location, data={"csrf_token": hidden(page.text, "csrf_token"), "code": code}
    )


async def tokens_after_second_step(
    gs: TestServices, partner: Partner, owner: Homeowner, code: str
) -> dict[str, Any]:
    query, verifier = gs.authorize_query(partner, scope="openid " + ALL_API)
    first = await password_step(gs, owner, query)
    assert first.status_code == 302 and first.headers["location"] == f"/login/code?{query}"
    done = await code_step(gs, first.headers["location"], code)
    assert done.status_code == 302, done.text
    assert done.headers["location"].startswith("/oauth2/authorize?")
    consent = await gs.http.get(done.headers["location"])
    if consent.status_code == 200:
        consent = await gs.http.post(
            "/consent",
            data={
                "csrf_token": hidden(consent.text, "csrf_token"),
                "request": hidden(consent.text, "request"),
                "decision": "allow",
            },
        )
    assert consent.status_code == 302, consent.text
    params = query_of(consent.headers["location"])
    exchanged = await gs.http.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": partner.redirect_uri,
            "code_verifier": verifier or "",
        },
        headers=partner.basic(),
    )
    assert exchanged.status_code == 200, exchanged.text
    body: dict[str, Any] = exchanged.json()
    return body


async def id_claims(gs: TestServices, id_token: str) -> dict[str, Any]:
    jwks = KeySet.import_key_set((await gs.http.get("/.well-known/jwks.json")).json())
    return dict(jwt.decode(id_token, jwks, algorithms=["RS256"]).claims)


# -- enrolment -----------------------------------------------------------------------------------


async def test_enrolment_needs_a_current_code_and_shows_recovery_codes_once(
    gs: TestServices, clock: Clock
) -> None:
    owner = await gs.homeowner()
    assert 'data-state="off"' in (await portal(gs, owner)).text
    await post_form(gs, "/account/totp/setup")
    page = (await gs.http.get("/account")).text
    assert 'data-state="pending"' in page
    assert "<svg" in page and "<script" not in page
    secret = shown_secret(page)
    assert len(secret) == 32

    wrong = await post_form(gs, "/account/totp/confirm", code="000000")
    assert wrong.status_code == 400 and "not right" in wrong.text
    assert not await gs.services.totp.enabled(owner.sub), "a wrong code must not turn it on"
    # Signing in still asks for the password only while enrolment is pending.
    assert (await password_step(gs, owner)).headers["location"] == "/account"

    confirmed = await post_form(gs, "/account/totp/confirm", code=code_at(secret, clock))
    assert confirmed.status_code == 200
    codes = shown_recovery_codes(confirmed.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert await gs.services.totp.enabled(owner.sub)

    after = (await gs.http.get("/account")).text
    assert 'data-state="on"' in after and "10 unused recovery codes left" in after
    assert secret not in after.replace(" ", "") and not any(c in after for c in codes)

    # Neither the secret nor a recovery code is stored as such.
    async with gs.services.db.read() as session:
        factor = await session.get(TotpFactor, owner.sub)
        stored = (await session.execute(select(RecoveryCode.code_hmac))).scalars().all()
    assert factor is not None and secret not in factor.secret_encrypted
    assert len(stored) == 10
    assert not any(c.replace("-", "") in s or c in s for c in codes for s in stored)


async def test_setup_again_after_confirmation_is_refused(gs: TestServices, clock: Clock) -> None:
    owner = await gs.homeowner()
    secret, _ = await enrol(gs, owner, clock)
    again = await post_form(gs, "/account/totp/setup")
    assert again.status_code == 409
    clock.advance(STEP)
    # The old secret still works: a second setup did not silently replace it.
    await password_step(gs, owner)
    location = "/login/code"
    assert (await code_step(gs, location, code_at(secret, clock))).status_code == 302


# -- the sign-in's second step -------------------------------------------------------------------


async def test_sign_in_asks_for_the_code_and_the_id_token_says_otp(
    gs: TestServices, clock: Clock
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    before = await gs.tokens(partner, owner, scope="openid " + ALL_API)
    assert (await id_claims(gs, before["id_token"]))["amr"] == ["pwd"]

    secret, _ = await enrol(gs, owner, clock)
    clock.advance(STEP)
    body = await tokens_after_second_step(gs, partner, owner, code_at(secret, clock))
    claims = await id_claims(gs, body["id_token"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["sub"] == owner.sub
    discovery = (await gs.http.get("/.well-known/openid-configuration")).json()
    assert "amr" in discovery["claims_supported"]

    # The ID token minted at refresh keeps the sign-in's methods, like auth_time.
    refreshed = await gs.refresh(partner, body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert (await id_claims(gs, refreshed.json()["id_token"]))["amr"] == ["pwd", "otp", "mfa"]


async def test_the_password_alone_does_not_sign_in(gs: TestServices, clock: Clock) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    await enrol(gs, owner, clock)
    query, _ = gs.authorize_query(partner)
    first = await password_step(gs, owner, query)
    assert first.headers["location"] == f"/login/code?{query}"
    # The pending session is not a sign-in: authorize sends the browser back to the login page,
    # the portal refuses it, and prompt=none says login_required.
    authorize = await gs.http.get(f"/oauth2/authorize?{query}")
    assert authorize.status_code == 302 and authorize.headers["location"].startswith("/login?")
    assert (await gs.http.get("/account")).headers["location"] == "/login"
    silent = await gs.http.get(f"/oauth2/authorize?{query}&prompt=none")
    assert query_of(silent.headers["location"])["error"] == "login_required"


async def test_the_code_form_is_bound_to_the_browser(
    gs: TestServices, clock: Clock, app: FastAPI
) -> None:
    owner = await gs.homeowner()
    secret, _ = await enrol(gs, owner, clock)
    clock.advance(STEP)
    await password_step(gs, owner)
    page = await gs.http.get("/login/code")
    token = hidden(page.text, "csrf_token")
    code = code_at(secret, clock)
    # Another browser (no pending cookie) gets sent to the password page, code or not.
    other = another_browser(app, gs)
    async with other:
        stolen = await other.post("/login/code", data={"csrf_token": token, "code": code})
    assert stolen.status_code == 302 and stolen.headers["location"] == "/login"
    # The right browser without the form's CSRF token is refused.
    forged = await gs.http.post("/login/code", data={"csrf_token": "x" * 64, "code": code})
    assert forged.status_code == 403
    assert (await gs.http.get("/account")).status_code == 303
    # The pending state is short-lived: five minutes later the password is asked again.
    clock.advance(301)
    late = await gs.http.post("/login/code", data={"csrf_token": token, "code": code})
    assert late.status_code == 302 and late.headers["location"] == "/login"


async def test_a_code_works_once(gs: TestServices, clock: Clock) -> None:
    owner = await gs.homeowner()
    secret, _ = await enrol(gs, owner, clock)
    # The code that turned the factor on is spent: same step, same code, refused.
    await password_step(gs, owner)
    replay = await code_step(gs, "/login/code", code_at(secret, clock))
    assert replay.status_code == 400
    # So is the previous step's code (older than the one used).
    previous = await gs.http.post(
        "/login/code",
        data={
            "csrf_token": hidden(replay.text, "csrf_token"),
            "code": code_at(secret, clock, -1),
        },
    )
    assert previous.status_code == 400
    # The next step's code (clock drift, ±1 step) is accepted, once.
    ahead = code_at(secret, clock, 1)
    ok = await gs.http.post(
        "/login/code", data={"csrf_token": hidden(replay.text, "csrf_token"), "code": ahead}
    )
    assert ok.status_code == 302 and ok.headers["location"] == "/account"
    await password_step(gs, owner)
    assert (await code_step(gs, "/login/code", ahead)).status_code == 400
    # Two steps ahead is outside the window.
    assert (await code_step(gs, "/login/code", code_at(secret, clock, 2))).status_code == 400


async def test_concurrent_submissions_of_one_code_sign_in_once(
    gs: TestServices, clock: Clock, app: FastAPI
) -> None:
    owner = await gs.homeowner()
    secret, _ = await enrol(gs, owner, clock)
    clock.advance(STEP)
    code = code_at(secret, clock)
    browsers = []
    for _ in range(6):
        browser = another_browser(app, gs)
        login = await browser.get("/login")
        signed = await browser.post(
            "/login",
            data={
                "username": owner.email,
                "password": owner.password,
                "csrf_token": hidden(login.text, "csrf_token"),
            },
        )
        assert signed.headers["location"] == "/login/code"
        form = await browser.get("/login/code")
        browsers.append((browser, hidden(form.text, "csrf_token")))
    try:
        answers = await asyncio.gather(
            *(b.post("/login/code", data={"csrf_token": t, "code": code}) for b, t in browsers)
        )
    finally:
        for browser, _ in browsers:
            await browser.aclose()
    assert sorted(a.status_code for a in answers) == [302, 400, 400, 400, 400, 400]


async def test_wrong_codes_lock_the_factor(gs: TestServices, clock: Clock) -> None:
    owner = await gs.homeowner()
    secret, _ = await enrol(gs, owner, clock)
    clock.advance(STEP)
    await password_step(gs, owner)
    page = await gs.http.get("/login/code")
    token = hidden(page.text, "csrf_token")
    right = code_at(secret, clock)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    threshold = gs.services.settings.lockout_threshold
    for _ in range(threshold):
        answer = await gs.http.post("/login/code", data={"csrf_token": token, "code": wrong})
        assert answer.status_code == 400
    # Locked now: even the right code is refused, and a fresh password step does not reset it.
    locked = await gs.http.post("/login/code", data={"csrf_token": token, "code": right})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    await password_step(gs, owner)
    again = await code_step(gs, "/login/code", right)
    assert again.status_code == 429
    # The lock doubles with each further failure (1 s, then 2 s): a guesser slows to a crawl.
    clock.advance(2)
    page = await gs.http.get("/login/code")
    token = hidden(page.text, "csrf_token")
    assert (
        await gs.http.post("/login/code", data={"csrf_token": token, "code": wrong})
    ).status_code == 400
    assert (
        await gs.http.post("/login/code", data={"csrf_token": token, "code": right})
    ).status_code == 429
    clock.advance(3)
    ok = await gs.http.post("/login/code", data={"csrf_token": token, "code": right})
    assert ok.status_code == 302, ok.text


# -- recovery codes --------------------------------------------------------------------------------


async def test_a_recovery_code_signs_in_once(gs: TestServices, clock: Clock) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    _, codes = await enrol(gs, owner, clock)
    body = await tokens_after_second_step(gs, partner, owner, codes[3].upper())
    assert (await id_claims(gs, body["id_token"]))["amr"] == ["pwd", "otp", "mfa"]
    await password_step(gs, owner)
    assert (await code_step(gs, "/login/code", codes[3])).status_code == 400
    assert (await code_step(gs, "/login/code", codes[4])).status_code == 302
    assert "8 unused recovery codes left" in (await gs.http.get("/account")).text


async def test_new_recovery_codes_replace_the_old_ones(gs: TestServices, clock: Clock) -> None:
    owner = await gs.homeowner()
    _, old = await enrol(gs, owner, clock)
    refused = await post_form(gs, "/account/totp/recovery-codes", password="not it")
    assert refused.status_code == 400
    fresh = await post_form(gs, "/account/totp/recovery-codes", password=owner.password)
    assert fresh.status_code == 200
    new = shown_recovery_codes(fresh.text)
    assert len(new) == 10 and not set(new) & set(old)
    await password_step(gs, owner)
    assert (await code_step(gs, "/login/code", old[0])).status_code == 400
    assert (await code_step(gs, "/login/code", new[0])).status_code == 302


# -- turning it off --------------------------------------------------------------------------------


async def test_turning_off_needs_a_code_or_the_password(gs: TestServices, clock: Clock) -> None:
    owner = await gs.homeowner()
    secret, _ = await enrol(gs, owner, clock)
    assert (await post_form(gs, "/account/totp/disable")).status_code == 400
    assert (await post_form(gs, "/account/totp/disable", password="wrong")).status_code == 400
    assert (await post_form(gs, "/account/totp/disable", code="123456")).status_code == 400
    assert await gs.services.totp.enabled(owner.sub)
    clock.advance(STEP)
    off = await post_form(gs, "/account/totp/disable", code=code_at(secret, clock))
    assert off.status_code == 303
    assert not await gs.services.totp.enabled(owner.sub)
    assert 'data-state="off"' in (await gs.http.get("/account")).text
    signed = await password_step(gs, owner)
    assert signed.headers["location"] == "/account"
    async with gs.services.db.read() as session:
        assert (await session.execute(select(RecoveryCode))).first() is None


async def test_turning_off_with_the_password(gs: TestServices, clock: Clock) -> None:
    owner = await gs.homeowner()
    await enrol(gs, owner, clock)
    off = await post_form(gs, "/account/totp/disable", password=owner.password)
    assert off.status_code == 303
    assert not await gs.services.totp.enabled(owner.sub)


async def test_portal_forms_need_a_signed_in_session_and_csrf(
    gs: TestServices, clock: Clock
) -> None:
    owner = await gs.homeowner()
    await enrol(gs, owner, clock)
    forged = await gs.http.post(
        "/account/totp/disable", data={"csrf_token": "x" * 64, "password": owner.password}
    )
    assert forged.status_code == 403
    gs.http.cookies.clear()
    anonymous = await gs.http.post("/account/totp/setup", data={"csrf_token": "x"})
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
    assert await gs.services.totp.enabled(owner.sub)
