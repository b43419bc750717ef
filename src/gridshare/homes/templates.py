"""Site templates: complete, realistic homes with fresh ids, for seeding, demos and tests.

Every id comes from the `random.Random` passed in, so a seeded generator gives the same site
twice (tests) and `random.SystemRandom()` gives unguessable ids (production). Manufacturer and
model names are invented; the specs are typical of real installations in each place.

- `hybrid_home`: San Jose, CA (America/Los_Angeles), import `us-ca-tou`, export `us-ca-nbt`
  (USD; the battery may not export grid energy, California's rule). 7.6 kW
  hybrid inverter, 2 x 10 kWh blocks, 7.2 kWp PV on two roof planes with 18 optimisers,
  grid meter, 11.5 kW EV charger (75 kWh car), 4.5 kW / 190 l water-heater relay.
- `pv_only`: Freiburg, DE (Europe/Berlin), import `de-flat`, export `de-flat` (EUR). 8 kW
  three-phase string inverter, 9.6 kWp PV on two planes without optimisers, grid meter.
- `battery_retrofit`: Bristol, GB (Europe/London), import `dynamic`, export `tou`. 5 kW
  AC-coupled battery inverter, one 9.5 kWh block, grid meter (existing PV is not monitored).
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable

from gridshare.homes.devices import (
    BatteryBlock,
    BatteryPackProperties,
    Device,
    DeviceProperties,
    EVChargerProperties,
    InverterProperties,
    InverterTopology,
    LoadControlRelayProperties,
    MeterProperties,
    PVArray,
    PVProperties,
)
from gridshare.homes.sites import Address, Site

SiteTemplate = Callable[[str, random.Random], Site]


def new_id(rng: random.Random) -> str:
    """An opaque id: a version-4 UUID drawn from `rng` (never contains `__`)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _serial(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choices(string.digits, k=10))


def _site_reference(rng: random.Random) -> str:
    return "GS-" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))


def _jitter(rng: random.Random, value: float) -> float:
    """A few hundred metres of spread, so sites built from one template do not coincide."""
    return round(value + rng.uniform(-0.02, 0.02), 5)


