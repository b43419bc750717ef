"""Options and helpers shared by the server-side commands."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from gridshare.config import Settings

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="sqlite:///path or postgresql://... (default: $GRIDSHARE_DATABASE_URL, then a "
        "SQLite file in your data directory).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def settings_for(database_url: str | None, **overrides: Any) -> Settings:
    # Imported here: the partner commands share this module's app but not the server's
    # dependencies (pydantic-settings).
    from gridshare.config import Settings

    values = dict(overrides)
    if database_url:
        values["database_url"] = database_url
    return Settings(**values)


def emit(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, indent=2) if as_json else text)


def fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(1)
