"""What each market lets a home's battery do with the grid, and its currency.

Many markets forbid exporting energy the battery took from the grid: California's net billing
and net metering pay export credits only for energy the solar system produced (a storage system
that charges from the grid must not export), and Germany's feed-in rules pay the feed-in tariff
only for the plant's own generation. Great Britain's export tariffs (e.g. dynamic outgoing
tariffs) let a battery export what it imported. A site may override its market's rule
(`Site.battery_grid_export`); unknown markets get the cautious default (no export of grid energy).
"""

from __future__ import annotations

from dataclasses import dataclass

from gridshare.homes.sites import Site


@dataclass(frozen=True)
class Market:
    country: str
    currency: str
    battery_grid_export: bool
    """Whether a battery may export energy it charged from the grid."""


MARKETS: dict[str, Market] = {
    m.country: m
    for m in (
        Market("US", "USD", battery_grid_export=False),
        Market("GB", "GBP", battery_grid_export=True),
        Market("DE", "EUR", battery_grid_export=False),
    )
}


def battery_grid_export(site: Site) -> bool:
    """The site's own setting, else its market's rule, else no export of grid energy."""
    if site.battery_grid_export is not None:
        return site.battery_grid_export
    market = MARKETS.get(site.address.country)
    return market.battery_grid_export if market is not None else False
