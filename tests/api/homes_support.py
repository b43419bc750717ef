"""Helpers for the customer API tests: a homeowner with provisioned sites and a partner token,
the table of every endpoint with the scope the contract gives it, valid bodies, and a way to run
a fresh app on an existing database (restart, two processes)."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from gridshare.app import create_app
from gridshare.clock import Clock
from gridshare.config import Settings
from gridshare.fleet.provisioning import provision_sites
from gridshare.homes.devices import DeviceKind
from gridshare.homes.sites import Site
from gridshare.homes.topology import sensors_of
from gridshare.services import Services
from tests.support import ALL_API, Homeowner, Partner, TestServices

ISSUER = "http://testserver"
TEMPLATES = ("hybrid_home", "pv_only", "battery_retrofit")

DEVICE_READ = "lunar/device.read"
DEVICE_WRITE = "lunar/device.write"
PLAN_READ = "lunar/plan.read"
PLAN_WRITE = "lunar/plan.write"
SCOPES = (DEVICE_READ, DEVICE_WRITE, PLAN_READ, PLAN_WRITE)

#: A start far enough ahead that no plan in the tests is ever "already over".
FUTURE = "2030-01-07T00:00:00Z"
WEEK = 10_080


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def overlay_body(device_kind: str = "battery_pack") -> dict[str, Any]:
    """A valid two-command overlay for a device of `device_kind`."""
    first = {
        "battery_pack": {"type": "setpoint", "durationMinutes": 30, "powerW": -2000},
        "inverter": {"type": "setpoint", "durationMinutes": 30, "powerW": 1500},
        "EV": {"type": "charge", "durationMinutes": 30, "powerW": 7000},
        "load_control_relay": {"type": "heatWater", "durationMinutes": 30},
    }[device_kind]
    return {"startTime": FUTURE, "commands": [first, {"type": "idle", "durationMinutes": 90}]}


def schedule_body(kind: str = "balance", split: int = 6 * 60) -> dict[str, Any]:
    """A valid weekly schedule: `charge` for `split` minutes from Monday 00:00, then `kind`."""
    return {
        "slots": [
            {
                "durationMinutes": split,
                "intent": {"kind": "charge", "socMin": 10, "socMax": 90, "powerW": 2000},
            },
            {"durationMinutes": WEEK - split, "intent": {"kind": kind, "socMin": 20, "socMax": 80}},
        ]
    }


@dataclass
class Home:
    """A homeowner with provisioned sites, and one partner's access token for them."""

    owner: Homeowner
    partner: Partner
    token: str
    sites: list[Site]
    tokens: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    @property
    def site(self) -> Site:
        return self.sites[0]

    def device_id(self, kind: str, site: Site | None = None) -> str:
        """The id of the first device of `kind` (on `site`, default: any site)."""
        for s in [site] if site else self.sites:
            for d in s.devices:
                if d.kind.value == kind:
                    return d.synth_id
        raise LookupError(f"no {kind} device")

    def device_ids(self) -> list[str]:
        return [d.synth_id for s in self.sites for d in s.devices]

    def sensor_ids(self) -> list[str]:
        """Every sensor id of every site, including those the compact topology folds away."""
        return [sid for s in self.sites for sid in sensors_of(s)]

    def controllable_ids(self) -> list[str]:
        kinds = {DeviceKind.BATTERY_PACK, DeviceKind.EV, DeviceKind.LOAD_CONTROL_RELAY}
        return [d.synth_id for s in self.sites for d in s.devices if d.kind in kinds]


async def make_home(
    gs: TestServices,
    templates: tuple[str, ...] | list[str] = ("hybrid_home",),
    scope: str = ALL_API,
    partner: Partner | None = None,
) -> Home:
    owner = await gs.homeowner()
    sites: list[Site] = []
    for template in templates:
        sites += await provision_sites(gs.services.db, gs.services.clock, owner.sub, template)
    partner = partner or await gs.partner()
    # The shared client keeps the last homeowner's session cookie; without clearing it, the
    # authorization would silently be granted by that homeowner instead of this one.
    gs.http.cookies.clear()
    tokens = await gs.tokens(partner, owner, scope=scope)
    verified = await gs.services.tokens.verify_access_token(tokens["access_token"])
    assert verified.sub == owner.sub and verified.client_id == partner.client_id
    return Home(owner, partner, tokens["access_token"], sites, tokens)


