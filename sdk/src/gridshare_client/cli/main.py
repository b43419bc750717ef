"""The `gridshare` command: the partner commands (login, sites, devices, telemetry, modes,
plans), plus whatever an installed distribution plugs in through the `gridshare.commands`
entry-point group: the server distribution (`pip install gridshare`) adds `serve`, `db` and
`admin` that way.

The console script belongs to this (client) distribution alone, so installing both never leaves
two distributions fighting over one script. Without the server, its commands answer with one line
saying where they live instead of failing with a traceback or "no such command".
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from gridshare_client.cli import partner

COMMAND_GROUP = "gridshare.commands"
"""Entry points of this group are `register(app: typer.Typer) -> None` callables."""

SERVER_COMMANDS = ("serve", "db", "admin")
SERVER_HINT = "`gridshare {name}` is part of the server: pip install gridshare"


def _server_placeholder(name: str) -> None:
    def placeholder() -> None:
        typer.secho(SERVER_HINT.format(name=name), err=True, fg=typer.colors.RED)
        raise typer.Exit(1)

    placeholder.__doc__ = f"Part of the server (pip install gridshare): `{name}` is absent here."
    app.command(
        name,
        hidden=True,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
    )(placeholder)


def _plug_in(app: typer.Typer) -> None:
    """Register every installed plugin; a broken one is reported in one line, not a traceback."""
    for point in entry_points(group=COMMAND_GROUP):
        try:
            point.load()(app)
        except ImportError as exc:
            typer.secho(
                f"warning: the {point.name!r} commands are unavailable ({exc})",
                err=True,
                fg=typer.colors.YELLOW,
            )


def _registered(app: typer.Typer) -> set[str]:
    names = {c.name for c in app.registered_commands if c.name}
    return names | {g.name for g in app.registered_groups if g.name}


app = typer.Typer(
    help="Gridshare: the partner CLI (and, with the server installed, the authorization server, "
    "customer API and digital twin).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
_plug_in(app)
partner.register(app)
for _name in SERVER_COMMANDS:
    if _name not in _registered(app):
        _server_placeholder(_name)


def main() -> None:
    """The console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
