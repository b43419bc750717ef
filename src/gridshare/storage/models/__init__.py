"""ORM models, one module per domain; importing this package registers every table."""

from gridshare.storage.models.auth import (
    AuthCode,
    Client,
    ClientSecret,
    Grant,
    LoginThrottle,
    RefreshToken,
    ServerSecret,
    SigningKey,
    SignInSession,
    TokenFamily,
    User,
)
from gridshare.storage.models.events import EventRow, EventSequence
from gridshare.storage.models.homes import AuditEvent, DeviceControl, DeviceRow, SiteRow
from gridshare.storage.models.mcp import McpCallback, McpClient
from gridshare.storage.models.second_factor import RecoveryCode, TotpFactor
from gridshare.storage.models.twin import TwinStateRow
from gridshare.storage.models.webhooks import WebhookAttempt, WebhookSubscription

__all__ = [
    "AuditEvent",
    "AuthCode",
    "Client",
    "ClientSecret",
    "DeviceControl",
    "DeviceRow",
    "EventRow",
    "EventSequence",
    "Grant",
    "LoginThrottle",
    "McpCallback",
    "McpClient",
    "RecoveryCode",
    "RefreshToken",
    "ServerSecret",
    "SignInSession",
    "SigningKey",
    "SiteRow",
    "TokenFamily",
    "TotpFactor",
    "TwinStateRow",
    "User",
    "WebhookAttempt",
    "WebhookSubscription",
]
