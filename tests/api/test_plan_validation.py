"""Every plan and mode rule, through HTTP: 400 for a body that does not fit the schema, 422 for
one that fits but cannot be carried out, and never a 500 for anything a client sends.

Each table row is `(label, device kind, body, status, code)`; a test sends every row and reports
all mismatches at once. Refused writes must leave the stored plan and the audit trail alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from gridshare.config import Settings
from tests.api.homes_support import (
    ENDPOINTS,
    FUTURE,
    WEEK,
    Home,
    make_home,
    overlay_body,
    schedule_body,
)
from tests.support import TestServices

BATTERY, INVERTER, EV, RELAY = "battery_pack", "inverter", "EV", "load_control_relay"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_rate_per_minute": 100_000})


@dataclass(frozen=True)
class Case:
    label: str
    kind: str
    body: Any
    status: int
    code: str | None = None


def plan(*commands: dict[str, Any], start: str | None = FUTURE) -> dict[str, Any]:
    body: dict[str, Any] = {"commands": list(commands)}
    if start is not None:
        body["startTime"] = start
    return body


def cmd(type_: str, minutes: Any = 30, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "durationMinutes": minutes, **extra}


def week(*slots: tuple[int, dict[str, Any]]) -> dict[str, Any]:
    return {"slots": [{"durationMinutes": m, "intent": i} for m, i in slots]}


def intent(kind: str, soc_min: Any = 10, soc_max: Any = 90, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "socMin": soc_min, "socMax": soc_max, **extra}


async def send(gs: TestServices, home: Home, method: str, path: str, body: Any) -> httpx.Response:
    return await gs.http.request(
        method,
        path,
        content=json.dumps(body),
        headers=home.headers | {"Content-Type": "application/json"},
    )


async def run_cases(
    gs: TestServices, home: Home, suffix: str, cases: Sequence[Case]
) -> list[tuple[str, int, str]]:
    """Send each case to `/api/v2/devices/<device of case.kind><suffix>`; return mismatches."""
    wrong = []
    for case in cases:
        path = f"/api/v2/devices/{home.device_id(case.kind)}{suffix}"
        response = await send(gs, home, "PUT", path, case.body)
        ok = response.status_code == case.status
        if ok and case.status >= 400:
            body = response.json()
            ok = set(body) == {"message", "code"} and body["code"] == case.code
            ok = ok and bool(body["message"])
        if not ok:
            wrong.append((case.label, response.status_code, response.text))
    return wrong


async def audit_count(gs: TestServices, home: Home) -> int:
    actions = await gs.services.homes.recent_actions(
        home.owner.sub, home.partner.client_id, limit=10_000
    )
    return len(actions)


async def stored(gs: TestServices, home: Home, kind: str, suffix: str) -> Any:
    path = f"/api/v2/devices/{home.device_id(kind)}{suffix}"
    response = await gs.http.get(path, headers=home.headers)
    assert response.status_code == 200, response.text
    return response.json()


# -- overlay: 400 ---------------------------------------------------------------------------

MALFORMED = "malformed_plan"
OVERLAY_400 = [
    Case("duration float", BATTERY, plan(cmd("idle", 30.0)), 400, MALFORMED),
    Case("duration fraction", BATTERY, plan(cmd("idle", 30.5)), 400, MALFORMED),
    Case("duration bool", BATTERY, plan(cmd("idle", True)), 400, MALFORMED),
    Case("duration string", BATTERY, plan(cmd("idle", "30")), 400, MALFORMED),
    Case("duration zero", BATTERY, plan(cmd("idle", 0)), 400, MALFORMED),
    Case("duration negative", BATTERY, plan(cmd("idle", -15)), 400, MALFORMED),
    Case("duration null", BATTERY, plan(cmd("idle", None)), 400, MALFORMED),
    Case("duration missing", BATTERY, plan({"type": "idle"}), 400, MALFORMED),
    Case("type missing", BATTERY, plan({"durationMinutes": 5}), 400, MALFORMED),
    Case("unknown command", BATTERY, plan(cmd("discharge")), 400, MALFORMED),
    Case("command not an object", BATTERY, plan("idle"), 400, MALFORMED),
    Case("setpoint without powerW", BATTERY, plan(cmd("setpoint")), 400, MALFORMED),
    Case("setpoint powerW null", BATTERY, plan(cmd("setpoint", powerW=None)), 400, MALFORMED),
    Case("setpoint powerW float", BATTERY, plan(cmd("setpoint", powerW=-2000.0)), 400, MALFORMED),
    Case("setpoint powerW string", BATTERY, plan(cmd("setpoint", powerW="100")), 400, MALFORMED),
    Case("setpoint powerW bool", BATTERY, plan(cmd("setpoint", powerW=True)), 400, MALFORMED),
    Case("powerW beyond 1 MW", BATTERY, plan(cmd("setpoint", powerW=1_000_001)), 400, MALFORMED),
    Case("idle with powerW", BATTERY, plan(cmd("idle", powerW=100)), 400, MALFORMED),
    Case("heatWater with powerW", RELAY, plan(cmd("heatWater", powerW=4500)), 400, MALFORMED),
    Case("unknown command field", BATTERY, plan(cmd("idle", priority=1)), 400, MALFORMED),
    Case("own start (a gap)", BATTERY, plan(cmd("idle", startTime=FUTURE)), 400, MALFORMED),
    Case("unknown top-level field", BATTERY, {**plan(cmd("idle")), "loop": True}, 400, MALFORMED),
    Case("commands without startTime", BATTERY, plan(cmd("idle"), start=None), 400, MALFORMED),
    Case(
        "startTime without offset",
        BATTERY,
        plan(cmd("idle"), start="2030-01-07T00:00:00"),
        400,
        MALFORMED,
    ),
    Case("startTime not a date", BATTERY, plan(cmd("idle"), start="next monday"), 400, MALFORMED),
    Case(
        "startTime a number",
        BATTERY,
        {"startTime": 1893456000, "commands": [cmd("idle")]},
        400,
        MALFORMED,
    ),
    Case("commands missing", BATTERY, {"startTime": FUTURE}, 400, MALFORMED),
    Case("commands an object", BATTERY, {"startTime": FUTURE, "commands": {}}, 400, MALFORMED),
    Case("body a list", BATTERY, [cmd("idle")], 400, MALFORMED),
    Case("body a string", BATTERY, "idle", 400, MALFORMED),
    Case("body null", BATTERY, None, 400, MALFORMED),
]


async def test_overlay_that_does_not_fit_the_schema_is_400(gs: TestServices) -> None:
    home = await make_home(gs)
    kept = overlay_body(BATTERY)
    assert (await send(gs, home, "PUT", _overlay(home, BATTERY), kept)).status_code == 204
    count = await audit_count(gs, home)
    assert await run_cases(gs, home, "/plans/overlay", OVERLAY_400) == []
    assert await stored(gs, home, BATTERY, "/plans/overlay") == kept
    assert await stored(gs, home, RELAY, "/plans/overlay") == {"commands": []}
    assert await audit_count(gs, home) == count, "refused writes are not audited"


def _overlay(home: Home, kind: str) -> str:
    return f"/api/v2/devices/{home.device_id(kind)}/plans/overlay"


async def test_malformed_message_names_the_field(gs: TestServices) -> None:
    home = await make_home(gs)
    body = plan(cmd("idle", 30), cmd("idle", 2.5))
    response = await send(gs, home, "PUT", _overlay(home, BATTERY), body)
    assert response.status_code == 400
    assert "commands.1.durationMinutes" in response.json()["message"]


# -- overlay: command kinds per device ------------------------------------------------------

#: (device kind, command) -> allowed; from the table in docs/domain-homes.md.
ALLOWED_COMMANDS = {
    BATTERY: {"charge", "idle", "setpoint"},
    INVERTER: {"charge", "idle", "setpoint"},
    EV: {"charge", "idle"},
    RELAY: {"heatWater", "idle"},
}


def _command_for(command: str) -> dict[str, Any]:
    return cmd(command, powerW=1000) if command == "setpoint" else cmd(command)


async def test_overlay_command_kinds_allowed_per_device_kind(gs: TestServices) -> None:
    home = await make_home(gs)
    cases = []
    for kind, allowed in ALLOWED_COMMANDS.items():
        for command in ("charge", "idle", "setpoint", "heatWater"):
            ok = command in allowed
            cases.append(
                Case(
                    f"{command} on {kind}",
                    kind,
                    plan(_command_for(command)),
                    204 if ok else 422,
                    None if ok else "command_not_allowed",
                )
            )
    # Words in any case and with _/- are the same commands.
    cases += [
        Case("HEAT_WATER on relay", RELAY, plan(cmd("HEAT_WATER")), 204),
        Case("heat-water on relay", RELAY, plan(cmd("heat-water")), 204),
        Case("Heat_Water on EV", EV, plan(cmd("Heat_Water")), 422, "command_not_allowed"),
    ]
    assert await run_cases(gs, home, "/plans/overlay", cases) == []
    assert await stored(gs, home, RELAY, "/plans/overlay") == plan(cmd("heatWater"))


async def test_overlay_on_devices_without_plans_is_404(gs: TestServices) -> None:
    home = await make_home(gs, ["hybrid_home", "pv_only"])
    for kind in ("PV", "meter"):
        for site in home.sites:
            path = f"/api/v2/devices/{home.device_id(kind, site)}/plans/overlay"
            response = await send(gs, home, "PUT", path, plan(cmd("idle")))
            assert response.status_code == 404, response.text
            assert response.json()["code"] == "mode_not_supported"
    pv_inverter = home.device_id("inverter", home.sites[1])
    response = await send(
        gs, home, "PUT", f"/api/v2/devices/{pv_inverter}/plans/overlay", plan(cmd("idle"))
    )
    assert response.status_code == 404 and response.json()["code"] == "mode_not_supported"


# -- overlay: 422 ---------------------------------------------------------------------------

LONG = "plan_too_long"
POWER = "power_out_of_range"


async def test_overlay_power_length_and_expiry(gs: TestServices) -> None:
    home = await make_home(gs)
    now = gs.services.clock.now()
    started = (now - timedelta(minutes=30)).isoformat()
    ended = (now - timedelta(minutes=61)).isoformat()
    cases = [
        # power: sign for charge, the hardware's limits (hybrid_home battery: 7.6 kW each way)
        Case("charge powerW zero", BATTERY, plan(cmd("charge", powerW=0)), 422, POWER),
        Case("charge powerW negative", BATTERY, plan(cmd("charge", powerW=-10)), 422, POWER),
        Case("charge above the inverter", BATTERY, plan(cmd("charge", powerW=7601)), 422, POWER),
        Case("setpoint above", BATTERY, plan(cmd("setpoint", powerW=7601)), 422, POWER),
        Case("setpoint below", BATTERY, plan(cmd("setpoint", powerW=-7601)), 422, POWER),
        Case("EV charge above the charger", EV, plan(cmd("charge", powerW=11_501)), 422, POWER),
        # length: more than 7 days in all
        Case("7 days + 1 min", BATTERY, plan(cmd("idle", WEEK), cmd("charge", 1)), 422, LONG),
        Case("one 8-day command", EV, plan(cmd("idle", WEEK + 1440)), 422, LONG),
        # (more commands than minutes: refused before parsing, as a body over 256 KB)
        Case(
            "more commands than minutes",
            BATTERY,
            plan(*[cmd("idle", 1)] * (WEEK + 1)),
            413,
            "body_too_large",
        ),
        # already over
        Case(
            "ended years ago",
            BATTERY,
            plan(cmd("idle"), start="2020-01-01T00:00:00Z"),
            422,
            "plan_expired",
        ),
        Case(
            "ended a minute ago",
            RELAY,
            plan(cmd("heatWater", 60), start=ended),
            422,
            "plan_expired",
        ),
    ]
    count = await audit_count(gs, home)
    assert await run_cases(gs, home, "/plans/overlay", cases) == []
    assert await audit_count(gs, home) == count
    for kind in (BATTERY, EV, RELAY):
        assert await stored(gs, home, kind, "/plans/overlay") == {"commands": []}

    accepted = [
        Case("charge without powerW", BATTERY, plan(cmd("charge")), 204),
        Case("charge at the limit", BATTERY, plan(cmd("charge", powerW=7600)), 204),
        Case(
            "setpoint at the limits",
            BATTERY,
            plan(cmd("setpoint", powerW=-7600), cmd("setpoint", powerW=7600)),
            204,
        ),
        Case("EV charge at the limit", EV, plan(cmd("charge", powerW=11_500)), 204),
        Case("exactly 7 days", BATTERY, plan(cmd("idle", WEEK - 60), cmd("charge", 60)), 204),
        Case("started, still running", RELAY, plan(cmd("heatWater", 60), start=started), 204),
    ]
    assert await run_cases(gs, home, "/plans/overlay", accepted) == []
    assert len((await stored(gs, home, BATTERY, "/plans/overlay"))["commands"]) == 2


# -- schedule ------------------------------------------------------------------------------

SCHEDULE_400 = [
    Case("soc below 0", BATTERY, week((WEEK, intent("balance", -1, 90))), 400, MALFORMED),
    Case("soc above 100", BATTERY, week((WEEK, intent("balance", 10, 100.5))), 400, MALFORMED),
    Case("soc string", BATTERY, week((WEEK, intent("balance", "10", 90))), 400, MALFORMED),
    Case("soc bool", BATTERY, week((WEEK, intent("balance", True, 90))), 400, MALFORMED),
    Case(
        "socMin missing", BATTERY, week((WEEK, {"kind": "balance", "socMax": 90})), 400, MALFORMED
    ),
    Case("socMax missing", BATTERY, week((WEEK, {"kind": "idle", "socMin": 9})), 400, MALFORMED),
    Case("unknown intent", BATTERY, week((WEEK, intent("export"))), 400, MALFORMED),
    Case("idle with powerW", BATTERY, week((WEEK, intent("idle", powerW=10))), 400, MALFORMED),
    Case(
        "balance with powerW", BATTERY, week((WEEK, intent("balance", powerW=10))), 400, MALFORMED
    ),
    Case("unknown intent field", BATTERY, week((WEEK, intent("idle", target=50))), 400, MALFORMED),
    Case(
        "unknown slot field",
        BATTERY,
        {"slots": [{"durationMinutes": WEEK, "intent": intent("idle"), "day": 1}]},
        400,
        MALFORMED,
    ),
    Case("intent missing", BATTERY, {"slots": [{"durationMinutes": WEEK}]}, 400, MALFORMED),
    Case("duration float", BATTERY, week((WEEK * 1.0, intent("idle"))), 400, MALFORMED),
    Case(
        "duration zero", BATTERY, week((0, intent("idle")), (WEEK, intent("idle"))), 400, MALFORMED
    ),
    Case(
        "duration negative",
        BATTERY,
        week((-60, intent("idle")), (WEEK + 60, intent("idle"))),
        400,
        MALFORMED,
    ),
    Case("slots an object", BATTERY, {"slots": {}}, 400, MALFORMED),
    Case("slots missing", BATTERY, {}, 400, MALFORMED),
    Case("unknown top-level field", BATTERY, {**schedule_body(), "tz": "UTC"}, 400, MALFORMED),
    Case("body a string", BATTERY, "weekly", 400, MALFORMED),
]

SCHEDULE_422 = [
    Case("one minute short", BATTERY, week((WEEK - 1, intent("idle"))), 422, "schedule_incomplete"),
    Case("a day", BATTERY, week((1440, intent("idle"))), 422, "schedule_incomplete"),
    Case(
        "one minute long",
        BATTERY,
        week((WEEK, intent("idle")), (1, intent("idle"))),
        422,
        "schedule_too_long",
    ),
    Case(
        "more slots than minutes",
        BATTERY,
        {"slots": [{"durationMinutes": 1, "intent": intent("idle")}] * (WEEK + 1)},
        413,
        "body_too_large",
    ),
    Case(
        "socMin above socMax",
        BATTERY,
        week((WEEK, intent("balance", 80, 20))),
        422,
        "invalid_soc_range",
    ),
    Case(
        "charge with negative powerW",
        BATTERY,
        week((WEEK, intent("charge", powerW=-100))),
        422,
        POWER,
    ),
    Case(
        "discharge with positive powerW",
        BATTERY,
        week((WEEK, intent("discharge", powerW=100))),
        422,
        POWER,
    ),
    Case(
        "charge beyond the battery",
        BATTERY,
        week((WEEK, intent("charge", powerW=9000))),
        422,
        POWER,
    ),
]


async def test_schedule_that_does_not_fit_the_schema_is_400(gs: TestServices) -> None:
    home = await make_home(gs)
    kept = schedule_body()
    path = f"/api/v2/devices/{home.device_id(BATTERY)}/plans/schedule"
    assert (await send(gs, home, "PUT", path, kept)).status_code == 204
    count = await audit_count(gs, home)
    assert await run_cases(gs, home, "/plans/schedule", SCHEDULE_400) == []
    assert await run_cases(gs, home, "/plans/schedule", SCHEDULE_422) == []
    assert await stored(gs, home, BATTERY, "/plans/schedule") == kept
    assert await audit_count(gs, home) == count


async def test_schedule_must_sum_to_exactly_one_week(gs: TestServices) -> None:
    home = await make_home(gs)
    exact = [
        Case("one slot", BATTERY, week((WEEK, intent("balance"))), 204),
        Case("every hour", BATTERY, week(*[(60, intent("idle"))] * 168), 204),
        Case("socMin == socMax", BATTERY, week((WEEK, intent("balance", 50, 50))), 204),
        Case("float socs", BATTERY, week((WEEK, intent("balance", 12.5, 87.5))), 204),
        Case("soc bounds", BATTERY, week((WEEK, intent("balance", 0, 100))), 204),
    ]
    assert await run_cases(gs, home, "/plans/schedule", exact) == []
    assert len((await stored(gs, home, BATTERY, "/plans/schedule"))["slots"]) == 1


async def test_schedule_intents_allowed_per_device_kind(gs: TestServices) -> None:
    home = await make_home(gs)
    allowed = {
        BATTERY: {"idle", "charge", "discharge", "balance"},
        INVERTER: {"idle", "charge", "discharge", "balance"},
        EV: {"idle", "charge"},
        RELAY: {"idle", "charge"},
    }
    cases = [
        Case(
            f"{kind_word} on {kind}",
            kind,
            week((WEEK, intent(kind_word))),
            204 if kind_word in words else 422,
            None if kind_word in words else "intent_not_allowed",
        )
        for kind, words in allowed.items()
        for kind_word in ("idle", "charge", "discharge", "balance")
    ]
    assert await run_cases(gs, home, "/plans/schedule", cases) == []


# -- operation mode -------------------------------------------------------------------------


async def test_mode_rules(gs: TestServices) -> None:
    home = await make_home(gs)
    cases = [
        Case(
            "schedule without a schedule plan",
            BATTERY,
            {"mode": "schedule"},
            422,
            "schedule_missing",
        ),
        Case("SCHEDULE without a schedule plan", EV, {"mode": "SCHEDULE"}, 422, "schedule_missing"),
        Case("unknown", BATTERY, {"mode": "unknown"}, 400, "invalid_mode"),
        Case("Unknown", RELAY, {"mode": "Unknown"}, 400, "invalid_mode"),
        Case("a word that is no mode", BATTERY, {"mode": "turbo"}, 400, "invalid_mode"),
        Case("empty word", BATTERY, {"mode": ""}, 400, "invalid_mode"),
        Case("a number", BATTERY, {"mode": 1}, 400, "malformed_mode"),
        Case("null", BATTERY, {"mode": None}, 400, "malformed_mode"),
        Case("extra key", BATTERY, {"mode": "smart", "until": FUTURE}, 400, "malformed_mode"),
        Case("no key", BATTERY, {}, 400, "malformed_mode"),
        Case("a bare word", BATTERY, "smart", 400, "malformed_mode"),
        Case("a list", BATTERY, ["smart"], 400, "malformed_mode"),
    ]
    for suffix in ("/operationMode", "/operationmode"):
        assert await run_cases(gs, home, suffix, cases) == []
    for kind in (BATTERY, EV, RELAY):
        assert await stored(gs, home, kind, "/operationMode") == {"mode": "simple"}
    assert await audit_count(gs, home) == 0
    # Once a schedule exists, the same request succeeds.
    path = f"/api/v2/devices/{home.device_id(EV)}"
    assert (
        await send(gs, home, "PUT", f"{path}/plans/schedule", schedule_body("idle"))
    ).status_code == 204
    response = await send(gs, home, "PUT", f"{path}/operationMode", {"mode": "SCHEDULE"})
    assert response.status_code == 200 and response.json() == {"mode": "schedule"}


# -- bodies that are not JSON objects, on every write endpoint -----------------------------

WRITES = [e for e in ENDPOINTS if e.is_write]


def _raw_cases() -> list[tuple[str, bytes, dict[str, str], int, str]]:
    """(label, raw body, extra headers, status, code) sent to every write endpoint."""
    json_ct = {"Content-Type": "application/json"}
    huge = json.dumps({"name": "x" * (256 * 1024)}).encode()
    return [
        ("truncated JSON", b'{"mode": ', json_ct, 400, "malformed_json"),
        ("not JSON", b"mode=smart", json_ct, 400, "malformed_json"),
        ("empty body", b"", json_ct, 400, "malformed_json"),
        (
            "NaN",
            b'{"mode": NaN, "name": NaN, "commands": NaN, "slots": NaN}',
            json_ct,
            400,
            "malformed_json",
        ),
        ("Infinity", b'{"durationMinutes": Infinity}', json_ct, 400, "malformed_json"),
        ("-Infinity", b"[-Infinity]", json_ct, 400, "malformed_json"),
        ("invalid UTF-8", b'{"name": "\xff\xfe"}', json_ct, 400, "malformed_json"),
        ("deep nesting", b"[" * 100_000 + b"]" * 100_000, json_ct, 400, "malformed_json"),
        (
            "text/plain",
            b'{"mode": "smart"}',
            {"Content-Type": "text/plain"},
            400,
            "unsupported_media_type",
        ),
        (
            "form",
            b"mode=smart",
            {"Content-Type": "application/x-www-form-urlencoded"},
            400,
            "unsupported_media_type",
        ),
        ("no content type", b'{"mode": "smart"}', {}, 400, "unsupported_media_type"),
        ("over 256 KB", huge, json_ct, 413, "body_too_large"),
    ]


NON_OBJECTS: list[Any] = ["smart", 42, None, True, [], [1, 2]]


@pytest.mark.parametrize("endpoint", WRITES, ids=lambda e: e.id)
async def test_bad_bodies_are_4xx_never_500(gs: TestServices, endpoint: Any) -> None:
    home = await make_home(gs)
    url = endpoint.url(device=home.device_id(BATTERY))
    wrong = []
    for label, raw, headers, status, code in _raw_cases():
        response = await gs.http.request(
            endpoint.method, url, content=raw, headers=home.headers | headers
        )
        if response.status_code != status or response.json() != {
            "message": response.json().get("message"),
            "code": code,
        }:
            wrong.append((label, response.status_code, response.text[:200]))
    for value in NON_OBJECTS:
        if value == [] and endpoint.path.endswith("schedule"):
            continue  # a bare (empty) list of slots is a valid schedule body: delete
        response = await send(gs, home, endpoint.method, url, value)
        if response.status_code != 400 or "code" not in response.json():
            wrong.append((repr(value), response.status_code, response.text[:200]))
    # A huge body sent without Content-Length (chunked) is cut off at the limit as well.

    async def chunks() -> Any:
        yield b'{"name": "'
        for _ in range(300):
            yield b"x" * 1024
        yield b'"}'

    response = await gs.http.request(
        endpoint.method,
        url,
        content=chunks(),
        headers=home.headers | {"Content-Type": "application/json"},
    )
    if response.status_code != 413:
        wrong.append(("chunked over 256 KB", response.status_code, response.text[:200]))
    assert wrong == []
    assert await audit_count(gs, home) == 0
    # The endpoint still works with a good body afterwards.
    response = await endpoint.call(gs.http, home.headers, device=home.device_id(BATTERY))
    assert response.status_code == endpoint.ok, response.text
