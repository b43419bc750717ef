"""OpenID discovery and the JWKS (public members only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import JSONResponse

from gridshare.auth.scopes import ALL_SCOPES
from gridshare.deps import Issuer, Keys

router = APIRouter(include_in_schema=False)


def discovery_document(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/authorize",
        "token_endpoint": f"{issuer}/oauth2/token",
        "userinfo_endpoint": f"{issuer}/oauth2/userInfo",
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "end_session_endpoint": f"{issuer}/logout",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "response_types_supported": ["code", "token"],
        "response_modes_supported": ["query", "fragment"],
        "grant_types_supported": ["authorization_code", "refresh_token", "implicit"],
        "scopes_supported": list(ALL_SCOPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "amr",
            "nonce",
            "at_hash",
            "email",
            "email_verified",
            "cognito:username",
            "token_use",
        ],
    }


@router.get("/.well-known/openid-configuration")
async def openid_configuration(issuer: Issuer) -> JSONResponse:
    return JSONResponse(discovery_document(issuer))


@router.get("/.well-known/jwks.json")
async def jwks(keys: Keys) -> JSONResponse:
    return JSONResponse(await keys.jwks(), headers={"Cache-Control": "public, max-age=300"})
