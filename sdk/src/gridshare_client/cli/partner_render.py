"""Rendering for the partner commands: Rich tables and trees for people, JSON/CSV for scripts.

Imports only the SDK (`gridshare_client`), Rich and the standard library.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from gridshare_client.models import (
    Device,
    OverlayPlan,
    SchedulePlan,
    Site,
    TelemetrySeries,
    Topology,
    TopologyNode,
)

MAX_TABLE_ROWS = 50


def console(stderr: bool = False) -> Console:
    """A console that does not squeeze ids when the output is a pipe or a test runner."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(file=stream, width=200, soft_wrap=False)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def sites_table(sites: Sequence[Site]) -> Table:
    table = Table(title="Sites")
    for header in ("Site ID", "Reference", "Time zone", "Import tariff", "Export tariff"):
        table.add_column(header, no_wrap=True)
    table.add_column("Address")
    for s in sites:
        table.add_row(
            s.site_id,
            s.site_reference or "",
            s.time_zone or "",
            s.import_tariff_id or "",
            s.export_tariff_id or "-",
            s.address.one_line() if s.address else "",
        )
    return table


def devices_table(devices: Sequence[Device]) -> Table:
    table = Table(title="Devices")
    for header in ("Synth ID", "Kind", "Name", "Type"):
        table.add_column(header, no_wrap=True)
    table.add_column("Manufacturer / model")
    table.add_column("Site ID", no_wrap=True)
    for d in devices:
        table.add_row(
            d.synth_id,
            d.kind or "",
            d.name or "",
            d.type or "",
            " ".join(x for x in (d.manufacturer, d.model) if x),
            d.site_id or "",
        )
    return table


def device_table(device: Device) -> Table:
    table = Table(title=f"Device {device.synth_id}", show_header=False)
    table.add_column("Field", style="bold")
    table.add_column("Value")
    rows = {
        "Synth ID": device.synth_id,
        "Name": device.name,
        "Kind": device.kind,
        "Type": device.type,
        "Manufacturer": device.manufacturer,
        "Model": device.model,
        "Serial number": device.serial_number,
        "Site ID": device.site_id,
        "Partners": ", ".join(device.partners) or "-",
    }
    for key, value in rows.items():
        table.add_row(key, value or "")
    return table


def _node_label(node: TopologyNode) -> str:
    if node.kind == "site":
        return f"[bold]site[/bold] {node.id}"
    if node.kind == "device":
        return f"[bold cyan]{node.device_kind or 'device'}[/bold cyan] {node.id}"
    label = f"[green]sensor[/green] {node.id}"
    if node.channels:
        label += f"  [dim]{', '.join(node.channels)}[/dim]"
    if node.max_capacity_j is not None:
        label += f"  [yellow]{node.max_capacity_j / 3.6e6:.1f} kWh[/yellow]"
    return label


def topology_tree(topology: Topology) -> Tree:
    def add(tree: Tree, node: TopologyNode) -> None:
        for child in node.children:
            add(tree.add(_node_label(child)), child)

    root = Tree(_node_label(topology.root))
    add(root, topology.root)
    return root


def telemetry_title(series: TelemetrySeries) -> str:
    calls = f"{series.calls} call{'s' if series.calls != 1 else ''}"
    return (
        f"[bold]{series.synth_id}[/bold]  {series.resolution}  "
        f"{series.start:%Y-%m-%d %H:%M} → {series.end:%Y-%m-%d %H:%M} UTC  "
        f"({len(series)} entries, {calls})"
    )


def telemetry_table(series: TelemetrySeries, limit: int = MAX_TABLE_ROWS) -> Table:
    columns = series.columns()
    table = Table()
    table.add_column("timestamp", no_wrap=True)
    for column in columns:
        table.add_column(column, justify="left" if column == "state" else "right")
    rows = series.rows()
    for row in rows[:limit]:
        table.add_row(*(_cell(row.get(c)) for c in ["timestamp", *columns]))
    if len(rows) > limit:
        table.caption = f"… {len(rows) - limit} more rows (use --csv or --json for all of them)"
    return table


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) < 1e6 else f"{value:.0f}"
    return str(value)


def telemetry_csv(series: TelemetrySeries) -> str:
    out = io.StringIO()
    columns = ["timestamp", *series.columns()]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in series.rows():
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return out.getvalue()


def overlay_table(device: str, plan: OverlayPlan) -> Table:
    table = Table(title=f"Overlay plan of {device}")
    for header in ("#", "Start (UTC)", "Command", "Minutes", "Power W"):
        table.add_column(header, no_wrap=True)
    if not plan.commands:
        table.caption = "no overlay plan"
        return table
    when = plan.start_time
    for index, command in enumerate(plan.commands, start=1):
        table.add_row(
            str(index),
            when.strftime("%Y-%m-%d %H:%M") if when else "",
            command.type,
            str(command.duration_minutes),
            "" if command.power_w is None else str(command.power_w),
        )
        if when is not None:
            when = when + timedelta(minutes=command.duration_minutes)
    return table


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _week_time(minute: int) -> str:
    day, rest = divmod(minute, 1440)
    return f"{_DAYS[day % 7]} {rest // 60:02d}:{rest % 60:02d}"


def schedule_table(device: str, plan: SchedulePlan) -> Table:
    table = Table(title=f"Weekly schedule of {device} (site-local time)")
    for header in ("From", "To", "Intent", "SoC min", "SoC max", "Power W"):
        table.add_column(header, no_wrap=True)
    if not plan.slots:
        table.caption = "no schedule plan"
        return table
    minute = 0
    for slot in plan.slots:
        end = minute + slot.duration_minutes
        intent = slot.intent
        table.add_row(
            _week_time(minute),
            _week_time(end) if end < 10080 else "Mon 00:00",
            intent.kind,
            _cell(intent.soc_min),
            _cell(intent.soc_max),
            "" if intent.power_w is None else str(intent.power_w),
        )
        minute = end
    return table


def kv_table(title: str, rows: Iterable[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("Field", style="bold")
    table.add_column("Value")
    for key, value in rows:
        table.add_row(key, "" if value is None else str(value))
    return table
