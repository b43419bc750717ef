"""The SDK without a server: retries and backoff per method, Retry-After, error mapping, PKCE,
callback validation, token-response parsing, profiles and stores, telemetry splitting against a
contract-faithful fake, DataFrames, and the import isolation from the server.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from gridshare_client import (
    AccessDenied,
    ApiError,
    AsyncGridshareClient,
    BadRequest,
    ConfigError,
    ConnectionFailed,
    FileTokenStore,
    Forbidden,
    GridshareClient,
    InsufficientScope,
    IssuerMismatch,
    LoginRequired,
    MemoryTokenStore,
    MissingDependency,
    NotFound,
    OAuthError,
    PayloadTooLarge,
    Profile,
    ProfileConfig,
    RateLimited,
    RetryPolicy,
    ServerError,
    StateMismatch,
    TelemetrySeries,
    TokenSet,
    Unauthorized,
    UnexpectedResponse,
    ValidationFailed,
)
from gridshare_client.oauth import (
    AuthorizationRequest,
    Discovery,
    basic_authorization,
    build_authorization_request,
    code_challenge,
    generate_code_verifier,
    parse_callback,
    parse_token_response,
)
from gridshare_client.profiles import PRODUCTION_API_URL, PRODUCTION_AUTH_URL
from gridshare_client.telemetry import (
    bucket_count,
    canonical_resolution,
    format_duration,
    interval_param,
    parse_duration,
    parse_interval,
    plan_chunks,
)
from gridshare_client.transport import parse_retry_after

BASE = "https://api.test"
AUTH = "https://auth.test"


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GRIDSHARE_CONFIG_DIR", str(tmp_path / "cfg"))
    for var in (
        "GRIDSHARE_PROFILE",
        "GRIDSHARE_CLIENT_ID",
        "GRIDSHARE_CLIENT_SECRET",
        "GRIDSHARE_AUTH_URL",
        "GRIDSHARE_API_URL",
        "GRIDSHARE_SCOPES",
    ):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "cfg"


def profile(**extra: Any) -> Profile:
    values: dict[str, Any] = {
        "name": "unit",
        "auth_base_url": AUTH,
        "api_base_url": BASE,
        "client_id": "cid",
        "client_secret": "sec",
    }
    return Profile(**(values | extra))


Handler = Callable[[httpx.Request], httpx.Response]


def make_client(
    handler: Handler,
    *,
    sleeps: list[float] | None = None,
    tokens: TokenSet | None = None,
    retry: RetryPolicy | None = None,
    clock: Callable[[], float] | None = None,
) -> GridshareClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return GridshareClient(
        profile(),
        token_store=MemoryTokenStore(),
        tokens=tokens or TokenSet(access_token="at", expires_at=4e9, refresh_token="rt"),
        http=http,
        sleep=(sleeps if sleeps is not None else []).append,
        retry=retry or RetryPolicy(jitter=False),
        clock=clock or (lambda: 1e9),
    )


def scripted(*responses: httpx.Response | type[Exception]) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0)
        if isinstance(item, type):
            raise item("boom", request=request)  # type: ignore[call-arg]
        return item

    return handler, seen


def ok(body: Any = None, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body) if body is not None else httpx.Response(status)


def err(status: int, code: str = "x", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, json={"message": f"m{status}", "code": code}, headers=headers or {}
    )


DEVICE = {
    "synthId": "d1",
    "kind": "battery_pack",
    "type": "T",
    "siteId": "s",
    "name": "n",
    "manufacturer": "M",
    "model": "X",
    "serialNumber": "1",
    "partners": [],
}


# -- retries --------------------------------------------------------------------------------------


def test_get_retries_502_503_504_with_exponential_backoff() -> None:
    handler, seen = scripted(err(502), err(503), err(504), ok({"entries": [{"siteId": "a"}]}))
    sleeps: list[float] = []
    client = make_client(handler, sleeps=sleeps)
    assert [s.site_id for s in client.list_sites()] == ["a"]
    assert len(seen) == 4 and sleeps == [0.5, 1.0, 2.0]


def test_get_gives_up_after_max_attempts() -> None:
    handler, seen = scripted(*[err(503)] * 4)
    with pytest.raises(ServerError) as caught:
        make_client(handler).list_sites()
    assert len(seen) == 4 and caught.value.status_code == 503


def test_put_is_idempotent_and_retried() -> None:
    handler, seen = scripted(err(503), ok({"mode": "smart"}))
    assert make_client(handler).set_operation_mode("d1", "smart").mode == "smart"
    assert len(seen) == 2 and seen[0].method == "PUT"
    assert json.loads(seen[1].content) == {"mode": "smart"}


def test_patch_is_not_retried_on_5xx() -> None:
    handler, seen = scripted(err(503), ok(DEVICE))
    with pytest.raises(ServerError):
        make_client(handler).rename_device("d1", "x")
    assert len(seen) == 1


def test_patch_is_retried_on_429_honouring_retry_after() -> None:
    handler, seen = scripted(err(429, headers={"Retry-After": "7"}), ok(DEVICE))
    sleeps: list[float] = []
    assert make_client(handler, sleeps=sleeps).rename_device("d1", "n").name == "n"
    assert len(seen) == 2 and sleeps == [7.0]
    assert seen[0].headers["content-type"] == "application/merge-patch+json"


def test_retry_after_beyond_the_cap_raises_at_once() -> None:
    handler, seen = scripted(err(429, "rate_limited", {"Retry-After": "3600"}))
    sleeps: list[float] = []
    with pytest.raises(RateLimited) as caught:
        make_client(handler, sleeps=sleeps).list_sites()
    assert caught.value.retry_after == 3600 and sleeps == [] and len(seen) == 1


def test_retry_after_http_date() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert parse_retry_after("garbage") is None and parse_retry_after("12") == 12


def test_connection_errors() -> None:
    # A GET survives a transient read timeout; a PATCH whose request may have left does not.
    handler, seen = scripted(httpx.ReadTimeout, ok({"entries": []}))
    assert make_client(handler).list_devices() == []
    handler, seen = scripted(httpx.ReadTimeout, ok(DEVICE))
    with pytest.raises(ConnectionFailed):
        make_client(handler).rename_device("d1", "x")
    assert len(seen) == 1
    # A connect error means nothing was sent: even a PATCH may go again.
    handler, seen = scripted(httpx.ConnectError, ok(DEVICE))
    assert make_client(handler).rename_device("d1", "n").synth_id == "d1"
    assert len(seen) == 2


def test_default_timeouts() -> None:
    client = GridshareClient(profile(), token_store=MemoryTokenStore())
    timeout = client.http.timeout
    assert timeout.connect == 10.0 and timeout.read == 30.0
    client.close()


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (404, NotFound),
        (413, PayloadTooLarge),
        (422, ValidationFailed),
        (500, ServerError),
        (409, ApiError),
    ],
)
def test_error_mapping(status: int, cls: type[ApiError]) -> None:
    handler, _ = scripted(err(status, "some_code"))
    with pytest.raises(cls) as caught:
        make_client(handler).get_site("s1")
    assert caught.value.status_code == status and caught.value.code == "some_code"
    assert caught.value.message == f"m{status}" and "GET https://api.test/api/v2/sites/s1" in str(
        caught.value
    )


def test_forbidden_names_the_scope() -> None:
    header = 'Bearer error="insufficient_scope", scope="lunar/plan.read"'
    handler, _ = scripted(err(403, "insufficient_scope", {"WWW-Authenticate": header}))
    with pytest.raises(InsufficientScope) as caught:
        make_client(handler).get_overlay_plan("d1")
    assert caught.value.scope == "lunar/plan.read" and isinstance(caught.value, Forbidden)
    handler, _ = scripted(httpx.Response(403, json={"message": "Forbidden"}))
    with pytest.raises(Forbidden) as plain:
        make_client(handler).get_overlay_plan("d1")
    assert not isinstance(plain.value, InsufficientScope)


def test_unexpected_body_is_typed() -> None:
    handler, _ = scripted(httpx.Response(200, text="<html>"))
    with pytest.raises(UnexpectedResponse):
        make_client(handler).get_site("s")


def test_ids_cannot_escape_their_path_segment() -> None:
    handler, seen = scripted(ok(DEVICE))
    make_client(handler).get_device("../sites/x?y#z")
    assert seen[0].url.raw_path == b"/api/v2/devices/..%2Fsites%2Fx%3Fy%23z"
    with pytest.raises(ValueError, match="not a valid id"):
        make_client(handler).get_device("..")


def test_401_refreshes_once_and_retries() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        if request.url.path == "/oauth2/token":
            return ok({"access_token": "new", "token_type": "Bearer", "expires_in": 3600})
        if request.headers["authorization"] == "Bearer new":
            return ok({"entries": []})
        return err(401, "unauthorized")

    client = make_client(handler)
    assert client.list_sites() == []
    assert calls == ["GET /api/v2/sites", "POST /oauth2/token", "GET /api/v2/sites"]
    tokens = client.auth.tokens
    assert tokens is not None and tokens.refresh_token == "rt"  # kept: no rotation


def test_401_twice_is_unauthorized() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            return ok({"access_token": "new", "token_type": "Bearer", "expires_in": 3600})
        return err(401, "unauthorized")

    with pytest.raises(Unauthorized):
        make_client(handler).list_sites()


def test_no_tokens_means_login_required() -> None:
    client = GridshareClient(
        profile(name="prod"),
        token_store=MemoryTokenStore(),
        http=httpx.Client(transport=httpx.MockTransport(lambda r: ok({}))),
    )
    with pytest.raises(LoginRequired, match=r"not logged in \(profile 'prod'\)"):
        client.list_sites()


def test_tokens_of_another_client_are_ignored() -> None:
    store = MemoryTokenStore()
    store.save("unit", TokenSet(access_token="a", client_id="someone-else", auth_base_url=AUTH))
    client = GridshareClient(profile(), token_store=store)
    with pytest.raises(LoginRequired):
        client.auth.access_token()


def test_expired_without_refresh_token() -> None:
    now = 1e9
    client = make_client(
        lambda r: ok({}), tokens=TokenSet(access_token="a", expires_at=now - 1), clock=lambda: now
    )
    with pytest.raises(LoginRequired, match="no refresh token"):
        client.list_sites()


def test_refresh_invalid_grant_forgets_the_tokens() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": "gone"})

    client = make_client(
        handler, tokens=TokenSet(access_token="a", expires_at=0, refresh_token="r")
    )
    with pytest.raises(LoginRequired) as caught:
        client.list_sites()
    assert isinstance(caught.value.__cause__, OAuthError)
    assert caught.value.__cause__.error == "invalid_grant"
    assert client.auth.tokens is None


def test_token_endpoint_post_not_retried_on_5xx() -> None:
    handler, seen = scripted(err(503))
    client = make_client(
        handler, tokens=TokenSet(access_token="a", expires_at=0, refresh_token="r")
    )
    with pytest.raises(OAuthError):
        client.auth.refresh()
    assert len(seen) == 1


def test_single_flight_with_a_slow_token_endpoint() -> None:
    """Many threads, one slow refresh: the others wait for it instead of refreshing too."""
    refreshes: list[int] = []
    gate = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            refreshes.append(1)
            gate.wait(5)
            return ok(
                {
                    "access_token": "fresh",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "refresh_token": "rt2",
                }
            )
        assert request.headers["authorization"] == "Bearer fresh"
        return ok({"entries": []})

    client = make_client(
        handler, tokens=TokenSet(access_token="stale", expires_at=0, refresh_token="rt")
    )
    threads = [threading.Thread(target=client.list_sites) for _ in range(20)]
    for t in threads:
        t.start()
    threading.Timer(0.2, gate.set).start()
    for t in threads:
        t.join(10)
    assert refreshes == [1]
    tokens = client.auth.tokens
    assert tokens is not None and tokens.refresh_token == "rt2"  # rotated: the new one stored


async def test_async_single_flight_and_retry() -> None:
    refreshes: list[int] = []
    api_calls: list[int] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            refreshes.append(1)
            await asyncio.sleep(0.05)
            return ok({"access_token": "fresh", "token_type": "Bearer", "expires_in": 3600})
        api_calls.append(1)
        if len(api_calls) == 1:
            return err(503)
        return ok({"entries": [{"synthId": "d"}]})

    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with AsyncGridshareClient(
        profile(),
        token_store=MemoryTokenStore(),
        tokens=TokenSet(access_token="stale", expires_at=0, refresh_token="rt"),
        http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        sleep=sleep,
        retry=RetryPolicy(jitter=False),
    ) as client:
        results = await asyncio.gather(*(client.list_devices() for _ in range(20)))
    assert refreshes == [1] and all(r[0].synth_id == "d" for r in results)
    assert sleeps == [0.5] and len(api_calls) == 21


# -- OAuth pieces ------------------------------------------------------------------------------


def test_pkce_rfc7636_vector_and_verifier_shape() -> None:
    # RFC 7636 Appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    for length in (43, 64, 128):
        verifier = generate_code_verifier(length)
        assert len(verifier) == length
    with pytest.raises(ValueError):
        generate_code_verifier(42)


def test_basic_authorization_is_form_urlencoded() -> None:
    import base64

    assert basic_authorization("id", "s3cret") == "Basic " + base64.b64encode(b"id:s3cret").decode()
    encoded = basic_authorization("a b", "x:y/+")
    assert base64.b64decode(encoded.split()[1]) == b"a+b:x%3Ay%2F%2B"


def request_for(require_issuer: bool = False) -> AuthorizationRequest:
    return build_authorization_request(
        profile(),
        redirect_uri="http://127.0.0.1:9/cb",
        discovery=Discovery(issuer=AUTH, iss_parameter_supported=require_issuer),
    )


def test_parse_callback_rules() -> None:
    req = request_for()
    good = f"http://127.0.0.1:9/cb?code=c1&state={req.state}"
    assert parse_callback(req, good) == "c1"  # iss not advertised: optional
    assert parse_callback(req, good + f"&iss={AUTH}") == "c1"
    with pytest.raises(IssuerMismatch):
        parse_callback(req, good + "&iss=https://other.test")
    strict = request_for(require_issuer=True)
    with pytest.raises(IssuerMismatch):
        parse_callback(strict, f"http://127.0.0.1:9/cb?code=c&state={strict.state}")
    with pytest.raises(StateMismatch):
        parse_callback(req, "http://127.0.0.1:9/cb?code=c1&state=other")
    with pytest.raises(OAuthError, match="repeated"):
        parse_callback(req, good + "&code=c2")
    with pytest.raises(AccessDenied) as denied:
        parse_callback(
            req, f"http://x/cb?error=access_denied&error_description=no&state={req.state}"
        )
    assert denied.value.description == "no"
    with pytest.raises(OAuthError) as other:
        parse_callback(req, f"http://x/cb?error=invalid_scope&state={req.state}")
    assert other.value.error == "invalid_scope" and not isinstance(other.value, AccessDenied)


def test_authorization_url_for_the_real_service_shape() -> None:
    prod = ProfileConfig().get("gridshare")
    assert prod.auth_base_url == PRODUCTION_AUTH_URL and prod.api_base_url == PRODUCTION_API_URL
    req = build_authorization_request(
        prod.model_copy(update={"client_id": "1example23456789"}),
        redirect_uri="https://www.example.com",
        discovery=Discovery(),
    )
    assert req.url.startswith(
        "https://lunar-customer-prod-us-west-1.auth.us-west-1.amazoncognito.com/oauth2/authorize?"
    )
    query = parse_qs(urlsplit(req.url).query)
    assert query["scope"] == [
        "lunar/device.read lunar/device.write lunar/plan.read lunar/plan.write"
    ]
    assert not req.require_issuer and req.expected_issuer == PRODUCTION_AUTH_URL


def test_token_response_parsing() -> None:
    prof = profile()
    first = parse_token_response(
        {
            "access_token": "a",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "r",
            "id_token": "i",
        },
        now=100,
        profile=prof,
        requested_scopes=["s1"],
    )
    assert first.expires_at == 3700 and first.refresh_token == "r" and first.scope == ["s1"]
    secret_free = parse_token_response(
        {"access_token": "AT-SECRET", "refresh_token": "RT-SECRET", "id_token": "ID-SECRET"},
        now=0,
        profile=prof,
    )
    assert "SECRET" not in repr(secret_free) and "SECRET" not in str(secret_free)
    kept = parse_token_response(
        {"access_token": "b", "token_type": "bearer", "expires_in": 60},
        now=200,
        profile=prof,
        previous=first,
    )
    assert kept.refresh_token == "r" and kept.id_token == "i" and kept.scope == ["s1"]
    rotated = parse_token_response(
        {"access_token": "c", "token_type": "Bearer", "refresh_token": "r2", "scope": "x y"},
        now=300,
        profile=prof,
        previous=kept,
    )
    assert rotated.refresh_token == "r2" and rotated.scope == ["x", "y"]
    assert rotated.expires_at is None
    with pytest.raises(OAuthError):
        parse_token_response({"token_type": "Bearer"}, now=0, profile=prof)
    with pytest.raises(OAuthError):
        parse_token_response({"access_token": "a", "token_type": "mac"}, now=0, profile=prof)


# -- profiles and token stores ------------------------------------------------------------------


def test_profiles_builtin_stored_env(isolated_config: Path) -> None:
    config = ProfileConfig()
    local = config.get("local")
    assert local.auth_base_url == local.api_base_url == "http://127.0.0.1:8000"
    assert local.client_id == "gridsharedemopartner000001"
    assert config.get().name == "local"  # the default
    config.set("local", client_secret="s3cr3t")
    config.set(
        "mine",
        auth_base_url="https://auth.example/",
        api_base_url="https://api.example",
        client_id="abc",
        scopes=["lunar/device.read"],
    )
    config.default = "mine"
    config.save()
    path = isolated_config / "profiles.json"
    assert (path.stat().st_mode & 0o777) == 0o600

    again = ProfileConfig()
    assert again.get().name == "mine"
    mine = again.get("mine")
    assert mine.auth_base_url == "https://auth.example" and mine.scopes == ["lunar/device.read"]
    assert again.get("local").client_secret == "s3cr3t"
    assert "s3cr3t" not in repr(again.get("local"))
    assert again.get("local").masked()["client_secret"] == "s3cr…"

    env = {
        "GRIDSHARE_PROFILE": "local",
        "GRIDSHARE_CLIENT_ID": "envid",
        "GRIDSHARE_CLIENT_SECRET": "envsecret",
        "GRIDSHARE_API_URL": "https://api.other",
        "GRIDSHARE_SCOPES": "openid lunar/device.read",
    }
    overridden = again.get(env=env)
    assert overridden.name == "local" and overridden.client_id == "envid"
    assert (
        overridden.client_secret == "envsecret" and overridden.api_base_url == "https://api.other"
    )
    assert overridden.scopes == ["openid", "lunar/device.read"]

    again.set("local", client_secret="", redirect_uri="")
    cleared = again.get("local")
    assert cleared.client_secret is None and cleared.redirect_uri is None and cleared.is_public
    with pytest.raises(ConfigError, match="no profile 'nope'"):
        again.get("nope")
    with pytest.raises(ConfigError, match="invalid"):
        again.set("broken", auth_base_url="ftp://x", api_base_url="https://y")
    with pytest.raises(ConfigError, match="client_id"):
        Profile(name="x", auth_base_url=AUTH, api_base_url=BASE).require_client_id()


def test_file_token_store(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t")
    assert store.load("p") is None
    tokens = TokenSet(access_token="a", refresh_token="r", expires_at=5.0)
    store.save("p", tokens)
    path = store.path_for("p")
    assert (path.stat().st_mode & 0o777) == 0o600 and store.load("p") == tokens
    store.save("p", tokens.model_copy(update={"refresh_token": "r2"}))
    loaded = store.load("p")
    assert loaded is not None and loaded.refresh_token == "r2"
    assert [p.name for p in path.parent.iterdir()] == ["p.json"]  # no temp files left
    path.write_text("{corrupt")
    assert store.load("p") is None
    store.delete("p")
    store.delete("p")
    with pytest.raises(ValueError):
        store.path_for("../escape")


# -- telemetry ------------------------------------------------------------------------------------


def test_interval_helpers() -> None:
    now = datetime(2026, 4, 2, tzinfo=UTC)
    start = datetime(2026, 4, 1, tzinfo=UTC)
    assert parse_interval("2026-04-01T00:00:00Z/PT24H") == (start, now)
    assert parse_interval("2026-04-01T00:00:00Z/2026-04-02T00:00:00Z") == (start, now)
    assert parse_interval("P1D/2026-04-02T00:00:00Z") == (start, now)
    assert parse_interval("P1D", now=now) == (start, now)
    assert parse_duration("P1W") == timedelta(days=7)
    assert parse_duration("PT1H30M") == timedelta(minutes=90)
    assert format_duration(timedelta(days=1, hours=2, minutes=3)) == "P1DT2H3M"
    assert interval_param(start, duration=timedelta(hours=24)) == "2026-04-01T00:00:00Z/P1D"
    assert interval_param(None, now, "PT24H") == "P1D/2026-04-02T00:00:00Z"
    assert canonical_resolution("PT60M") == "PT1H" and canonical_resolution("PT24H") == "P1D"
    for bad in ("P1M", "PT0S", "nonsense"):
        with pytest.raises(ValueError):
            parse_duration(bad) if bad != "P1M" else canonical_resolution(bad)
    with pytest.raises(ValueError):
        canonical_resolution("PT7M")


def test_chunks_respect_the_point_limit_and_bucket_edges() -> None:
    start = datetime(2026, 1, 1, 0, 7, tzinfo=UTC)  # not on a bucket edge
    end = start + timedelta(days=400)
    for resolution in ("PT1M", "PT15M", "PT1H", "P1D"):
        chunks = plan_chunks(start, end, resolution, 10_000)
        assert chunks[0].start == start and chunks[-1].end == end
        for a, b in itertools.pairwise(chunks):
            assert a.end == b.start
        assert all(bucket_count(c.start, c.end, resolution) <= 10_000 for c in chunks)
    assert len(plan_chunks(start, end, "PT15M")) == 4  # 38,401 buckets
    assert len(plan_chunks(start, start + timedelta(days=3), "PT15M", 100)) == 3


class FakeTelemetryApi:
    """The telemetry contract: whole buckets that overlap the interval, time order, at most
    `max_points` buckets per call (400 too_many_points beyond), power = bucket index."""

    def __init__(self, max_points: int = 10_000) -> None:
        self.max_points = max_points
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/telemetry")
        q = dict(request.url.params)
        self.calls.append(q["interval"])
        left, right = q["interval"].split("/")
        start = datetime.fromisoformat(left.replace("Z", "+00:00"))
        end = (
            (start + parse_duration(right))
            if right.startswith("P")
            else datetime.fromisoformat(right.replace("Z", "+00:00"))
        )
        step = {"PT1M": 60, "PT15M": 900, "PT1H": 3600}[q["resolution"]]
        a, b = int(start.timestamp()) // step, -(-int(end.timestamp()) // step)
        if b - a > self.max_points:
            return err(400, "too_many_points")
        entries = [
            {
                "timestamp": datetime.fromtimestamp(i * step, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "power_W": float(i % 1000),
                "soc_percent": 50.0,
            }
            | ({"energy_Wh_increment": float(i)} if q["include"] == "default,energy" else {})
            for i in range(a, b)
        ]
        return ok({"entries": entries})


def test_download_splits_and_merges() -> None:
    api = FakeTelemetryApi()
    client = make_client(api)
    start = datetime(2026, 1, 1, 0, 7, tzinfo=UTC)
    end = start + timedelta(days=200)
    with pytest.raises(BadRequest, match="too_many_points"):
        client.get_telemetry("s__bb_agg", start, end, resolution="PT15M")
    progress: list[tuple[int, int]] = []
    series = client.download_telemetry(
        "s__bb_agg",
        start,
        end,
        resolution="PT15M",
        include_energy=True,
        progress=lambda d, t: progress.append((d, t)),
    )
    assert series.calls == len(api.calls) - 1 == 2 and progress == [(1, 2), (2, 2)]
    stamps = [e.timestamp for e in series]
    assert stamps == sorted(set(stamps))
    assert len(series) == bucket_count(start, end, "PT15M") == 19_201
    assert stamps[0] == datetime(2026, 1, 1, tzinfo=UTC)  # the whole first bucket
    assert series.entries[5].energy_wh_increment is not None
    assert series.columns() == ["power_W", "soc_percent", "energy_Wh_increment"]


async def test_async_download_matches_sync() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    sync_series = make_client(FakeTelemetryApi(300)).download_telemetry(
        "x", start, duration="P7D", resolution="PT15M", max_points=300
    )
    async with AsyncGridshareClient(
        profile(),
        token_store=MemoryTokenStore(),
        tokens=TokenSet(access_token="a", expires_at=4e9),
        http=httpx.AsyncClient(transport=httpx.MockTransport(FakeTelemetryApi(300))),
    ) as client:
        async_series = await client.download_telemetry(
            "x", start, duration="P7D", resolution="PT15M", max_points=300, concurrency=3
        )
    assert async_series.entries == sync_series.entries and async_series.calls == 3
    assert len(sync_series) == 7 * 96


def test_v1_telemetry_duration_before_end() -> None:
    api = FakeTelemetryApi()
    handler_seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        handler_seen.append(request)
        return ok({"entries": []})

    client = make_client(handler)
    end = datetime(2026, 1, 7, tzinfo=UTC)
    client.get_telemetry_v1(
        "device-1", end=end, duration="P7D", resolution="PT1H", aggregation="latest"
    )
    request = handler_seen[0]
    assert request.url.path == "/api/v1/devices/device-1/telemetry"
    assert dict(request.url.params) == {
        "interval": "P7D/2026-01-07T00:00:00Z",
        "resolution": "PT1H",
        "include": "default",
        "aggregation": "latest",
    }
    del api


def test_to_dataframe(monkeypatch: pytest.MonkeyPatch) -> None:
    series = make_client(FakeTelemetryApi()).get_telemetry(
        "x", "2026-01-01T00:00:00Z", duration="PT2H", resolution="PT15M"
    )
    frame = series.to_dataframe()
    assert list(frame.columns) == ["power_W", "soc_percent"] and len(frame) == 8
    assert str(frame.index.tz) == "UTC" and frame["power_W"].dtype.kind == "f"
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependency, match="pip install pandas") as caught:
        series.to_dataframe()
    assert isinstance(caught.value, ImportError)


def test_series_round_trips_as_json() -> None:
    series = make_client(FakeTelemetryApi()).get_telemetry(
        "x", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", resolution="PT15M"
    )
    again = TelemetrySeries.model_validate_json(series.model_dump_json(by_alias=True))
    assert again.entries == series.entries


# -- packaging ---------------------------------------------------------------------------------


def test_sdk_and_partner_cli_import_nothing_of_the_server() -> None:
    code = """
