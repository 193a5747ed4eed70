"""The one SSRF-safe fetcher for every URL the server downloads: results the archiver
keeps, the local engine's inputs (video_url, image_url, audio_url), future webhooks.

`post()` sends a small body (webhooks) with the same connect-time address check; it never
follows a redirect and keeps only the start of the answer.

Built on libcurl (pycurl), after healthchecks' hc/lib/curl.py: curl calls our
`opensocket` for every connection it opens, with the address it is about to connect to,
so the public-address check happens at connect time on the resolved IP (no DNS-rebinding
window between a check and the connect). Redirects are followed here, one hop at a time
(never by curl), so every hop's link is checked too: http(s) only, no user:password@,
and a fresh connection per hop, each one through `opensocket`.

Non-public addresses (loopback, private, link-local, `0.0.0.0`, `::`, IPv6 forms that
embed such an IPv4 address — see lib.addresses) are refused, except for a hop whose link
falls under one of the exact `allowed` origins ("scheme://host:port", optionally with a
path prefix such as "/m/"), e.g. the portal's own signed media for the local engine.

Caps: size, total time, and a minimum transfer rate (`min_rate` bytes/s averaged over
`min_rate_seconds`), so a server that drips a byte a second is cut off in seconds. The
body goes to a temporary file beside the destination, renamed into place only when
complete. Every failure is a FetchError with a `kind` callers can word for their users;
the messages never say which address or port refused or answered.
"""

import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pycurl

from .addresses import Origin, is_allowed, is_public_ip, parse_origins

UNREACHABLE = "Could not connect to the link's server. The link must point to a public server that is reachable."


class FetchError(Exception):
    """kind: scheme, userinfo, unreachable, status, too_large, timeout, slow, redirects, failed."""

    def __init__(self, message: str, *, permanent: bool, kind: str = "failed", status: int | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.kind = kind
        self.status = status


@dataclass(frozen=True)
class Fetched:
    path: Path
    size: int
    content_type: str


def _check_link(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        raise FetchError("The link is not valid.", permanent=True, kind="scheme") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError("Only http and https links can be fetched.", permanent=True, kind="scheme")
    if parts.username is not None or parts.password is not None:
        raise FetchError("Links with a user name or password are not supported.", permanent=True, kind="userinfo")


def fetch_to_file(url: str, dest: Path, *, max_bytes: int, timeout: float, allowed=(), max_redirects: int = 3,
                  min_rate: int = 1024, min_rate_seconds: int = 5, user_agent: str = "navtalk-portal/0.1") -> Fetched:
    """Download `url` into `dest`. `allowed`: Origin objects or setting strings."""
    origins = tuple(o for o in allowed if isinstance(o, Origin)) + parse_origins(
        [o for o in allowed if not isinstance(o, Origin)])
    dest.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    hop = {"allowed": False, "refused": False}

    def opensocket(purpose, curl_address):
        family, socktype, protocol, address = curl_address
        if not (is_public_ip(address[0]) or hop["allowed"]):
            hop["refused"] = True
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

            curl.setopt(pycurl.NOSIGNAL, 1)
            curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
            curl.setopt(pycurl.OPENSOCKETFUNCTION, opensocket)
            curl.setopt(pycurl.FOLLOWLOCATION, False)
            curl.setopt(pycurl.FRESH_CONNECT, True)
            curl.setopt(pycurl.FORBID_REUSE, True)
            curl.setopt(pycurl.PROXY, "")  # never through a proxy from the environment
            curl.setopt(pycurl.MAXFILESIZE, max_bytes)
            curl.setopt(pycurl.LOW_SPEED_LIMIT, max(1, int(min_rate)))
            curl.setopt(pycurl.LOW_SPEED_TIME, max(1, int(min_rate_seconds)))
            curl.setopt(pycurl.USERAGENT, user_agent)
            curl.setopt(pycurl.WRITEFUNCTION, write)
            for _ in range(max_redirects + 1):
                _check_link(url)
                hop.update(allowed=is_allowed(url, origins), refused=False)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise FetchError("Timed out downloading the file.", permanent=False, kind="timeout")
                out.seek(0)
                out.truncate()
                size = 0
                curl.setopt(pycurl.URL, url.encode())
                curl.setopt(pycurl.TIMEOUT_MS, max(1, int(remaining * 1000)))
                curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(min(remaining, 10) * 1000)))
                try:
                    curl.perform()
                except pycurl.error as exc:
                    raise _curl_error(exc, hop["refused"], max_bytes, min_rate, min_rate_seconds) from None
                status = curl.getinfo(pycurl.RESPONSE_CODE)
                if status in (301, 302, 303, 307, 308):
                    url = curl.getinfo(pycurl.REDIRECT_URL) or ""
                    if not url:
                        raise FetchError("The link redirects nowhere.", permanent=True, kind="redirects")
                    continue
                break
            else:
                raise FetchError("Too many redirects.", permanent=True, kind="redirects")
            content_type = (curl.getinfo(pycurl.CONTENT_TYPE) or "").split(";")[0].strip()
        if status >= 400:
            raise FetchError(f"The server answered HTTP {status}.", kind="status", status=status,
                             permanent=400 <= status < 500 and status not in (408, 429))
        if status < 200 or status >= 300:
            raise FetchError(f"The server answered HTTP {status}.", kind="status", status=status, permanent=True)
        os.replace(tmp_name, dest)
        return Fetched(path=dest, size=size, content_type=content_type)
    finally:
        curl.close()
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


