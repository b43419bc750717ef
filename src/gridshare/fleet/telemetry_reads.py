"""A device's telemetry as the customer API answers it: find the id on the caller's site, parse
the query in the site's zone, read the store (one use case over the homes service and the
telemetry store, so the route sees neither the database nor the store)."""

from __future__ import annotations

from gridshare.fleet.service import Caller, HomesService
from gridshare.storage.db import Database
from gridshare.telemetry import EMPTY_RESPONSE, parse_telemetry_query
from gridshare.telemetry.store import telemetry_body


class TelemetryReads:
    def __init__(self, db: Database, homes: HomesService) -> None:
        self.db = db
        self.homes = homes

    async def device_telemetry(
        self,
        caller: Caller,
        synth_id: str,
        api_version: int,
        interval: str | None,
        resolution: str | None,
        include: str | None,
        aggregation: str | None,
    ) -> bytes:
        """The JSON body; raises `NotFound` for an id not on the caller's sites and
        `TelemetryQueryError` for a query the contract refuses. v2 answers a bare device id
        with no entries; v1 reads its primary sensor."""
        source = await self.homes.telemetry_source(caller, synth_id)
        if source.device_primary_sensor is not None:
            if api_version == 2:
                return EMPTY_RESPONSE
            synth_id = source.device_primary_sensor
        query = parse_telemetry_query(
            interval,
            resolution,
            include,
            aggregation,
            zone=source.time_zone,
            api_version=api_version,
        )
        return await telemetry_body(self.db, synth_id, query)
