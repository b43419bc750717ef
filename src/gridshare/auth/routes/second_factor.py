"""`/login/code`: the sign-in's second step for homeowners who turned on an authenticator app.

Reached only from a right password (a pending session, see `auth/sessions.py`); the form's CSRF
token is bound to that pending session's id. Wrong codes count against the homeowner's factor
(`auth/totp.py`: lock after repeated failures) and against the address's sign-in rate limit.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from gridshare.auth.amr import PASSWORD_AND_OTP
from gridshare.auth.authorize_request import AuthorizationRequest, ErrorPage, RedirectError
from gridshare.auth.params import ParamError, form_params
from gridshare.auth.routes.authorize import _error_redirect, _found, _parse, _query
from gridshare.auth.routes.deps import client_address
from gridshare.auth.routes.sign_in import SECOND_FACTOR_PATH, signed_in
from gridshare.auth.sessions import PendingSignIn
from gridshare.auth.totp import TotpError
from gridshare.deps import HostedPages, HostedPagesDep
from gridshare.web.render import error_page, render

router = APIRouter(include_in_schema=False)

WRONG_CODE = "That code is not right. Try the current code, or a recovery code."
LOCKED = "Too many wrong codes. Try again later."


def _code_form(
    services: HostedPages,
    pending: PendingSignIn,
    query: bytes,
    client_name: str | None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        "login_code.html",
        status_code=status_code,
        title="Enter your code",
        client_name=client_name,
        email=pending.user.email,
        error=error,
        action=SECOND_FACTOR_PATH + ("?" + query.decode() if query else ""),
        restart="/login" + ("?" + query.decode() if query else ""),
        csrf_token=services.sessions.csrf_token(pending.raw_id),
    )


async def _request_of(
    services: HostedPages, query: bytes
) -> AuthorizationRequest | Response | None:
    """The authorization request carried along (None: a portal sign-in), or the page to show."""
    if not query:
        return None
    try:
        return await _parse(services, query)
    except ErrorPage as exc:
        return error_page(exc.message, exc.status_code)
    except RedirectError as exc:
        return _error_redirect(services, exc)


@router.get(SECOND_FACTOR_PATH)
async def code_page(request: Request, services: HostedPagesDep) -> Response:
    query = _query(request)
    req = await _request_of(services, query)
    if isinstance(req, Response):
        return req
    pending = await services.sessions.pending(request)
    if pending is None:  # expired, or never signed in with a password: start again
        return _found("/login" + ("?" + query.decode() if query else ""))
    return _code_form(services, pending, query, req.client.name if req else None)


@router.post(SECOND_FACTOR_PATH)
async def code_submit(request: Request, services: HostedPagesDep) -> Response:
    query = _query(request)
    req = await _request_of(services, query)
    if isinstance(req, Response):
        return req
    pending = await services.sessions.pending(request)
    if pending is None:
        return _found("/login" + ("?" + query.decode() if query else ""))
    client_name = req.client.name if req else None
    decision = await services.limits.hit(
        services.settings.login_rate_per_minute, "login-code", client_address(request)
    )
    if not decision.allowed:
        response = _code_form(services, pending, query, client_name, LOCKED, status_code=429)
        response.headers["Retry-After"] = str(decision.reset_after)
        return response
    try:
        form = await form_params(request)
        form.check_no_repeats()
    except ParamError as exc:
        return _code_form(
            services, pending, query, client_name, f"The form could not be read: {exc}", 400
        )
    if not services.sessions.csrf_valid(pending.raw_id, form.values.get("csrf_token")):
        return _code_form(
            services, pending, query, client_name, "This page expired. Please try again.", 403
        )
    try:
        verdict = await services.totp.verify(pending.user.id, form.values.get("code", "")[:64])
    except TotpError as exc:
        return error_page(f"Your code cannot be checked: {exc}. Contact the operator.", 500)
    if not verdict.accepted:
        if verdict.retry_after:
            response = _code_form(services, pending, query, client_name, LOCKED, 429)
            response.headers["Retry-After"] = str(verdict.retry_after)
            return response
        return _code_form(services, pending, query, client_name, WRONG_CODE, 400)
    await services.sessions.end(pending.raw_id)
    return await signed_in(services, request, pending.user, req, PASSWORD_AND_OTP)