@dataclass(frozen=True)
class Posted:
    status: int
    body: bytes  # the start of the answer (at most `max_response_bytes`)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allowed=(),
         max_response_bytes: int = 4096, user_agent: str = "navtalk-portal/0.1") -> Posted:
    """POST `body` to `url` through the same connect-time checks as fetch_to_file: only
    public addresses, or an exact `allowed` origin. A redirect is an answer like any other
    (never followed). Any HTTP status is returned; FetchError only when no answer came."""
    _check_link(url)
    origins = tuple(o for o in allowed if isinstance(o, Origin)) + parse_origins(
        [o for o in allowed if not isinstance(o, Origin)])
    hop = {"allowed": is_allowed(url, origins), "refused": False}

    def opensocket(purpose, curl_address):
        family, socktype, protocol, address = curl_address
        if not (is_public_ip(address[0]) or hop["allowed"]):
            hop["refused"] = True
            return pycurl.SOCKET_BAD
        return socket.socket(family, socktype, protocol)

    answer = bytearray()

    def write(chunk: bytes):
        answer.extend(chunk[:max(0, max_response_bytes - len(answer))])
        return None  # the rest is read and dropped: the status is what counts

    curl = pycurl.Curl()
    try:
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        curl.setopt(pycurl.OPENSOCKETFUNCTION, opensocket)
        curl.setopt(pycurl.FOLLOWLOCATION, False)
        curl.setopt(pycurl.FRESH_CONNECT, True)
        curl.setopt(pycurl.FORBID_REUSE, True)
        curl.setopt(pycurl.PROXY, "")
        curl.setopt(pycurl.USERAGENT, user_agent)
        curl.setopt(pycurl.URL, url.encode())
        curl.setopt(pycurl.POSTFIELDS, body)
        curl.setopt(pycurl.HTTPHEADER, [f"{k}: {v}" for k, v in headers.items()] + ["Expect:"])
        curl.setopt(pycurl.TIMEOUT_MS, max(1, int(timeout * 1000)))
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(min(timeout, 10) * 1000)))
        curl.setopt(pycurl.WRITEFUNCTION, write)
        try:
            curl.perform()
        except pycurl.error as exc:
            raise _curl_error(exc, hop["refused"], max_response_bytes, 1, 1) from None
        return Posted(status=curl.getinfo(pycurl.RESPONSE_CODE), body=bytes(answer))
    finally:
        curl.close()


def _curl_error(exc: pycurl.error, refused: bool, max_bytes: int, min_rate: int, min_rate_seconds: int) -> FetchError:
    code = exc.args[0]
    if refused or code in (pycurl.E_COULDNT_CONNECT, pycurl.E_COULDNT_RESOLVE_HOST):
        # The same words whether we refused a non-public address or nothing answered:
        # a user must not learn what listens on an internal port.
        return FetchError(UNREACHABLE, permanent=refused, kind="unreachable")
    if code in (pycurl.E_WRITE_ERROR, pycurl.E_FILESIZE_EXCEEDED):  # our size cap
        return FetchError(f"The file is larger than {max_bytes / 2**20:g} MB.", permanent=True, kind="too_large")
    if code == pycurl.E_OPERATION_TIMEDOUT:
        message = str(exc.args[1] if len(exc.args) > 1 else "")
        if "too slow" in message.lower() or "bytes/sec" in message:  # LOW_SPEED_LIMIT
            return FetchError(f"The server sent the file too slowly (under {min_rate} bytes a second for "
                              f"{min_rate_seconds} s).", permanent=False, kind="slow")
        return FetchError("Timed out downloading the file.", permanent=False, kind="timeout")
    if code == pycurl.E_UNSUPPORTED_PROTOCOL:
        return FetchError("Only http and https links can be fetched.", permanent=True, kind="scheme")
    return FetchError(f"Download failed (curl error {code}).", permanent=False)
