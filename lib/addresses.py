"""Address checks shared by the fetcher, the create form and the pages: is an address,
a host or a link public? And does a link fall under an allow-list of exact origins?

An IPv6 address that embeds an IPv4 one is judged by the IPv4 address it carries:
IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, e.g. `::7f00:1`), NAT64
(`64:ff9b::/96` and the local-use `64:ff9b:1::/48`), 6to4 (`2002::/16`) and Teredo.
`0.0.0.0`, `::` and every other non-global address are not public.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
DEFAULT_PORTS = {"http": 80, "https": 443}


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, if it is of a kind that carries one."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    value = int(address)
    if value >> 32 == 0 and value > 1:  # IPv4-compatible ::a.b.c.d (not :: or ::1)
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if any(address in net for net in NAT64):
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def is_public_ip(ip: str) -> bool:
    """True only for a globally routable address (after unwrapping an embedded IPv4)."""
    try:
        address = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return False
    if address.version == 6:
        inner = embedded_ipv4(address)
        if inner is not None:
            address = inner
    return bool(address.is_global) and not address.is_multicast


def host_addresses(host: str) -> set[str]:
    """Every address `host` resolves to (empty when it does not resolve)."""
    try:
        return {info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError, ValueError):
        return set()


def is_private_host(url: str) -> bool:
    """True when the URL's host is loopback, private or otherwise not public."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return True
    if host in ("localhost",) or host.endswith(".localhost") or host.endswith(".local"):
        return True
    addresses = host_addresses(host)
    return any(not is_public_ip(a) for a in addresses)


# --- allow-list of exact origins ---------------------------------------------------------

@dataclass(frozen=True)
class Origin:
    """scheme://host:port, with an optional path prefix ("/m/") the link must start with."""

    scheme: str
    host: str
    port: int
    path_prefix: str = ""

    def allows(self, url: str) -> bool:
        parts = _split(url)
        if parts is None:
            return False
        scheme, host, port, path = parts
        if (scheme, host, port) != (self.scheme, self.host, self.port):
            return False
        return not self.path_prefix or (path.startswith(self.path_prefix) and "/../" not in path + "/"
                                         and "%2e" not in path.lower())


def _split(url: str) -> tuple[str, str, int, str] | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except (ValueError, AttributeError):
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme], parts.path or "/"


def parse_origins(entries) -> tuple[Origin, ...]:
    """Origins from setting entries such as "http://127.0.0.1:8000" or
    "http://127.0.0.1:8000/m/". An entry that is not such a link is ignored."""
    origins = []
    for entry in entries or ():
        parts = _split(str(entry))
        if parts is None:
            continue
        scheme, host, port, path = parts
        origins.append(Origin(scheme, host, port, "" if path == "/" else path))
    return tuple(origins)


def is_allowed(url: str, origins) -> bool:
    return any(origin.allows(url) for origin in origins)


def link_problem(url: str, origins=()) -> str | None:
    """Why the server must not fetch `url`, in words for a person; None when it may.
    The host is resolved: every address it has must be public (or the link must fall
    under an allowed origin)."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 (raises ValueError for a bad port)
        host = parts.hostname
    except ValueError:
        return "This link is not valid. Check it, or copy it again from the address bar."
    if parts.scheme.lower() not in DEFAULT_PORTS:
        return "Enter a web link starting with http:// or https://."
    if parts.username is not None or parts.password is not None:
        return "Links with a user name or password (user@host) are not supported. Use the file's public link."
    if not host:
        return "This link has no host name. Use a full link such as https://example.com/file.mp4."
    if is_allowed(url, origins):
        return None
    addresses = host_addresses(host)
    if host == "localhost" or host.endswith((".localhost", ".local")):
        addresses.add("127.0.0.1")
    # A host that does not resolve here is left to the fetcher (it checks at connect time).
    if any(not is_public_ip(a) for a in addresses):
        return ("This link points to a private or local address. "
                "Use a public link that anyone on the internet can open.")
    return None
