"""`gridshare admin ...`: manage clients, users and signing keys while the server runs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from gridshare.cli.common import DatabaseOption, JsonOption, emit, fail, settings_for

app = typer.Typer(help="Administration: clients, users, keys.", no_args_is_help=True)

T = TypeVar("T")


BackfillOption = Annotated[
    float | None,
    typer.Option(
        min=0,
        max=3660,
        help="Days of history the twin simulates for each new site (default: "
        "$GRIDSHARE_TWIN_BACKFILL_DAYS, 30).",
        show_default=False,
    ),
]


async def _backfill(services: Any, site_ids: list[str], quiet: bool) -> None:
    """Simulate each new site's history up to now, with a progress bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), disable=quiet) as bar:
        for site_id in site_ids:
            task = bar.add_task(f"history of {site_id[:8]}", total=None)

            def update(done: int, total: int, task: Any = task) -> None:
                bar.update(task, completed=done, total=total)

            await services.twin.advance(site_id, progress=update)


def _run(
    database_url: str | None,
    work: Callable[[Any], Awaitable[T]],
    **overrides: Any,
) -> T:
    """Build the services against the database (migrating it first) and run `work`."""
    from gridshare.auth.secret_key import SecretKeyMismatch
    from gridshare.services import build_services
    from gridshare.storage import migrate
    from gridshare.storage.db import Database

    settings = settings_for(database_url, **{k: v for k, v in overrides.items() if v is not None})

    async def main() -> T:
        db = Database(settings.database_url)
        try:
            await migrate.upgrade(db)
            services = await build_services(settings, db)
            try:
                return await work(services)
            finally:
                await services.aclose()
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except SecretKeyMismatch as exc:
        fail(str(exc))


@app.command("create-client")
def create_client(
    name: Annotated[str, typer.Option(help="Partner name shown on the consent page.")],
    redirect_uri: Annotated[list[str], typer.Option(help="Callback URL (repeatable).")],
    logout_uri: Annotated[list[str] | None, typer.Option(help="Sign-out URL (repeatable).")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="Allowed scope (repeatable).")] = None,
    public: Annotated[bool, typer.Option("--public", help="No secret; PKCE required.")] = False,
    rotate_refresh_tokens: Annotated[
        bool | None,
        typer.Option(
            "--rotate-refresh-tokens/--no-rotate-refresh-tokens",
            help="Default: on for public clients.",
        ),
    ] = None,
    require_pkce: Annotated[
        bool | None,
        typer.Option("--require-pkce/--no-require-pkce", help="Default: on for public clients."),
    ] = None,
    allow_implicit: Annotated[
        bool, typer.Option("--allow-implicit", help="Allow response_type=token (discouraged).")
    ] = False,
    access_token_ttl: Annotated[int, typer.Option(help="Seconds (300-86400).")] = 3600,
    refresh_token_ttl: Annotated[int, typer.Option(help="Seconds (3600-315360000).")] = 30 * 86400,
    grace_seconds: Annotated[
        int, typer.Option(help="Refresh rotation grace period (0-60 s).")
    ] = 30,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a partner; prints client_id and (once) client_secret."""
    from gridshare.auth.clients import ClientConfigError, ClientOptions
    from gridshare.auth.scopes import DEFAULT_CLIENT_SCOPES

    opts = ClientOptions(
        name=name,
        redirect_uris=redirect_uri,
        logout_uris=logout_uri or [],
        scopes=scope or list(DEFAULT_CLIENT_SCOPES),
        public=public,
        rotate_refresh_tokens=rotate_refresh_tokens,
        require_pkce=require_pkce,
        access_token_ttl=access_token_ttl,
        id_token_ttl=access_token_ttl,
        refresh_token_ttl=refresh_token_ttl,
        rotation_grace_seconds=grace_seconds,
        allow_implicit=allow_implicit,
    )

    async def work(services: Any) -> dict[str, Any]:
        client, secret = await services.clients.create(opts)
        return {"client_id": client.client_id, "client_secret": secret}

    try:
        result = _run(database_url, work)
    except ClientConfigError as exc:
        fail(str(exc))
    text = f"client_id:     {result['client_id']}\n"
    text += (
        f"client_secret: {result['client_secret']}\n(shown once: store it now)"
        if result["client_secret"]
        else "public client: no secret"
    )
    emit(result, as_json, text)


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="The homeowner's email (their username).")],
    password: Annotated[str, typer.Option(help="At least 8 characters.")],
    site_template: Annotated[
        str, typer.Option(help="Template of the homeowner's sites (see create-site --help).")
    ] = "hybrid_home",
    sites: Annotated[int, typer.Option(min=0, max=100, help="How many sites to give them.")] = 1,
    backfill_days: BackfillOption = None,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a homeowner with N sites built from a template."""
    from gridshare.auth.users import UserError
    from gridshare.fleet.provisioning import provision_sites
    from gridshare.homes.templates import TEMPLATES

    if site_template not in TEMPLATES:
        fail(f"unknown template {site_template!r}; choose from {', '.join(TEMPLATES)}")

    async def work(services: Any) -> dict[str, Any]:
        user = await services.users.create(email, password)
        made = await provision_sites(
            services.db,
            services.clock,
            user.id,
            site_template,
            sites,
            twin=services.twin,
            memory=services.homes.memory,
        )
        await _backfill(services, [s.site_id for s in made], as_json)
        return {"sub": user.id, "email": user.email, "sites": [s.site_id for s in made]}

    try:
        result = _run(database_url, work, twin_backfill_days=backfill_days)
    except UserError as exc:
        fail(str(exc))
    emit(
        result,
        as_json,
        f"sub:   {result['sub']}\nemail: {result['email']}\nsites: {', '.join(result['sites'])}",
    )


