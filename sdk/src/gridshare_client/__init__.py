"""The Gridshare partner SDK: OAuth login and the customer API, sync and async.

Needs only httpx, pydantic and platformdirs (pandas optionally, for `to_dataframe()`), and never
imports the server, so it works against our sandbox and the real service alike:

```python
from gridshare_client import GridshareClient

with GridshareClient("local") as gs:           # after `gridshare login --profile local`
    site = gs.get_site(gs.list_sites()[0].site_id)
    print(site.time_zone, site.import_tariff_id)
```

Pointing the same code at the real service means choosing the `gridshare` profile (or a
`Profile` with the two production base URLs).
"""

from gridshare_client._version import __version__
from gridshare_client.aio import AsyncGridshareClient, AsyncOAuthSession
from gridshare_client.errors import (
    AccessDenied,
    ApiError,
    BadRequest,
    ConfigError,
    ConnectionFailed,
    Forbidden,
    GridshareError,
    InsufficientScope,
    InvalidClient,
    InvalidGrant,
    IssuerMismatch,
    LoginRequired,
    MissingDependency,
    NotFound,
    OAuthError,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    StateMismatch,
    Unauthorized,
    UnexpectedResponse,
    ValidationFailed,
)
from gridshare_client.loopback import LoopbackReceiver
from gridshare_client.models import (
    Address,
    ControlState,
    CurrentState,
    Device,
    DeviceSummary,
    OperationMode,
    OverlayCommand,
    OverlayPlan,
    PriceEntry,
    Savings,
    SavingsMonth,
    ScheduleIntent,
    SchedulePlan,
    ScheduleSlot,
    SensorReading,
    Site,
    SiteStream,
    SiteSummary,
    SiteTelemetry,
    TariffPage,
    TelemetryEntry,
    TelemetrySeries,
    Topology,
    TopologyNode,
    UserInfo,
)
from gridshare_client.oauth import (
    AuthorizationRequest,
    Discovery,
    build_authorization_request,
    code_challenge,
    generate_code_verifier,
    parse_callback,
)
from gridshare_client.profiles import (
    API_SCOPES,
    BUILTIN_PROFILES,
    PRODUCTION_API_URL,
    PRODUCTION_AUTH_URL,
    Profile,
    ProfileConfig,
    load_profile,
)
from gridshare_client.sync import GridshareClient, OAuthSession
from gridshare_client.telemetry import MAX_POINTS, RESOLUTIONS, parse_interval
from gridshare_client.tokens import FileTokenStore, MemoryTokenStore, TokenSet, TokenStore
from gridshare_client.transport import NO_RETRY, RetryPolicy

__all__ = [
    "API_SCOPES",
    "BUILTIN_PROFILES",
    "MAX_POINTS",
    "NO_RETRY",
    "PRODUCTION_API_URL",
    "PRODUCTION_AUTH_URL",
    "RESOLUTIONS",
    "AccessDenied",
    "Address",
    "ApiError",
    "AsyncGridshareClient",
    "AsyncOAuthSession",
    "AuthorizationRequest",
    "BadRequest",
    "ConfigError",
    "ConnectionFailed",
    "ControlState",
    "CurrentState",
    "Device",
    "DeviceSummary",
    "Discovery",
    "FileTokenStore",
    "Forbidden",
    "GridshareClient",
    "GridshareError",
    "InsufficientScope",
    "InvalidClient",
    "InvalidGrant",
    "IssuerMismatch",
    "LoginRequired",
    "LoopbackReceiver",
    "MemoryTokenStore",
    "MissingDependency",
    "NotFound",
    "OAuthError",
    "OAuthSession",
    "OperationMode",
    "OverlayCommand",
    "OverlayPlan",
    "PayloadTooLarge",
    "PriceEntry",
    "Profile",
    "ProfileConfig",
    "RateLimited",
    "RetryPolicy",
    "Savings",
    "SavingsMonth",
    "ScheduleIntent",
    "SchedulePlan",
    "ScheduleSlot",
    "SensorReading",
    "ServerError",
    "Site",
    "SiteStream",
    "SiteSummary",
    "SiteTelemetry",
    "StateMismatch",
    "TariffPage",
    "TelemetryEntry",
    "TelemetrySeries",
    "TokenSet",
    "TokenStore",
    "Topology",
    "TopologyNode",
    "Unauthorized",
    "UnexpectedResponse",
    "UserInfo",
    "ValidationFailed",
    "__version__",
    "build_authorization_request",
    "code_challenge",
    "generate_code_verifier",
    "load_profile",
    "parse_callback",
    "parse_interval",
]
