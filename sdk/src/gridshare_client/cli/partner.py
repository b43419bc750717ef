"""The partner commands of `gridshare`: log a homeowner in and call the customer API.

`gridshare login | logout | profile ... | sites | topology | devices | device | telemetry | mode
| plan ...`. They import only the SDK (`gridshare_client`), Typer and Rich, never the server, so
they work with the light install against our sandbox and the real service alike.
"""

from __future__ import annotations

import importlib
import json
import sys
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, cast

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gridshare_client import (
    ApiError,
    ConfigError,
    ConnectionFailed,
    GridshareClient,
    GridshareError,
    InsufficientScope,
    LoginRequired,
    LoginTimedOut,
    LoopbackUnavailable,
    ModeName,
    OAuthError,
    ProfileConfig,
    RateLimited,
    TelemetrySeries,
)
from gridshare_client.cli import partner_render as render
from gridshare_client.oauth import is_loopback_redirect
from gridshare_client.telemetry import (
    MAX_POINTS,
    RESOLUTIONS,
    canonical_resolution,
    parse_interval,
    plan_chunks,
)
from gridshare_client.tokens import FileTokenStore

ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        help="Profile to use (default: $GRIDSHARE_PROFILE, then the configured default, "
        "then `local`).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def client_factory(profile: str | None) -> GridshareClient:
    """How a command builds its client (a seam: tests inject clocks and HTTP hooks here)."""
    return GridshareClient(profile)


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Every SDK error as one clear line on stderr and exit status 1."""
    try:
        yield
    except LoginRequired as exc:
        # The SDK's message is neutral (a web app signs its user in its own way); the CLI's
        # way is a command.
        profile = f" --profile {exc.profile}" if exc.profile else ""
        fail(f"{exc.reason}: run `gridshare login{profile}`")
    except InsufficientScope as exc:
        scope = exc.scope or "the missing scope"
        fail(
            f"the login does not grant {scope}: run `gridshare login --scope {scope}` "
            "(plus the scopes you already use)"
        )
    except RateLimited as exc:
        wait = f" (retry after {exc.retry_after:.0f} s)" if exc.retry_after is not None else ""
        fail(f"rate limited by the API{wait}")
    except ApiError as exc:
        code = f" {exc.code}" if exc.code else ""
        fail(f"{exc.status_code}{code}: {exc.message}")
    except ConnectionFailed as exc:
        fail(f"cannot reach the server: {exc}")
    except ConfigError as exc:
        fail(str(exc))
    except OAuthError as exc:
        fail(f"authorization failed: {exc}")
    except GridshareError as exc:
        fail(str(exc))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        fail(f"invalid input: {where + ': ' if where else ''}{first.get('msg')}")
    except ValueError as exc:
        fail(str(exc))


@contextmanager
def api(profile: str | None) -> Iterator[GridshareClient]:
    with friendly_errors():
        client = client_factory(profile)
        try:
            yield client
        finally:
            client.close()


# -- login / logout ----------------------------------------------------------------------------


def login(
    profile: ProfileOption = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope", "-s", help="Scope to ask for (repeatable; default: the profile's)."
        ),
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the sign-in URL instead of opening it.")
    ] = False,
    redirect_port: Annotated[
        int | None,
        typer.Option(
            help="Listen for the redirect on this 127.0.0.1 port (default: the profile's "
            "redirect URI, else any free port).",
            min=0,
            max=65535,
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the sign-in.")] = 300.0,
) -> None:
    """Sign a homeowner in (authorization code + PKCE) and store the tokens for this profile."""
    err = render.console(stderr=True)
    with api(profile) as client:
        prof = client.profile
        prof.require_client_id()
        scopes = [s for item in scope or [] for s in item.split()] or prof.scopes
        registered = prof.redirect_uri

        def show(url: str) -> None:
            verb = (
                "Open this URL"
                if no_browser
                else "Opening your browser; if it does not open, visit"
            )
            typer.echo(f"{verb} to sign in:", err=True)
            typer.echo(url, err=True)

        if redirect_port is None and registered and not is_loopback_redirect(registered):
            request = client.auth.start_login(registered, scopes)
            show(request.url)
            if not no_browser:
                webbrowser.open(request.url)
            pasted = typer.prompt("Paste the full URL your browser was sent to", err=True)
            tokens = client.auth.finish_login(request, pasted)
        else:
            try:
                tokens = client.auth.login(
                    scopes=scopes,
                    port=redirect_port,
                    open_browser=not no_browser,
                    on_url=show,
                    timeout=timeout,
                )
            except LoopbackUnavailable as exc:  # e.g. the loopback port is taken
                where = f"port {redirect_port}" if redirect_port else (registered or "a port")
                cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
                fail(
                    f"cannot listen for the sign-in redirect on {where}: "
                    f"{cause.strerror or cause} (stop what uses it, or pass --redirect-port "
                    "with a port your client has registered)"
                )
            except LoginTimedOut as exc:
                fail(f"{exc}: run `gridshare login` again (--timeout gives more time)")
        left = tokens.expires_in(datetime.now(UTC).timestamp())
        lifetime = f"; access token valid for {left / 60:.0f} min" if left else ""
        err.print(
            f"[green]Logged in[/green] with profile [bold]{prof.name}[/bold] "
            f"({prof.auth_base_url}); scopes: {' '.join(tokens.scope) or '-'}{lifetime}."
        )
        if not tokens.refresh_token:
            err.print("[yellow]No refresh token was issued: log in again when it expires.[/]")


def logout(profile: ProfileOption = None) -> None:
    """Revoke the refresh token at the server (ending its access tokens) and forget it."""
    with api(profile) as client:
        try:
            revoked = client.auth.revoke()
        except (OAuthError, ConnectionFailed, RateLimited) as exc:
            typer.secho(
                f"warning: the server did not confirm the revocation ({exc}); the tokens were "
                "forgotten here anyway",
                err=True,
                fg=typer.colors.YELLOW,
            )
            return
        name = client.profile.name
        typer.echo(
            f"Logged out of profile {name!r}."
            if revoked
            else f"Profile {name!r} was not logged in."
        )


# -- profiles ------------------------------------------------------------------------------------

profile_app = typer.Typer(
    help="Configure profiles (servers and client credentials).", no_args_is_help=True
)


@profile_app.command("set")
def profile_set(
    name: Annotated[str, typer.Argument(help="Profile name (`local`, `gridshare` or your own).")],
    auth_url: Annotated[str | None, typer.Option(help="Authorization server base URL.")] = None,
    api_url: Annotated[str | None, typer.Option(help="Customer API base URL.")] = None,
    client_id: Annotated[str | None, typer.Option(help="Your client_id.")] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(help="Your client_secret ('-' to type it hidden; '' for a public client)."),
    ] = None,
    redirect_uri: Annotated[
        str | None,
        typer.Option(help="Registered redirect URI ('' = a loopback URI on any free port)."),
    ] = None,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", "-s", help="Default scopes (repeatable).")
    ] = None,
    issuer: Annotated[
        str | None, typer.Option(help="Expected `iss` (default: discovered, else the auth URL).")
    ] = None,
    default: Annotated[
        bool, typer.Option("--default", help="Make it the default profile.")
    ] = False,
) -> None:
    """Create or update a profile; options left out keep their value, '' clears one."""
    with friendly_errors():
        config = ProfileConfig()
        if client_secret == "-":  # noqa: S105 - "prompt for it", not a secret
            client_secret = typer.prompt("client_secret", hide_input=True, err=True)
        scopes = [s for item in scope for s in item.split()] if scope else None
        profile = config.set(
            name,
            auth_base_url=auth_url,
            api_base_url=api_url,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            scopes=scopes,
            issuer=issuer,
        )
        if default:
            config.default = name
        config.save()
        typer.echo(f"profile {profile.name!r} saved in {config.path}")


@profile_app.command("use")
def profile_use(name: str) -> None:
    """Make NAME the default profile."""
    with friendly_errors():
        config = ProfileConfig()
        config.get(name, use_env=False)
        config.default = name
        config.save()
        typer.echo(f"default profile: {name}")


def _login_state(name: str) -> dict[str, Any]:
    tokens = FileTokenStore().load(name)
    if tokens is None:
        return {"logged_in": False}
    now = datetime.now(UTC).timestamp()
    left = tokens.expires_in(now)
    return {
        "logged_in": True,
        "scopes": tokens.scope,
        "access_token_expires_in": None if left is None else round(left),
        "has_refresh_token": bool(tokens.refresh_token),
    }


@profile_app.command("show")
def profile_show(
    name: Annotated[str | None, typer.Argument(help="Default: the selected profile.")] = None,
    as_json: JsonOption = False,
) -> None:
    """A profile's settings (the secret as a hint) and its login state."""
    with friendly_errors():
        profile = ProfileConfig().get(name)
        data = {**profile.masked(), "login": _login_state(profile.name)}
        if as_json:
            render.print_json(data)
            return
        login_state = data.pop("login")
        rows = [(k, " ".join(v) if isinstance(v, list) else v) for k, v in data.items()]
        if login_state["logged_in"]:
            left = login_state["access_token_expires_in"]
            rows.append(("logged in", "yes" + (f", access token {left} s left" if left else "")))
        else:
            rows.append(("logged in", "no"))
        render.console().print(render.kv_table(f"Profile {profile.name}", rows))


