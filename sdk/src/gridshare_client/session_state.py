"""Token bookkeeping shared by the sync and async sessions (no I/O except the token store).

The sessions hold the lock (a `threading.Lock` or an `asyncio.Lock`) around `reload` + `decide`
+ refresh + `save`; this class only knows what the tokens are and whether they need a refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gridshare_client.errors import LoginRequired
from gridshare_client.profiles import Profile
from gridshare_client.telemetry import (
    Chunk,
    ResolutionName,
    canonical_resolution,
    plan_chunks,
    resolve_range,
)
from gridshare_client.tokens import Clock, TokenSet, TokenStore


class TokenState:
    def __init__(
        self,
        profile: Profile,
        store: TokenStore,
        key: str,
        clock: Clock,
        refresh_skew: float,
    ) -> None:
        self.profile = profile
        self.store = store
        self.key = key
        self.clock = clock
        self.refresh_skew = refresh_skew
        self._tokens: TokenSet | None = None
        self._loaded = False

    def _usable(self, tokens: TokenSet | None) -> TokenSet | None:
        if tokens is None:
            return None
        if not tokens.belongs_to(self.profile.client_id, self.profile.auth_base_url):
            return None
        return tokens

    def current(self) -> TokenSet | None:
        if not self._loaded:
            self._tokens = self._usable(self.store.load(self.key))
            self._loaded = True
        return self._tokens

    def fresh_access_token(self) -> str | None:
        """The access token if it has more than the skew left (no lock needed: one read)."""
        tokens = self.current()
        if tokens is not None and tokens.is_fresh(self.clock(), self.refresh_skew):
            return tokens.access_token
        return None

    def reload(self) -> TokenSet | None:
        """Adopt the stored tokens when they are newer (another process refreshed)."""
        mine = self.current()
        stored = self._usable(self.store.load(self.key))
        if stored is not None and (mine is None or stored.obtained_at >= mine.obtained_at):
            self._tokens = stored
        return self._tokens

    def decide(self, tokens: TokenSet | None) -> str | TokenSet:
        """The access token to use now, or the tokens to refresh; LoginRequired if neither."""
        if tokens is None:
            raise LoginRequired(profile=self.profile.name)
        now = self.clock()
        if tokens.is_fresh(now, self.refresh_skew):
            return tokens.access_token
        if tokens.refresh_token:
            return tokens
        if tokens.expires_at is not None and tokens.expires_at > now:
            return tokens.access_token  # nearly expired, but nothing better to offer
        raise LoginRequired(
            "the access token expired and there is no refresh token", profile=self.profile.name
        )

    def save(self, tokens: TokenSet) -> None:
        self._tokens = tokens
        self._loaded = True
        self.store.save(self.key, tokens)

    def forget(self) -> None:
        self._tokens = None
        self._loaded = True
        self.store.delete(self.key)


def forget_error(profile: str) -> LoginRequired:
    return LoginRequired("the login expired or was revoked", profile=profile)


@dataclass(frozen=True)
class TelemetryPlan:
    start: datetime
    end: datetime
    resolution: ResolutionName
    chunks: list[Chunk]


def telemetry_plan(
    start: datetime | str | None,
    end: datetime | str | None,
    duration: timedelta | str | None,
    resolution: str | timedelta,
    max_points: int,
) -> TelemetryPlan:
    first, last = resolve_range(start, end, duration)
    canonical = canonical_resolution(resolution)
    return TelemetryPlan(first, last, canonical, plan_chunks(first, last, canonical, max_points))
