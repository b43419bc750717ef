"""`/metrics`: what it counts (by route template, never the raw path; token outcomes by grant;
rate-limit refusals) and who may read it (the allow-list; nobody by default)."""

from __future__ import annotations

import uuid

from gridshare.config import Settings
from tests.api.homes_support import make_home, running_app
from tests.ops.metrics_support import label_values, sample_value
from tests.support import Partner

CLIENT = "203.0.113.7"  # the test client's address (tests.api.homes_support.running_app)
REQUESTS = "gridshare_http_request_duration_seconds_count"


def _allowing(settings: Settings, allow: str = "203.0.113.0/24", **extra: object) -> Settings:
    return settings.model_copy(update={"metrics_allow": allow, **extra})


async def test_not_served_on_the_main_port_by_default(settings: Settings) -> None:
    async with running_app(settings) as (_, gs):
        response = await gs.http.get("/metrics")
    assert response.status_code == 404
    assert "gridshare_" not in response.text


async def test_refused_to_an_address_outside_the_allow_list(settings: Settings) -> None:
    async with running_app(_allowing(settings, "127.0.0.1, ::1, 10.0.0.0/8")) as (_, gs):
        response = await gs.http.get("/metrics")
    assert response.status_code == 404
    assert "gridshare_" not in response.text


async def test_served_to_an_allowed_address_by_route_template(settings: Settings) -> None:
    async with running_app(_allowing(settings)) as (_, gs):
        device = f"gs-{uuid.uuid4().hex}"
        await gs.http.get(f"/api/v2/devices/{device}")  # 401: no token
        await gs.http.get("/healthz")
        await gs.http.get(f"/no/such/{device}")
        response = await gs.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert device not in body  # raw paths never become labels
    labels = {"method": "GET", "route": "/api/v2/devices/{synthId}", "status": "401"}
    assert sample_value(body, REQUESTS, **labels) >= 1
    assert sample_value(body, REQUESTS, route="/healthz", status="200") >= 1
    assert sample_value(body, REQUESTS, route="<unmatched>", status="404") >= 1
    methods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}
    assert label_values(body, REQUESTS, "method") <= methods  # bounded, whatever ran before


async def test_token_outcomes_by_grant_type(settings: Settings) -> None:
    async with running_app(_allowing(settings)) as (_, gs):
        before = (await gs.http.get("/metrics")).text
        home = await make_home(gs)
        partner: Partner = home.partner
        refreshed = await gs.http.post(
            "/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": home.tokens["refresh_token"]},
            headers=partner.basic(),
        )
        refused = await gs.http.post(
            "/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": "not-a-token"},
            headers=partner.basic(),
        )
        odd = await gs.http.post(
            "/oauth2/token", data={"grant_type": "urn:x:made-up"}, headers=partner.basic()
        )
        after = (await gs.http.get("/metrics")).text
    assert (refreshed.status_code, refused.status_code, odd.status_code) == (200, 400, 400)
    name = "gridshare_token_requests_total"

    def delta(**labels: str) -> float:
        return sample_value(after, name, **labels) - sample_value(before, name, **labels)

    assert delta(grant_type="authorization_code", outcome="issued") == 1
    assert delta(grant_type="refresh_token", outcome="issued") == 1
    assert delta(grant_type="refresh_token", outcome="invalid_grant") == 1
    assert delta(grant_type="other", outcome="unsupported_grant_type") == 1  # bounded label


async def test_rate_limit_refusals_are_counted(settings: Settings) -> None:
    async with running_app(_allowing(settings, api_rate_per_minute=2)) as (_, gs):
        home = await make_home(gs)
        before = (await gs.http.get("/metrics")).text
        statuses = [
            (await gs.http.get("/api/v2/sites", headers=home.headers)).status_code for _ in range(4)
        ]
        after = (await gs.http.get("/metrics")).text
    assert statuses == [200, 200, 429, 429]
    name = "gridshare_rate_limit_refusals_total"
    assert sample_value(after, name, limit="api") - sample_value(before, name, limit="api") == 2


async def test_database_pool_is_reported(settings: Settings) -> None:
    async with running_app(_allowing(settings)) as (_, gs):
        body = (await gs.http.get("/metrics")).text
    assert sample_value(body, "gridshare_db_pool_size") > 0
    assert "gridshare_db_connections_in_use" in body