import sys
import gridshare_client, gridshare_client.cli.partner, gridshare_client.cli.main
server = ('gridshare.auth', 'gridshare.api', 'gridshare.storage', 'gridshare.fleet',
          'gridshare.homes', 'gridshare.twin', 'gridshare.telemetry', 'gridshare.config',
          'gridshare.services', 'gridshare.app', 'fastapi', 'starlette', 'sqlalchemy',
          'pydantic_settings', 'uvicorn', 'numpy', 'pandas', 'argon2', 'joserfc')
print([m for m in sys.modules if m.startswith(server)])
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_authorization_request_round_trips_through_a_session() -> None:
    req = request_for(require_issuer=True)
    again = AuthorizationRequest.from_dict(json.loads(json.dumps(req.to_dict())))
    assert again == req
    assert parse_callback(again, f"http://x/cb?code=c&state={req.state}&iss={AUTH}") == "c"


LIGHT_BLOCKER = """
import sys
from importlib.abc import MetaPathFinder

ALLOWED = set(sys.stdlib_module_names) | set(ALLOWED_EXTRA)

class OnlyTheLightSet(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top not in ALLOWED and not top.startswith("_sysconfigdata"):
            raise ImportError(f"{name} is not installed in the light set")
        return None

sys.meta_path.insert(0, OnlyTheLightSet())
"""


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def modules_of(distributions: set[str]) -> set[str]:
    """Top-level modules of these distributions and of everything they require (no extras)."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, requires

    wanted: set[str] = set()
    todo = [_norm(d) for d in distributions]
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted.add(name)
        try:
            reqs = requires(name) or []
        except PackageNotFoundError:
            continue
        for req in reqs:
            if "extra ==" in req:
                continue
            match = re.match(r"[A-Za-z0-9._-]+", req)
            if match:
                todo.append(_norm(match.group(0)))
    return {
        module
        for module, dists in packages_distributions().items()
        if any(_norm(d) in wanted for d in dists)
    } | {"gridshare_client", "_distutils_hack"}


SDK_SET = modules_of({"httpx", "pydantic", "platformdirs"})
CLI_SET = SDK_SET | modules_of({"typer", "rich"})


def run_with_only(allowed: set[str], code: str) -> subprocess.CompletedProcess[str]:
    prelude = LIGHT_BLOCKER.replace("ALLOWED_EXTRA", repr(sorted(allowed)))
    return subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=60
    )


def test_sdk_works_with_only_httpx_pydantic_platformdirs() -> None:
    result = run_with_only(
        SDK_SET,
        """
