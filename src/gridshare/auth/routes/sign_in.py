"""The end of a hosted-UI sign-in: the session cookie, or first the second factor's page.

One place decides what a right password leads to, so the password form and the code form finish
a sign-in the same way (a fresh session id each time: no fixation).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gridshare.auth.amr import PASSWORD_ONLY
from gridshare.auth.authorize_request import AuthorizationRequest
from gridshare.auth.sessions import (
    SECOND_FACTOR_TTL_SECONDS,
    SESSION_COOKIE,
    read_cookie,
    set_cookie,
)
from gridshare.deps import HostedPages
from gridshare.storage.models import User

SECOND_FACTOR_PATH = "/login/code"


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=302, headers={"Cache-Control": "no-store"})


async def password_accepted(
    services: HostedPages,
    request: Request,
    user: User,
    query: bytes,
    req: AuthorizationRequest | None,
) -> Response:
    """The password was right: sign in, or ask for the second factor first if it is on."""
    await services.sessions.end(read_cookie(request, SESSION_COOKIE))
    if await services.totp.enabled(user.id):
        raw = await services.sessions.create_pending(user)
        response = _redirect(SECOND_FACTOR_PATH + ("?" + query.decode() if query else ""))
        set_cookie(request, response, SESSION_COOKIE, raw, max_age=SECOND_FACTOR_TTL_SECONDS)
        return response
    return await signed_in(services, request, user, req, PASSWORD_ONLY)


async def signed_in(
    services: HostedPages,
    request: Request,
    user: User,
    req: AuthorizationRequest | None,
    amr: tuple[str, ...],
) -> Response:
    """A new session, then back to the authorization request (or to the portal)."""
    raw = await services.sessions.create(user, amr)
    target = "/oauth2/authorize?" + req.query_without_prompt() if req else "/account"
    response = _redirect(target)
    set_cookie(
        request, response, SESSION_COOKIE, raw, max_age=services.settings.session_ttl_seconds
    )
    return response
