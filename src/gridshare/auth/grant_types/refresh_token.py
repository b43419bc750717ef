"""`grant_type=refresh_token` (RFC 6749 §6), with rotation and reuse detection."""

from __future__ import annotations

from gridshare.auth.grants import GrantService, Issued
from gridshare.auth.params import Params
from gridshare.storage.models import Client

GRANT_TYPE = "refresh_token"


async def handle(grants: GrantService, client: Client, params: Params) -> Issued:
    # `scope` is ignored at refresh, as Cognito does: the family keeps its scopes.
    return await grants.refresh(client, params.require("refresh_token"))
