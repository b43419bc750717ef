"""A site's sensors as the site-level views name them: wire role names, the `roles` filter of
`GET /sites/{siteId}/telemetry`, and which sensors a site view shows by default.

Role names on the wire are camelCase like every other field (`hotWater`); the filter also reads
the internal spelling (`hot_water`) and any case, and refuses anything else with 400
`malformed_roles`. By default a view shows the site's primary streams (those of the compact
topology); the per-block and per-optimiser streams appear only when their role is asked for.
"""

from __future__ import annotations

from typing import Final

from gridshare.homes.errors import DomainError, Kind
from gridshare.homes.sites import Site
from gridshare.homes.topology import SensorInfo, SensorRole, sensors_of

WIRE_ROLES: Final[dict[SensorRole, str]] = {
    role: "hotWater" if role is SensorRole.HOT_WATER else role.value for role in SensorRole
}
_BY_NAME: Final[dict[str, SensorRole]] = {
    **{name.lower(): role for role, name in WIRE_ROLES.items()},
    **{role.value: role for role in SensorRole},
}
MAX_ROLES_LENGTH: Final = 200


def wire_role(role: SensorRole) -> str:
    return WIRE_ROLES[role]


def parse_roles(raw: str | None) -> frozenset[SensorRole] | None:
    """The `roles` parameter: a comma list of role names (None or blank: the default view)."""
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_ROLES_LENGTH:
        raise DomainError(Kind.MALFORMED, "malformed_roles", "roles is longer than 200 characters")
    roles: set[SensorRole] = set()
    for item in raw.split(","):
        name = item.strip().lower()
        if not name:
            continue
        role = _BY_NAME.get(name)
        if role is None:
            shown = item.strip()[:40].encode("ascii", "backslashreplace").decode()
            raise DomainError(
                Kind.MALFORMED,
                "malformed_roles",
                f"unknown role {shown!r}; known: {', '.join(WIRE_ROLES.values())}",
            )
        roles.add(role)
    if not roles:
        raise DomainError(Kind.MALFORMED, "malformed_roles", "roles names no role")
    return frozenset(roles)


def site_sensors(site: Site, roles: frozenset[SensorRole] | None = None) -> list[SensorInfo]:
    """The site's sensors in topology order: the primary ones (no blocks or optimisers) by
    default, else exactly those whose role is in `roles`."""
    every = sensors_of(site).values()
    if roles is None:
        return [s for s in every if not s.detail]
    return [s for s in every if s.role in roles]
