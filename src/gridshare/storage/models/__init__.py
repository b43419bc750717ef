"""ORM models, one module per domain; importing this package registers every table."""

from gridshare.storage.models.auth import (
    AuthCode,
    Client,
    ClientSecret,
    Grant,
    LoginThrottle,
    RefreshToken,
    ServerSecret,
    SignInSession,
    SigningKey,
    TokenFamily,
    User,
)

__all__ = [
    "AuthCode",
    "Client",
    "ClientSecret",
    "Grant",
    "LoginThrottle",
    "RefreshToken",
    "ServerSecret",
    "SignInSession",
    "SigningKey",
    "TokenFamily",
    "User",
]
