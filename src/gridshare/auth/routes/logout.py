"""`/logout`: end the hosted-UI session, then go to a registered sign-out URL or sign in again.

It does not revoke refresh tokens (Cognito's contract): partners revoke at `/oauth2/revoke`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gridshare.auth import redirects
from gridshare.auth.params import ParamError, query_params
from gridshare.auth.sessions import SESSION_COOKIE, clear_cookie, read_cookie
from gridshare.deps import Clients, Sessions
from gridshare.web.render import error_page

router = APIRouter(include_in_schema=False)


@router.get("/logout")
async def logout(request: Request, clients: Clients, sessions: Sessions) -> Response:
    try:
        params = query_params(request)
        params.check_no_repeats()
    except ParamError as exc:
        return error_page(f"The sign-out link is malformed: {exc}")
    client_id = params.values.get("client_id")
    client = await clients.get(client_id) if client_id else None
    if client is None or client.disabled:
        return error_page("The application that sent you here is not registered.")
    logout_uri = params.values.get("logout_uri")
    redirect_uri = params.values.get("redirect_uri")
    if logout_uri is not None:
        if logout_uri not in client.logout_uris:
            return error_page("The logout_uri is not registered for this application.")
        target = logout_uri
    elif redirect_uri is not None and params.values.get("response_type"):
        if not redirects.matches(
            redirect_uri, client.redirect_uris, loopback_any_port=client.loopback_any_port
        ):
            return error_page("The redirect_uri is not registered for this application.")
        target = "/login?" + urlencode(params.pairs)
    else:
        return error_page(
            "The sign-out link needs a logout_uri, or a redirect_uri and response_type."
        )
    await sessions.end(read_cookie(request, SESSION_COOKIE))
    response = RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})
    clear_cookie(request, response, SESSION_COOKIE)
    return response
