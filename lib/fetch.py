"""The one SSRF-safe fetcher for URLs the server downloads (archiving results).

Built on libcurl (pycurl), after healthchecks' hc/lib/curl.py: curl calls our
`_opensocket` for every connection it opens — the first one and each redirect's — with
the address it is about to connect to, so the public-address check happens at connect
time on the resolved IP (no DNS-rebinding window between a check and the connect).
Only http(s), for the first URL and every redirect; a cap on size and on total time; the
body is written to a temporary file beside the destination and renamed into place only
when complete, so a crash never leaves a partial file under the real name.

Private addresses are refused unless listed in FETCH_ALLOWED_PRIVATE (exact
"ip:port" pairs): that is how the local engine's loopback URLs are allowed without
weakening the rule for everything else.
"""

import ipaddress
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pycurl


class FetchError(Exception):
    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class Fetched:
    path: Path
    size: int
    content_type: str


def _address_allowed(ip: str, port: int, allowed_private: frozenset[str]) -> bool:
    address = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_global:
        return True
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"{host}:{port}" in allowed_private


def fetch_to_file(url: str, dest: Path, *, max_bytes: int, timeout: float,
                  allowed_private: frozenset[str] = frozenset(), max_redirects: int = 3) -> Fetched:
    if urlsplit(url).scheme not in ("http", "https"):
        raise FetchError("Only http and https links can be fetched.", permanent=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    refused: list[str] = []

    def opensocket(purpose, curl_address):
        family, socktype, protocol, address = curl_address
        if not _address_allowed(address[0], address[1], allowed_private):
            refused.append(address[0])
            return pycurl.SOCKET_BAD
        return socket.socket(family, socktype, protocol)

    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".fetch-", suffix=".part")
    size = 0
    curl = pycurl.Curl()
    try:
        with os.fdopen(fd, "wb") as out:

            def write(chunk: bytes):
                nonlocal size
                size += len(chunk)
                if size > max_bytes:
                    return 0  # anything but len(chunk) makes curl abort (E_WRITE_ERROR)
                out.write(chunk)
                return None

            curl.setopt(pycurl.URL, url.encode())
            curl.setopt(pycurl.NOSIGNAL, 1)
            curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
            curl.setopt(pycurl.REDIR_PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
            curl.setopt(pycurl.OPENSOCKETFUNCTION, opensocket)
            curl.setopt(pycurl.FOLLOWLOCATION, True)
            curl.setopt(pycurl.MAXREDIRS, max_redirects)
            curl.setopt(pycurl.TIMEOUT_MS, int(timeout * 1000))
            curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(min(timeout, 10) * 1000))
            curl.setopt(pycurl.MAXFILESIZE, max_bytes)
            curl.setopt(pycurl.FAILONERROR, False)
            curl.setopt(pycurl.USERAGENT, "navtalk-portal/0.1 (archiver)")
            curl.setopt(pycurl.WRITEFUNCTION, write)
            try:
                curl.perform()
            except pycurl.error as exc:
                raise _curl_error(exc, refused, max_bytes) from None
            status = curl.getinfo(pycurl.RESPONSE_CODE)
            content_type = (curl.getinfo(pycurl.CONTENT_TYPE) or "").split(";")[0].strip()
        if status >= 400:
            raise FetchError(f"The server answered HTTP {status}.", permanent=400 <= status < 500 and status not in (408, 429))
        if 300 <= status < 400:
            raise FetchError("Too many redirects.", permanent=True)
        os.replace(tmp_name, dest)
        return Fetched(path=dest, size=size, content_type=content_type)
    finally:
        curl.close()
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _curl_error(exc: pycurl.error, refused: list[str], max_bytes: int) -> FetchError:
    code = exc.args[0]
    if refused:
        return FetchError(f"Refused to connect to a non-public address ({refused[-1]}).", permanent=True)
    if code in (pycurl.E_WRITE_ERROR, pycurl.E_FILESIZE_EXCEEDED):  # our size cap
        return FetchError(f"The file is larger than {max_bytes // 2**20} MB.", permanent=True)
    if code == pycurl.E_OPERATION_TIMEDOUT:
        return FetchError("Timed out downloading the file.", permanent=False)
    if code == pycurl.E_TOO_MANY_REDIRECTS:
        return FetchError("Too many redirects.", permanent=True)
    if code in (pycurl.E_UNSUPPORTED_PROTOCOL,):
        return FetchError("Only http and https links can be fetched.", permanent=True)
    if code == pycurl.E_COULDNT_RESOLVE_HOST:
        return FetchError("Could not resolve the file's host.", permanent=False)
    return FetchError(f"Download failed (curl error {code}).", permanent=False)
