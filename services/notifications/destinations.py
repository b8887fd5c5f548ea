"""Where partner webhooks may go: HTTPS to public addresses only. Checked when an endpoint is
saved and again on every send after DNS resolution, and the send connects to the very address
that was checked (so a DNS answer changed between check and connect cannot redirect it).

`destination_allowed` and `url_refusal` are pure; `Resolver` and `resolve_destination` do the
DNS lookup."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

REFUSED = "refused: destination not allowed"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Spelled out (not only `is_global`) so the refusal does not hang on one Python's tables.
_BLOCKED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, incl. cloud metadata 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, incl. broadcast
        "::/128",
        "::1/128",
        "64:ff9b::/96",  # NAT64: embeds an IPv4 address
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "ff00::/8",  # multicast
    )
)


def _address(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def address_allowed(address: IPAddress, allow_loopback: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    if allow_loopback and address.is_loopback:
        return True
    if any(address in net for net in _BLOCKED if net.version == address.version):
        return False
    return address.is_global and not address.is_multicast


def destination_allowed(addresses: Iterable[str], allow_loopback: bool) -> bool:
    """True only if there is an address and every one is public (or loopback, when allowed):
    one bad answer among good ones refuses the lot."""
    parsed = [_address(value) for value in addresses]
    if not parsed or any(address is None for address in parsed):
        return False
    return all(address_allowed(a, allow_loopback) for a in parsed if a is not None)


def all_loopback(addresses: Iterable[str]) -> bool:
    parsed = [_address(value) for value in addresses]
    return bool(parsed) and all(a is not None and _unmapped(a).is_loopback for a in parsed)


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    return parts


def url_refusal(url: str, allow_loopback: bool) -> str | None:
    """Why `url` can never be a webhook destination, or None. What needs DNS is checked by
    `resolve_destination`; an IP literal is judged here already."""
    parts = _split(url)
    if parts is None or not parts.hostname:
        return "not a valid URL"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL are not allowed"
    if parts.scheme == "http":
        if not allow_loopback:
            return "must be https"
        literal = _address(parts.hostname)
        loopback = literal is not None and _unmapped(literal).is_loopback
        if parts.hostname != "localhost" and not loopback:
            return "must be https (http only for loopback in development)"
    elif parts.scheme != "https":
        return "must be https"
    if _address(parts.hostname) is not None and not destination_allowed(
        [parts.hostname], allow_loopback
    ):
        return "destination not allowed"
    return None


@dataclass(frozen=True)
class Destination:
    """A URL resolved and checked: send to `address`, naming `host` in Host and TLS SNI."""

    scheme: str
    host: str
    port: int
    address: str
    target: str  # path and query

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def connect_url(self) -> str:
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{literal}:{self.port}{self.target}"


class DestinationRefused(Exception):
    """The URL or an address it resolves to is not allowed."""


class Unresolved(Exception):
    """The host name has no address (now)."""


class Resolver:
    """DNS through the event loop's getaddrinfo; an IP literal is its own answer. One object
    the API and the channel share (tests give it another answer to play a changed DNS)."""

    async def addresses(self, host: str, port: int) -> list[str]:
        if _address(host) is not None:
            return [host]
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise Unresolved(host) from exc
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve_destination(url: str, allow_loopback: bool, resolver: Resolver) -> Destination:
    """Check `url`, resolve its host, check every address; the first is the one to connect to."""
    if url_refusal(url, allow_loopback) is not None:
        raise DestinationRefused(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await resolver.addresses(host, port)
    if not destination_allowed(addresses, allow_loopback):
        raise DestinationRefused(url)
    if parts.scheme == "http" and not all_loopback(addresses):
        raise DestinationRefused(url)  # plain http leaves the machine: never
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Destination(parts.scheme, host, port, addresses[0], target)