@app.command("create-site")
def create_site(
    owner: Annotated[str, typer.Option(help="The homeowner's email.")],
    template: Annotated[str, typer.Option(help="hybrid_home, pv_only or battery_retrofit.")],
    backfill_days: BackfillOption = None,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a site built from a template to an existing homeowner."""
    from gridshare.fleet.provisioning import provision_sites
    from gridshare.homes.templates import TEMPLATES

    if template not in TEMPLATES:
        fail(f"unknown template {template!r}; choose from {', '.join(TEMPLATES)}")

    async def work(services: Any) -> dict[str, str] | None:
        user = await services.users.by_email(owner)
        if user is None:
            return None
        [site] = await provision_sites(
            services.db,
            services.clock,
            user.id,
            template,
            twin=services.twin,
            memory=services.homes.memory,
        )
        await _backfill(services, [site.site_id], as_json)
        return {"siteId": site.site_id, "owner": user.email, "template": template}

    result = _run(database_url, work, twin_backfill_days=backfill_days)
    if result is None:
        fail(f"no homeowner with email {owner!r}")
    assert result is not None
    emit(result, as_json, f"site {result['siteId']} ({template}) added for {result['owner']}")


@app.command("reset-second-factor")
def reset_second_factor(
    email: Annotated[str, typer.Option(help="The homeowner's sign-in email.")],
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Turn off a homeowner's two-step verification (authenticator and recovery codes).

    For a homeowner who lost both the authenticator and the recovery codes: check who they are
    by other means first; they can sign in with the password alone afterwards.
    """

    async def work(services: Any) -> bool:
        user = await services.users.by_email(email)
        if user is None:
            return False
        await services.totp.disable(user.id)
        return True

    if not _run(database_url, work):
        fail(f"no homeowner with email {email!r}")
    emit(
        {"email": email, "second_factor": "off"}, as_json, f"two-step verification off for {email}"
    )


@app.command("list-clients")
def list_clients(database_url: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Every registered client with its settings and active secrets (hints only)."""

    async def work(services: Any) -> list[dict[str, Any]]:
        rows = []
        for c in await services.clients.list_all():
            secrets = await services.clients.active_secrets(c.client_id)
            rows.append(
                {
                    "client_id": c.client_id,
                    "name": c.name,
                    "public": c.public,
                    "disabled": c.disabled,
                    "redirect_uris": c.redirect_uris,
                    "logout_uris": c.logout_uris,
                    "scopes": c.allowed_scopes,
                    "rotate_refresh_tokens": c.rotate_refresh_tokens,
                    "require_pkce": c.require_pkce,
                    "secrets": [{"id": s.id, "hint": s.hint + "…"} for s in secrets],
                }
            )
        return rows

    rows = _run(database_url, work)
    lines = [
        f"{r['client_id']}  {r['name']}{'  (disabled)' if r['disabled'] else ''}"
        f"  secrets: {', '.join(str(s['id']) + '=' + s['hint'] for s in r['secrets']) or '-'}"
        for r in rows
    ]
    emit(rows, as_json, "\n".join(lines) or "no clients")


def _set_disabled(client_id: str, disabled: bool, database_url: str | None, as_json: bool) -> None:
    async def work(services: Any) -> bool:
        return bool(await services.clients.set_disabled(client_id, disabled))

    if not _run(database_url, work):
        fail(f"no client {client_id!r}")
    state = "disabled" if disabled else "enabled"
    emit({"client_id": client_id, "disabled": disabled}, as_json, f"{client_id} {state}")


@app.command("disable-client")
def disable_client(
    client_id: str, database_url: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """Disable a client and revoke every token it holds.

    Every access and refresh token of the client is revoked for good and its unredeemed codes
    are deleted: enable-client does not bring them back, so homeowners sign in again.
    """
    _set_disabled(client_id, True, database_url, as_json)


@app.command("enable-client")
def enable_client(
    client_id: str, database_url: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """Re-enable a disabled client. Tokens revoked by disable-client stay revoked."""
    _set_disabled(client_id, False, database_url, as_json)


@app.command("add-secret")
def add_secret(
    client_id: str, database_url: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """Add a second secret (for rotation without downtime); shown once."""
    from gridshare.auth.clients import ClientConfigError

    async def work(services: Any) -> tuple[int, str]:
        result: tuple[int, str] = await services.clients.add_secret(client_id)
        return result

    try:
        secret_id, secret = _run(database_url, work)
    except ClientConfigError as exc:
        fail(str(exc))
    emit(
        {"client_id": client_id, "secret_id": secret_id, "client_secret": secret},
        as_json,
        f"secret_id:     {secret_id}\nclient_secret: {secret}\n(shown once: store it now)",
    )


@app.command("remove-secret")
def remove_secret(
    client_id: str,
    secret_id: int,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke one of a client's secrets (see list-clients for ids)."""

    async def work(services: Any) -> bool:
        return bool(await services.clients.remove_secret(client_id, secret_id))

    if not _run(database_url, work):
        fail(f"no active secret {secret_id} for client {client_id!r}")
    emit(
        {"client_id": client_id, "secret_id": secret_id, "removed": True}, as_json, "secret removed"
    )


@app.command("rotate-keys")
def rotate_keys(database_url: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Publish new signing keys; they sign once the publish-ahead delay has passed."""

    async def work(services: Any) -> list[str]:
        kids: list[str] = await services.keys.rotate()
        return kids

    kids = _run(database_url, work)
    emit({"new_kids": kids}, as_json, "new keys published: " + ", ".join(kids))


# The AI assistants' callback allow-list (registers its commands on `app`).
from gridshare.cli import admin_mcp  # noqa: E402, F401
