"""Download a request's input (video_url, image_url, audio_url) to a local file, through
the portal's one SSRF-safe fetcher (`lib.fetch`): public addresses only, checked at
connect time on every redirect, except links under settings.ENGINE_FETCH_ALLOWED_PRIVATE
(by default the portal's own signed-media path, `PUBLIC_BASE_URL/m/`, when that is on
loopback). Caps: size (ENGINE_FETCH_MAX_MB), total time (ENGINE_FETCH_TIMEOUT) and a
minimum transfer rate (FETCH_MIN_BYTES_PER_SECOND over FETCH_MIN_RATE_SECONDS).

Every failure is a `FetchError` whose message tells the user what went wrong and what to
do, and never which private address or port refused or answered: a refused address and
a server that does not answer read the same.
"""

from pathlib import Path

from lib import fetch as safe


class FetchError(Exception):
    pass


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip()[:64].lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head"))


def _message(what: str, exc: safe.FetchError, *, max_bytes: int, timeout: float, min_rate: int,
             min_rate_seconds: int) -> str:
    if exc.kind == "status":
        if exc.status in (401, 403, 404, 410):
            return f"{what}: HTTP {exc.status}. Make sure the link is public."
        return f"{what}: the server answered HTTP {exc.status}. Try again later, or host the file somewhere else."
    if exc.kind == "scheme":
        return f"{what}: only http:// and https:// links are supported."
    if exc.kind == "userinfo":
        return f"{what}: links with a user name or password (user@host) are not supported. Use a public link."
    if exc.kind == "too_large":
        return f"{what}: the file is larger than the {max_bytes / 1048576:g} MB limit. Use a shorter or smaller file."
    if exc.kind == "timeout":
        return f"{what}: it did not finish within {timeout:g} s. Check that the link works, or use a smaller file."
    if exc.kind == "slow":
        return (f"{what}: the server sent it too slowly (under {min_rate} bytes a second for {min_rate_seconds} s). "
                "Host the file somewhere faster.")
    if exc.kind == "redirects":
        return f"{what}: the link redirects too many times. Use the file's direct link."
    if exc.kind == "unreachable":
        return (f"{what}: could not connect to the server. Check that the link is right and points to a "
                "public server that anyone on the internet can reach.")
    return f"{what}: the download failed. Check the link, or host the file somewhere else."


def fetch_to_file(url: str, dest: Path, *, field: str, max_bytes: int, timeout: float, allowed=(),
                  min_rate: int = 1024, min_rate_seconds: int = 5) -> Path:
    """Fetch `url` into `dest`. Raises FetchError with a message for a person."""
    what = f"Could not download {field}"
    rate = {"min_rate": min_rate, "min_rate_seconds": min_rate_seconds}
    try:
        result = safe.fetch_to_file(url, dest, max_bytes=max_bytes, timeout=timeout, allowed=allowed,
                                    max_redirects=5, user_agent="navtalk-local-engine/0.1", **rate)
    except safe.FetchError as exc:
        raise FetchError(_message(what, exc, max_bytes=max_bytes, timeout=timeout, **rate)) from None
    if result.size == 0:
        dest.unlink(missing_ok=True)
        raise FetchError(f"{what}: the file is empty. Check the link.")
    with open(dest, "rb") as f:
        head = f.read(64)
    if _looks_like_html(head):
        dest.unlink(missing_ok=True)
        raise FetchError(f"{what}: the link returned a web page, not a media file. "
                         "Use the file's direct download link.")
    return dest
