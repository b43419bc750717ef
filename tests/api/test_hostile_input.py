"""Input no client should send, but any client can: ids with NUL or undecodable bytes, strings
with lone surrogates or control characters, dates at the edge of the calendar. Each is a 4xx
with the contract's error body on both backends (PostgreSQL refuses NUL in text and used to
answer 500), never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from gridshare.config import Settings
from tests.api.homes_support import FUTURE, ID_ENDPOINTS, make_home
from tests.support import TestServices


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_rate_per_minute": 100_000})


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"message", "code"}, body
    return dict(body)


async def test_ids_that_cannot_exist_are_404_everywhere(gs: TestServices) -> None:
    home = await make_home(gs)
    inv = home.device_id("inverter")
    weird = [
        "a%00b",
        f"{inv}%00",
        f"{inv}__bb_agg%00",
        "%00",
        "%ff%fe",
        "%ed%a0%80",
        f"{inv}__%00",
        "__",
        "%20",
        "..%2F..%2Fetc",
    ]
    wrong = []
    for endpoint in ID_ENDPOINTS:
        for raw in weird:
            response = await endpoint.call(gs.http, home.headers, site=raw, device=raw)
            if response.status_code != 404 or _error(response)["code"] != "not_found":
                wrong.append((endpoint.id, raw, response.status_code, response.text[:120]))
    assert wrong == []


@pytest.mark.parametrize(
    "raw",
    [
        rb'{"name": "a\u0000b"}',
        rb'{"name": "\u0007bell"}',
        rb'{"name": "\ud800"}',
        rb'{"name": "ok\udfff"}',
    ],
    ids=["NUL", "BEL", "lone high surrogate", "lone low surrogate"],
)
async def test_names_with_control_or_surrogate_characters_are_400(
    gs: TestServices, raw: bytes
) -> None:
    home = await make_home(gs)
    path = f"/api/v2/devices/{home.device_id('EV')}"
    response = await gs.http.patch(
        path, content=raw, headers=home.headers | {"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert _error(response)["code"] == "malformed_patch"
    assert (await gs.http.get(path, headers=home.headers)).json()["name"] == "Driveway charger"


async def test_unicode_names_are_fine(gs: TestServices) -> None:
    home = await make_home(gs)
    path = f"/api/v2/devices/{home.device_id('EV')}"
    for name in ("Garage 🚗", "Wärmepumpe", "车库充电桩", "é" * 100):
        response = await gs.http.patch(path, json={"name": name}, headers=home.headers)
        assert response.status_code == 200 and response.json()["name"] == name, response.text
        assert (await gs.http.get(path, headers=home.headers)).json()["name"] == name


async def test_error_messages_quoting_client_input_can_always_be_sent(gs: TestServices) -> None:
    """Unknown keys are named in the message; a key with a lone surrogate must not turn the
    400 into a 500 when the body is encoded."""
    home = await make_home(gs)
    battery = home.device_id("battery_pack")
    cases = [
        ("PATCH", f"/api/v2/devices/{battery}", rb'{"\ud800": 1}', "unknown_field"),
        (
            "PUT",
            f"/api/v2/devices/{battery}/plans/overlay",
            b'{"startTime": "' + FUTURE.encode() + rb'", "commands": [], "\udc80": 1}',
            "malformed_plan",
        ),
        (
            "PUT",
            f"/api/v2/devices/{battery}/plans/schedule",
            rb'{"slots": [{"durationMinutes": 10080, "intent": {"kind": "\ud800", "socMin": 1,'
            rb' "socMax": 2}}]}',
            "malformed_plan",
        ),
        ("PUT", f"/api/v2/devices/{battery}/operationMode", rb'{"mode": "\ud800"}', "invalid_mode"),
    ]
    for method, path, raw, code in cases:
        response = await gs.http.request(
            method, path, content=raw, headers=home.headers | {"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (path, response.text)
        assert _error(response)["code"] == code


@pytest.mark.parametrize(
    ("start", "minutes", "status", "code"),
    [
        ("9999-12-31T23:00:00Z", 600, 422, "plan_out_of_range"),
        ("9999-12-31T22:00:00Z", 60, 204, None),
        ("0001-01-01T00:30:00+01:00", 60, 400, "malformed_plan"),
        ("0001-01-01T00:00:00Z", 60, 422, "plan_expired"),
        ("2030-01-01T00:00:00\u0000Z", 60, 400, "malformed_plan"),
        ("2030-01-01T00:00:00+24:00", 60, 400, "malformed_plan"),
        ("2030-02-30T00:00:00Z", 60, 400, "malformed_plan"),
    ],
)
async def test_start_times_at_the_edge_of_the_calendar(
    gs: TestServices, start: str, minutes: int, status: int, code: str | None
) -> None:
    home = await make_home(gs)
    path = f"/api/v2/devices/{home.device_id('battery_pack')}/plans/overlay"
    body = {"startTime": start, "commands": [{"type": "idle", "durationMinutes": minutes}]}
    response = await gs.http.put(path, json=body, headers=home.headers)
    assert response.status_code == status, response.text
    if code:
        assert _error(response)["code"] == code
    else:
        stored = (await gs.http.get(path, headers=home.headers)).json()
        assert stored["startTime"] == start


async def test_huge_numbers_are_refused_not_overflowed(gs: TestServices) -> None:
    home = await make_home(gs)
    battery = home.device_id("battery_pack")
    big = 10**30
    cases = [
        (
            "/plans/overlay",
            {"startTime": FUTURE, "commands": [{"type": "idle", "durationMinutes": big}]},
            422,
        ),
        (
            "/plans/overlay",
            {
                "startTime": FUTURE,
                "commands": [{"type": "setpoint", "durationMinutes": 5, "powerW": big}],
            },
            400,
        ),
        (
            "/plans/schedule",
            {
                "slots": [
                    {"durationMinutes": big, "intent": {"kind": "idle", "socMin": 1, "socMax": 2}}
                ]
            },
            422,
        ),
        (
            "/plans/schedule",
            {
                "slots": [
                    {
                        "durationMinutes": 10080,
                        "intent": {"kind": "idle", "socMin": 1e308, "socMax": 2},
                    }
                ]
            },
            400,
        ),
    ]
    for suffix, body, status in cases:
        response = await gs.http.put(
            f"/api/v2/devices/{battery}{suffix}", json=body, headers=home.headers
        )
        assert response.status_code == status, (body, response.text)
        _error(response)
