"""The token endpoint's grant types, one handler per `grant_type` (RFC 6749 §4, §6).

The endpoint authenticates the client, then looks the grant type up here; an unknown one is
`unsupported_grant_type`. A new grant (token exchange, a device code) is a new module and one
line in `HANDLERS`, not another branch in the endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType

from gridshare.auth.grant_types import authorization_code, refresh_token
from gridshare.auth.grants import GrantService, Issued
from gridshare.auth.params import Params
from gridshare.storage.models import Client

GrantHandler = Callable[[GrantService, Client, Params], Awaitable[Issued]]
"""Redeem what the request presents for an authenticated client (raises `OAuthError`)."""

HANDLERS: Mapping[str, GrantHandler] = MappingProxyType(
    {
        authorization_code.GRANT_TYPE: authorization_code.handle,
        refresh_token.GRANT_TYPE: refresh_token.handle,
    }
)


def handler_for(grant_type: str) -> GrantHandler | None:
    return HANDLERS.get(grant_type)
