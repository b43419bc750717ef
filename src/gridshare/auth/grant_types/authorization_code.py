"""`grant_type=authorization_code` (RFC 6749 §4.1.3, PKCE RFC 7636 §4.5)."""

from __future__ import annotations

from gridshare.auth.grants import GrantService, Issued
from gridshare.auth.params import Params
from gridshare.storage.models import Client

GRANT_TYPE = "authorization_code"


async def handle(grants: GrantService, client: Client, params: Params) -> Issued:
    return await grants.redeem_code(
        client,
        params.require("code"),
        params.get("redirect_uri"),
        params.get("code_verifier"),
    )
