"""Requests our server makes to URLs others chose (client metadata documents, webhooks): the
SSRF surface, bounded in one place.

- the host is resolved once; every address it resolves to must be public (not private,
  loopback, link-local, multicast, shared or reserved), unless the caller allows loopback or
  private addresses (local development, an operator's own network);
- the connection goes to the address that was checked (the URL's host is kept for the `Host`
  header and TLS's SNI and certificate check), so a second DNS answer cannot point elsewhere;
- no redirects; one deadline for the whole exchange; at most `max_bytes` of answer are read.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx


class OutboundError(Exception):
    """The URL may not be fetched, or the fetch failed; the message is safe to show."""


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: bytes
    headers: httpx.Headers


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context per process: building one (loading the CA bundle) costs more
    than a whole small request; a client per request keeps connections (and SNI) per URL."""
    return httpx.create_ssl_context()


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def checked_address(
    host: str, port: int, *, allow_loopback: bool = False, allow_private: bool = False
) -> str:
    """The address to connect to: every address `host` resolves to is checked, the first is
    used. Raises OutboundError naming why not."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise OutboundError("the host does not resolve") from exc
    if not infos:
        raise OutboundError("the host does not resolve")
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_loopback and allow_loopback:
            continue
        if address.is_multicast or address.is_unspecified:
            raise OutboundError("the host is not a public address")
        if not address.is_global and not (allow_private and address.is_private):
            raise OutboundError("the host is not a public address")
    return str(infos[0][4][0])


async def request(
    method: str,
    url: str,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    seconds: float,
    max_bytes: int,
    allow_loopback: bool = False,
    allow_private: bool = False,
) -> Reply:
    """One bounded request to `url` (see the module's rules). An answer larger than
    `max_bytes` raises OutboundError("... too large")."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise OutboundError("the URL has no host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = await checked_address(
        host, port, allow_loopback=allow_loopback, allow_private=allow_private
    )
    literal = f"[{address}]" if ":" in address else address
    pinned = urlunsplit(parts._replace(netloc=f"{literal}:{port}"))
    sent = {**(headers or {}), "Host": parts.netloc.rpartition("@")[2]}
    body = bytearray()
    try:
        async with (
            asyncio.timeout(seconds),
            httpx.AsyncClient(follow_redirects=False, timeout=seconds, verify=_tls()) as http,
            http.stream(
                method,
                pinned,
                content=content,
                headers=sent,
                extensions={"sni_hostname": host},
            ) as response,
        ):
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise OutboundError("the answer is too large")
            return Reply(response.status_code, bytes(body), response.headers)
    except TimeoutError as exc:
        raise OutboundError("no answer in time") from exc
    except httpx.HTTPError as exc:
        raise OutboundError(f"could not connect ({type(exc).__name__})") from exc