@profile_app.command("list")
def profile_list(as_json: JsonOption = False) -> None:
    """Every profile (built-in and configured)."""
    with friendly_errors():
        config = ProfileConfig()
        selected = config.selected_name()
        rows: list[dict[str, Any]] = []
        for name in config.names():
            try:
                p = config.get(name, use_env=name == selected)
            except ConfigError as exc:
                rows.append({"name": name, "error": str(exc)})
                continue
            rows.append(
                {
                    "name": name,
                    "selected": name == selected,
                    "auth_base_url": p.auth_base_url,
                    "api_base_url": p.api_base_url,
                    "client_id": p.client_id,
                    "logged_in": _login_state(name)["logged_in"],
                }
            )
        if as_json:
            render.print_json(rows)
            return
        from rich.table import Table

        table = Table(title="Profiles")
        for header in ("", "Name", "Auth URL", "API URL", "Client ID", "Logged in"):
            table.add_column(header, no_wrap=True)
        for r in rows:
            table.add_row(
                "*" if r.get("selected") else "",
                r["name"],
                r.get("auth_base_url", r.get("error", "")),
                r.get("api_base_url", ""),
                r.get("client_id") or "-",
                "yes" if r.get("logged_in") else "no",
            )
        render.console().print(table)


# -- sites and devices -------------------------------------------------------------------------


