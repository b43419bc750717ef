# GENERATED FILE: do not edit. It is made from aio.py by scripts/unasync.py; edit aio.py
# (or _async_io.py / _sync_io.py for what really differs) and run the script again.
"""The synchronous client: `GridshareClient` (the API) and `OAuthSession` (its
tokens). `aio.py` is the source of both clients: `sync.py` is generated from it by
`scripts/unasync.py`, so the two have the same surface and behaviour; what really differs
(sleeping, locking, waiting, fan-out) sits behind the names imported from `_sync_io`.

Token refresh is single-flight: when many callers find the access token stale at once, one of them
refreshes under the lock and the others wait for and reuse its result.
"""

from __future__ import annotations

import json
import time
import webbrowser
from collections.abc import Iterator, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import httpx

from gridshare_client import endpoints as ep
from gridshare_client._sync_io import Lock, Sleep, gather_bounded, real_sleep, run_blocking
from gridshare_client.errors import (
    ConnectionFailed,
    InvalidArgument,
    InvalidGrant,
    LoginRequired,
    OAuthError,
    RateLimited,
    UnexpectedResponse,
)
from gridshare_client.events import ClientEvent, EventHook, EventKind, report
from gridshare_client.loopback import LoopbackReceiver, loopback_binding
from gridshare_client.models import (
    CurrentState,
    Device,
    DeviceSummary,
    ModeName,
    OperationMode,
    OverlayCommand,
    OverlayPlan,
    Savings,
    SchedulePlan,
    ScheduleSlot,
    Site,
    SiteSummary,
    SiteTelemetry,
    TariffPage,
    TelemetrySeries,
    Topology,
    UserInfo,
)
from gridshare_client.oauth import (
    DISCOVERY_PATH,
    REVOKE_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    AuthorizationRequest,
    Discovery,
    build_authorization_request,
    client_auth,
    code_exchange_form,
    error_from_token_response,
    parse_callback,
    parse_token_response,
    refresh_form,
    revoke_form,
)
from gridshare_client.profiles import Profile, ProfileConfig
from gridshare_client.session_state import TokenState, forget_error, telemetry_plan
from gridshare_client.telemetry import MAX_POINTS, Aggregation, ResolutionName, merge_entries
from gridshare_client.tokens import Clock, FileTokenStore, TokenSet, TokenStore
from gridshare_client.transport import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    Call,
    RetryPolicy,
    error_from_response,
    parse_retry_after,
)

T = TypeVar("T")
DETAILS_CONCURRENCY = 8
"""Detail calls in flight at most for `list_sites(details=True)` and `list_devices(...)`."""
Progress = Callable[[int, int], None]
"""`progress(done, total)`: called after each telemetry call of a multi-call download."""


class _Backoff:
    """Waits before the next attempt of a request, and says so (log and `on_event`)."""

    def __init__(self, sleep: Sleep, on_event: EventHook | None) -> None:
        self.sleep = sleep
        self.on_event = on_event

    def wait(
        self,
        method: str,
        url: str,
        attempt: int,
        delay: float,
        *,
        status: int | None = None,
        reason: str = "",
    ) -> None:
        kind: EventKind = "rate_limited" if status == 429 else "retry"
        report(self.on_event, ClientEvent(kind, method, url, attempt, delay, status, reason))
        self.sleep(delay)


