"""Overlay and schedule plans: every rule accepted/refused with the right status and code."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridshare.api.errors import status_of
from gridshare.homes.devices import DeviceKind
from gridshare.homes.errors import PlanError
from gridshare.homes.plans import (
    ALLOWED_COMMANDS,
    ALLOWED_INTENTS,
    EMPTY_OVERLAY,
    WEEK_MINUTES,
    PowerLimits,
    active_command,
    command_windows,
    power_limits,
    schedule_intent_at,
    validate_overlay,
    validate_schedule,
    week_minute,
)
from gridshare.homes.templates import build_site

START = "2026-04-01T00:00:00Z"
T0 = datetime(2026, 4, 1, tzinfo=UTC)
BATTERY = DeviceKind.BATTERY_PACK


def overlay(*commands: dict[str, Any], start: object = START) -> dict[str, Any]:
    return {"startTime": start, "commands": list(commands)}


def cmd(type_: str, minutes: object = 30, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "durationMinutes": minutes, **extra}


def refused(raw: object, kind: DeviceKind | str = BATTERY, **kw: Any) -> tuple[int, str]:
    with pytest.raises(PlanError) as info:
        validate_overlay(raw, kind, **kw)
    return status_of(info.value), info.value.code


def slot(
    minutes: object, kind: str = "balance", lo: object = 10, hi: object = 90, **extra: Any
) -> dict[str, Any]:
    return {
        "durationMinutes": minutes,
        "intent": {"kind": kind, "socMin": lo, "socMax": hi, **extra},
    }


def refused_schedule(raw: object, kind: DeviceKind | str = BATTERY, **kw: Any) -> tuple[int, str]:
    with pytest.raises(PlanError) as info:
        validate_schedule(raw, kind, **kw)
    return status_of(info.value), info.value.code


# --- overlay: accepted --------------------------------------------------------------------


def test_valid_overlay_round_trips_canonically() -> None:
    plan = validate_overlay(
        overlay(cmd("charge", 60, powerW=3000), cmd("idle", 30), cmd("setpoint", 15, powerW=-2000)),
        BATTERY,
    )
    assert plan.to_json() == {
        "startTime": START,
        "commands": [
            {"type": "charge", "durationMinutes": 60, "powerW": 3000},
            {"type": "idle", "durationMinutes": 30},
            {"type": "setpoint", "durationMinutes": 15, "powerW": -2000},
        ],
    }
    assert plan.total_minutes == 105
    assert plan.end_time == T0 + timedelta(minutes=105)


def test_charge_power_is_optional_and_setpoint_zero_is_fine() -> None:
    plan = validate_overlay(overlay(cmd("charge"), cmd("setpoint", powerW=0)), BATTERY)
    assert plan.to_json()["commands"][0] == {"type": "charge", "durationMinutes": 30}


def test_start_time_is_normalised_to_utc() -> None:
    plan = validate_overlay(overlay(cmd("idle"), start="2026-04-01T02:00:00+02:00"), BATTERY)
    assert plan.startTime == T0 and plan.to_json()["startTime"] == START


@pytest.mark.parametrize(
    "word", ["heatWater", "HEATWATER", "heatwater", "heat_water", "Heat-Water"]
)
def test_command_words_any_case(word: str) -> None:
    plan = validate_overlay(overlay(cmd(word)), DeviceKind.LOAD_CONTROL_RELAY)
    assert plan.to_json()["commands"][0]["type"] == "heatWater"


@pytest.mark.parametrize("raw", [{"commands": []}, {"startTime": START, "commands": []}])
def test_empty_commands_delete(raw: dict[str, Any]) -> None:
    plan = validate_overlay(raw, BATTERY)
    assert plan.is_delete and plan == EMPTY_OVERLAY
    assert plan.to_json() == {"commands": []}


def test_exactly_seven_days_is_allowed() -> None:
    validate_overlay(overlay(cmd("idle", WEEK_MINUTES - 1), cmd("charge", 1)), BATTERY)


def test_kind_may_be_given_as_text() -> None:
    validate_overlay(overlay(cmd("charge")), "ev")


# --- overlay: 400 malformed ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        "plan",
        {},
        {"startTime": START},
        {"startTime": START, "commands": {}},
        {"startTime": START, "commands": "idle"},
        overlay(cmd("idle"), start=None),
        {"commands": [cmd("idle")]},
        overlay(cmd("idle"), start=1775001600),
        overlay(cmd("idle"), start="2026-04-01T00:00:00"),
        overlay(cmd("idle"), start="2026-04-01"),
        overlay(cmd("idle"), start="tomorrow"),
        overlay(cmd("idle", 15.0)),
        overlay(cmd("idle", 15.5)),
        overlay(cmd("idle", True)),
        overlay(cmd("idle", "15")),
        overlay(cmd("idle", None)),
        overlay(cmd("idle", 0)),
        overlay(cmd("idle", -5)),
        overlay({"type": "idle"}),
        overlay({"durationMinutes": 5}),
        overlay(cmd("boost")),
        overlay(cmd(3)),  # type: ignore[arg-type]
        overlay(cmd("idle", powerW=100)),
        overlay(cmd("setpoint")),
        overlay(cmd("setpoint", powerW=1.5)),
        overlay(cmd("setpoint", powerW="100")),
        overlay(cmd("setpoint", powerW=True)),
        overlay(cmd("setpoint", powerW=2_000_000)),
        overlay(cmd("charge", powerW=None), start=START) | {"extra": 1},
        overlay(cmd("idle", note="x")),
        overlay("idle"),  # type: ignore[arg-type]
        overlay(cmd("heatWater", powerW=3000)),
    ],
)
def test_malformed_overlay_is_400(raw: object) -> None:
    assert refused(raw) == (400, "malformed_plan")


def test_malformed_message_names_the_field() -> None:
    with pytest.raises(PlanError) as info:
        validate_overlay(overlay(cmd("idle"), cmd("charge", 1.5)), BATTERY)
    assert "commands.1.durationMinutes" in info.value.message
    assert info.value.to_body() == {"message": info.value.message, "code": "malformed_plan"}


# --- overlay: 422 impossible ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "command"),
    [
        (BATTERY, "heatWater"),
        (DeviceKind.INVERTER, "heatWater"),
        (DeviceKind.EV, "setpoint"),
        (DeviceKind.EV, "heatWater"),
        (DeviceKind.LOAD_CONTROL_RELAY, "charge"),
        (DeviceKind.LOAD_CONTROL_RELAY, "setpoint"),
    ],
)
def test_command_not_allowed_for_kind(kind: DeviceKind, command: str) -> None:
    extra = {"powerW": 100} if command == "setpoint" else {}
    assert refused(overlay(cmd(command, **extra)), kind) == (422, "command_not_allowed")


@pytest.mark.parametrize("kind", [DeviceKind.PV, DeviceKind.METER])
def test_kinds_without_plans(kind: DeviceKind) -> None:
    assert refused(overlay(cmd("idle")), kind) == (422, "plans_not_supported")
    assert refused({"commands": []}, kind) == (422, "plans_not_supported")


def test_longer_than_seven_days() -> None:
    assert refused(overlay(cmd("idle", WEEK_MINUTES + 1))) == (422, "plan_too_long")
    assert refused(overlay(cmd("idle", WEEK_MINUTES), cmd("charge", 1))) == (422, "plan_too_long")


def test_too_many_commands_is_refused_before_parsing() -> None:
    raw = overlay(*([{"junk": True}] * (WEEK_MINUTES + 1)))
    assert refused(raw) == (422, "plan_too_long")


@pytest.mark.parametrize("power", [0, -100])
def test_charge_power_must_be_into_the_device(power: int) -> None:
    assert refused(overlay(cmd("charge", powerW=power))) == (422, "power_out_of_range")


def test_power_limits_are_checked_when_given() -> None:
    limits = PowerLimits(max_into_W=5000, max_out_of_W=4000)
    validate_overlay(
        overlay(cmd("setpoint", powerW=-4000), cmd("charge", powerW=5000)), BATTERY, limits=limits
    )
    for command in (
        cmd("setpoint", powerW=-4001),
        cmd("setpoint", powerW=5001),
        cmd("charge", powerW=5001),
    ):
        assert refused(overlay(command), limits=limits) == (422, "power_out_of_range")


def test_expired_plan_when_now_given() -> None:
    raw = overlay(cmd("idle", 60))
    assert refused(raw, now=T0 + timedelta(minutes=60)) == (422, "plan_expired")
    validate_overlay(raw, BATTERY, now=T0 + timedelta(minutes=59))


def test_malformed_wins_over_impossible() -> None:
    assert refused(overlay(cmd("heatWater", 1.5)), BATTERY) == (400, "malformed_plan")


# --- power limits from sites ---------------------------------------------------------------


def test_power_limits_from_templates() -> None:
    hybrid = build_site("hybrid_home", "o", random.Random(1))
    (inverter,) = hybrid.devices_of_kind(DeviceKind.INVERTER)
    (battery,) = hybrid.devices_of_kind(DeviceKind.BATTERY_PACK)
    # 2 blocks x 5 kW = 10 kW, capped by the 7.6 kW inverter.
    assert power_limits(hybrid, battery) == PowerLimits(7600, 7600)
    assert power_limits(hybrid, inverter) == power_limits(hybrid, battery)
    (ev,) = hybrid.devices_of_kind(DeviceKind.EV)
    assert power_limits(hybrid, ev) == PowerLimits(11_500, 0)
    (relay,) = hybrid.devices_of_kind(DeviceKind.LOAD_CONTROL_RELAY)
    assert power_limits(hybrid, relay) == PowerLimits(4_500, 0)
    for kind in (DeviceKind.PV, DeviceKind.METER):
        assert power_limits(hybrid, hybrid.devices_of_kind(kind)[0]) is None
    pv_only = build_site("pv_only", "o", random.Random(1))
    assert power_limits(pv_only, pv_only.devices_of_kind(DeviceKind.INVERTER)[0]) is None


# --- overlay: time lookups ---------------------------------------------------------------


def test_active_command_windows() -> None:
    plan = validate_overlay(overlay(cmd("charge", 60), cmd("idle", 30)), BATTERY)
    assert active_command(plan, T0 - timedelta(seconds=1)) is None
    first = active_command(plan, T0)
    assert first is not None and first.type == "charge"
    last_second = active_command(plan, T0 + timedelta(minutes=59, seconds=59))
    assert last_second is not None and last_second.type == "charge"
    second = active_command(plan, T0 + timedelta(minutes=60))
    assert second is not None and second.type == "idle"
    assert active_command(plan, T0 + timedelta(minutes=90)) is None
    assert active_command(EMPTY_OVERLAY, T0) is None
    with pytest.raises(ValueError, match="aware"):
        active_command(plan, datetime(2026, 4, 1))


def test_active_command_compares_instants_across_zones() -> None:
    plan = validate_overlay(overlay(cmd("charge", 60)), BATTERY)
    at = datetime(2026, 4, 1, 2, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # 00:30Z
    assert active_command(plan, at) is not None


# --- overlay: properties -----------------------------------------------------------------

_KINDS = sorted(ALLOWED_COMMANDS, key=str)


@st.composite
def valid_overlays(draw: st.DrawFn) -> tuple[DeviceKind, list[dict[str, Any]]]:
    kind = draw(st.sampled_from(_KINDS))
    budget = WEEK_MINUTES
    commands: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 12))):
        if budget == 0:
            break
        minutes = draw(st.integers(1, budget))
        budget -= minutes
        type_ = draw(st.sampled_from(sorted(ALLOWED_COMMANDS[kind])))
        command = cmd(type_, minutes)
        if type_ == "setpoint":
            command["powerW"] = draw(st.integers(-10_000, 10_000))
        elif type_ == "charge" and draw(st.booleans()):
            command["powerW"] = draw(st.integers(1, 10_000))
        commands.append(command)
    return kind, commands


@settings(max_examples=200, deadline=None)
@given(valid_overlays(), st.integers(0, WEEK_MINUTES * 60))
def test_valid_overlays_are_accepted_and_contiguous(
    case: tuple[DeviceKind, list[dict[str, Any]]], offset_s: int
) -> None:
    kind, commands = case
    plan = validate_overlay(overlay(*commands), kind)
    assert plan.to_json() == ({"commands": []} if not commands else overlay(*commands))
    windows = command_windows(plan)
    for before, after in pairwise(windows):
        assert before.end == after.start
    at = T0 + timedelta(seconds=offset_s)
    expected = next((w.command for w in windows if w.start <= at < w.end), None)
    assert active_command(plan, at) == expected


_BAD_DURATIONS = st.one_of(
    st.integers(max_value=0),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(max_size=5),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=200, deadline=None)
@given(valid_overlays(), _BAD_DURATIONS, st.data())
def test_one_bad_duration_makes_the_plan_malformed(
    case: tuple[DeviceKind, list[dict[str, Any]]], bad: object, data: st.DataObject
) -> None:
    kind, commands = case
    commands = commands or [cmd(sorted(ALLOWED_COMMANDS[kind])[0])]
    index = data.draw(st.integers(0, len(commands) - 1))
    commands[index] = {**commands[index], "durationMinutes": bad}
    assert refused(overlay(*commands), kind) == (400, "malformed_plan")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(1, 4000), min_size=1, max_size=10).filter(lambda d: sum(d) > WEEK_MINUTES)
)
def test_any_overlay_past_seven_days_is_too_long(durations: list[int]) -> None:
    assert refused(overlay(*(cmd("idle", d) for d in durations))) == (422, "plan_too_long")


# --- schedule ------------------------------------------------------------------------------


def test_valid_schedule_and_bare_list() -> None:
    slots = [slot(6 * 60, "charge", 10, 100, powerW=3000), slot(WEEK_MINUTES - 360, "balance")]
    plan = validate_schedule({"slots": slots}, BATTERY)
    assert plan.to_json() == {"slots": slots}
    assert validate_schedule(slots, BATTERY) == plan


def test_schedule_words_any_case_and_float_soc() -> None:
    plan = validate_schedule([slot(WEEK_MINUTES, "DISCHARGE", 20.5, 80, powerW=-2500)], BATTERY)
    assert plan.to_json()["slots"][0]["intent"] == {
        "kind": "discharge",
        "socMin": 20.5,
        "socMax": 80,
        "powerW": -2500,
    }


def test_empty_schedule_deletes() -> None:
    assert validate_schedule({"slots": []}, BATTERY).is_delete
    assert validate_schedule([], BATTERY).is_delete


@pytest.mark.parametrize(
    "raw",
    [
        None,
        {},
        "x",
        {"slots": "x"},
        {"slots": [slot(WEEK_MINUTES)], "name": "x"},
        [slot(float(WEEK_MINUTES))],
        [slot(True)],
        [slot("10080")],
        [slot(0)],
        [slot(WEEK_MINUTES, "boost")],
        [slot(WEEK_MINUTES, lo=-1)],
        [slot(WEEK_MINUTES, hi=100.5)],
        [slot(WEEK_MINUTES, hi=float("nan"))],
        [slot(WEEK_MINUTES, hi="90")],
        [slot(WEEK_MINUTES, hi=True)],
        [slot(WEEK_MINUTES, "idle", powerW=100)],
        [slot(WEEK_MINUTES, "balance", powerW=100)],
        [slot(WEEK_MINUTES, "charge", powerW=1.5)],
        [{"durationMinutes": WEEK_MINUTES}],
        [{"durationMinutes": WEEK_MINUTES, "intent": {"kind": "idle", "socMin": 0}}],
        [{**slot(WEEK_MINUTES), "startMinute": 0}],
    ],
)
def test_malformed_schedule_is_400(raw: object) -> None:
    assert refused_schedule(raw) == (400, "malformed_plan")


@pytest.mark.parametrize(
    ("raw", "kind", "code"),
    [
        ([slot(WEEK_MINUTES - 1)], BATTERY, "schedule_incomplete"),
        ([slot(WEEK_MINUTES), slot(1)], BATTERY, "schedule_too_long"),
        ([slot(WEEK_MINUTES, lo=60, hi=50)], BATTERY, "invalid_soc_range"),
        ([slot(WEEK_MINUTES, "charge", powerW=-1)], BATTERY, "power_out_of_range"),
        ([slot(WEEK_MINUTES, "discharge", powerW=1)], BATTERY, "power_out_of_range"),
        ([slot(WEEK_MINUTES, "discharge")], DeviceKind.EV, "intent_not_allowed"),
        ([slot(WEEK_MINUTES, "balance")], DeviceKind.LOAD_CONTROL_RELAY, "intent_not_allowed"),
        ([slot(WEEK_MINUTES)], DeviceKind.METER, "plans_not_supported"),
        ([slot(WEEK_MINUTES)], DeviceKind.PV, "plans_not_supported"),
        ([{"x": 1}] * (WEEK_MINUTES + 1), BATTERY, "schedule_too_long"),
    ],
)
def test_impossible_schedule_is_422(raw: object, kind: DeviceKind, code: str) -> None:
    assert refused_schedule(raw, kind) == (422, code)


def test_schedule_power_limits() -> None:
    limits = PowerLimits(3000, 2000)
    validate_schedule([slot(WEEK_MINUTES, "discharge", powerW=-2000)], BATTERY, limits=limits)
    raw = [slot(WEEK_MINUTES, "discharge", powerW=-2001)]
    assert refused_schedule(raw, limits=limits) == (422, "power_out_of_range")


def test_soc_min_equal_max_is_fine() -> None:
    validate_schedule([slot(WEEK_MINUTES, "idle", 50, 50)], BATTERY)


@st.composite
def week_partitions(draw: st.DrawFn) -> list[int]:
    cuts = draw(st.sets(st.integers(1, WEEK_MINUTES - 1), max_size=30))
    points = [0, *sorted(cuts), WEEK_MINUTES]
    return [b - a for a, b in pairwise(points)]


@settings(max_examples=150, deadline=None)
@given(week_partitions(), st.sampled_from(sorted(ALLOWED_INTENTS, key=str)), st.data())
def test_any_partition_of_the_week_is_accepted(
    durations: list[int], kind: DeviceKind, data: st.DataObject
) -> None:
    intents = sorted(ALLOWED_INTENTS[kind])
    slots = [slot(d, data.draw(st.sampled_from(intents))) for d in durations]
    plan = validate_schedule(slots, kind)
    assert plan.total_minutes == WEEK_MINUTES
    minute = data.draw(st.integers(0, WEEK_MINUTES - 1))
    at = datetime(2026, 3, 30) + timedelta(minutes=minute)  # 2026-03-30 is a Monday
    ends = [sum(durations[: i + 1]) for i in range(len(durations))]
    index = next(i for i, end in enumerate(ends) if minute < end)
    assert schedule_intent_at(plan, at) == plan.slots[index].intent


@settings(max_examples=100, deadline=None)
@given(week_partitions(), st.integers(-300, 300).filter(lambda d: d != 0))
def test_any_wrong_total_is_refused(durations: list[int], delta: int) -> None:
    # The longest slot of a <= 31-slot week lasts > 300 min, so it can absorb any shortening.
    longest = durations.index(max(durations))
    if delta > 0:
        durations = [*durations, delta]
        code = "schedule_too_long"
    else:
        durations[longest] += delta
        code = "schedule_incomplete"
    assert refused_schedule([slot(d) for d in durations]) == (422, code)


def test_schedule_intent_at_edges() -> None:
    plan = validate_schedule(
        [slot(60, "charge"), slot(WEEK_MINUTES - 120, "balance"), slot(60, "idle")], BATTERY
    )

    def kind_at(at: datetime) -> str | None:
        intent = schedule_intent_at(plan, at)
        return None if intent is None else intent.kind

    monday = datetime(2026, 3, 30)
    assert kind_at(monday) == "charge"
    assert kind_at(monday + timedelta(minutes=59, seconds=59)) == "charge"
    assert kind_at(monday + timedelta(hours=1)) == "balance"
    assert kind_at(datetime(2026, 4, 5, 22, 59)) == "balance"
    assert kind_at(datetime(2026, 4, 5, 23, 0)) == "idle"
    assert kind_at(datetime(2026, 4, 5, 23, 59, 59, 999_999)) == "idle"
    assert schedule_intent_at(validate_schedule([], BATTERY), monday) is None


def test_schedule_uses_site_wall_clock() -> None:
    site = build_site("battery_retrofit", "o", random.Random(1))
    # Monday 00:30 in London during BST is Sunday 23:30 UTC.
    local = site.local_time(datetime(2026, 6, 28, 23, 30, tzinfo=UTC))
    assert week_minute(local) == 30
