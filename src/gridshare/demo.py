"""Demo data for a first start: a homeowner with a hybrid home, a partner, and how to try it.

The demo client's secret is derived from the server's HMAC key (HMAC of a fixed label), so the
server can print it on every start without ever storing it in clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import func, select

from gridshare.auth.clients import ClientOptions
from gridshare.auth.digests import hmac_hex
from gridshare.auth.scopes import API_SCOPES
from gridshare.fleet.provisioning import DEFAULT_TEMPLATE, provision_sites
from gridshare.services import Services
from gridshare.storage.models import Client, ClientSecret, User

DEMO_EMAIL = "demo@gridshare.dev"
DEMO_PASSWORD = "gridshare-demo"  # noqa: S105 - a documented demo credential
DEMO_CLIENT_ID = "gridsharedemopartner000001"
DEMO_REDIRECTS = ["https://www.example.com", "http://127.0.0.1:8765/callback"]


@dataclass(frozen=True)
class DemoCredentials:
    client_id: str
    client_secret: str


def demo_secret(services: Services) -> str:
    return hmac_hex(services.clients.hmac_key, "demo-client-secret")


async def seed_if_empty(services: Services) -> bool:
    """Create the demo homeowner and partner on an empty database; True if it did."""
    async with services.db.read() as session:
        users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
        clients = (await session.execute(select(func.count()).select_from(Client))).scalar_one()
    if users or clients:
        return False
    owner = await services.users.create(DEMO_EMAIL, DEMO_PASSWORD)
    await provision_sites(
        services.db,
        services.clock,
        owner.id,
        DEFAULT_TEMPLATE,
        twin=services.twin,
        memory=services.homes.memory,
    )
    client, _ = await services.clients.create(
        ClientOptions(
            name="Demo Partner App",
            redirect_uris=DEMO_REDIRECTS,
            logout_uris=["https://www.example.com/signed-out"],
            client_id=DEMO_CLIENT_ID,
        )
    )
    # Replace the random first secret with the derivable demo secret.
    async with services.db.write() as session:
        row = (
            await session.execute(
                select(ClientSecret).where(ClientSecret.client_id == client.client_id)
            )
        ).scalar_one()
        secret = demo_secret(services)
        row.secret_hmac = hmac_hex(services.clients.hmac_key, secret)
        row.hint = secret[:4]
    return True


async def demo_credentials(services: Services) -> DemoCredentials | None:
    client = await services.clients.get(DEMO_CLIENT_ID)
    if client is None or client.disabled:
        return None
    return DemoCredentials(DEMO_CLIENT_ID, demo_secret(services))


def walkthrough(issuer: str, creds: DemoCredentials) -> str:
    scope = " ".join(["openid", *API_SCOPES])
    authorize = f"{issuer}/oauth2/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": creds.client_id,
            "redirect_uri": DEMO_REDIRECTS[0],
            "state": "abcdefg",
            "scope": scope,
        }
    )
    return "\n".join(
        [
            f"Demo homeowner: {DEMO_EMAIL} / {DEMO_PASSWORD}",
            f"Demo partner:   client_id={creds.client_id} client_secret={creds.client_secret}",
            f"1. Open in a browser and sign in: {authorize}",
            f"2. You land on {DEMO_REDIRECTS[0]}?code=CODE&state=abcdefg: copy CODE.",
            f"3. curl -s -X POST {issuer}/oauth2/token "
            f"-u '{creds.client_id}:{creds.client_secret}' "
            f"-d grant_type=authorization_code -d client_id={creds.client_id} -d code=CODE "
            f"-d redirect_uri={DEMO_REDIRECTS[0]}",
            f'4. curl -s -H "Authorization: Bearer $ACCESS_TOKEN" {issuer}/api/v1/devices',
        ]
    )
