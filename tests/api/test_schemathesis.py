"""Property-based conformance: schemathesis fuzzes every /api/ operation of our own
/openapi.json, with a valid all-scope token, in positive and negative mode.

Checks: no 5xx, every status is documented, every body matches the documented schema and
content type, and authentication is enforced (the same request without the token, or with a
made-up one, is refused). Path ids are either generated (→ 404) or drawn from the homeowner's
real site, device and sensor ids, so the success paths are fuzzed too.

Schemathesis calls ASGI apps synchronously from its own event-loop thread, so these tests are
sync: the database is seeded by a first app (run to completion), then schemathesis starts a
fresh app on the same database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from gridshare.app import create_app
from gridshare.clock import Clock
from gridshare.config import Settings
from tests.api.homes_support import (
    ENDPOINTS,
    TEMPLATES,
    make_home,
    overlay_body,
    running_app,
    schedule_body,
)

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
]


def _api_operations() -> list[str]:
    """`METHOD /path` of every documented /api/ operation of the contract (the app is built,
    never started). Device telemetry is fuzzed by its own suite; push (webhook subscriptions
    and the never-ending event stream, our own additions) is tested in tests/push."""
    app = create_app(Settings(database_url="sqlite://", demo=False, issuer="http://testserver"))
    paths = app.openapi()["paths"]
    return [
        f"{method.upper()} {path}"
        for path, item in paths.items()
        if path.startswith("/api/")
        and not path.endswith(("/devices/{synthId}/telemetry", "/sites/{siteId}/events"))
        and not path.startswith("/api/v2/subscriptions")
        for method in item
    ]


OPERATIONS = _api_operations()


VALID_BODIES: dict[str, list[Any]] = {
    "PUT /api/v2/devices/{synthId}/operationMode": [
        {"mode": m} for m in ("simple", "SMART", "Schedule", "smart")
    ],
    "PUT /api/v2/devices/{synthId}/plans/overlay": [
        overlay_body(kind) for kind in ("battery_pack", "EV", "load_control_relay")
    ]
    + [{"commands": []}],
    "PUT /api/v2/devices/{synthId}/plans/schedule": [schedule_body(), schedule_body("idle")],
    "PATCH /api/v2/devices/{synthId}": [{"name": "Fuzzed"}, {}],
}
#: Queries random strings rarely get right; also sent with real ids.
#: Known-good queries, sent with real ids of the named path parameter (random query strings
#: rarely pass the interval grammar, so a read could otherwise never succeed by chance).
TARIFF_QUERIES = [
    {"interval": "2026-01-01T00:00:00Z/P2D"},
    {"interval": "2026-03-01T00:00:00Z/P7D"},
]
VALID_QUERIES: dict[str, tuple[str, list[dict[str, str]]]] = {
    "GET /api/v2/sites/{siteId}/telemetry": (
        "siteId",
        [{"interval": "2026-01-01T00:00:00Z/PT6H", "resolution": r} for r in ("PT15M", "PT1H")]
        + [{"interval": "2026-01-01T00:00:00Z/P1D", "roles": "battery,hotWater"}],
    ),
    "GET /api/v2/tariffs/{tariffId}": ("tariffId", TARIFF_QUERIES),
    "GET /api/v1/dynamicTariffs/{tariffId}": ("tariffId", TARIFF_QUERIES),
}


@dataclass
class Target:
    schema: Any
    token: str
    ids: dict[str, list[str]]  # path parameter name -> real ids


async def _seed(settings: Settings) -> tuple[str, dict[str, list[str]]]:
    async with running_app(settings) as (_, gs):
        home = await make_home(gs, TEMPLATES)
        h = home.headers
        # Some stored state, so GET bodies are not all empty defaults.
        battery = home.device_id("battery_pack")
        for path, body in (
            (f"/api/v2/devices/{battery}/plans/schedule", schedule_body()),
            (f"/api/v2/devices/{battery}/plans/overlay", overlay_body()),
        ):
            assert (await gs.http.put(path, json=body, headers=h)).status_code == 204
        ids = {
            "siteId": [s.site_id for s in home.sites],
            "synthId": home.device_ids() + home.sensor_ids()[::3],
            "tariffId": sorted(
                {t for s in home.sites for t in (s.import_tariff_id, s.export_tariff_id) if t}
            ),
        }
        return home.token, ids


@pytest.fixture
def target(settings: Settings) -> Iterator[Target]:
    fast = settings.model_copy(update={"api_rate_per_minute": 1_000_000})
    token, ids = asyncio.run(_seed(fast))
    app = create_app(fast, Clock())
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        yield Target(schema.include(path_regex="^/api/"), token, ids)
    finally:
        asgi.shutdown_lifespans()  # leaves the app's lifespan: its database pool is disposed


def test_every_api_operation_is_fuzzed() -> None:
    """Guards the parametrization below: every documented operation of the contract is there."""
    documented = {(e.method, e.path.split("?")[0]) for e in ENDPOINTS}
    expected = {
        f"{method} "
        + path.replace("{site}", "{siteId}")
        .replace("{device}", "{synthId}")
        .replace("{tariff}", "{tariffId}")
        for method, path in documented
        if not path.endswith("/operationmode")
    }
    assert len(expected) == 19
    assert set(OPERATIONS) == expected
    assert not any("operationmode" in op for op in OPERATIONS), "the alias is undocumented"


@pytest.mark.parametrize("operation", OPERATIONS)
def test_operation_conforms_to_the_openapi_document(target: Target, operation: str) -> None:
    method, path = operation.split(" ", 1)
    api_operation = target.schema[path][method]
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(api_operation.as_strategy(generation_mode=mode))
        for name, real in target.ids.items():
            if "{" + name + "}" in path:
                strategies.append(
                    st.sampled_from(real).flatmap(
                        lambda value, mode=mode, name=name: api_operation.as_strategy(
                            generation_mode=mode, path_parameters={name: value}
                        )
                    )
                )
    valid = VALID_BODIES.get(operation)
    if valid and "{synthId}" in path:
        # Random bodies rarely pass the domain's rules; also send known-good ones to real ids.
        strategies.append(
            st.tuples(st.sampled_from(target.ids["synthId"]), st.sampled_from(valid)).flatmap(
                lambda pair: api_operation.as_strategy(
                    path_parameters={"synthId": pair[0]},
                    body=pair[1],
                    media_type="application/json",
                )
            )
        )
    name, queries = VALID_QUERIES.get(operation, ("", []))
    for query in queries:
        strategies.append(
            st.sampled_from(target.ids[name]).flatmap(
                lambda value, query=query, name=name: api_operation.as_strategy(
                    path_parameters={name: value}, query=query
                )
            )
        )
    headers = {"Authorization": f"Bearer {target.token}"}
    statuses: list[int] = []

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses.append(response.status_code)

    fuzz()
    assert statuses, "nothing was sent"
    if "{" not in path or method == "GET":
        # Reads of real ids (or of the caller's lists) must have succeeded at least once.
        assert any(200 <= s < 300 for s in statuses), statuses
