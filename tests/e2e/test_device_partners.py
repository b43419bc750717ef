"""`partners` in a device answer over a real socket: each partner sees its own name and the
homeowner's other partners only as "another partner" (issue: every partner's name was shown to
every other partner)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.live import LiveServer
from tests.support import PASSWORD, Homeowner, Partner, TestServices

pytestmark = pytest.mark.e2e

REDIRECT = "https://partner.example/callback"


async def test_a_partner_sees_itself_by_name_and_others_anonymised(
    live_server: LiveServer,
) -> None:
    live = live_server
    made = live.admin(
        "create-user",
        "--email",
        "two@example.com",
        "--password",
        PASSWORD,
        "--backfill-days",
        "0",
    )
    owner = Homeowner(made["sub"], made["email"], PASSWORD)
    partners = {}
    for name in ("Acme Solar", "Rival Energy"):
        client = live.create_client(REDIRECT, name=name)
        partners[name] = Partner(client.client_id, client.secret, REDIRECT)
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        gs = TestServices(live.services, http)
        bearers = {
            name: {"Authorization": f"Bearer {(await gs.tokens(p, owner))['access_token']}"}
            for name, p in partners.items()
        }
        seen = {}
        for name, bearer in bearers.items():
            listed = await http.get("/api/v2/devices", headers=bearer)
            assert listed.status_code == 200, listed.text
            device = listed.json()["entries"][0]["synthId"]
            answer = await http.get(f"/api/v2/devices/{device}", headers=bearer)
            assert answer.status_code == 200, answer.text
            seen[name] = answer.json()["partners"]
    assert seen == {
        "Acme Solar": ["Acme Solar", "another partner"],
        "Rival Energy": ["Rival Energy", "another partner"],
    }
