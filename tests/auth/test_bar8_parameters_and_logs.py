"""Security bar 8: repeated parameters → invalid_request; malformed or oversized input is a clean
4xx, never a 500; nothing secret (passwords, codes, tokens, secrets, Authorization headers) is
ever logged."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI

from gridshare.logging_filters import RedactSecrets, redact
from tests.auth.bar_support import api, consent_form, consent_page, raw_asgi
from tests.support import PASSWORD, REDIRECT, TestServices, hidden, query_of


def _authorize_pairs(client_id: str, **extra: str) -> list[tuple[str, str]]:
    pairs = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("state", "st-1"),
        ("scope", "lunar/device.read"),
    ]
    return pairs + list(extra.items())


async def test_repeated_authorize_parameter_is_invalid_request_at_the_redirect_uri(
    gs: TestServices,
) -> None:
    partner = await gs.partner()
    for name in ("scope", "response_type", "code_challenge", "nonce", "prompt"):
        pairs = _authorize_pairs(partner.client_id)
        pairs += [(name, "lunar/device.read" if name == "scope" else "x"), (name, "other")]
        response = await gs.http.get("/oauth2/authorize?" + urlencode(pairs))
        assert response.status_code == 302, name
        location = response.headers["location"]
        assert location.startswith(REDIRECT + "?"), name
        params = query_of(location)
        assert params["error"] == "invalid_request", name
        assert name in params["error_description"]
        assert params["state"] == "st-1" and params["iss"] == gs.services.issuer


async def test_repeated_state_is_invalid_request_without_echoing_either_value(
    gs: TestServices,
) -> None:
    partner = await gs.partner()
    pairs = [*_authorize_pairs(partner.client_id), ("state", "st-2")]
    response = await gs.http.get("/oauth2/authorize?" + urlencode(pairs))
    params = query_of(response.headers["location"])
    assert params["error"] == "invalid_request" and "state" not in params


async def test_repeated_client_or_redirect_uri_is_an_error_page(gs: TestServices) -> None:
    partner = await gs.partner()
    for name, value in (("client_id", partner.client_id), ("redirect_uri", REDIRECT)):
        pairs = [*_authorize_pairs(partner.client_id), (name, value)]
        response = await gs.http.get("/oauth2/authorize?" + urlencode(pairs))
        assert response.status_code == 400 and "location" not in response.headers, name


async def test_repeated_token_parameter_is_invalid_request(gs: TestServices) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner()
    auth = await gs.authorize(partner, owner)
    form = {
        "grant_type": "authorization_code",
        "client_id": partner.client_id,
        "code": auth.code,
        "redirect_uri": partner.redirect_uri,
        "code_verifier": auth.verifier or "",
    }
    for name in form:
        pairs = [*form.items(), (name, form[name])]
        response = await gs.http.post(
            "/oauth2/token",
            content=urlencode(pairs),
            headers={**partner.basic(), "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 400, name
        assert response.json()["error"] == "invalid_request", name
        assert response.headers["cache-control"] == "no-store"
    # The code was not touched by the refused requests.
    assert (await gs.exchange(partner, auth)).status_code == 200


async def test_repeated_parameters_are_refused_at_revoke_login_consent_and_logout(
    gs: TestServices,
) -> None:
    owner = await gs.homeowner()
    partner = await gs.partner(logout_uris=["https://partner.example/bye"])
    tokens = await gs.tokens(partner, owner, scope="lunar/device.read")
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}

    revoke = await gs.http.post(
        "/oauth2/revoke",
        content=urlencode([("token", tokens["refresh_token"]), ("token", "x")]),
        headers={**partner.basic(), **form_headers},
    )
    assert revoke.status_code == 400 and revoke.json()["error"] == "invalid_request"
    assert (await gs.refresh(partner, tokens["refresh_token"])).status_code == 200

    page = await gs.http.get("/login")
    login = await gs.http.post(
        "/login",
        content=urlencode(
            [
                ("username", owner.email),
                ("username", "x@example.com"),
                ("password", PASSWORD),
                ("csrf_token", hidden(page.text, "csrf_token")),
            ]
        ),
        headers=form_headers,
    )
    assert login.status_code == 400 and "location" not in login.headers

    query, _ = gs.authorize_query(partner, scope="lunar/plan.read")
    consent = await consent_page(gs, query)
    form = consent_form(consent)
    repeated = await gs.http.post(
        "/consent",
        content=urlencode([*form.items(), ("decision", "deny")]),
        headers=form_headers,
    )
    assert repeated.status_code == 400 and "location" not in repeated.headers

    logout = await gs.http.get(
        "/logout?"
        + urlencode(
            [
                ("client_id", partner.client_id),
                ("logout_uri", "https://partner.example/bye"),
                ("logout_uri", "https://partner.example/bye"),
            ]
        )
    )
    assert logout.status_code == 400 and "location" not in logout.headers


BIG_QUERY = "client_id=" + "a" * 10_240
BIG_BODY = "grant_type=refresh_token&refresh_token=" + "r" * 100_000


MALFORMED = [
    ("GET", "/oauth2/authorize", "client_id=%ff&redirect_uri=x", None),
    ("GET", "/oauth2/authorize", BIG_QUERY, None),
    ("GET", "/oauth2/authorize", "client_id=a%00b", None),
    ("GET", "/login", "client_id=%ff", None),
    ("GET", "/login", BIG_QUERY, None),
    ("POST", "/login", "", "username=%ff&password=x&csrf_token=y"),
    ("POST", "/login", "", BIG_BODY),
    ("POST", "/login", BIG_QUERY, "username=a"),
    ("POST", "/consent", "", BIG_BODY),
    ("POST", "/consent", "", "request=%ff&csrf_token=x"),
    ("GET", "/logout", "client_id=%fe%ff", None),
    ("GET", "/logout", BIG_QUERY, None),
    ("POST", "/oauth2/token", "", "grant_type=%ff"),
    ("POST", "/oauth2/token", "", BIG_BODY),
    ("POST", "/oauth2/token", "", "grant_type=refresh_token&refresh_token=a%00"),
    ("POST", "/oauth2/revoke", "", BIG_BODY),
    ("POST", "/oauth2/revoke", "", "token=%c3%28"),
]


async def test_malformed_or_oversized_parameters_get_a_clean_4xx(gs: TestServices) -> None:
    for method, path, query, body in MALFORMED:
        case = (method, path, query[:40], (body or "")[:40])
        url = path + (f"?{query}" if query else "")
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        response = await gs.http.request(method, url, content=body, headers=headers)
        assert response.status_code in (400, 413), (case, response.status_code)
        if path in ("/oauth2/token", "/oauth2/revoke"):
            assert response.json()["error"] == "invalid_request", case
        else:
            assert response.headers["content-type"].startswith("text/html"), case


RAW_NON_UTF8 = [
    ("GET", "/oauth2/authorize", b"client_id=\xff\xfe&redirect_uri=\xc3", b""),
    ("GET", "/login", b"client_id=\xff", b""),
    ("POST", "/login", b"client_id=\xff", b"username=a"),
    ("GET", "/logout", b"client_id=\xff", b""),
    ("POST", "/oauth2/token", b"", b"grant_type=\xff\xfe"),
    ("POST", "/oauth2/revoke", b"", b"token=\xff"),
]


async def test_raw_non_utf8_bytes_get_a_clean_400(app: FastAPI) -> None:
    for method, path, query, body in RAW_NON_UTF8:
        headers = [(b"content-type", b"application/x-www-form-urlencoded")] if body else []
        status, _, _ = await raw_asgi(app, method, path, query, body, headers)
        assert status == 400, (method, path)


async def test_garbage_authorization_headers_get_401_not_500(app: FastAPI) -> None:
    for value in (
        b"Bearer \xff\xfe",
        b"Bearer " + b"a" * 100_000,
        b"Bearer a.b.c",
        b"Bearer !!!.???.***",
        b"Basic \xff",
    ):
        status, headers, _ = await raw_asgi(
            app, "GET", "/api/v1/devices", headers=[(b"authorization", value)]
        )
        assert status == 401, value[:20]
        assert headers["www-authenticate"].startswith("Bearer")
    for value in (b"Basic \xff\xfe", b"Basic " + b"A" * 100_000, b"Basic Og=="):
        status, headers, body = await raw_asgi(
            app,
            "POST",
            "/oauth2/token",
            body=b"grant_type=refresh_token&refresh_token=x",
            headers=[
                (b"authorization", value),
                (b"content-type", b"application/x-www-form-urlencoded"),
            ],
        )
        assert status == 401, (value[:20], body[:200])


async def test_nothing_secret_is_logged_during_a_whole_flow(
    gs: TestServices, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = await gs.homeowner()
    partner = await gs.partner()
    assert partner.secret is not None
    wrong_password = "wrong-password-Zq81"
    wrong_secret = "wrong-secret-Zq81-" + "s" * 30

    page = await gs.http.get("/login")
    csrf = hidden(page.text, "csrf_token")
    failed = await gs.http.post(
        "/login", data={"username": owner.email, "password": wrong_password, "csrf_token": csrf}
    )
    assert failed.status_code == 400
    auth = await gs.authorize(partner, owner, scope="openid lunar/device.read", nonce="n")
    session_id = gs.http.cookies["gridshare_session"]
    bad_client = await gs.http.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": auth.code,
            "redirect_uri": partner.redirect_uri,
        },
        auth=(partner.client_id, wrong_secret),
    )
    assert bad_client.status_code == 401
    tokens = (await gs.exchange(partner, auth)).json()
    refreshed = (await gs.refresh(partner, tokens["refresh_token"])).json()
    assert (await api(gs.http, refreshed["access_token"])).status_code == 200
    info = await gs.http.get(
        "/oauth2/userInfo", headers={"Authorization": f"Bearer {refreshed['access_token']}"}
    )
    assert info.status_code == 200
    revoked = await gs.http.post(
        "/oauth2/revoke", data={"token": tokens["refresh_token"]}, headers=partner.basic()
    )
    assert revoked.status_code == 200
    replay = await gs.exchange(partner, auth)
    assert replay.status_code == 400

    assert caplog.records, "the flow logged something, so the check below is not vacuous"
    secrets_ = {
        "password": PASSWORD,
        "wrong password": wrong_password,
        "client secret": partner.secret,
        "wrong client secret": wrong_secret,
        "Basic credentials": partner.basic()["Authorization"].split()[1],
        "code": auth.code,
        "code_verifier": auth.verifier or "",
        "access token": tokens["access_token"],
        "id token": tokens["id_token"],
        "refresh token": tokens["refresh_token"],
        "refreshed access token": refreshed["access_token"],
        "csrf token": csrf,
        "session id": session_id,
    }
    text = caplog.text
    for what, value in secrets_.items():
        assert value and value not in text, f"the {what} was logged"


def test_access_log_lines_are_redacted() -> None:
    code, token = "SplxlOBeZQQYbYS6WxSbIA", "eyJhbGciOi.eyJzdWIi.c2ln"
    line = f'127.0.0.1:53117 - "GET /cb?code={code}&state=af0ifjsldkj HTTP/1.1" 200'
    assert code not in redact(line)
    assert "state=af0ifjsldkj" in redact(line)
    for name in (
        "code",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "client_secret",
        "password",
        "code_verifier",
        "CODE",
    ):
        text = redact(f"GET /x?state=s&{name}={token}&other=1 HTTP/1.1")
        assert token not in text and "other=1" in text, name

    # The filter applied to a record shaped exactly like uvicorn's access log.
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:53117", "GET", f"/cb?code={code}&state=s", "1.1", 200),
        None,
    )
    assert RedactSecrets().filter(record)
    assert code not in record.getMessage()
    assert "/cb?code=" in record.getMessage()


@pytest.fixture
async def tolerant_http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_unexpected_errors_log_the_path_but_not_the_query(
    gs: TestServices,
    tolerant_http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    partner = await gs.partner()

    async def broken(*_args: object) -> None:
        raise RuntimeError("storage is down")

    monkeypatch.setattr(gs.services.sessions, "current", broken)
    caplog.set_level(logging.DEBUG)
    query, _ = gs.authorize_query(partner, state="secret-state-8812", nonce="secret-nonce-8812")
    response = await tolerant_http.get(f"/oauth2/authorize?{query}&code=secret-code-8812")
    assert response.status_code == 500
    assert "/oauth2/authorize" in caplog.text and "storage is down" in caplog.text
    server_lines = "\n".join(r.getMessage() for r in caplog.records if r.name == "gridshare")
    assert "secret-" not in server_lines