async def token_for(gs: TestServices, home: Home, scope: str) -> str:
    """Another access token for the same homeowner and partner, with `scope`."""
    gs.http.cookies.clear()
    tokens = await gs.tokens(home.partner, home.owner, scope=scope)
    token: str = tokens["access_token"]
    return token


@asynccontextmanager
async def running_app(
    settings: Settings, clock: Clock | None = None, client: str = "203.0.113.7"
) -> AsyncIterator[tuple[FastAPI, TestServices]]:
    """A fresh app on `settings.database_url`, its lifespan entered, with an HTTP client."""
    app = create_app(settings, clock or Clock())
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        transport = httpx.ASGITransport(app=app, client=(client, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
            yield app, TestServices(services, http)


# -- the endpoint table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One route of the contract: `path` has `{site}` or `{device}` placeholders."""

    method: str
    path: str
    scope: str
    body: Any = None
    ok: int = 200

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def takes_site(self) -> bool:
        return "{site}" in self.path

    @property
    def takes_device(self) -> bool:
        return "{device}" in self.path

    @property
    def takes_tariff(self) -> bool:
        return "{tariff}" in self.path

    @property
    def is_write(self) -> bool:
        return self.method != "GET"

    def url(self, site: str = "", device: str = "", tariff: str = "") -> str:
        return (
            self.path.replace("{site}", site)
            .replace("{device}", device)
            .replace("{tariff}", tariff)
        )

    async def call(
        self,
        http: httpx.AsyncClient,
        headers: dict[str, str] | None = None,
        *,
        site: str = "",
        device: str = "",
        tariff: str = "",
        body: Any = None,
    ) -> httpx.Response:
        payload = self.body if body is None else body
        return await http.request(
            self.method,
            self.url(site, device, tariff),
            headers=headers or {},
            json=payload if self.is_write else None,
        )


DEVICE = "/api/v2/devices/{device}"

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/v2/sites", DEVICE_READ),
    Endpoint("GET", "/api/v1/sites", DEVICE_READ),
    Endpoint("GET", "/api/v2/sites/{site}", DEVICE_READ),
    Endpoint("GET", "/api/v2/sites/{site}/topology", DEVICE_READ),
    Endpoint("GET", "/api/v2/sites/{site}/topology?compact=false", DEVICE_READ),
    Endpoint("GET", "/api/v2/sites/{site}/currentState", DEVICE_READ),
    Endpoint(
        "GET", "/api/v2/sites/{site}/telemetry?interval=2026-01-01T00:00:00Z/PT1H", DEVICE_READ
    ),
    Endpoint("GET", "/api/v2/sites/{site}/savings", DEVICE_READ),
    Endpoint("GET", "/api/v2/tariffs/{tariff}", DEVICE_READ),
    Endpoint("GET", "/api/v1/dynamicTariffs/{tariff}", DEVICE_READ),
    Endpoint("GET", "/api/v2/devices", DEVICE_READ),
    Endpoint("GET", "/api/v1/devices", DEVICE_READ),
    Endpoint("GET", DEVICE, DEVICE_READ),
    Endpoint("PATCH", DEVICE, DEVICE_WRITE, {"name": "Renamed by partner"}),
    Endpoint("GET", DEVICE + "/operationMode", DEVICE_READ),
    Endpoint("GET", DEVICE + "/operationmode", DEVICE_READ),
    Endpoint("PUT", DEVICE + "/operationMode", DEVICE_WRITE, {"mode": "Smart"}),
    Endpoint("PUT", DEVICE + "/operationmode", DEVICE_WRITE, {"mode": "SIMPLE"}),
    Endpoint("GET", DEVICE + "/plans/overlay", PLAN_READ),
    Endpoint("PUT", DEVICE + "/plans/overlay", PLAN_WRITE, overlay_body(), ok=204),
    Endpoint("GET", DEVICE + "/plans/schedule", PLAN_READ),
    Endpoint("PUT", DEVICE + "/plans/schedule", PLAN_WRITE, schedule_body(), ok=204),
)

ID_ENDPOINTS = tuple(e for e in ENDPOINTS if e.takes_site or e.takes_device)


def random_ids(rng: random.Random | None = None) -> tuple[str, str]:
    """A site id and a device id that exist nowhere (same shape as real ones)."""
    rng = rng or random.Random()
    return (
        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    )
