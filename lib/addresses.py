"""Address checks shared by the fetcher and the pages: is a host public?"""

import ipaddress
import socket
from urllib.parse import urlsplit


def is_private_host(url: str) -> bool:
    """True when the URL's host is loopback, private or otherwise not public."""
    host = urlsplit(url).hostname or ""
    if host in ("localhost",) or host.endswith(".localhost") or host.endswith(".local"):
        return True
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return False
    return any(not ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses)
