"""The OAuth 2.0 authorization-code flow as pure functions (no I/O), shared by the sync and async
clients: the authorization URL with `state` and PKCE S256, validation of the callback (state in
constant time, RFC 9207 `iss`, `error` → typed exceptions), token-endpoint form bodies with
client authentication as the seed shows, and parsing of the token response (rotation-aware).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

from gridshare_client.errors import (
    InvalidArgument,
    IssuerMismatch,
    OAuthError,
    StateMismatch,
    oauth_error,
)
from gridshare_client.profiles import Profile
from gridshare_client.tokens import TokenSet

AUTHORIZE_PATH = "/oauth2/authorize"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a URL path
REVOKE_PATH = "/oauth2/revoke"
USERINFO_PATH = "/oauth2/userInfo"
DISCOVERY_PATH = "/.well-known/openid-configuration"

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def generate_state() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def generate_code_verifier(length: int = 64) -> str:
    """A PKCE `code_verifier` (RFC 7636 §4.1): 43-128 unreserved characters, >= 256 bits."""
    if not 43 <= length <= 128:
        raise InvalidArgument("a code_verifier is 43 to 128 characters long")
    verifier = secrets.token_urlsafe(length)[:length]
    assert len(verifier) == length and set(verifier) <= _UNRESERVED
    return verifier


def code_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(ASCII(code_verifier))) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Discovery:
    """What we use of the server's OpenID discovery document."""

    issuer: str | None = None
    iss_parameter_supported: bool = False
    revocation_endpoint: str | None = None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Discovery:
        issuer = doc.get("issuer")
        revocation = doc.get("revocation_endpoint")
        return cls(
            issuer=issuer if isinstance(issuer, str) else None,
            iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported")
            is True,
            revocation_endpoint=revocation if isinstance(revocation, str) else None,
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    """A login in progress: send the homeowner to `url`, keep the rest for the callback."""

    url: str
    state: str = field(repr=False)
    code_verifier: str = field(repr=False)
    redirect_uri: str
    scopes: tuple[str, ...]
    #: The `iss` the callback must carry (RFC 9207), when known.
    expected_issuer: str | None
    #: True when the server advertises `authorization_response_iss_parameter_supported`.
    require_issuer: bool = False

    def to_dict(self) -> dict[str, Any]:
        """For a web app's server-side session between the redirect and the callback (it holds
        the PKCE verifier: keep it server-side, never in a cookie the browser can read)."""
        return {
            "url": self.url,
            "state": self.state,
            "code_verifier": self.code_verifier,
            "redirect_uri": self.redirect_uri,
            "scopes": list(self.scopes),
            "expected_issuer": self.expected_issuer,
            "require_issuer": self.require_issuer,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuthorizationRequest:
        return cls(
            url=str(data["url"]),
            state=str(data["state"]),
            code_verifier=str(data["code_verifier"]),
            redirect_uri=str(data["redirect_uri"]),
            scopes=tuple(data.get("scopes", ())),
            expected_issuer=data.get("expected_issuer"),
            require_issuer=bool(data.get("require_issuer", False)),
        )


def build_authorization_request(
    profile: Profile,
    *,
    redirect_uri: str,
    scopes: Sequence[str] | None = None,
    discovery: Discovery | None = None,
    extra: Mapping[str, str] | None = None,
) -> AuthorizationRequest:
    client_id = profile.require_client_id()
    state = generate_state()
    verifier = generate_code_verifier()
    chosen = tuple(scopes if scopes else profile.scopes)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": " ".join(chosen),
        "code_challenge": code_challenge(verifier),
        "code_challenge_method": "S256",
        **(extra or {}),
    }
    url = f"{profile.auth_base_url}{AUTHORIZE_PATH}?{urlencode(params)}"
    expected = profile.issuer or (discovery.issuer if discovery else None)
    if expected is None:
        expected = profile.auth_base_url
    return AuthorizationRequest(
        url=url,
        state=state,
        code_verifier=verifier,
        redirect_uri=redirect_uri,
        scopes=chosen,
        expected_issuer=expected.rstrip("/"),
        require_issuer=bool(discovery and discovery.iss_parameter_supported),
    )


def _single_params(query: str) -> dict[str, str]:
    parsed = parse_qs(query, keep_blank_values=True)
    repeated = sorted(k for k, v in parsed.items() if len(v) > 1)
    if repeated:
        raise OAuthError("invalid_response", f"repeated parameter(s) in the callback: {repeated}")
    return {k: v[0] for k, v in parsed.items()}


def states_equal(expected: str, received: str | None) -> bool:
    """Constant-time comparison of the callback's `state` with ours."""
    if received is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


def parse_callback(request: AuthorizationRequest, callback_url: str) -> str:
    """Validate the URL the browser was redirected to; return the authorization `code`.

    Order: `state` first (a forged callback is refused before anything else is believed), then
    `iss` (RFC 9207: present → must equal the expected issuer; absent → refused when the server
    advertises it), then `error` → `AccessDenied`/`OAuthError`, then `code`.
    """
    parts = urlsplit(callback_url.strip())
    params = _single_params(parts.query)
    if not params and parts.fragment:
        params = _single_params(parts.fragment)
    if not states_equal(request.state, params.get("state")):
        raise StateMismatch(
            "the callback has no state"
            if "state" not in params
            else "the callback's state "
            "does not match the one sent: ignore this response (possible CSRF)"
        )
    iss = params.get("iss")
    if iss is not None:
        if request.expected_issuer is not None and iss.rstrip("/") != request.expected_issuer:
            raise IssuerMismatch(
                f"the response comes from {iss!r}, not from {request.expected_issuer!r} "
                "(possible mix-up attack)"
            )
    elif request.require_issuer:
        raise IssuerMismatch("the server advertises RFC 9207 but the callback has no `iss`")
    if "error" in params:
        raise oauth_error(params["error"], params.get("error_description"))
    code = params.get("code")
    if not code:
        raise OAuthError("invalid_response", "the callback carries neither code nor error")
    return code


# -- the token endpoint ------------------------------------------------------------------------


def basic_authorization(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: `Basic base64(urlencode(id):urlencode(secret))` (equal to the seed's
    `base64(id:secret)` for the usual alphanumeric ids and secrets)."""
    raw = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def client_auth(profile: Profile) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, form fields) authenticating the client.

    Confidential: HTTP Basic plus `client_id` in the body, as the seed's requests do.
    Public: `client_id` in the body only.
    """
    client_id = profile.require_client_id()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if profile.client_secret:
        headers["Authorization"] = basic_authorization(client_id, profile.client_secret)
    return headers, {"client_id": client_id}


def code_exchange_form(request: AuthorizationRequest, code: str, client_id: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "redirect_uri": request.redirect_uri,
        "code_verifier": request.code_verifier,
    }


def refresh_form(refresh_token: str, client_id: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refresh_token}


def revoke_form(token: str, client_id: str) -> dict[str, str]:
    return {"token": token, "client_id": client_id}


def error_from_token_response(status_code: int, body: Any) -> OAuthError:
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        description = body.get("error_description")
        return oauth_error(
            body["error"],
            description if isinstance(description, str) else None,
            status_code=status_code,
        )
    return OAuthError(
        "server_error", f"token endpoint answered HTTP {status_code}", status_code=status_code
    )


def parse_token_response(
    body: Any,
    *,
    now: float,
    profile: Profile,
    previous: TokenSet | None = None,
    requested_scopes: Sequence[str] = (),
) -> TokenSet:
    """A successful token response as a `TokenSet`.

    A refresh response without `refresh_token` (no rotation, Cognito's default) keeps the old
    one; with one (rotation), the new one replaces it. Same for `id_token`.
    """
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise OAuthError("invalid_response", "the token response has no access_token")
    token_type = body.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise OAuthError("invalid_response", f"unsupported token_type {token_type!r}")
    expires_in = body.get("expires_in")
    try:
        lifetime = float(expires_in) if expires_in is not None else None
    except (TypeError, ValueError):
        lifetime = None
    scope = body.get("scope")
    if isinstance(scope, str):
        scopes = scope.split()
    elif previous is not None and previous.scope:
        scopes = list(previous.scope)
    else:
        scopes = list(requested_scopes)
    refresh = body.get("refresh_token")
    id_token = body.get("id_token")
    return TokenSet(
        access_token=body["access_token"],
        token_type="Bearer",  # noqa: S106 - the RFC 6749 token type
        expires_at=now + lifetime if lifetime is not None else None,
        refresh_token=refresh
        if isinstance(refresh, str) and refresh
        else (previous.refresh_token if previous else None),
        id_token=id_token
        if isinstance(id_token, str)
        else (previous.id_token if previous else None),
        scope=scopes,
        obtained_at=now,
        client_id=profile.client_id,
        auth_base_url=profile.auth_base_url,
    )


def is_loopback_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