def sites(profile: ProfileOption = None, as_json: JsonOption = False) -> None:
    """The homeowner's sites with their time zone and tariffs."""
    with api(profile) as client:
        details = client.list_sites(details=True)
        if as_json:
            render.print_json([d.to_wire() for d in details])
        else:
            render.console().print(render.sites_table(details))


def topology(
    site_id: Annotated[
        str, typer.Argument(metavar="SITE", help="A site id (see `gridshare sites`).")
    ],
    full: Annotated[
        bool, typer.Option("--full", help="Show every battery block and PV optimiser.")
    ] = False,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """The site's devices and sensors; every sensor id works with `gridshare telemetry`."""
    with api(profile) as client:
        topo = client.get_topology(site_id, compact=not full)
        if as_json:
            render.print_json(topo.to_wire())
        else:
            render.console().print(render.topology_tree(topo))


def devices(profile: ProfileOption = None, as_json: JsonOption = False) -> None:
    """Every device of the homeowner, with its kind, name and model."""
    with api(profile) as client:
        details = client.list_devices(details=True)
        if as_json:
            render.print_json([d.to_wire() for d in details])
        else:
            render.console().print(render.devices_table(details))


def device(
    synth_id: Annotated[str, typer.Argument(metavar="ID", help="A device synthId.")],
    rename: Annotated[str | None, typer.Option(help="Give the device a new name.")] = None,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """One device's properties (optionally renaming it first)."""
    with api(profile) as client:
        shown = client.rename_device(synth_id, rename) if rename else client.get_device(synth_id)
        if as_json:
            render.print_json(shown.to_wire())
        else:
            render.console().print(render.device_table(shown))


# -- telemetry ---------------------------------------------------------------------------------


def _require_matplotlib() -> Any:
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        fail(
            "--plot needs matplotlib, which is not installed: pip install matplotlib "
            "(or use --csv / --json)"
        )
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def _plot(plt: Any, series: TelemetrySeries, path: Path) -> None:
    times = [e.timestamp for e in series.entries]
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot(times, [e.power_w for e in series.entries], label="power_W", linewidth=1)
    ax.set_ylabel("power (W, + into the device)")
    ax.set_title(f"{series.synth_id} ({series.resolution})")
    if any(e.soc_percent is not None for e in series.entries):
        soc = ax.twinx()
        soc.plot(
            times,
            [e.soc_percent for e in series.entries],
            color="tab:green",
            label="soc_percent",
            linewidth=1,
        )
        soc.set_ylabel("state of charge (%)")
        soc.set_ylim(0, 100)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def telemetry(
    sensor: Annotated[str, typer.Argument(help="A sensor id from `gridshare topology`.")],
    interval: Annotated[
        str,
        typer.Option(
            help="ISO 8601 interval, UTC: START/END, START/DURATION, DURATION/END, or a bare "
            "DURATION ending now (e.g. P7D).",
        ),
    ],
    resolution: Annotated[
        str, typer.Option(help=f"Bucket size: {', '.join(RESOLUTIONS)}.")
    ] = "PT15M",
    energy: Annotated[
        bool, typer.Option("--energy", help="Include the lifetime energy counters.")
    ] = False,
    aggregation: Annotated[
        str, typer.Option(help="default (mean per bucket) or latest (last value).")
    ] = "default",
    v1: Annotated[bool, typer.Option("--v1", help="Use API v1 (device ids allowed).")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout.")] = False,
    as_json: JsonOption = False,
    plot: Annotated[
        Path | None, typer.Option(help="Save a chart to this PNG file (needs matplotlib).")
    ] = None,
    max_points: Annotated[
        int, typer.Option(help="Buckets per API call (the API allows 10,000).", min=2)
    ] = MAX_POINTS,
    profile: ProfileOption = None,
) -> None:
    """Download a sensor's telemetry over any range (split into calls of <= 10,000 points)."""
    if sum((as_csv, as_json, plot is not None)) > 1:
        fail("choose one of --csv, --json and --plot")
    plt = _require_matplotlib() if plot is not None else None
    with friendly_errors():
        start, end = parse_interval(interval)
        canonical = canonical_resolution(resolution)
        chunks = len(plan_chunks(start, end, canonical, max_points))
    with api(profile) as client:
        kwargs: dict[str, Any] = {
            "resolution": canonical,
            "include_energy": energy,
            "aggregation": aggregation,
            "version": 1 if v1 else 2,
            "max_points": max_points,
        }
        if chunks > 1:
            with Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=render.console(stderr=True),
                transient=True,
            ) as bar:
                task = bar.add_task(f"Downloading {sensor}", total=chunks)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                series = client.download_telemetry(sensor, start, end, progress=progress, **kwargs)
        else:
            series = client.download_telemetry(sensor, start, end, **kwargs)
        if as_json:
            render.print_json(series.model_dump(mode="json", by_alias=True, exclude_none=True))
        elif as_csv:
            sys.stdout.write(render.telemetry_csv(series))
        elif plot is not None:
            _plot(plt, series, plot)
            typer.echo(f"{len(series)} entries plotted to {plot}", err=True)
        else:
            out = render.console()
            out.print(render.telemetry_title(series))
            if series.entries:
                out.print(render.telemetry_table(series))
            else:
                out.print("no telemetry in this interval")


# -- operation mode ------------------------------------------------------------------------------

mode_app = typer.Typer(
    help="A device's operation mode (simple, schedule, smart).", no_args_is_help=True
)


@mode_app.command("get")
def mode_get(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE")],
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the device's operation mode."""
    with api(profile) as client:
        mode = client.get_operation_mode(device_id)
        if as_json:
            render.print_json(mode.to_wire())
        else:
            typer.echo(mode.mode)


@mode_app.command("set")
def mode_set(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE")],
    mode: Annotated[str, typer.Argument(metavar="MODE", help="simple, schedule or smart.")],
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Switch the device's operation mode (`schedule` needs a schedule plan)."""
    with api(profile) as client:
        # the server judges the mode (any case; a 422 names the allowed ones)
        result = client.set_operation_mode(device_id, cast(ModeName, mode))
        if as_json:
            render.print_json(result.to_wire())
        else:
            typer.echo(f"{device_id}: {result.mode}")


# -- plans -----------------------------------------------------------------------------------------

plan_app = typer.Typer(help="Overlay and weekly schedule plans.", no_args_is_help=True)
overlay_app = typer.Typer(
    help="The overlay plan (overrides the mode for a while).", no_args_is_help=True
)
schedule_app = typer.Typer(
    help="The weekly schedule plan (followed in `schedule` mode).", no_args_is_help=True
)
plan_app.add_typer(overlay_app, name="overlay")
plan_app.add_typer(schedule_app, name="schedule")

PlanJson = Annotated[
    str | None, typer.Argument(metavar="[JSON]", help="The plan as JSON (or use --file).")
]
PlanFile = Annotated[
    Path | None, typer.Option("--file", "-f", help="Read the plan from a JSON file ('-' = stdin).")
]


def _read_plan(text: str | None, file: Path | None) -> Any:
    if (text is None) == (file is None):
        fail("give the plan as a JSON argument or with --file (one of them)")
    if file is not None:
        raw = sys.stdin.read() if str(file) == "-" else _read_file(file)
    else:
        raw = text or ""
    try:
        return json.loads(raw)
    except ValueError as exc:
        fail(f"the plan is not valid JSON: {exc}")


def _read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")


@overlay_app.command("get")
def overlay_get(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE")],
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the device's overlay plan."""
    with api(profile) as client:
        plan = client.get_overlay_plan(device_id)
        if as_json:
            render.print_json(plan.to_wire())
        else:
            render.console().print(render.overlay_table(device_id, plan))


@overlay_app.command("set")
def overlay_set(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE")],
    plan: PlanJson = None,
    file: PlanFile = None,
    profile: ProfileOption = None,
) -> None:
    """Store an overlay plan: {"startTime": ..., "commands": [{"type", "durationMinutes",
    "powerW"?}, ...]}."""
    body = _read_plan(plan, file)
    if not isinstance(body, dict):
        fail('an overlay plan is a JSON object: {"startTime": ..., "commands": [...]}')
    with api(profile) as client:
        client.set_overlay_plan(device_id, body)
        typer.echo(f"overlay plan of {device_id} stored")


@overlay_app.command("clear")
def overlay_clear(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE")],
    profile: ProfileOption = None,
) -> None:
    """Delete the device's overlay plan."""
    with api(profile) as client:
        client.clear_overlay_plan(device_id)
        typer.echo(f"overlay plan of {device_id} cleared")


@schedule_app.command("get")
def schedule_get(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE")],
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the device's weekly schedule."""
    with api(profile) as client:
        plan = client.get_schedule_plan(device_id)
        if as_json:
            render.print_json(plan.to_wire())
        else:
            render.console().print(render.schedule_table(device_id, plan))


@schedule_app.command("set")
def schedule_set(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE")],
    plan: PlanJson = None,
    file: PlanFile = None,
    profile: ProfileOption = None,
) -> None:
    """Store the weekly schedule: {"slots": [{"durationMinutes", "intent": {"kind", "socMin",
    "socMax", "powerW"?}}, ...]} summing to 10,080 minutes from Monday 00:00 site-local."""
    body = _read_plan(plan, file)
    if not isinstance(body, dict | list):
        fail('a schedule is {"slots": [...]} or a list of slots')
    with api(profile) as client:
        client.set_schedule_plan(device_id, body)
        typer.echo(f"schedule of {device_id} stored")


@schedule_app.command("clear")
def schedule_clear(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE")],
    profile: ProfileOption = None,
) -> None:
    """Delete the device's weekly schedule."""
    with api(profile) as client:
        client.clear_schedule_plan(device_id)
        typer.echo(f"schedule of {device_id} cleared")


def register(app: typer.Typer) -> None:
    """Add the partner commands to the `gridshare` app."""
    from gridshare_client.cli import partner_site  # it imports this module

    panel = "Partner (SDK)"
    app.command("login", rich_help_panel=panel)(login)
    app.command("logout", rich_help_panel=panel)(logout)
    app.add_typer(profile_app, name="profile", rich_help_panel=panel)
    app.command("sites", rich_help_panel=panel)(sites)
    app.command("topology", rich_help_panel=panel)(topology)
    app.command("devices", rich_help_panel=panel)(devices)
    app.command("device", rich_help_panel=panel)(device)
    app.command("telemetry", rich_help_panel=panel)(telemetry)
    partner_site.register(app, panel)
    app.add_typer(mode_app, name="mode", rich_help_panel=panel)
    app.add_typer(plan_app, name="plan", rich_help_panel=panel)