class OAuthSession:
    """Logs in, keeps the tokens fresh (single-flight refresh), revokes them."""

    def __init__(
        self,
        profile: Profile,
        http: httpx.Client,
        *,
        token_store: TokenStore,
        token_key: str,
        clock: Clock = time.time,
        retry: RetryPolicy | None = None,
        sleep: Sleep = real_sleep,
        refresh_skew: float = 60.0,
        on_event: EventHook | None = None,
    ) -> None:
        self.profile = profile
        self.http = http
        self.retry = retry or RetryPolicy()
        self.on_event = on_event
        self._backoff = _Backoff(sleep, on_event)
        self.state = TokenState(profile, token_store, token_key, clock, refresh_skew)
        self._lock = Lock()
        self._discovery: Discovery | None = None

    # -- state --------------------------------------------------------------------------------

    @property
    def tokens(self) -> TokenSet | None:
        """The current tokens (loaded from the store on first use)."""
        return self.state.current()

    def set_tokens(self, tokens: TokenSet) -> None:
        with self._lock:
            self.state.save(tokens)

    def forget(self) -> None:
        """Drop the tokens here and in the store (no server call; see `logout`)."""
        with self._lock:
            self.state.forget()

    # -- discovery and login -----------------------------------------------------------------

    def discover(self) -> Discovery:
        """The server's discovery metadata (cached); empty when it publishes none (Cognito's
        hosted-UI domain does not)."""
        if self._discovery is None:
            try:
                response = self.http.get(
                    self.profile.auth_base_url + DISCOVERY_PATH,
                    headers={"Accept": "application/json", "User-Agent": USER_AGENT},
                )
                doc = response.json() if response.status_code == 200 else {}
            except (httpx.HTTPError, ValueError):
                doc = {}
            self._discovery = Discovery.from_document(doc if isinstance(doc, dict) else {})
        return self._discovery

    def start_login(
        self,
        redirect_uri: str | None = None,
        scopes: Sequence[str] | None = None,
        *,
        extra: Mapping[str, str] | None = None,
    ) -> AuthorizationRequest:
        """Step 1: the authorization URL (with fresh `state` and PKCE) to send the homeowner to."""
        uri = redirect_uri or self.profile.redirect_uri
        if not uri:
            raise InvalidArgument("no redirect_uri: pass one or set it in the profile")
        return build_authorization_request(
            self.profile,
            redirect_uri=uri,
            scopes=scopes,
            discovery=self.discover(),
            extra=extra,
        )

    def finish_login(self, request: AuthorizationRequest, callback_url: str) -> TokenSet:
        """Steps 2-3: validate the callback URL, exchange the code, store the tokens."""
        code = parse_callback(request, callback_url)
        return self.exchange_code(request, code)

    def exchange_code(self, request: AuthorizationRequest, code: str) -> TokenSet:
        client_id = self.profile.require_client_id()
        body = self._token_request(code_exchange_form(request, code, client_id))
        tokens = parse_token_response(
            body,
            now=self.state.clock(),
            profile=self.profile,
            requested_scopes=request.scopes,
        )
        self.set_tokens(tokens)
        return tokens

    def login(
        self,
        *,
        scopes: Sequence[str] | None = None,
        port: int | None = None,
        open_browser: bool | Callable[[str], object] = True,
        on_url: Callable[[str], object] | None = None,
        timeout: float = 300.0,
    ) -> TokenSet:
        """The whole flow on this machine: listen on a loopback port, open the browser, wait for
        the callback, exchange the code. `port` None: the profile's loopback redirect URI, else a
        free port (`0`)."""
        host, fixed, path = loopback_binding(self.profile.redirect_uri, port)
        with LoopbackReceiver(fixed, host=host, path=path) as receiver:
            request = self.start_login(receiver.redirect_uri, scopes)
            receiver.expected_state = request.state
            if on_url is not None:
                on_url(request.url)
            if callable(open_browser):
                open_browser(request.url)
            elif open_browser:
                webbrowser.open(request.url)
            callback = run_blocking(receiver.wait, timeout)
        return self.finish_login(request, callback)

    # -- tokens -------------------------------------------------------------------------------

    def access_token(self) -> str:
        """A valid access token, refreshed first when it has less than `refresh_skew` left."""
        fresh = self.state.fresh_access_token()
        if fresh is not None:
            return fresh
        with self._lock:
            tokens = self.state.reload()
            decision = self.state.decide(tokens)
            if isinstance(decision, str):
                return decision
            return (self._refresh_locked(decision)).access_token

    def refresh(self) -> TokenSet:
        """Refresh now, whatever the expiry says."""
        with self._lock:
            tokens = self.state.reload()
            if tokens is None or not tokens.refresh_token:
                raise LoginRequired("no refresh token", profile=self.profile.name)
            return self._refresh_locked(tokens)

    def refresh_after_rejection(self, rejected_access_token: str) -> None:
        """The API said 401 to `rejected_access_token`: refresh once (unless another caller
        already replaced it)."""
        with self._lock:
            tokens = self.state.reload()
            if tokens is None:
                raise LoginRequired(profile=self.profile.name)
            if tokens.access_token != rejected_access_token:
                return
            if not tokens.refresh_token:
                raise LoginRequired("the access token was refused", profile=self.profile.name)
            self._refresh_locked(tokens)

    def _refresh_locked(self, tokens: TokenSet) -> TokenSet:
        assert tokens.refresh_token is not None
        client_id = self.profile.require_client_id()
        try:
            body = self._token_request(refresh_form(tokens.refresh_token, client_id))
        except InvalidGrant as exc:
            self.state.forget()
            raise forget_error(self.profile.name) from exc
        new = parse_token_response(
            body, now=self.state.clock(), profile=self.profile, previous=tokens
        )
        self.state.save(new)
        report(
            self.on_event,
            ClientEvent(
                "token_refreshed",
                "POST",
                self.profile.auth_base_url + TOKEN_PATH,
                reason=f"profile {self.profile.name}",
            ),
        )
        return new

    def _token_request(self, form: dict[str, str], path: str = TOKEN_PATH) -> Any:
        headers, auth_form = client_auth(self.profile)
        headers["User-Agent"] = USER_AGENT
        response = self._post_form(
            self.profile.auth_base_url + path, {**form, **auth_form}, headers
        )
        if response.status_code == 200 and path == TOKEN_PATH:
            try:
                return response.json()
            except ValueError as exc:
                raise UnexpectedResponse("the token endpoint did not answer JSON") from exc
        if response.is_success:
            return None
        if response.status_code == 429:
            raise RateLimited(
                "the authorization server is rate limiting this client",
                status_code=429,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        raise error_from_token_response(response.status_code, body)

    def _post_form(
        self, url: str, form: dict[str, str], headers: dict[str, str]
    ) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.http.post(url, data=form, headers=headers)
            except httpx.TransportError as exc:
                delay = self.retry.delay_for_error("POST", exc, attempt)
                if delay is None:
                    raise ConnectionFailed(f"cannot reach {url}: {exc}") from exc
                self._backoff.wait("POST", url, attempt, delay, reason=repr(exc))
                continue
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            delay = self.retry.delay_for_status("POST", response.status_code, retry_after, attempt)
            if delay is None:
                return response
            self._backoff.wait("POST", url, attempt, delay, status=response.status_code)

    # -- revoke and userinfo --------------------------------------------------------------------

    def revoke(self) -> bool:
        """Revoke the refresh token at the server (which kills its access tokens too) and forget
        the tokens. False when there was nothing to revoke."""
        with self._lock:
            tokens = self.state.reload()
            if tokens is None or not tokens.refresh_token:
                self.state.forget()
                return False
            try:
                self._token_request(
                    revoke_form(tokens.refresh_token, self.profile.require_client_id()),
                    REVOKE_PATH,
                )
            finally:
                self.state.forget()
            return True

    logout = revoke

    def userinfo(self) -> UserInfo:
        """`/oauth2/userInfo` (the login must include the `openid` scope)."""
        token = self.access_token()
        response = self.http.get(
            self.profile.auth_base_url + USERINFO_PATH,
            headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT},
        )
        if not response.is_success:
            raise error_from_response(response)
        return UserInfo.model_validate(response.json())


