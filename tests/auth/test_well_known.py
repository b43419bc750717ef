"""Discovery and the JWKS as served: caching headers and ETags, the request id and metrics, and a
JWKS that follows a key rotation made by another process on the same database."""

from __future__ import annotations

import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import select

from gridshare.auth.keys import KeyStore
from gridshare.config import Settings
from gridshare.storage.models import SigningKey
from tests.api.homes_support import running_app
from tests.ops.metrics_support import sample_value

JWKS = "/.well-known/jwks.json"
DISCOVERY = "/.well-known/openid-configuration"
REQUESTS = "gridshare_http_request_duration_seconds_count"


@pytest.mark.parametrize("path", [JWKS, DISCOVERY])
async def test_documents_carry_cache_headers_and_answer_a_matching_etag_with_304(
    settings: Settings, path: str
) -> None:
    allowed = settings.model_copy(update={"metrics_allow": "203.0.113.0/24"})
    async with running_app(allowed) as (_, gs):
        first = await gs.http.get(path, headers={"X-Request-Id": "doc-1"})
        again = await gs.http.get(path)
        etag = first.headers["etag"]
        fresh = await gs.http.get(path, headers={"If-None-Match": f'"other", W/{etag}'})
        stale = await gs.http.get(path, headers={"If-None-Match": '"not-this-one"'})
        metrics = (await gs.http.get("/metrics")).text
    assert first.status_code == 200 and first.json() == again.json()
    assert first.headers["content-type"] == "application/json"
    assert first.headers["cache-control"] == "public, max-age=300"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["x-request-id"] == "doc-1"
    assert etag.startswith('"') and etag.endswith('"') and again.headers["etag"] == etag
    assert fresh.status_code == 304 and fresh.content == b"" and fresh.headers["etag"] == etag
    assert fresh.headers["x-request-id"]
    assert stale.status_code == 200 and stale.json() == first.json()
    assert sample_value(metrics, REQUESTS, method="GET", route=path, status="200") >= 3
    assert sample_value(metrics, REQUESTS, method="GET", route=path, status="304") >= 1


async def test_other_methods_still_reach_the_routes(settings: Settings) -> None:
    async with running_app(settings) as (_, gs):
        response = await gs.http.post(JWKS)
    assert response.status_code == 405


async def test_jwks_follows_a_rotation_made_by_another_process(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two apps on one database stand for two processes: B publishes A's new keys (without
    being told: rotations are database writes), and B's ETag changes with the document."""
    monkeypatch.setattr(KeyStore, "check_seconds", 0.0)  # ask the database on every request
    async with running_app(settings) as (_, a), running_app(settings) as (_, b):
        before = await b.http.get(JWKS)
        new_kids = await a.services.keys.rotate()
        after = await b.http.get(JWKS, headers={"If-None-Match": before.headers["etag"]})
        async with a.services.db.read() as session:
            rows = (await session.execute(select(SigningKey))).scalars().all()
    assert after.status_code == 200, "the old ETag no longer matches"
    assert after.headers["etag"] != before.headers["etag"]
    published = {k["kid"]: k for k in after.json()["keys"]}
    assert set(new_kids) <= set(published)
    assert {k["kid"] for k in before.json()["keys"]} <= set(published), "old keys stay"
    for row in rows:  # each published key is the public half of the stored one
        public = RSAKey.import_key(row.private_pem).as_dict(private=False)
        assert published[row.kid]["n"] == public["n"] and published[row.kid]["e"] == public["e"]
        assert "d" not in published[row.kid]


async def test_a_process_checks_for_rotations_only_after_its_interval(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within `check_seconds` the document is served from memory (no database question per
    request); the rotation shows once the interval has passed."""
    monkeypatch.setattr(KeyStore, "check_seconds", 3600.0)
    async with running_app(settings) as (_, a), running_app(settings) as (_, b):
        before = (await b.http.get(JWKS)).json()
        new_kids = await a.services.keys.rotate()
        cached = (await b.http.get(JWKS)).json()
        monkeypatch.setattr(KeyStore, "check_seconds", 0.0)
        after = (await b.http.get(JWKS)).json()
    assert cached == before
    assert set(new_kids) <= {k["kid"] for k in after["keys"]}
