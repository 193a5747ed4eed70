"""Download a request's input (video_url, image_url, audio_url) to a local file.

http(s) only, streamed to disk, with a size cap (settings.ENGINE_FETCH_MAX_MB) and a
cap on the whole download's time (settings.ENGINE_FETCH_TIMEOUT). Every failure is a
`FetchError` whose message tells the user what went wrong and what to do.

Unlike the portal's fetcher, this one may fetch from loopback and private addresses on
purpose: the engine is a local service, and in development the portal serves its
uploads from 127.0.0.1. Do not expose the engine to untrusted callers.
"""

import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3

CHUNK = 64 * 1024
MAX_REDIRECTS = 5


class FetchError(Exception):
    pass


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip()[:64].lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head"))


def _interrupt(response) -> None:
    """Wake a read blocked on the socket (urllib3's shutdown is meant for this)."""
    try:
        response.raw.shutdown()
    except (AttributeError, ValueError, RuntimeError, OSError):
        response.close()


def fetch_to_file(url: str, dest: Path, *, field: str, max_bytes: int, timeout: float,
                  session: requests.Session | None = None) -> Path:
    """Stream `url` into `dest`. Raises FetchError with a message for a person."""
    what = f"Could not download {field}"
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise FetchError(f"{what}: only http:// and https:// links are supported.")
    if session is None:
        with requests.Session() as own:
            return fetch_to_file(url, dest, field=field, max_bytes=max_bytes, timeout=timeout, session=own)
    deadline = time.monotonic() + timeout
    session.max_redirects = MAX_REDIRECTS
    max_mb = max_bytes / (1024 * 1024)
    received = 0
    head = b""
    try:
        with session.get(url, stream=True, timeout=(min(10.0, timeout), timeout),
                         headers={"User-Agent": "navtalk-local-engine/0.1"}) as response:
            if urlsplit(response.url).scheme.lower() not in ("http", "https"):
                raise FetchError(f"{what}: the link redirects to a non-http(s) address.")
            code = response.status_code
            if code in (401, 403, 404, 410):
                raise FetchError(f"{what}: HTTP {code}. Make sure the link is public.")
            if code >= 400:
                raise FetchError(f"{what}: the server answered HTTP {code}. "
                                 "Try again later, or host the file somewhere else.")
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FetchError(f"{what}: the file is {int(length) / 1048576:.0f} MB, larger than the "
                                 f"{max_mb:g} MB limit. Use a shorter or smaller file.")
            # The total time cap: a server dripping bytes is cut off at the deadline.
            watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _interrupt, [response])
            watchdog.daemon = True
            watchdog.start()
            try:
                with open(dest, "wb") as out:
                    for chunk in response.iter_content(CHUNK):
                        if len(head) < 64:
                            head += chunk[:64]
                        received += len(chunk)
                        if received > max_bytes:
                            raise FetchError(f"{what}: the file is larger than the {max_mb:g} MB limit. "
                                             "Use a shorter or smaller file.")
                        out.write(chunk)
            except FetchError:
                raise
            except Exception:
                if time.monotonic() >= deadline - 0.05:
                    raise requests.Timeout() from None
                raise
            finally:
                watchdog.cancel()
            if time.monotonic() >= deadline:
                raise requests.Timeout()
    except FetchError:
        dest.unlink(missing_ok=True)
        raise
    except requests.Timeout:
        dest.unlink(missing_ok=True)
        raise FetchError(f"{what}: it did not finish within {timeout:g} s. "
                         "Check that the link works, or use a smaller file.") from None
    except requests.TooManyRedirects:
        dest.unlink(missing_ok=True)
        raise FetchError(f"{what}: the link redirects too many times. Use the file's direct link.") from None
    except requests.ConnectionError as exc:
        dest.unlink(missing_ok=True)
        if exc.args and isinstance(exc.args[0], urllib3.exceptions.ReadTimeoutError):
            raise FetchError(f"{what}: the server stopped sending data. Check that the link works, "
                             "or use a smaller file.") from None
        raise FetchError(f"{what}: could not connect to the server. Check that the link is right "
                         "and the server is reachable.") from None
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        dest.unlink(missing_ok=True)
        raise FetchError(f"{what}: {type(exc).__name__}. Check the link.") from None
    if received == 0:
        dest.unlink(missing_ok=True)
        raise FetchError(f"{what}: the file is empty. Check the link.")
    if _looks_like_html(head):
        dest.unlink(missing_ok=True)
        raise FetchError(f"{what}: the link returned a web page, not a media file. "
                         "Use the file's direct download link.")
    return dest
