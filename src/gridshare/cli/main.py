"""The server's commands for `gridshare`: `serve`, `db` and `admin`.

The `gridshare` console script belongs to the client distribution (`gridshare_client.cli.main`,
with the partner commands); this module plugs the server's commands into it through the
`gridshare.commands` entry point. Server modules are imported inside each command, so
`gridshare --help` starts fast.
"""

from __future__ import annotations

import typer

from gridshare.cli import admin, server


def register(app: typer.Typer) -> None:
    """The `gridshare.commands` entry point."""
    app.command("serve")(server.serve)
    app.add_typer(server.db_app, name="db")
    app.add_typer(admin.app, name="admin")
