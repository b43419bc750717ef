"""`/oauth2/userInfo`: who the access token's homeowner is (OIDC Core §5.3)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gridshare.auth.bearer import BearerError, authenticate_bearer
from gridshare.deps import Tokens, Users

router = APIRouter(include_in_schema=False)


@router.api_route("/oauth2/userInfo", methods=["GET", "POST"])
async def userinfo(request: Request, tokens: Tokens, users: Users) -> Response:
    try:
        token = await authenticate_bearer(request, tokens, required_scope="openid")
    except BearerError as exc:
        return JSONResponse(
            {"error": exc.error, "error_description": exc.description},
            status_code=exc.status_code,
            headers={"WWW-Authenticate": exc.www_authenticate()},
        )
    user = await users.get(token.sub)
    if user is None:
        return JSONResponse(
            {"error": "invalid_token", "error_description": "user no longer exists"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    body: dict[str, object] = {"sub": user.id, "username": user.id}
    if "email" in token.scopes or "openid" in token.scopes:
        body["email"] = user.email
        body["email_verified"] = user.email_verified
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