class _Builder:
    """Collects devices with fresh ids and serial numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.devices: list[Device] = []

    def add(
        self,
        properties: DeviceProperties,
        *,
        type_: str,
        manufacturer: str,
        model: str,
        serial_prefix: str,
        name: str,
        parent: Device | None = None,
    ) -> Device:
        device = Device(
            synth_id=new_id(self.rng),
            type=type_,
            manufacturer=manufacturer,
            model=model,
            serial_number=_serial(self.rng, serial_prefix),
            name=name,
            parent_id=parent.synth_id if parent is not None else None,
            properties=properties,
        )
        self.devices.append(device)
        return device


def hybrid_home(owner: str, rng: random.Random) -> Site:
    """A Californian home with the full set: hybrid inverter, battery, PV, EV, hot water."""
    site_id = new_id(rng)
    b = _Builder(rng)
    inverter = b.add(
        InverterProperties(topology=InverterTopology.HYBRID, rated_power_W=7600, phases=1),
        type_="BRIGHTLINE_HX_HYBRID_INVERTER",
        manufacturer="Brightline Energy",
        model="HX-7600",
        serial_prefix="BLHX",
        name="Hybrid inverter",
    )
    block = BatteryBlock(
        capacity_Wh=10_000,
        max_charge_power_W=5_000,
        max_discharge_power_W=5_000,
        round_trip_efficiency=0.9,
        soc_min_percent=5,
        soc_max_percent=100,
    )
    b.add(
        BatteryPackProperties(blocks=(block, block)),
        type_="BRIGHTLINE_HX_BATTERY_STACK",
        manufacturer="Brightline Energy",
        model="HX-B10 x2",
        serial_prefix="BLB",
        name="Home battery",
        parent=inverter,
    )
    b.add(
        PVProperties(
            arrays=(
                PVArray(peak_power_W=4_800, azimuth_deg=180, tilt_deg=22, optimisers=12),
                PVArray(peak_power_W=2_400, azimuth_deg=270, tilt_deg=22, optimisers=6),
            )
        ),
        type_="GENERIC_PV_OPTIMISED",
        manufacturer="Sunward Modules",
        model="SW-400M (18 panels)",
        serial_prefix="SWPV",
        name="Roof solar",
        parent=inverter,
    )
    b.add(
        MeterProperties(phases=1),
        type_="BRIGHTLINE_CT_METER",
        manufacturer="Brightline Energy",
        model="GM-200",
        serial_prefix="BLGM",
        name="Grid meter",
    )
    b.add(
        EVChargerProperties(max_power_W=11_500, phases=1, vehicle_battery_Wh=75_000),
        type_="VOLTPOST_L2_CHARGER",
        manufacturer="Voltpost",
        model="Home 48A",
        serial_prefix="VP",
        name="Driveway charger",
    )
    b.add(
        LoadControlRelayProperties(element_power_W=4_500, tank_litres=190),
        type_="THERMOLINK_WATER_HEATER_RELAY",
        manufacturer="Thermolink",
        model="WR-30",
        serial_prefix="TL",
        name="Water heater",
    )
    return Site(
        site_id=site_id,
        owner=owner,
        site_reference=_site_reference(rng),
        address=Address(
            lines=("1450 Alder Grove Lane",), city="San Jose", postcode="95125", country="US"
        ),
        time_zone="America/Los_Angeles",
        latitude=_jitter(rng, 37.2990),
        longitude=_jitter(rng, -121.8950),
        import_tariff_id="us-ca-tou",
        export_tariff_id="us-ca-nbt",
        devices=tuple(b.devices),
    )


def pv_only(owner: str, rng: random.Random) -> Site:
    """A German rooftop system: string inverter, two roof planes, a smart meter."""
    site_id = new_id(rng)
    b = _Builder(rng)
    inverter = b.add(
        InverterProperties(topology=InverterTopology.PV, rated_power_W=8_000, phases=3),
        type_="SOLTEKK_STRING_INVERTER",
        manufacturer="Soltekk",
        model="ST 8.0-3P",
        serial_prefix="ST",
        name="Solar inverter",
    )
    b.add(
        PVProperties(
            arrays=(
                PVArray(peak_power_W=6_400, azimuth_deg=165, tilt_deg=35, optimisers=0),
                PVArray(peak_power_W=3_200, azimuth_deg=255, tilt_deg=35, optimisers=0),
            )
        ),
        type_="GENERIC_PV_STRING",
        manufacturer="Nordlicht Solar",
        model="NL-400 (24 panels)",
        serial_prefix="NLPV",
        name="Dach Solar",
        parent=inverter,
    )
    b.add(
        MeterProperties(phases=3),
        type_="SOLTEKK_SMART_METER",
        manufacturer="Soltekk",
        model="SM-3P",
        serial_prefix="STM",
        name="Netzanschluss",
    )
    return Site(
        site_id=site_id,
        owner=owner,
        site_reference=_site_reference(rng),
        address=Address(
            lines=("Lindenweg 12",), city="Freiburg im Breisgau", postcode="79100", country="DE"
        ),
        time_zone="Europe/Berlin",
        latitude=_jitter(rng, 47.9990),
        longitude=_jitter(rng, 7.8421),
        import_tariff_id="de-flat",
        export_tariff_id="de-flat",
        devices=tuple(b.devices),
    )


def battery_retrofit(owner: str, rng: random.Random) -> Site:
    """A British home adding an AC-coupled battery, charged on a dynamic import tariff."""
    site_id = new_id(rng)
    b = _Builder(rng)
    inverter = b.add(
        InverterProperties(topology=InverterTopology.AC_BATTERY, rated_power_W=5_000, phases=1),
        type_="HEARTHCELL_AC_BATTERY_INVERTER",
        manufacturer="Hearthcell",
        model="AC5",
        serial_prefix="HCI",
        name="Battery inverter",
    )
    b.add(
        BatteryPackProperties(
            blocks=(
                BatteryBlock(
                    capacity_Wh=9_500,
                    max_charge_power_W=5_000,
                    max_discharge_power_W=5_000,
                    round_trip_efficiency=0.89,
                    soc_min_percent=10,
                    soc_max_percent=100,
                ),
            )
        ),
        type_="HEARTHCELL_LFP_9K5",
        manufacturer="Hearthcell",
        model="LFP 9.5",
        serial_prefix="HCB",
        name="Battery",
        parent=inverter,
    )
    b.add(
        MeterProperties(phases=1),
        type_="HEARTHCELL_CT_METER",
        manufacturer="Hearthcell",
        model="CT-1",
        serial_prefix="HCM",
        name="Grid meter",
    )
    return Site(
        site_id=site_id,
        owner=owner,
        site_reference=_site_reference(rng),
        address=Address(
            lines=("14 Orchard Mews",), city="Bristol", postcode="BS6 5AB", country="GB"
        ),
        time_zone="Europe/London",
        latitude=_jitter(rng, 51.4680),
        longitude=_jitter(rng, -2.6010),
        import_tariff_id="dynamic",
        export_tariff_id="tou",
        devices=tuple(b.devices),
    )


TEMPLATES: dict[str, SiteTemplate] = {
    "hybrid_home": hybrid_home,
    "pv_only": pv_only,
    "battery_retrofit": battery_retrofit,
}


class UnknownTemplateError(ValueError):
    """`build_site` was asked for a template that does not exist."""


def build_site(template_name: str, owner: str, rng: random.Random) -> Site:
    """A new site from the named template, owned by `owner`, with ids drawn from `rng`."""
    template = TEMPLATES.get(template_name)
    if template is None:
        valid = ", ".join(sorted(TEMPLATES))
        raise UnknownTemplateError(f"unknown site template {template_name!r}; valid: {valid}")
    return template(owner, rng)
