"""Profiles: which authorization server and API to talk to, as which partner client.

Two profiles are built in:

- `local`: the sandbox from `./scripts/serve` on http://127.0.0.1:8000, as its demo partner
  (`gridsharedemopartner000001`, redirect `http://127.0.0.1:8765/callback`; the secret is printed
  by the server at start);
- `gridshare`: the real service (Cognito hosted UI and the production API host).

Any other name is a custom profile. Profiles are stored in `<config dir>/profiles.json`
(owner-only: it may hold client secrets). Environment variables override the stored values:
`GRIDSHARE_PROFILE` (which profile), `GRIDSHARE_CLIENT_ID`, `GRIDSHARE_CLIENT_SECRET`,
`GRIDSHARE_AUTH_URL`, `GRIDSHARE_API_URL`, `GRIDSHARE_REDIRECT_URI` and `GRIDSHARE_SCOPES`
(space separated). (`GRIDSHARE_ISSUER` is deliberately not read: it is the server's setting.)
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gridshare_client.errors import ConfigError
from gridshare_client.paths import config_dir
from gridshare_client.tokens import write_private_file

DEVICE_READ = "lunar/device.read"
DEVICE_WRITE = "lunar/device.write"
PLAN_READ = "lunar/plan.read"
PLAN_WRITE = "lunar/plan.write"
API_SCOPES: tuple[str, ...] = (DEVICE_READ, DEVICE_WRITE, PLAN_READ, PLAN_WRITE)

PRODUCTION_AUTH_URL = "https://lunar-customer-prod-us-west-1.auth.us-west-1.amazoncognito.com"
PRODUCTION_API_URL = "https://developer-api.customer.mygridshare.com"
LOCAL_URL = "http://127.0.0.1:8000"
DEMO_CLIENT_ID = "gridsharedemopartner000001"
DEMO_REDIRECT_URI = "http://127.0.0.1:8765/callback"

DEFAULT_PROFILE = "local"
PROFILE_ENV = "GRIDSHARE_PROFILE"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class Profile(BaseModel):
    """Everything needed to log in and call the API for one deployment and one client."""

    model_config = ConfigDict(extra="ignore")

    name: str = "custom"
    #: Base URL of the authorization server (`/oauth2/authorize`, `/oauth2/token` live here).
    auth_base_url: str
    #: Base URL of the customer API (`/api/v2/...` lives here).
    api_base_url: str
    client_id: str | None = None
    client_secret: str | None = Field(default=None, repr=False)
    #: Registered redirect URI. None: a loopback URI on a free port (public clients, RFC 8252).
    redirect_uri: str | None = None
    scopes: list[str] = Field(default_factory=lambda: list(API_SCOPES))
    #: Expected `iss` of the authorization responses (RFC 9207). None: the discovered issuer,
    #: else `auth_base_url`.
    issuer: str | None = None

    @field_validator("auth_base_url", "api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) base URL: {value!r}")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"profile names are letters, digits, '_', '.', '-': {value!r}")
        return value

    @property
    def is_public(self) -> bool:
        """A client without a secret (native app/CLI): PKCE only, `client_id` in the body."""
        return not self.client_secret

    def require_client_id(self) -> str:
        if not self.client_id:
            raise ConfigError(
                f"profile {self.name!r} has no client_id: run "
                f"`gridshare profile set {self.name} --client-id ID [--client-secret SECRET]` "
                "or set GRIDSHARE_CLIENT_ID"
            )
        return self.client_id

    def masked(self) -> dict[str, Any]:
        """For display: the secret reduced to a hint."""
        data = self.model_dump()
        secret = data.get("client_secret")
        if secret:
            data["client_secret"] = secret[:4] + "…"
        return data


BUILTIN_PROFILES: dict[str, Profile] = {
    "local": Profile(
        name="local",
        auth_base_url=LOCAL_URL,
        api_base_url=LOCAL_URL,
        client_id=DEMO_CLIENT_ID,
        redirect_uri=DEMO_REDIRECT_URI,
    ),
    "gridshare": Profile(
        name="gridshare",
        auth_base_url=PRODUCTION_AUTH_URL,
        api_base_url=PRODUCTION_API_URL,
    ),
}

_ENV_FIELDS = {
    "GRIDSHARE_CLIENT_ID": "client_id",
    "GRIDSHARE_CLIENT_SECRET": "client_secret",
    "GRIDSHARE_AUTH_URL": "auth_base_url",
    "GRIDSHARE_API_URL": "api_base_url",
    "GRIDSHARE_REDIRECT_URI": "redirect_uri",
    "GRIDSHARE_SCOPES": "scopes",
}


class ProfileConfig:
    """The stored profiles file: `{"default": NAME, "profiles": {NAME: {...}}}`."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else config_dir() / "profiles.json"
        self.default: str | None = None
        self.profiles: dict[str, dict[str, Any]] = {}
        self._load()

    def _load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {self.path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{self.path} is not a JSON object")
        default = raw.get("default")
        self.default = default if isinstance(default, str) else None
        profiles = raw.get("profiles", {})
        if isinstance(profiles, dict):
            self.profiles = {str(k): dict(v) for k, v in profiles.items() if isinstance(v, dict)}

    def save(self) -> None:
        data: dict[str, Any] = {"profiles": self.profiles}
        if self.default:
            data = {"default": self.default, **data}
        write_private_file(self.path, json.dumps(data, indent=2, sort_keys=False) + "\n")

    def names(self) -> list[str]:
        return [*BUILTIN_PROFILES, *(n for n in self.profiles if n not in BUILTIN_PROFILES)]

    def selected_name(self, name: str | None = None, env: Mapping[str, str] | None = None) -> str:
        env = os.environ if env is None else env
        return name or env.get(PROFILE_ENV) or self.default or DEFAULT_PROFILE

    def get(
        self,
        name: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        use_env: bool = True,
    ) -> Profile:
        """The named profile (else `$GRIDSHARE_PROFILE`, the default, `local`): built-in values,
        overlaid by the stored ones, overlaid by the environment."""
        env = os.environ if env is None else env
        name = self.selected_name(name, env)
        base = BUILTIN_PROFILES.get(name)
        stored = self.profiles.get(name)
        if base is None and stored is None:
            known = ", ".join(self.names())
            raise ConfigError(
                f"no profile {name!r} (known: {known}); create it with "
                f"`gridshare profile set {name} --auth-url URL --api-url URL --client-id ID`"
            )
        values: dict[str, Any] = base.model_dump() if base is not None else {}
        values.update(stored or {})
        values["name"] = name
        if use_env:
            for var, field in _ENV_FIELDS.items():
                if env.get(var):
                    value = env[var]
                    values[field] = value.split() if field == "scopes" else value
        try:
            return Profile.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(f"profile {name!r} is invalid: {_first_error(exc)}") from exc

    def set(self, name: str, **changes: Any) -> Profile:
        """Update (or create) a stored profile; a value of "" clears that field; None leaves it.

        A new custom profile needs both base URLs.
        """
        stored = dict(self.profiles.get(name, {}))
        for field, value in changes.items():
            if value is None:
                continue
            if field not in Profile.model_fields or field == "name":
                raise ConfigError(f"unknown profile field {field!r}")
            if value == "" or value == []:
                stored.pop(field, None)
                if name in BUILTIN_PROFILES and field in ("client_id", "redirect_uri"):
                    stored[field] = None  # clear the built-in value too
            else:
                stored[field] = value
        base = BUILTIN_PROFILES.get(name)
        values = {**(base.model_dump() if base else {}), **stored, "name": name}
        try:
            profile = Profile.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(f"profile {name!r} would be invalid: {_first_error(exc)}") from exc
        self.profiles[name] = stored
        return profile

    def remove(self, name: str) -> bool:
        if self.default == name:
            self.default = None
        return self.profiles.pop(name, None) is not None


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))


def load_profile(name: str | None = None, *, config_path: Path | str | None = None) -> Profile:
    """Shortcut: `ProfileConfig(config_path).get(name)` (with environment overrides)."""
    return ProfileConfig(config_path).get(name)
