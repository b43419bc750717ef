"""A site: one home with its address, time zone, tariffs and devices.

`Site` validates the whole device tree at once (unique ids, parents present, no cycles, each
kind under a parent that can carry it) because topology ids are derived from that tree: a wrong
tree would give sensors that point nowhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gridshare.homes.devices import Device, DeviceKind, InverterProperties

PARENT_KINDS: dict[DeviceKind, frozenset[DeviceKind | None]] = {
    DeviceKind.INVERTER: frozenset({None}),
    DeviceKind.BATTERY_PACK: frozenset({DeviceKind.INVERTER}),
    DeviceKind.PV: frozenset({DeviceKind.INVERTER}),
    DeviceKind.METER: frozenset({None, DeviceKind.INVERTER}),
    DeviceKind.EV: frozenset({None}),
    DeviceKind.LOAD_CONTROL_RELAY: frozenset({None}),
}
"""Which parent each kind may have (None = directly under the site)."""

Text = Annotated[str, Field(min_length=1, max_length=200)]


class Address(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    lines: Annotated[tuple[Text, ...], Field(min_length=1, max_length=4)]
    city: Text
    postcode: Annotated[str, Field(min_length=1, max_length=20)]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]  # ISO 3166-1 alpha-2


class Site(BaseModel):
    """A home. `owner` is the customer's opaque id (the `sub` of their tokens)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site_id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
    owner: Annotated[str, Field(min_length=1, max_length=200)]
    site_reference: Annotated[str, Field(min_length=1, max_length=100)]
    address: Address
    time_zone: str
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]
    import_tariff_id: Text
    export_tariff_id: Text | None = None
    battery_grid_export: bool | None = None
    """May the battery export energy it charged from the grid? None = the market's rule
    (`gridshare.homes.markets`)."""
    devices: tuple[Device, ...] = ()

    @field_validator("time_zone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"not an IANA time zone: {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _device_tree(self) -> Site:
        by_id: dict[str, Device] = {}
        for device in self.devices:
            if device.synth_id in by_id or device.synth_id == self.site_id:
                raise ValueError(f"duplicate id {device.synth_id!r}")
            by_id[device.synth_id] = device
        for device in self.devices:
            parent = by_id.get(device.parent_id) if device.parent_id is not None else None
            if device.parent_id is not None and parent is None:
                raise ValueError(f"{device.synth_id}: parent {device.parent_id!r} not on site")
            parent_kind = parent.kind if parent is not None else None
            if parent_kind not in PARENT_KINDS[device.kind]:
                where = parent_kind.value if parent_kind is not None else "the site"
                raise ValueError(
                    f"{device.synth_id}: a {device.kind.value} cannot hang under {where}"
                )
            if parent is not None and isinstance(parent.properties, InverterProperties):
                props = parent.properties
                if device.kind is DeviceKind.BATTERY_PACK and not props.accepts_battery:
                    raise ValueError(
                        f"{device.synth_id}: a {props.topology} inverter has no battery"
                    )
                if device.kind is DeviceKind.PV and not props.accepts_pv:
                    raise ValueError(f"{device.synth_id}: a {props.topology} inverter has no PV")
        # One battery pack and one PV system per inverter: the inverter's `__bb_agg` and
        # `__PV_DERIVED` sensors stand for exactly that device (more blocks/arrays are fine).
        for kind in (DeviceKind.BATTERY_PACK, DeviceKind.PV):
            parents = [d.parent_id for d in self.devices if d.kind is kind]
            if len(parents) != len(set(parents)):
                raise ValueError(f"an inverter carries at most one {kind.value} device")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def local_time(self, at: datetime) -> datetime:
        """`at` (aware) as wall-clock time at the site, for weekly schedules and daily buckets."""
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        return at.astimezone(self.zone)

    def device(self, synth_id: str) -> Device | None:
        return next((d for d in self.devices if d.synth_id == synth_id), None)

    def devices_of_kind(self, kind: DeviceKind) -> tuple[Device, ...]:
        return tuple(d for d in self.devices if d.kind is kind)

    def children_of(self, parent_id: str | None) -> tuple[Device, ...]:
        """Devices directly under `parent_id` (None = under the site), in site order."""
        return tuple(d for d in self.devices if d.parent_id == parent_id)


def site_resource(site: Site) -> dict[str, object]:
    """The `GET /api/v2/sites/{siteId}` body: the customer-visible attributes only.

    Coordinates and the owner are left out: the contract lists address, site reference, time
    zone and tariff ids, and a precise location is more than a partner needs.
    """
    return {
        "siteId": site.site_id,
        "siteReference": site.site_reference,
        "address": {
            "lines": list(site.address.lines),
            "city": site.address.city,
            "postcode": site.address.postcode,
            "country": site.address.country,
        },
        "timeZone": site.time_zone,
        "importTariffId": site.import_tariff_id,
        "exportTariffId": site.export_tariff_id,
    }
