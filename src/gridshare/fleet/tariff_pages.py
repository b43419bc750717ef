"""Tariff price pages (`GET /api/v1/dynamicTariffs/{tariffId}`, `GET /api/v2/tariffs/{tariffId}`).

A page covers at most 7 days and lists the runs of equal price in it, newest first. Pages walk
backwards: the first page is the last 7 days of the interval, and its `nextToken` asks for the
7 days before, until the interval's start. Run boundaries are cut at page edges, so following
the tokens covers the interval exactly once.

`nextToken` is base64url of a small JSON object (`{"v":1,"t":tariffId,"d":direction,"from":s,
"to":s}`, whole minutes as epoch seconds). It is validated, not signed: it names nothing the
caller could not ask for with `interval` (the tariff must still be on one of the caller's sites,
and must be the one in the path), so forging one gains nothing, and a malformed one is a 400
`malformed_token`.

Prices are those the twin runs on: `Tariff.import_prices` / `export_prices` over a calendar in
the site's zone (a time-of-use band is local time), per minute, merged into runs.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import numpy as np

from gridshare.homes.errors import DomainError, Kind
from gridshare.telemetry import TelemetryQueryError, parse_interval
from gridshare.twin.tariffs import Tariff
from gridshare.twin.timebase import make_calendar

Direction = Literal["import", "export"]
DIRECTIONS: Final[tuple[Direction, ...]] = ("import", "export")
PAGE_SECONDS: Final = 7 * 86_400
#: Prices are computed per minute with pandas' nanosecond clock, which ends in 2262.
LATEST_SECOND: Final = int(datetime(2200, 1, 1, tzinfo=UTC).timestamp())
MAX_TOKEN_LENGTH: Final = 512


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What remains to be listed: `[start_s, end_s)` in whole minutes, walked backwards."""

    tariff_id: str
    direction: Direction
    start_s: int
    end_s: int

    def token(self) -> str:
        raw = json.dumps(
            {
                "v": 1,
                "t": self.tariff_id,
                "d": self.direction,
                "from": self.start_s,
                "to": self.end_s,
            },
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bad_token(why: str) -> DomainError:
    return DomainError(Kind.MALFORMED, "malformed_token", f"nextToken is not valid: {why}")


def parse_token(token: str, tariff_id: str) -> PageRequest:
    """A `nextToken` back into the request it stands for (400 `malformed_token` if it is not
    one of ours for this tariff)."""
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise _bad_token("too long or not ASCII")
    try:
        data: Any = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise _bad_token("not base64url JSON") from None
    if not isinstance(data, dict) or set(data) != {"v", "t", "d", "from", "to"}:
        raise _bad_token("unexpected shape")
    start, end, direction = data["from"], data["to"], data["d"]
    if data["v"] != 1 or data["t"] != tariff_id:
        raise _bad_token("it belongs to another tariff")
    if direction not in DIRECTIONS:
        raise _bad_token("unknown direction")
    if not all(type(v) is int and v % 60 == 0 for v in (start, end)):
        raise _bad_token("bounds are not whole minutes")
    if not 0 <= start < end <= LATEST_SECOND:
        raise _bad_token("bounds out of range")
    return PageRequest(tariff_id, direction, start, end)


def request_from_interval(
    raw: str | None, tariff_id: str, direction: Direction, now: datetime
) -> PageRequest:
    """The `interval` parameter (telemetry grammar) widened to whole minutes; absent, the last
    7 UTC days (today included)."""
    if raw is None or not raw.strip():
        today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        end = today + timedelta(days=1)
        start_s, end_s = int((end - timedelta(days=7)).timestamp()), int(end.timestamp())
    else:
        try:
            interval = parse_interval(raw, api_version=2)
        except TelemetryQueryError as exc:
            raise DomainError(Kind.MALFORMED, exc.code, exc.message) from None
        start_s = interval.start_s // 60 * 60
        end_s = -(-interval.end_s // 60) * 60
    if end_s > LATEST_SECOND:
        raise DomainError(
            Kind.MALFORMED, "interval_out_of_range", "tariff prices are available up to 2200-01-01"
        )
    return PageRequest(tariff_id, direction, start_s, end_s)


def _iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def price_runs(
    tariff: Tariff, direction: Direction, zone: str, start_s: int, end_s: int
) -> list[tuple[int, int, float]]:
    """`(start_s, end_s, price)` runs of equal price over `[start_s, end_s)` (whole minutes),
    oldest first, from the same per-minute prices the twin uses."""
    lo, n = start_s // 60, (end_s - start_s) // 60
    if n <= 0:
        return []
    cal = make_calendar(lo, n, zone)
    prices = tariff.import_prices(cal) if direction == "import" else tariff.export_prices(cal)
    bounds = [0, *(np.flatnonzero(np.diff(prices) != 0) + 1).tolist(), n]
    return [((lo + a) * 60, (lo + b) * 60, float(prices[a])) for a, b in itertools.pairwise(bounds)]


def tariff_page(tariff: Tariff, request: PageRequest, zone: str) -> dict[str, Any]:
    """The response body for the newest page of `request`."""
    page_start = max(request.start_s, request.end_s - PAGE_SECONDS)
    runs = price_runs(tariff, request.direction, zone, page_start, request.end_s)
    body: dict[str, Any] = {
        "tariffId": request.tariff_id,
        "name": tariff.name,
        "kind": tariff.kind,
        "direction": request.direction,
        "currency": tariff.currency,
        "entries": [
            {"start": _iso(a), "end": _iso(b), "price": price} for a, b, price in reversed(runs)
        ],
    }
    if page_start > request.start_s:
        rest = PageRequest(request.tariff_id, request.direction, request.start_s, page_start)
        body["nextToken"] = rest.token()
    return body
