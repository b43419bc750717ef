"""The authorization server's MCP-facing documents and endpoints: RFC 8414 metadata, the bare
RFC 9728 path, and RFC 7591 registration (limited by the callback allow-list)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gridshare.auth.assistant_clients import RegistrationError, registration_response
from gridshare.auth.routes.deps import client_address
from gridshare.auth.routes.discovery import discovery_document
from gridshare.deps import Assistants, Config, Issuer, Limits

router = APIRouter(include_in_schema=False)

REGISTER_PATH = "/oauth2/register"
MAX_REGISTRATION_BYTES = 16 * 1024
NO_STORE = {"Cache-Control": "no-store"}


def authorization_server_metadata(issuer: str) -> dict[str, object]:
    """RFC 8414: the OIDC discovery document's members plus the registration endpoint."""
    document = discovery_document(issuer)
    document["registration_endpoint"] = issuer + REGISTER_PATH
    document["client_id_metadata_document_supported"] = True
    document["response_types_supported"] = ["code"]
    document["grant_types_supported"] = ["authorization_code", "refresh_token"]
    return document


@router.get("/.well-known/oauth-authorization-server")
async def oauth_authorization_server(issuer: Issuer) -> JSONResponse:
    return JSONResponse(authorization_server_metadata(issuer))


@router.get("/.well-known/oauth-protected-resource")
@router.get("/.well-known/oauth-protected-resource/mcp")
async def protected_resource(request: Request) -> JSONResponse:
    """RFC 9728 metadata of `/mcp`, at the path-inserted well-known URL (§3.1) and the bare one
    (clients that look there first)."""
    return JSONResponse(
        request.app.state.mcp.metadata(), headers={"Access-Control-Allow-Origin": "*"}
    )


@router.post(REGISTER_PATH)
async def register(
    request: Request, assistants: Assistants, limits: Limits, config: Config
) -> Response:
    """RFC 7591 dynamic registration of a public client (an AI assistant)."""
    decision = await limits.hit(
        config.login_rate_per_minute, "mcp-register", client_address(request)
    )
    if not decision.allowed:
        return JSONResponse(
            {"error": "slow_down", "error_description": "too many registrations; retry later"},
            status_code=429,
            headers={"Retry-After": str(decision.reset_after)},
        )
    raw = await request.body()
    try:
        if len(raw) > MAX_REGISTRATION_BYTES:
            raise RegistrationError("invalid_client_metadata", "the request is too large")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RegistrationError("invalid_client_metadata", "the body is not JSON") from exc
        registered = await assistants.register(body)
    except RegistrationError as exc:
        return JSONResponse(exc.body(), status_code=400, headers=NO_STORE)
    return JSONResponse(registration_response(registered), status_code=201, headers=NO_STORE)