class GridshareClient:
    """The customer API.

    ```python
    with GridshareClient("local") as gs:          # a profile name, or a Profile
        for summary in gs.list_sites():
            site = gs.get_site(summary.site_id)
            print(site.time_zone)
    ```

    Tokens come from the profile's `TokenStore` (default: a file per profile in the user config
    dir, written by `gridshare login`); they are refreshed before they expire.
    """

    def __init__(
        self,
        profile: Profile | str | None = None,
        *,
        token_store: TokenStore | None = None,
        token_key: str | None = None,
        tokens: TokenSet | None = None,
        http: httpx.Client | None = None,
        timeout: httpx.Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock = time.time,
        sleep: Sleep = real_sleep,
        refresh_skew: float = 60.0,
        config_path: str | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        if not isinstance(profile, Profile):
            profile = ProfileConfig(config_path).get(profile)
        self.profile = profile
        self._owns_http = http is None
        self.http = http or httpx.Client(timeout=timeout or DEFAULT_TIMEOUT)
        self.retry = retry or RetryPolicy()
        self._backoff = _Backoff(sleep, on_event)
        self.auth = OAuthSession(
            profile,
            self.http,
            token_store=token_store if token_store is not None else FileTokenStore(),
            token_key=token_key or profile.name,
            clock=clock,
            retry=self.retry,
            sleep=sleep,
            refresh_skew=refresh_skew,
            on_event=on_event,
        )
        if tokens is not None:
            self.auth.state.save(tokens)

    # -- plumbing -----------------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> GridshareClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def call(self, call: Call[T]) -> T:
        """Execute one API call: bearer token, retries, one refresh on 401, typed errors."""
        req = call.request
        url = self.profile.api_base_url + req.path
        content = json.dumps(req.json) if req.json is not None else None
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            token = self.auth.access_token()
            headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
            if content is not None:
                headers["Content-Type"] = req.content_type
            try:
                response = self.http.request(
                    req.method, url, params=req.params, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                delay = self.retry.delay_for_error(req.method, exc, attempt)
                if delay is None:
                    raise ConnectionFailed(f"{req.method} {url}: {exc!r}") from exc
                self._backoff.wait(req.method, url, attempt, delay, reason=repr(exc))
                continue
            if response.status_code == 401 and not refreshed:
                refreshed = True
                attempt -= 1
                try:
                    self.auth.refresh_after_rejection(token)
                except LoginRequired as exc:
                    if exc.__cause__ is None:
                        exc.__cause__ = error_from_response(response)
                    raise
                except OAuthError as exc:
                    # e.g. invalid_client: the partner's client was disabled.
                    raise error_from_response(response) from exc
                continue
            if response.is_success:
                try:
                    return call.parse(response)
                except ValueError as exc:
                    raise UnexpectedResponse(
                        f"{req.method} {url}: unexpected response body: {exc}"
                    ) from exc
            error = error_from_response(response)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            delay = self.retry.delay_for_status(
                req.method, response.status_code, retry_after, attempt
            )
            if delay is None:
                raise error
            self._backoff.wait(
                req.method, url, attempt, delay, status=response.status_code, reason=str(error)
            )

    # -- sites --------------------------------------------------------------------------------

    @overload
    def list_sites(
        self, *, version: int = 2, details: Literal[False] = False, concurrency: int = ...
    ) -> list[SiteSummary]: ...

    @overload
    def list_sites(
        self, *, version: int = 2, details: Literal[True], concurrency: int = ...
    ) -> list[Site]: ...

    def list_sites(
        self, *, version: int = 2, details: bool = False, concurrency: int = DETAILS_CONCURRENCY
    ) -> list[SiteSummary] | list[Site]:
        """`GET /api/v2/sites` (ids only). Scope `lunar/device.read`.

        `details=True`: each site's `get_site()` instead (address, time zone, tariffs), fetched
        with at most `concurrency` calls in flight, in the list's order."""
        summaries = self.call(ep.list_sites(version))
        if not details:
            return summaries
        calls = [partial(self.get_site, summary.site_id) for summary in summaries]
        return gather_bounded(calls, concurrency)

    def get_site(self, site_id: str) -> Site:
        """`GET /api/v2/sites/{siteId}`: address, reference, time zone, tariff ids."""
        return self.call(ep.get_site(site_id))

    def get_topology(self, site_id: str, compact: bool = True) -> Topology:
        """`GET /api/v2/sites/{siteId}/topology`; `compact=False` shows every battery block."""
        return self.call(ep.get_topology(site_id, compact))

    # -- devices ------------------------------------------------------------------------------

    @overload
    def list_devices(
        self, *, version: int = 2, details: Literal[False] = False, concurrency: int = ...
    ) -> list[DeviceSummary]: ...

    @overload
    def list_devices(
        self, *, version: int = 2, details: Literal[True], concurrency: int = ...
    ) -> list[Device]: ...

    def list_devices(
        self, *, version: int = 2, details: bool = False, concurrency: int = DETAILS_CONCURRENCY
    ) -> list[DeviceSummary] | list[Device]:
        """`GET /api/v2/devices`. Scope `lunar/device.read`.

        `details=True`: each device's `get_device()` instead (kind, name, model, serial...),
        fetched with at most `concurrency` calls in flight, in the list's order."""
        summaries = self.call(ep.list_devices(version))
        if not details:
            return summaries
        calls = [partial(self.get_device, summary.synth_id) for summary in summaries]
        return gather_bounded(calls, concurrency)

    def get_device(self, synth_id: str) -> Device:
        return self.call(ep.get_device(synth_id))

    def rename_device(self, synth_id: str, name: str) -> Device:
        """`PATCH /api/v2/devices/{synthId}` with `{"name": name}`. Scope `lunar/device.write`.
        Not retried (PATCH) except on 429."""
        return self.call(ep.rename_device(synth_id, name))

    def get_operation_mode(self, synth_id: str) -> OperationMode:
        return self.call(ep.get_operation_mode(synth_id))

    def set_operation_mode(self, synth_id: str, mode: ModeName) -> OperationMode:
        """`simple`, `schedule` (needs a schedule plan, else 422) or `smart`, any case."""
        return self.call(ep.set_operation_mode(synth_id, mode))

    # -- plans --------------------------------------------------------------------------------

    def get_overlay_plan(self, synth_id: str) -> OverlayPlan:
        """The stored overlay plan; `commands == []` when there is none. Scope `lunar/plan.read`."""
        return self.call(ep.get_overlay_plan(synth_id))

    def set_overlay_plan(
        self,
        synth_id: str,
        plan: OverlayPlan | Mapping[str, Any] | None = None,
        *,
        start_time: datetime | str | None = None,
        commands: Sequence[OverlayCommand | Mapping[str, Any]] | None = None,
    ) -> None:
        """Store an overlay plan (a model, a dict, or `start_time=` + `commands=`)."""
        body = ep.overlay_body(plan, start_time=start_time, commands=commands)
        self.call(ep.set_overlay_plan(synth_id, body))

    def clear_overlay_plan(self, synth_id: str) -> None:
        self.call(ep.clear_overlay_plan(synth_id))

    def get_schedule_plan(self, synth_id: str) -> SchedulePlan:
        return self.call(ep.get_schedule_plan(synth_id))

    def set_schedule_plan(
        self,
        synth_id: str,
        plan: SchedulePlan | Mapping[str, Any] | Sequence[ScheduleSlot | Mapping[str, Any]],
    ) -> None:
        """Store the weekly schedule (slots summing to 10,080 minutes from Monday 00:00)."""
        self.call(ep.set_schedule_plan(synth_id, ep.schedule_body(plan)))

    def clear_schedule_plan(self, synth_id: str) -> None:
        self.call(ep.clear_schedule_plan(synth_id))

    # -- site-level views ---------------------------------------------------------------------

    def get_current_state(self, site_id: str) -> CurrentState:
        """The newest reading of every sensor, and each controllable device's mode (and
        overlay plan, with `lunar/plan.read`)."""
        return self.call(ep.get_current_state(site_id))

    def get_site_telemetry(
        self,
        site_id: str,
        start: datetime | str,
        end: datetime | str | None = None,
        *,
        duration: timedelta | str | None = None,
        resolution: ResolutionName | timedelta = "PT15M",
        include_energy: bool = False,
        aggregation: Aggregation = "default",
        roles: Sequence[str] | None = None,
    ) -> SiteTelemetry:
        """Every primary stream of the site (or those of `roles`), labelled by role;
        `.to_dataframe()` gives one column per role and channel."""
        return self.call(
            ep.get_site_telemetry(
                site_id,
                start,
                end,
                duration=duration,
                resolution=resolution,
                include_energy=include_energy,
                aggregation=aggregation,
                roles=roles,
            )
        )

    def get_tariff_page(
        self,
        tariff_id: str,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        *,
        duration: timedelta | str | None = None,
        next_token: str | None = None,
        direction: str | None = None,
        version: int = 2,
    ) -> TariffPage:
        """One page (at most 7 days, newest first) of a tariff's prices."""
        return self.call(
            ep.get_tariff_page(
                tariff_id,
                start,
                end,
                duration=duration,
                next_token=next_token,
                direction=direction,
                version=version,
            )
        )

    def iter_tariff_pages(
        self,
        tariff_id: str,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        *,
        duration: timedelta | str | None = None,
        direction: str | None = None,
        version: int = 2,
    ) -> Iterator[TariffPage]:
        """Every page of the interval, newest first, following `nextToken`."""
        page = self.get_tariff_page(
            tariff_id, start, end, duration=duration, direction=direction, version=version
        )
        while True:
            yield page
            if page.next_token is None:
                return
            page = self.get_tariff_page(
                tariff_id, next_token=page.next_token, direction=page.direction, version=version
            )

    def get_savings(
        self,
        site_id: str,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        *,
        duration: timedelta | str | None = None,
    ) -> Savings:
        """Monthly savings against a consumption-only baseline (default: the last 12 months)."""
        return self.call(ep.get_savings(site_id, start, end, duration=duration))

    # -- telemetry ----------------------------------------------------------------------------

    def get_telemetry(
        self,
        synth_id: str,
        start: datetime | str | None,
        end: datetime | str | None = None,
        *,
        duration: timedelta | str | None = None,
        resolution: ResolutionName | timedelta = "PT15M",
        include_energy: bool = False,
        aggregation: Aggregation = "default",
        version: int = 2,
    ) -> TelemetrySeries:
        """One telemetry call over [start, end) (or start + duration); at most 10,000 buckets
        (see `download_telemetry` for longer ranges)."""
        return self.call(
            ep.get_telemetry(
                synth_id,
                start,
                end,
                duration=duration,
                resolution=resolution,
                include_energy=include_energy,
                aggregation=aggregation,
                version=version,
            )
        )

    def get_telemetry_v1(
        self,
        synth_id: str,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        *,
        duration: timedelta | str | None = None,
        resolution: ResolutionName | timedelta = "PT15M",
        include_energy: bool = False,
        aggregation: Aggregation = "default",
    ) -> TelemetrySeries:
        """The v1 variant: `synth_id` may be a device (its primary sensor); the interval may be
        `duration` before `end`."""
        return self.get_telemetry(
            synth_id,
            start,
            end,
            duration=duration,
            resolution=resolution,
            include_energy=include_energy,
            aggregation=aggregation,
            version=1,
        )

    def download_telemetry(
        self,
        synth_id: str,
        start: datetime | str | None,
        end: datetime | str | None = None,
        *,
        duration: timedelta | str | None = None,
        resolution: ResolutionName | timedelta = "PT15M",
        include_energy: bool = False,
        aggregation: Aggregation = "default",
        version: int = 2,
        max_points: int = MAX_POINTS,
        progress: Progress | None = None,
        concurrency: int = 4,
    ) -> TelemetrySeries:
        """Any range: split into calls of at most `max_points` buckets (up to `concurrency` in
        flight), merged in time order."""
        plan = telemetry_plan(start, end, duration, resolution, max_points)
        calls = [
            partial(
                self.get_telemetry,
                synth_id,
                chunk.start,
                chunk.end,
                resolution=plan.resolution,
                include_energy=include_energy,
                aggregation=aggregation,
                version=version,
            )
            for chunk in plan.chunks
        ]

        def done(count: int) -> None:
            if progress is not None:
                progress(count, len(calls))

        parts = gather_bounded(calls, concurrency, done)
        return TelemetrySeries(
            synth_id=synth_id,
            resolution=plan.resolution,
            start=plan.start,
            end=plan.end,
            entries=merge_entries(p.entries for p in parts),
            calls=len(plan.chunks),
        )
