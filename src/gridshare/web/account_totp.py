"""The portal's two-step verification forms: set up, confirm, new recovery codes, turn off.

Every form is a signed-in, CSRF-checked post (`account.checked_form`). Turning the factor off or
replacing the recovery codes asks again for a current code or the password, counted against the
same lock as sign-in codes, so a borrowed signed-in browser cannot quietly remove the factor.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gridshare.auth.params import Params
from gridshare.auth.sessions import ActiveSession
from gridshare.auth.totp import TotpError, Verdict
from gridshare.auth.users import MAX_PASSWORD_LENGTH
from gridshare.deps import Portal, PortalServices
from gridshare.storage.models import User
from gridshare.web.account import account_page, checked_form
from gridshare.web.render import render

router = APIRouter(include_in_schema=False)

WRONG_CODE = "That code is not right. Enter the code your app shows now."
WRONG_REAUTH = "Enter a current code from your app, or your password."
LOCKED = "Too many wrong attempts. Try again later."


def _back_to_section() -> RedirectResponse:
    return RedirectResponse(
        "/account#two-step", status_code=303, headers={"Cache-Control": "no-store"}
    )


def _recovery_page(codes: list[str], intro: str) -> Response:
    return render("totp_recovery_codes.html", title="Your recovery codes", codes=codes, intro=intro)


async def _reauthenticated(portal: PortalServices, user: User, form: Params) -> Verdict:
    """A current code (or recovery code), else the password."""
    code = form.values.get("code", "").strip()
    if code:
        return await portal.totp.verify(user.id, code[:64])
    password = form.values.get("password", "")
    if password:
        return await portal.totp.verify_password(
            user, password[:MAX_PASSWORD_LENGTH], portal.users.passwords
        )
    return Verdict(False)


async def _refused(
    portal: PortalServices, session: ActiveSession, verdict: Verdict, wrong: str
) -> Response:
    """The portal again, saying why: 400 for a wrong code, 429 + Retry-After while locked."""
    if not verdict.retry_after:
        return await account_page(portal, session, totp_notice=wrong, status_code=400)
    response = await account_page(portal, session, totp_notice=LOCKED, status_code=429)
    response.headers["Retry-After"] = str(verdict.retry_after)
    return response


@router.post("/account/totp/setup")
async def setup(request: Request, portal: Portal) -> Response:
    checked = await checked_form(request, portal)
    if isinstance(checked, Response):
        return checked
    session, _ = checked
    try:
        await portal.totp.begin(session.user)
    except TotpError as exc:
        return await account_page(portal, session, totp_notice=str(exc), status_code=409)
    return _back_to_section()


@router.post("/account/totp/confirm")
async def confirm(request: Request, portal: Portal) -> Response:
    checked = await checked_form(request, portal)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    try:
        verdict, codes = await portal.totp.confirm(
            session.user.id, form.values.get("code", "")[:64]
        )
    except TotpError as exc:
        return await account_page(portal, session, totp_notice=str(exc), status_code=409)
    if not verdict.accepted:
        return await _refused(portal, session, verdict, WRONG_CODE)
    return _recovery_page(codes, "Two-step verification is on.")


@router.post("/account/totp/recovery-codes")
async def new_recovery_codes(request: Request, portal: Portal) -> Response:
    checked = await checked_form(request, portal)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    verdict = await _reauthenticated(portal, session.user, form)
    if not verdict.accepted:
        return await _refused(portal, session, verdict, WRONG_REAUTH)
    try:
        codes = await portal.totp.regenerate_recovery_codes(session.user.id)
    except TotpError as exc:
        return await account_page(portal, session, totp_notice=str(exc), status_code=409)
    return _recovery_page(codes, "Your earlier recovery codes no longer work.")


@router.post("/account/totp/disable")
async def disable(request: Request, portal: Portal) -> Response:
    checked = await checked_form(request, portal)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    verdict = await _reauthenticated(portal, session.user, form)
    if not verdict.accepted:
        return await _refused(portal, session, verdict, WRONG_REAUTH)
    await portal.totp.disable(session.user.id)
    return _back_to_section()
