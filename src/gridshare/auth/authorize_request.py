"""Validation of an authorization request (RFC 6749 §4.1.1, RFC 7636, RFC 9207).

Errors split in two, per §4.1.2.1: until the client and its redirect URI are proven, the answer
is an HTML page and never a redirect (no open redirect); afterwards, errors go back to the client
at its redirect URI with `state` and `iss`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.datastructures import URL

from gridshare.auth import pkce, redirects
from gridshare.auth.clients import ClientService
from gridshare.auth.params import ParamError, Params
from gridshare.auth.scopes import parse_scope
from gridshare.storage.models import Client

MAX_NONCE = 512
PROMPTS = ("none", "login", "consent")


class ErrorPage(Exception):
    """Shown to the user; the redirect URI cannot be trusted."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class RedirectError(Exception):
    """Returned to the client at its (verified) redirect URI."""

    def __init__(self, request: AuthorizationRequest, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.request = request
        self.error = error
        self.description = description


@dataclass
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    state: str | None
    response_type: str = "code"
    scopes: tuple[str, ...] = ()
    code_challenge: str | None = None
    nonce: str | None = None
    prompt: str | None = None
    #: RFC 8707 resource (the MCP endpoint's URL), checked by the caller against the issuer.
    resource: str | None = None
    #: The original query, carried through sign-in and consent and validated again each time.
    query: str = ""

    def query_without_prompt(self) -> str:
        return _strip(self.query, "prompt")


def _strip(query: str, name: str) -> str:
    url = URL("/?" + query)
    return str(url.remove_query_params(name).query)


def redirect_url(
    redirect_uri: str, params: dict[str, str | None], issuer: str, fragment: bool = False
) -> str:
    """Append response parameters (and RFC 9207 `iss`) to the client's redirect URI."""
    clean = {k: v for k, v in params.items() if v is not None}
    clean["iss"] = issuer
    encoded = urlencode(clean)
    if fragment:
        return f"{redirect_uri}#{encoded}"
    return f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{encoded}"


async def parse_authorization_request(
    params: Params | ParamError, query: str, clients: ClientService
) -> AuthorizationRequest:
    if isinstance(params, ParamError):
        raise ErrorPage(f"The sign-in link is malformed: {params}")
    try:
        client_id = params.get("client_id")
        redirect_uri = params.get("redirect_uri")
    except ParamError as exc:
        raise ErrorPage(f"The sign-in link is malformed: {exc}") from exc
    if not client_id:
        raise ErrorPage("The sign-in link has no client_id.")
    client = await clients.get(client_id)
    if client is None or client.disabled:
        raise ErrorPage("The application that sent you here is not registered.")
    if not redirect_uri:
        raise ErrorPage("The sign-in link has no redirect_uri.")
    if not redirects.matches(
        redirect_uri, client.redirect_uris, loopback_any_port=client.loopback_any_port
    ):
        raise ErrorPage("The redirect_uri is not registered for this application.")

    state = params.values.get("state") if "state" not in params.repeated else None
    request = AuthorizationRequest(
        client=client, redirect_uri=redirect_uri, state=state, query=query
    )
    try:
        params.check_no_repeats()
        response_type = params.get("response_type")
        scope = params.get("scope")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        request.nonce = params.get("nonce")
        request.prompt = params.get("prompt")
        request.resource = params.get("resource")
    except ParamError as exc:
        raise RedirectError(request, "invalid_request", str(exc)) from exc

    if not response_type:
        raise RedirectError(
            request, "invalid_request", "missing required parameter 'response_type'"
        )
    if response_type == "token" and client.allow_implicit:
        request.response_type = "token"
    elif response_type != "code":
        raise RedirectError(
            request, "unsupported_response_type", f"response_type {response_type!r} is not allowed"
        )

    requested = parse_scope(scope) if scope else list(client.allowed_scopes)
    not_allowed = [s for s in requested if s not in client.allowed_scopes]
    if not_allowed:
        raise RedirectError(request, "invalid_scope", f"scope not allowed: {' '.join(not_allowed)}")
    if not requested:
        raise RedirectError(request, "invalid_scope", "no scope requested")
    request.scopes = tuple(requested)

    if method is not None and method != "S256":
        raise RedirectError(request, "invalid_request", "code_challenge_method must be S256")
    if challenge is not None:
        if method is None:
            raise RedirectError(request, "invalid_request", "code_challenge_method must be S256")
        if not pkce.valid_challenge(challenge):
            raise RedirectError(request, "invalid_request", "code_challenge is malformed")
        request.code_challenge = challenge
    elif method is not None:
        raise RedirectError(request, "invalid_request", "code_challenge is missing")
    elif client.public or client.require_pkce:
        raise RedirectError(request, "invalid_request", "PKCE (code_challenge, S256) is required")

    if request.resource is not None and request.response_type != "code":
        raise RedirectError(request, "invalid_request", "a resource needs response_type=code")
    if request.resource is not None and request.code_challenge is None:
        # MCP authorization: PKCE S256 is mandatory for every client of an audience-bound token.
        raise RedirectError(request, "invalid_request", "PKCE (code_challenge, S256) is required")
    if request.nonce is not None and len(request.nonce) > MAX_NONCE:
        raise RedirectError(request, "invalid_request", "nonce is too long")
    if request.prompt is not None and request.prompt not in PROMPTS:
        raise RedirectError(request, "invalid_request", "prompt must be none, login or consent")
    return request
