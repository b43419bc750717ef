"""The per-process memory of verified access-token signatures (`TokenService._verified`)
remembers a signature only: a token is still refused once its key is withdrawn, and a token
differing in any character is verified afresh."""

from __future__ import annotations

import base64
import json

from sqlalchemy import delete

from gridshare.storage.models import SigningKey
from tests.api.homes_support import make_home
from tests.support import TestServices


async def _status(gs: TestServices, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return (await gs.http.get("/api/v2/sites", headers=headers)).status_code


def _kid(token: str) -> str:
    head = token.split(".")[0]
    kid: str = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]
    return kid


async def test_a_token_whose_key_was_withdrawn_is_refused(gs: TestServices) -> None:
    home = await make_home(gs)
    assert await _status(gs, home.token) == 200  # its signature is now remembered
    async with gs.services.db.write() as session:
        await session.execute(delete(SigningKey).where(SigningKey.kid == _kid(home.token)))
    await gs.services.keys.reload()
    assert await _status(gs, home.token) == 401


async def test_a_token_with_another_signature_is_verified_afresh(gs: TestServices) -> None:
    home = await make_home(gs)
    assert await _status(gs, home.token) == 200
    head, body, signature = home.token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert await _status(gs, f"{head}.{body}.{flipped}") == 401
    assert await _status(gs, home.token) == 200
