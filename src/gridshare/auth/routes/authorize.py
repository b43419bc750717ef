"""`/oauth2/authorize`, `/login` and the consent step of the hosted UI."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gridshare.auth.authorize_request import (
    AuthorizationRequest,
    ErrorPage,
    RedirectError,
    parse_authorization_request,
    redirect_url,
)
from gridshare.auth.client_metadata_documents import resolve_metadata_client
from gridshare.auth.digests import random_token
from gridshare.auth.params import ParamError, Params, form_params, parse_query_string
from gridshare.auth.resources import InvalidTarget, check_resource, mcp_resource
from gridshare.auth.routes import sign_in
from gridshare.auth.routes.deps import client_address
from gridshare.auth.routes.token import token_body
from gridshare.auth.scopes import ALL_SCOPES, DEVICE_WRITE, PLAN_WRITE
from gridshare.auth.sessions import CSRF_COOKIE, ActiveSession, read_cookie, set_cookie
from gridshare.auth.users import SignInFailure
from gridshare.deps import HostedPages, HostedPagesDep
from gridshare.storage.models import Grant
from gridshare.web.render import error_page, render

router = APIRouter(include_in_schema=False)


def _query(request: Request) -> bytes:
    raw: bytes = request.scope.get("query_string", b"")
    return raw


def _found(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=302, headers={"Cache-Control": "no-store"})


async def _parse(services: HostedPages, query: bytes) -> AuthorizationRequest:
    """Validate an authorization request from its raw query string, wherever it was carried."""
    try:
        params: Params | ParamError = parse_query_string(query)
    except ParamError as exc:
        params = exc
    if isinstance(params, Params):
        await resolve_metadata_client(services.metadata_documents, params)
    text = query.decode("utf-8", "replace")
    request = await parse_authorization_request(params, text, services.clients)
    try:
        request.resource = check_resource(request.resource, services.issuer)
    except InvalidTarget as exc:
        raise RedirectError(request, exc.error, exc.description) from exc
    if request.resource is None and await services.assistants.is_assistant(request.client):
        request.resource = mcp_resource(services.issuer)
    return request


def _error_redirect(services: HostedPages, exc: RedirectError) -> RedirectResponse:
    req = exc.request
    return _found(
        redirect_url(
            req.redirect_uri,
            {"error": exc.error, "error_description": exc.description, "state": req.state},
            services.issuer,
            fragment=req.response_type == "token",
        )
    )


async def _complete(
    services: HostedPages, req: AuthorizationRequest, session: ActiveSession
) -> Response:
    """Consent is on record: mint the code (or implicit token) and send the user back."""
    grant = await services.grants.consented_grant(
        session.user.id, req.client.client_id, list(req.scopes)
    )
    if grant is None:  # consent withdrawn between the page and now
        grant = await services.grants.record_consent(
            session.user.id, req.client.client_id, list(req.scopes)
        )
    if req.response_type == "token":
        return await _implicit(services, req, session, grant)
    code = await services.grants.issue_code(
        client=req.client,
        user_id=session.user.id,
        grant=grant,
        redirect_uri=req.redirect_uri,
        scopes=list(req.scopes),
        code_challenge=req.code_challenge,
        nonce=req.nonce,
        auth_time=session.auth_time,
        amr=session.amr,
        resource=req.resource,
    )
    return _found(
        redirect_url(req.redirect_uri, {"code": code, "state": req.state}, services.issuer)
    )


async def _implicit(
    services: HostedPages, req: AuthorizationRequest, session: ActiveSession, grant: Grant
) -> Response:
    """Implicit grant (RFC 6749 §4.2), only for clients that enabled it: tokens in the fragment."""
    issued = await services.grants.start_implicit_family(
        client=req.client,
        user_id=session.user.id,
        grant=grant,
        scopes=list(req.scopes),
        nonce=req.nonce,
        auth_time=session.auth_time,
        amr=session.amr,
    )
    body = await token_body(services.tokens, req.client, issued)
    fragment = {k: str(v) for k, v in body.items()} | {"state": req.state}
    return _found(redirect_url(req.redirect_uri, fragment, services.issuer, fragment=True))


def _consent_page(
    services: HostedPages, req: AuthorizationRequest, session: ActiveSession
) -> Response:
    return render(
        "consent.html",
        title=f"Allow {req.client.name}",
        client_name=req.client.name,
        email=session.user.email,
        scopes=[(s, ALL_SCOPES.get(s, s)) for s in req.scopes],
        # A token for the MCP endpoint is an AI assistant's: the page says so, and what it means.
        assistant=req.resource is not None,
        controls=bool({DEVICE_WRITE, PLAN_WRITE} & set(req.scopes)),
        csrf_token=services.sessions.csrf_token(session.raw_id),
        request_query=req.query_without_prompt(),
    )


@router.get("/oauth2/authorize")
async def authorize(request: Request, services: HostedPagesDep) -> Response:
    query = _query(request)
    try:
        req = await _parse(services, query)
        session = await services.sessions.current(request)
        if session is None or req.prompt == "login":
            if req.prompt == "none":
                raise RedirectError(req, "login_required", "the user is not signed in")
            return _found("/login?" + req.query_without_prompt())
        consented = await services.grants.consented_grant(
            session.user.id, req.client.client_id, list(req.scopes)
        )
        if consented is None or req.prompt == "consent":
            if req.prompt == "none":
                raise RedirectError(req, "consent_required", "the user has not consented")
            return _consent_page(services, req, session)
        return await _complete(services, req, session)
    except ErrorPage as exc:
        return error_page(exc.message, exc.status_code)
    except RedirectError as exc:
        return _error_redirect(services, exc)


@router.post("/consent")
async def consent(request: Request, services: HostedPagesDep) -> Response:
    try:
        form = await form_params(request)
        form.check_no_repeats()
    except ParamError as exc:
        return error_page(f"The form could not be read: {exc}")
    session = await services.sessions.current(request)
    if session is None:
        return error_page("Your sign-in has expired. Go back to the application and start again.")
    if not services.sessions.csrf_valid(session.raw_id, form.values.get("csrf_token")):
        return error_page("This form has expired. Go back to the application and start again.", 403)
    try:
        req = await _parse(services, form.values.get("request", "").encode())
        decision = form.values.get("decision")
        if decision == "deny":
            raise RedirectError(req, "access_denied", "the user denied the request")
        if decision != "allow":
            return error_page("Choose Allow or Deny.")
        await services.grants.record_consent(
            session.user.id, req.client.client_id, list(req.scopes)
        )
        return await _complete(services, req, session)
    except ErrorPage as exc:
        return error_page(exc.message, exc.status_code)
    except RedirectError as exc:
        return _error_redirect(services, exc)


def _login_form(
    services: HostedPages,
    request: Request,
    query: bytes,
    client_name: str | None,
    error: str | None = None,
    username: str = "",
    status_code: int = 200,
) -> Response:
    """The sign-in page, with a CSRF token bound to a pre-session cookie (set if missing)."""
    binding = read_cookie(request, CSRF_COOKIE)
    fresh = not binding or len(binding) > 100
    if fresh:
        binding = random_token(32)
    assert binding is not None
    response = render(
        "login.html",
        status_code=status_code,
        title="Sign in",
        client_name=client_name,
        error=error,
        username=username,
        action="/login" + ("?" + query.decode() if query else ""),
        csrf_token=services.sessions.csrf_token(binding),
    )
    if fresh:
        set_cookie(
            request, response, CSRF_COOKIE, binding, max_age=services.settings.session_ttl_seconds
        )
    return response


@router.get("/login")
async def login_page(request: Request, services: HostedPagesDep) -> Response:
    query = _query(request)
    client_name = None
    if query:
        try:
            req = await _parse(services, query)
            client_name = req.client.name
        except ErrorPage as exc:
            return error_page(exc.message, exc.status_code)
        except RedirectError as exc:
            return _error_redirect(services, exc)
    return _login_form(services, request, query, client_name)


@router.post("/login")
async def login_submit(request: Request, services: HostedPagesDep) -> Response:
    query = _query(request)
    req: AuthorizationRequest | None = None
    if query:
        try:
            req = await _parse(services, query)
        except ErrorPage as exc:
            return error_page(exc.message, exc.status_code)
        except RedirectError as exc:
            return _error_redirect(services, exc)
    client_name = req.client.name if req else None
    decision = await services.limits.hit(
        services.settings.login_rate_per_minute, "login", client_address(request)
    )
    if not decision.allowed:
        response = _login_form(
            services,
            request,
            query,
            client_name,
            "Too many sign-in attempts. Try again later.",
            status_code=429,
        )
        response.headers["Retry-After"] = str(decision.reset_after)
        return response
    try:
        form = await form_params(request)
        form.check_no_repeats()
    except ParamError as exc:
        return _login_form(
            services,
            request,
            query,
            client_name,
            f"The form could not be read: {exc}",
            status_code=400,
        )
    if not services.sessions.csrf_valid(
        read_cookie(request, CSRF_COOKIE), form.values.get("csrf_token")
    ):
        return _login_form(
            services,
            request,
            query,
            client_name,
            "Your sign-in page expired. Please sign in again.",
            status_code=403,
        )
    username = form.values.get("username", "")
    result = await services.users.sign_in(
        username, form.values.get("password", ""), address=client_address(request)
    )
    if result.user is None:
        assert result.failure is not None
        status_code = 429 if result.failure is SignInFailure.LOCKED else 400
        response = _login_form(
            services,
            request,
            query,
            client_name,
            result.failure.value,
            username=username[:320],
            status_code=status_code,
        )
        if result.retry_after:
            response.headers["Retry-After"] = str(result.retry_after)
        return response
    return await sign_in.password_accepted(services, request, result.user, query, req)
