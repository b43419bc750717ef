"""`/oauth2/token` and `/oauth2/revoke` (RFC 6749 §3.2, §4.1.3, §6; RFC 7009)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gridshare.auth.client_metadata_documents import use_internal_id
from gridshare.auth.clients import ClientService
from gridshare.auth.errors import (
    InvalidClient,
    InvalidRequest,
    OAuthError,
    TooManyRequests,
)
from gridshare.auth.grant_types import handler_for
from gridshare.auth.grants import Issued
from gridshare.auth.params import BodyTooLarge, ParamError, Params, form_params
from gridshare.auth.resources import InvalidTarget, check_resource
from gridshare.auth.routes.deps import client_address
from gridshare.auth.tokens import TokenService
from gridshare.config import Settings
from gridshare.deps import Clients, Config, Grants, Issuer, Limits, Tokens
from gridshare.ops.metrics import token_outcome
from gridshare.storage.models import Client
from gridshare.storage.ratelimit import RateLimits

router = APIRouter(include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_error_response(exc: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if isinstance(exc, InvalidClient):
        headers["WWW-Authenticate"] = 'Basic realm="gridshare", charset="UTF-8"'
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description},
        status_code=exc.status_code,
        headers=headers,
    )


async def _read_form(request: Request) -> Params:
    try:
        params = await form_params(request)
        params.check_no_repeats()
        use_internal_id(params)  # an MCP client id URL (Client ID Metadata Document)
    except BodyTooLarge as exc:
        raise OAuthError("invalid_request", str(exc)) from exc
    except ParamError as exc:
        raise InvalidRequest(str(exc)) from exc
    return params


async def authenticate_client(
    clients: ClientService,
    limits: RateLimits,
    settings: Settings,
    request: Request,
    params: Params,
) -> Client:
    """Client authentication; failures are throttled per (client, address) and per address.

    Only failures are counted, and only under keys of the address they came from, so nobody's
    guesses can get another party's correct credentials refused. A request that authenticates
    passes even from a throttled address: addresses are shared (NAT, egress pools), and a client
    secret is 256 random bits, so the throttle is back-pressure on guessers, not what keeps
    secrets safe. Past the limit a failing request answers 429 instead of 401.
    """
    try:
        return await clients.authenticate(request.headers.get("authorization"), params)
    except InvalidClient:
        per_minute = settings.client_auth_failures_per_minute
        address = client_address(request)
        try:
            client_id, _ = ClientService.credentials(request.headers.get("authorization"), params)
        except (InvalidClient, InvalidRequest):
            client_id = ""
        keys: list[tuple[str, ...]] = [("client-auth-addr", address)]
        if client_id:
            keys.append(("client-auth-client", client_id, address))
        waits = []
        for key in keys:
            decision = await limits.hit(per_minute, *key)
            if not decision.allowed:
                waits.append(decision.reset_after)
        if waits:
            raise TooManyRequests(max(waits)) from None
        raise


async def token_body(tokens: TokenService, client: Client, issued: Issued) -> dict[str, str | int]:
    """The token response members, shared by the token endpoint and the implicit grant."""
    event_id = str(uuid.uuid4())
    access = await tokens.mint_access_token(
        user=issued.user, family=issued.family, ttl=client.access_token_ttl, event_id=event_id
    )
    body: dict[str, str | int] = {"access_token": access}
    if "openid" in issued.family.scopes:
        body["id_token"] = await tokens.mint_id_token(
            user=issued.user,
            family=issued.family,
            ttl=client.id_token_ttl,
            event_id=event_id,
            access_token=access,
        )
    if issued.refresh_token is not None:
        body["refresh_token"] = issued.refresh_token
    body["token_type"] = "Bearer"  # noqa: S105 - the RFC 6749 token type, not a secret
    body["expires_in"] = client.access_token_ttl
    return body


@router.post("/oauth2/token")
async def token(
    request: Request,
    clients: Clients,
    limits: Limits,
    config: Config,
    grants: Grants,
    tokens: Tokens,
    issuer: Issuer,
) -> Response:
    grant_type: str | None = None
    try:
        params = await _read_form(request)
        client = await authenticate_client(clients, limits, config, request, params)
        grant_type = params.require("grant_type")
        handler = handler_for(grant_type)
        if handler is None:
            raise OAuthError(
                "unsupported_grant_type", f"grant_type {grant_type!r} is not supported"
            )
        issued = await handler(grants, client, params)
        requested = check_resource(params.get("resource"), issuer)
        if requested is not None and requested != issued.family.resource:
            # RFC 8707 §2.2: only the resource the grant was for (nothing is handed out).
            raise InvalidTarget("the grant was not issued for this resource")
        body = await token_body(tokens, client, issued)
        token_outcome(grant_type, "issued")
        return JSONResponse(body, headers=NO_STORE)
    except ParamError as exc:
        token_outcome(grant_type, "invalid_request")
        return oauth_error_response(InvalidRequest(str(exc)))
    except OAuthError as exc:
        token_outcome(grant_type, exc.error)
        return oauth_error_response(exc)


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


@router.post("/oauth2/revoke")
async def revoke(
    request: Request, clients: Clients, limits: Limits, config: Config, grants: Grants
) -> Response:
    try:
        params = await _read_form(request)
        client = await authenticate_client(clients, limits, config, request, params)
        token = params.require("token")
        if _looks_like_jwt(token):
            raise OAuthError("unsupported_token_type", "only refresh tokens can be revoked")
        await grants.revoke_refresh_token(client, token)
        return Response(status_code=200, headers=NO_STORE)
    except ParamError as exc:
        return oauth_error_response(InvalidRequest(str(exc)))
    except OAuthError as exc:
        return oauth_error_response(exc)
