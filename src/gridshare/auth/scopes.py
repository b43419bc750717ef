"""The scopes a partner can ask for, with the plain words the consent page shows."""

from __future__ import annotations

DEVICE_READ = "lunar/device.read"
DEVICE_WRITE = "lunar/device.write"
PLAN_READ = "lunar/plan.read"
PLAN_WRITE = "lunar/plan.write"

API_SCOPES: dict[str, str] = {
    DEVICE_READ: "See your sites, devices and their telemetry, and read their operation mode",
    DEVICE_WRITE: "Change your devices, including renaming them and switching operation mode",
    PLAN_READ: "Read the plans your devices follow",
    PLAN_WRITE: "Send plans to your devices (charge, discharge, heat water)",
}

OIDC_SCOPES: dict[str, str] = {
    "openid": "Confirm who you are (your Gridshare account id)",
    "email": "See your email address",
    "profile": "See your basic profile",
}

ALL_SCOPES: dict[str, str] = {**API_SCOPES, **OIDC_SCOPES}
DEFAULT_CLIENT_SCOPES: list[str] = list(ALL_SCOPES)


def parse_scope(value: str) -> list[str]:
    """Split a space-delimited scope string, keeping order and dropping duplicates."""
    seen: dict[str, None] = {}
    for item in value.split(" "):
        if item:
            seen[item] = None
    return list(seen)


def format_scope(scopes: list[str]) -> str:
    return " ".join(scopes)
