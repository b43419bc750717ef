"""Interactive API docs: Swagger UI served from our own origin, logging in through our own
authorization server with PKCE (a public client registered at start-up).

Swagger UI's files come from the `swagger-ui-bundle-v2` package, never a CDN, so the page keeps
the no-third-party-sources rule; it needs inline styles, hence its own, slightly wider CSP.
"""

from __future__ import annotations

import logging
from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from gridshare.auth import redirects
from gridshare.auth.clients import ClientOptions, ClientService
from gridshare.auth.scopes import API_SCOPES
from gridshare.web.render import PAGE_HEADERS, render

log = logging.getLogger(__name__)

DOCS_CLIENT_ID = "gridshareapidocs0000000001"
SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)
REDIRECT_PATH = "/docs/ui/oauth2-redirect.html"

DOCS_HEADERS = PAGE_HEADERS | {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; "
        "frame-ancestors 'none'"
    )
}

router = APIRouter(include_in_schema=False)
assets = StaticFiles(directory=SWAGGER_DIR)


@router.get("/docs")
async def docs() -> Response:
    page = render(
        "docs.html",
        title="Customer API",
        client_id=DOCS_CLIENT_ID,
        scopes=" ".join(API_SCOPES),
    )
    return HTMLResponse(page.body, headers=DOCS_HEADERS)


async def ensure_docs_client(clients: ClientService, issuer: str) -> None:
    """Register (or re-point) the public client Swagger UI logs in with.

    Its one redirect URI is this server's own page, port included: on a loopback issuer the
    RFC 8252 any-port rule (for native apps, which pick a free port) would let any local
    program listening on another port receive a homeowner's code. An issuer that is neither
    https nor loopback cannot have a redirect URI; /docs then shows the API but cannot log in
    (logged once).
    """
    redirect = issuer + REDIRECT_PATH
    try:
        redirects.validate_registration(redirect)
    except redirects.RedirectURIError:
        log.warning("issuer %s is not https or loopback: /docs cannot log in", issuer)
        return
    existing = await clients.get(DOCS_CLIENT_ID)
    if existing is None:
        await clients.create_if_absent(
            ClientOptions(
                name="Gridshare API docs (Swagger UI)",
                redirect_uris=[redirect],
                scopes=list(API_SCOPES),
                public=True,
                loopback_any_port=False,
                client_id=DOCS_CLIENT_ID,
            )
        )
    elif existing.redirect_uris != [redirect] or existing.loopback_any_port:
        await clients.pin_redirect_uri(DOCS_CLIENT_ID, redirect)
