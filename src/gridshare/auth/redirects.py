"""Redirect URI rules: what may be registered, and the exact match used at authorize time.

Registration: absolute, no fragment; HTTPS, or http on a loopback host, or a private-use scheme
(`com.example.app:/cb`). Matching is exact string equality (RFC 9700 §2.1); the single exception
is the port of a loopback URI for a public client that opted in (RFC 8252 §7.3).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")
MAX_URI_LENGTH = 2048


class RedirectURIError(ValueError):
    pass


def _is_loopback(netloc_host: str) -> bool:
    return netloc_host in LOOPBACK_HOSTS


def validate_registration(uri: str) -> str:
    """Raise RedirectURIError unless `uri` may be registered as a callback or sign-out URL."""
    if len(uri) > MAX_URI_LENGTH or any(c.isspace() for c in uri):
        raise RedirectURIError(f"not a valid URI: {uri!r}")
    parts = urlsplit(uri)
    scheme = parts.scheme
    if not scheme or not _SCHEME.match(scheme):
        raise RedirectURIError(f"redirect URI must be absolute: {uri!r}")
    if parts.fragment or "#" in uri:
        raise RedirectURIError(f"redirect URI must not have a fragment: {uri!r}")
    if scheme == "https":
        if not parts.hostname:
            raise RedirectURIError(f"https redirect URI needs a host: {uri!r}")
        return uri
    if scheme == "http":
        host = parts.netloc.rsplit("@", 1)[-1]
        host = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        if parts.username or parts.password or not _is_loopback(host):
            raise RedirectURIError(
                f"http redirect URIs are only allowed on loopback hosts: {uri!r}"
            )
        return uri
    if scheme in ("javascript", "data", "file", "vbscript", "blob", "about"):
        raise RedirectURIError(f"scheme {scheme!r} is not allowed: {uri!r}")
    if "." not in scheme:
        # RFC 8252 §7.1: private-use schemes are reverse domain names.
        raise RedirectURIError(f"private-use schemes must be reverse domain names: {uri!r}")
    return uri


def _without_port(uri: str) -> tuple[str, str, str, str, str] | None:
    parts = urlsplit(uri)
    if parts.scheme != "http" or parts.hostname is None:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    host = host.split("]")[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
    if not _is_loopback(host):
        return None
    try:
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return None
    return (parts.scheme, host, parts.path, parts.query, parts.fragment)


def matches(requested: str, registered: list[str], *, loopback_any_port: bool) -> bool:
    """Exact match against a registered URI, or the RFC 8252 loopback-port exception."""
    if requested in registered:
        return True
    if not loopback_any_port:
        return False
    key = _without_port(requested)
    return key is not None and any(_without_port(r) == key for r in registered)
