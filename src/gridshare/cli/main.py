"""The `gridshare` command: the server, database upgrades, administration, and the partner
commands (login, sites, devices, telemetry, modes, plans).

Server modules are imported inside each command, so `gridshare --help` (and the partner
commands, which need only the SDK) start fast and work without the server's dependencies.
"""

from __future__ import annotations

import typer

from gridshare.cli import admin, partner, server

app = typer.Typer(
    help="Gridshare: authorization server, customer API, digital twin, and the partner CLI.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(server.serve)
app.add_typer(server.db_app, name="db")
app.add_typer(admin.app, name="admin")
partner.register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
