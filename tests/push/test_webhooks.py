"""Webhooks end to end: subscribe through the API, change the home, advance the twin, deliver,
and check what a real receiver on a real socket got, with the `standardwebhooks` library as the
independent judge of the signatures.

The twin is advanced by the test (as the live loop would) and delivery rounds are run by the
test (`Deliverer.deliver_once`, what the background loop runs); the app's clock is pinned.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from gridshare.clock import Clock
from gridshare.fleet.webhooks import Deliverer
from tests.api.telemetry_support import TwinHome, iso, twin_home, utc
from tests.push.receiver import Received, receiver
from tests.support import TestServices, hidden

NOW = utc("2026-06-15T08:00:00Z")
PLAN_EVENTS = [
    "plan.overlay.accepted",
    "plan.overlay.started",
    "plan.overlay.completed",
    "plan.overlay.superseded",
    "plan.overlay.cleared",
]


@pytest.fixture
def clock() -> Clock:
    pinned = Clock()
    pinned.offset_seconds = NOW.timestamp() - time.time()
    return pinned


async def subscribe(
    gs: TestServices, home: TwinHome, url: str, events: list[str], **extra: Any
) -> dict[str, Any]:
    response = await gs.http.post(
        "/api/v2/subscriptions",
        json={"callbackUrl": url, "events": events, **extra},
        headers=home.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def verified(secret: str, got: Received) -> dict[str, Any]:
    """The payload, if the signature holds (raises otherwise)."""
    payload: dict[str, Any] = Webhook(secret).verify(got.body, got.headers)
    return payload


async def deliver_all(gs: TestServices) -> int:
    made = 0
    while sent := await gs.services.deliverer.deliver_once():
        made += sent
    return made


async def put_plan(gs: TestServices, home: TwinHome, plan: dict[str, Any]) -> None:
    path = f"/api/v2/devices/{home.device('battery_pack')}/plans/overlay"
    response = await gs.http.put(path, json=plan, headers=home.headers)
    assert response.status_code == 204, response.text


async def test_plan_accepted_started_completed_in_order_and_signed(gs: TestServices) -> None:
    home = await twin_home(gs, seed=51, history_start=NOW - timedelta(minutes=30), until=NOW)
    start = NOW + timedelta(minutes=3)
    plan = {
        "startTime": iso(start),
        "commands": [{"type": "setpoint", "durationMinutes": 5, "powerW": -1500}],
    }
    with receiver() as hooks:
        sub = await subscribe(gs, home, hooks.url, PLAN_EVENTS)
        assert sub["secret"].startswith("whsec_") and sub["status"] == "active"
        await put_plan(gs, home, plan)
        for minute in range(1, 12):  # the live loop's one-minute steps
            await gs.services.twin.advance(home.site.site_id, until=NOW + timedelta(minutes=minute))
            await deliver_all(gs)
        payloads = [verified(sub["secret"], got) for got in hooks.received]
        # another secret does not verify
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 32).verify(hooks.received[0].body, hooks.received[0].headers)
    assert [p["type"] for p in payloads] == [
        "plan.overlay.accepted",
        "plan.overlay.started",
        "plan.overlay.completed",
    ]
    assert [p["time"] for p in payloads[1:]] == [iso(start), iso(start + timedelta(minutes=5))]
    assert {p["siteId"] for p in payloads} == {home.site.site_id}
    assert payloads[0]["data"]["plan"] == plan
    seqs = [p["seq"] for p in payloads]
    assert seqs == sorted(seqs)
    assert [got.headers["webhook-id"] for got in hooks.received] == [p["id"] for p in payloads]

    # the subscription is the partner's alone; its log shows each attempt
    listed = await gs.http.get("/api/v2/subscriptions", headers=home.headers)
    assert [s["id"] for s in listed.json()["entries"]] == [sub["id"]]
    assert "secret" not in listed.json()["entries"][0]
    log = await gs.http.get(f"/api/v2/subscriptions/{sub['id']}/deliveries", headers=home.headers)
    assert [d["statusCode"] for d in log.json()["deliveries"]] == [204, 204, 204]
    other = await twin_home(gs, seed=52)
    alien = await gs.http.get(f"/api/v2/subscriptions/{sub['id']}", headers=other.headers)
    assert alien.status_code == 404


async def test_a_failing_receiver_is_retried_with_backoff_then_succeeds(
    gs: TestServices, clock: Clock
) -> None:
    home = await twin_home(gs, seed=53)
    with receiver() as hooks:
        sub = await subscribe(gs, home, hooks.url, ["device.operationMode.changed"])
        hooks.script = [500, 503]
        mode = await gs.http.put(
            f"/api/v2/devices/{home.device('battery_pack')}/operationMode",
            json={"mode": "smart"},
            headers=home.headers,
        )
        assert mode.status_code == 200
        assert await deliver_all(gs) == 1  # the 500; the retry is not due yet
        log = await gs.http.get(
            f"/api/v2/subscriptions/{sub['id']}/deliveries", headers=home.headers
        )
        first = log.json()["deliveries"][0]
        assert first["statusCode"] == 500 and first["nextRetryAt"] is not None
        assert log.json()["nextAttemptAt"] == first["nextRetryAt"]
        for _ in range(2):
            clock.offset_seconds += 3600  # past any backoff
            assert await deliver_all(gs) == 1
        ids = [got.headers["webhook-id"] for got in hooks.received]
        assert len(ids) == 3 and len(set(ids)) == 1  # one event, the same id on each retry
        assert verified(sub["secret"], hooks.received[-1])["data"]["operationMode"] == {
            "mode": "smart"
        }
    # (the clock moved past the access token's life: read the log through the use case)
    log = await gs.services.webhooks.deliveries(home.owner.sub, home.partner.client_id, sub["id"])
    assert [d["statusCode"] for d in log["deliveries"]] == [204, 503, 500]
    assert [d["attempt"] for d in log["deliveries"]] == [3, 2, 1]
    assert log["status"] == "active" and log["nextAttemptAt"] is None


async def test_after_the_retry_window_the_subscription_is_failing_with_its_reason(
    gs: TestServices, clock: Clock
) -> None:
    home = await twin_home(gs, seed=54)
    with receiver() as hooks:
        sub = await subscribe(gs, home, hooks.url, ["device.operationMode.changed"])
        hooks.script = [500] * 100
        await gs.http.put(
            f"/api/v2/devices/{home.device('battery_pack')}/operationMode",
            json={"mode": "smart"},
            headers=home.headers,
        )
        for _ in range(30):
            clock.offset_seconds += 3600
            await deliver_all(gs)
        got = await gs.services.webhooks.get(home.owner.sub, home.partner.client_id, sub["id"])
        attempts = len(hooks.received)
    assert got["status"] == "failing"
    assert "24 hours" in got["statusReason"] and "500" in got["statusReason"]
    assert 20 <= attempts <= 30


async def test_rotation_signs_with_both_secrets(gs: TestServices) -> None:
    home = await twin_home(gs, seed=55)
    with receiver() as hooks:
        sub = await subscribe(gs, home, hooks.url, ["device.operationMode.changed"])
        rotated = await gs.http.post(
            f"/api/v2/subscriptions/{sub['id']}/rotate-secret", headers=home.headers
        )
        assert rotated.status_code == 200 and rotated.json()["secret"] != sub["secret"]
        await gs.http.put(
            f"/api/v2/devices/{home.device('battery_pack')}/operationMode",
            json={"mode": "smart"},
            headers=home.headers,
        )
        await deliver_all(gs)
        (got,) = hooks.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    verified(sub["secret"], got)
    verified(rotated.json()["secret"], got)


async def test_disconnecting_tells_grant_revoked_then_silence(gs: TestServices) -> None:
    home = await twin_home(gs, seed=56)
    with receiver() as hooks:
        sub = await subscribe(gs, home, hooks.url, ["device.operationMode.changed"])
        page = await gs.http.get("/account")
        (connection,) = await gs.services.grants.connections(home.owner.sub)
        revoked = await gs.http.post(
            f"/account/connections/{connection.grant.id}/revoke",
            data={"csrf_token": hidden(page.text, "csrf_token")},
        )
        assert revoked.status_code in (302, 303)
        await deliver_all(gs)
        # the homeowner's own later changes reach nobody: the subscription has ended
        await gs.services.homes.set_mode(
            _owner_caller(home), home.device("battery_pack"), {"mode": "smart"}
        )
        await deliver_all(gs)
        payloads = [verified(sub["secret"], got) for got in hooks.received]
    assert [p["type"] for p in payloads] == ["grant.revoked"]
    assert payloads[0]["data"]["grantId"] == connection.grant.id
    state = await gs.services.webhooks.get(home.owner.sub, home.partner.client_id, sub["id"])
    assert state["status"] == "ended"


def _owner_caller(home: TwinHome) -> Any:
    from gridshare.fleet.service import Caller

    return Caller(user_id=home.owner.sub, client_id="another-partner")


async def test_two_deliverers_never_send_the_same_attempt(gs: TestServices) -> None:
    homes = [await twin_home(gs, seed=60 + i) for i in range(3)]
    services = gs.services
    with receiver() as hooks:
        for home in homes:
            await subscribe(gs, home, hooks.url, ["device.operationMode.changed"])
            for mode in ("smart", "simple", "smart", "simple"):
                response = await gs.http.put(
                    f"/api/v2/devices/{home.device('battery_pack')}/operationMode",
                    json={"mode": mode},
                    headers=home.headers,
                )
                assert response.status_code == 200
        first = Deliverer(services.db, services.clock, services.deliverer.rules)
        second = Deliverer(services.db, services.clock, services.deliverer.rules)

        async def drain(deliverer: Deliverer) -> None:
            for _ in range(20):
                await deliverer.deliver_once(batch=1)

        await asyncio.gather(drain(first), drain(second))
        ids = Counter(got.headers["webhook-id"] for got in hooks.received)
    assert len(ids) == 12 and set(ids.values()) == {1}
    for home in homes:
        modes = [
            json.loads(got.body)["data"]["operationMode"]["mode"]
            for got in hooks.received
            if json.loads(got.body)["siteId"] == home.site.site_id
        ]
        assert modes == ["smart", "simple", "smart", "simple"]  # in order per site


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://10.0.0.1/hook", "not a public address"),
        ("https://169.254.169.254/latest/meta-data", "not a public address"),
        ("https://[fd00::1]/hook", "not a public address"),
        ("https://100.64.0.1/hook", "not a public address"),
        ("https://0.0.0.0/hook", "not a public address"),
        ("http://203.0.113.9/hook", "must be an https URL"),
        ("ftp://example.com/hook", "must be an https URL"),
        ("https://user:pw@example.com/hook", "no user info"),
        ("https://does-not-exist.invalid/hook", "does not resolve"),
    ],
)
async def test_ssrf_callbacks_are_refused(gs: TestServices, url: str, reason: str) -> None:
    home = await twin_home(gs, seed=70)
    response = await gs.http.post(
        "/api/v2/subscriptions",
        json={"callbackUrl": url, "events": ["device.operationMode.changed"]},
        headers=home.headers,
    )
    assert response.status_code == 422, response.text
    assert reason in response.json()["message"]


async def test_loopback_callbacks_need_a_loopback_server(gs: TestServices) -> None:
    home = await twin_home(gs, seed=71)
    gs.services.webhooks.rules = dataclasses_replace(gs.services.webhooks.rules)
    response = await gs.http.post(
        "/api/v2/subscriptions",
        json={"callbackUrl": "http://127.0.0.1:9/hook", "events": ["plan.overlay.accepted"]},
        headers=home.headers,
    )
    assert response.status_code == 422
    assert "own machine" in response.json()["message"]


def dataclasses_replace(rules: Any) -> Any:
    import dataclasses

    return dataclasses.replace(rules, allow_loopback=False)


async def test_events_beyond_the_tokens_scopes_are_refused(gs: TestServices) -> None:
    home = await twin_home(gs, seed=72, scope="lunar/device.read")
    response = await gs.http.post(
        "/api/v2/subscriptions",
        json={"callbackUrl": "https://203.0.113.9/hook", "events": ["plan.overlay.accepted"]},
        headers=home.headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "insufficient_scope"
