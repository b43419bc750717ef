"""Rendering for the site-level partner commands (`now`, `tariff`, `savings`,
`site-telemetry`): the home's power flow, price pages, monthly savings and site streams.

Imports only the SDK (`gridshare_client`), Rich and the standard library.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from gridshare_client.models import (
    ControlState,
    CurrentState,
    OverlayCommand,
    Savings,
    SensorReading,
    SiteTelemetry,
    TariffPage,
)

#: Rows of the power-flow view: role, label, and the words for power into / out of the device.
FLOW_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("pv", "Solar", "", "producing"),
    ("consumption", "Home", "using", ""),
    ("battery", "Battery", "charging", "discharging"),
    ("grid", "Grid", "importing", "exporting"),
    ("ev", "EV charger", "charging", ""),
    ("hotWater", "Hot water", "heating", ""),
)
#: Which controllable device kind steers each row's sensor.
ROLE_DEVICE_KIND = {"battery": "battery_pack", "ev": "EV", "hotWater": "load_control_relay"}


def _kw(watts: float) -> str:
    return f"{abs(watts) / 1000:.2f} kW"


def _command(command: OverlayCommand) -> str:
    power = f" {command.power_w / 1000:+.1f} kW" if command.power_w is not None else ""
    return f"{command.type}{power}"


def _control(control: ControlState | None, at: datetime | None) -> str:
    if control is None:
        return ""
    text = f"mode {control.operation_mode}"
    if control.overlay_plan is not None and at is not None:
        active = control.active_command(at)
        text += f", plan: {_command(active)}" if active is not None else ", no active plan"
    return text


def _reading(reading: SensorReading, into: str, out: str) -> tuple[str, str]:
    watts = reading.power_w
    if watts is None:
        return "no data", ""
    word = into if watts > 0.5 else out if watts < -0.5 else "idle"
    return _kw(watts), word or "idle"


def power_flow(state: CurrentState) -> Panel:
    """The home's power flow now: one row per role present, with the device's mode and active
    plan where it has one."""
    table = Table(show_header=True, box=None, pad_edge=False)
    for column in ("", "power", "", "state of charge", "control"):
        table.add_column(column, justify="right" if column == "power" else "left")
    for role, label, into, out in FLOW_ROWS:
        readings = state.of_role(role)
        if not readings:
            continue
        reading = readings[0]
        power, word = _reading(reading, into, out)
        soc = f"{reading.soc_percent:.0f} %" if reading.soc_percent is not None else ""
        kind = ROLE_DEVICE_KIND.get(role)
        control = _control(state.device(kind) if kind else None, state.timestamp)
        table.add_row(label, power, word, soc, control)
    when = f"{state.timestamp:%Y-%m-%d %H:%M} UTC" if state.timestamp else "no data yet"
    return Panel(Group(table), title=f"Site {state.site_id}", subtitle=when)


def tariff_table(pages: Sequence[TariffPage]) -> Table:
    first = pages[0]
    table = Table(
        title=f"{first.name} ({first.tariff_id}, {first.kind}, {first.direction}, "
        f"{first.currency}/kWh)"
    )
    for column in ("start (UTC)", "end (UTC)", "price"):
        table.add_column(column, justify="right" if column == "price" else "left")
    for page in pages:
        for entry in page.entries:
            table.add_row(
                f"{entry.start:%Y-%m-%d %H:%M}", f"{entry.end:%Y-%m-%d %H:%M}", f"{entry.price:.4f}"
            )
    if pages[-1].next_token:
        table.caption = "more pages before these: pass --all to follow nextToken"
    return table


def savings_table(savings: Savings) -> Table:
    currency = savings.currency or ""
    table = Table(title=f"Savings of site {savings.site_id} ({currency})")
    for column in ("month", "baseline", "actual", "savings", ""):
        table.add_column(column, justify="left" if column in ("month", "") else "right")
    for month in savings.entries:
        table.add_row(
            month.month,
            f"{month.baseline_cost:.2f}",
            f"{month.actual_cost:.2f}",
            f"{month.savings:.2f}",
            "so far" if month.partial else "",
        )
    total = sum(m.savings for m in savings.entries)
    table.caption = f"total savings {total:.2f} {currency}"
    return table


def site_streams_table(telemetry: SiteTelemetry, limit: int = 50) -> Table:
    """Power per stream and bucket (one column per role; the first `limit` buckets)."""
    prefixes = telemetry.column_prefixes()
    table = Table(title=f"Site {telemetry.site_id}: power (W, + into the device)")
    table.add_column("timestamp", no_wrap=True)
    by_time: dict[datetime, list[str]] = {}
    for index, (prefix, stream) in enumerate(zip(prefixes, telemetry.streams, strict=True)):
        table.add_column(prefix, justify="right")
        for entry in stream.entries:
            row = by_time.setdefault(entry.timestamp, [""] * len(prefixes))
            row[index] = "" if entry.power_w is None else f"{entry.power_w:.1f}"
    times = sorted(by_time)
    for at in times[:limit]:
        table.add_row(f"{at:%Y-%m-%d %H:%M}", *by_time[at])
    if len(times) > limit:
        table.caption = f"… {len(times) - limit} more rows (use --csv or --json for all of them)"
    return table