from gridshare_client import GridshareClient, AsyncGridshareClient, ProfileConfig, TokenSet
from gridshare_client import MemoryTokenStore, TelemetrySeries, MissingDependency
client = GridshareClient(ProfileConfig().get("gridshare"), token_store=MemoryTokenStore())
series = TelemetrySeries(synthId="x", resolution="PT15M", start="2026-01-01T00:00:00Z",
                         end="2026-01-02T00:00:00Z")
try:
    series.to_dataframe()
except MissingDependency as exc:
    print("ok:", exc)
""",
    )
    assert result.returncode == 0, result.stderr
    assert "ok: TelemetrySeries.to_dataframe() needs pandas" in result.stdout


def test_partner_cli_works_with_the_light_set(isolated_config: Path) -> None:
    result = run_with_only(
        CLI_SET,
        """
import sys
from typer.testing import CliRunner
from gridshare_client.cli.main import app
runner = CliRunner()
out = runner.invoke(app, ["profile", "list", "--json"])
assert out.exit_code == 0, out.output
print(out.stdout)
out = runner.invoke(app, ["sites", "-p", "gridshare"])
print(out.exit_code, out.stderr)
""",
    )
    assert result.returncode == 0, result.stderr
    assert '"name": "gridshare"' in result.stdout
    assert "1 error: not logged in: run `gridshare login --profile gridshare`" in result.stdout


def test_loopback_binding() -> None:
    from gridshare_client.loopback import loopback_binding

    assert loopback_binding(None, None) == ("127.0.0.1", 0, "/callback")
    assert loopback_binding(None, 9000) == ("127.0.0.1", 9000, "/callback")
    registered = "http://127.0.0.1:8765/cb/app"
    assert loopback_binding(registered, None) == ("127.0.0.1", 8765, "/cb/app")
    assert loopback_binding(registered, 0) == ("127.0.0.1", 0, "/cb/app")
    assert loopback_binding("https://www.example.com", 9000) == ("127.0.0.1", 9000, "/callback")
    with pytest.raises(ValueError, match="not a loopback URI"):
        loopback_binding("https://www.example.com", None)
