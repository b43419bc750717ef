"""HTTP routes of the authorization server, one module per endpoint family."""

from fastapi import APIRouter

from gridshare.auth.routes import (
    authorize,
    discovery,
    logout,
    second_factor,
    token,
    userinfo,
)

router = APIRouter()
for module in (authorize, second_factor, token, userinfo, logout, discovery):
    router.include_router(module.router)
