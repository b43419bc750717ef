"""Site-level partner commands: `gridshare now`, `tariff`, `savings`, `site-telemetry`.

Like the other partner commands they import only the SDK, Typer and Rich (pandas and
matplotlib only for `--csv` / `--plot`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live

from gridshare_client import GridshareClient, Savings
from gridshare_client.cli import partner_render as render
from gridshare_client.cli import partner_site_render as site_render
from gridshare_client.cli.partner import (
    JsonOption,
    ProfileOption,
    _require_matplotlib,
    api,
    fail,
    friendly_errors,
)
from gridshare_client.telemetry import RESOLUTIONS, canonical_resolution, parse_interval

SiteArgument = Annotated[
    str | None,
    typer.Argument(metavar="[SITE]", help="A site id (default: the homeowner's first site)."),
]
IntervalOption = Annotated[
    str | None,
    typer.Option(
        help="ISO 8601 interval, UTC: START/END, START/DURATION, DURATION/END, or a bare "
        "DURATION ending now (e.g. P30D).",
    ),
]


def _site(client: GridshareClient, site_id: str | None) -> str:
    if site_id:
        return site_id
    sites = client.list_sites()
    if not sites:
        fail("the homeowner has no sites")
    return sites[0].site_id


def now(
    site_id: SiteArgument = None,
    watch: Annotated[bool, typer.Option("--watch", help="Keep the view live.")] = False,
    every: Annotated[
        float, typer.Option("--every", help="Seconds between refreshes with --watch.", min=1)
    ] = 15.0,
    count: Annotated[
        int | None, typer.Option(hidden=True, help="Stop --watch after this many refreshes.")
    ] = None,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """The home's power flow now: PV, home, battery (with SoC), grid, EV, hot water, and each
    device's mode and active plan."""
    with api(profile) as client:
        site = _site(client, site_id)
        if as_json:
            render.print_json(client.get_current_state(site).to_wire())
            return
        if not watch:
            render.console().print(site_render.power_flow(client.get_current_state(site)))
            return
        refreshes = 0
        with Live(
            site_render.power_flow(client.get_current_state(site)),
            console=render.console(),
            auto_refresh=False,
        ) as live:
            refreshes = 1
            try:
                while count is None or refreshes < count:
                    time.sleep(every)
                    live.update(site_render.power_flow(client.get_current_state(site)))
                    live.refresh()
                    refreshes += 1
            except KeyboardInterrupt:
                pass


def tariff(
    tariff_id: Annotated[str, typer.Argument(metavar="TARIFF", help="A tariff id of a site.")],
    interval: IntervalOption = None,
    direction: Annotated[
        str | None, typer.Option(help="import or export (default: as the site uses it).")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--all", help="Follow nextToken over the whole interval.")
    ] = False,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """A tariff's prices: one page of at most 7 days (newest first), or with --all every
    page of the interval."""
    with friendly_errors():
        bounds = parse_interval(interval) if interval else (None, None)
    with api(profile) as client:
        if follow:
            pages = list(
                client.iter_tariff_pages(tariff_id, bounds[0], bounds[1], direction=direction)
            )
        else:
            pages = [client.get_tariff_page(tariff_id, bounds[0], bounds[1], direction=direction)]
        if as_json:
            render.print_json([p.to_wire() for p in pages])
        else:
            render.console().print(site_render.tariff_table(pages))


def _plot_savings(savings: Savings, path: Path) -> None:
    plt = _require_matplotlib()
    months = [m.month for m in savings.entries]
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(months, [m.baseline_cost for m in savings.entries], label="baseline", alpha=0.5)
    ax.bar(months, [m.actual_cost for m in savings.entries], label="actual", alpha=0.8)
    ax.set_ylabel(f"cost ({savings.currency or ''})")
    ax.set_title(f"Savings of site {savings.site_id}")
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def savings(
    site_id: SiteArgument = None,
    interval: IntervalOption = None,
    plot: Annotated[
        Path | None, typer.Option(help="Save a bar chart to this PNG file (needs matplotlib).")
    ] = None,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Monthly savings against a consumption-only baseline (default: the last 12 months)."""
    if as_json and plot is not None:
        fail("choose one of --json and --plot")
    with friendly_errors():
        bounds = parse_interval(interval) if interval else (None, None)
    with api(profile) as client:
        result = client.get_savings(_site(client, site_id), bounds[0], bounds[1])
        if as_json:
            render.print_json(result.to_wire())
        elif plot is not None:
            _plot_savings(result, plot)
            typer.echo(f"{len(result.entries)} months plotted to {plot}", err=True)
        else:
            render.console().print(site_render.savings_table(result))


def site_telemetry(
    site_id: Annotated[str, typer.Argument(metavar="SITE", help="A site id.")],
    interval: Annotated[
        str,
        typer.Option(
            help="ISO 8601 interval, UTC: START/END, START/DURATION, DURATION/END, or a bare "
            "DURATION ending now (e.g. P1D).",
        ),
    ],
    resolution: Annotated[
        str, typer.Option(help=f"Bucket size: {', '.join(RESOLUTIONS)}.")
    ] = "PT15M",
    roles: Annotated[
        str | None, typer.Option(help="Comma list of roles (default: every primary stream).")
    ] = None,
    energy: Annotated[
        bool, typer.Option("--energy", help="Include the lifetime energy counters.")
    ] = False,
    aggregation: Annotated[
        str, typer.Option(help="default (mean per bucket) or latest (last value).")
    ] = "default",
    as_csv: Annotated[
        bool, typer.Option("--csv", help="CSV on stdout, one column per role and channel.")
    ] = False,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every stream of a site in one call, labelled by role (at most 10,000 buckets each)."""
    if as_csv and as_json:
        fail("choose one of --csv and --json")
    with friendly_errors():
        start, end = parse_interval(interval)
        canonical = canonical_resolution(resolution)
    with api(profile) as client:
        kwargs: dict[str, Any] = {
            "resolution": canonical,
            "include_energy": energy,
            "aggregation": aggregation,
            "roles": [r.strip() for r in roles.split(",")] if roles else None,
        }
        result = client.get_site_telemetry(site_id, start, end, **kwargs)
        if as_json:
            render.print_json(result.to_wire())
        elif as_csv:
            sys.stdout.write(result.to_dataframe().to_csv(date_format="%Y-%m-%dT%H:%M:%SZ"))
        else:
            render.console().print(site_render.site_streams_table(result))


def register(app: typer.Typer, panel: str) -> None:
    app.command("now", rich_help_panel=panel)(now)
    app.command("tariff", rich_help_panel=panel)(tariff)
    app.command("savings", rich_help_panel=panel)(savings)
    app.command("site-telemetry", rich_help_panel=panel)(site_telemetry)
