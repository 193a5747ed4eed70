"""NavTalk HTTP client: the only code that talks to the upstream.

No ORM, no Celery. Sends exactly the documented fields (none empty), returns small
frozen dataclasses and raises one error type, `NavTalkError`, whose `permanent` flag
says whether trying again can help: 4xx except 408/429 is permanent; 5xx, 408, 429,
timeouts, connection errors and unparseable bodies are transient. Every call has a
timeout. The license is passed in by the caller, never looked up and never logged.
"""

import dataclasses
import email.utils
import json
import threading
import time
from dataclasses import dataclass

import requests
import urllib3

from .contract import STATUSES, Failure, failure_from_code
from .scrub import Scrubber

# The most of a reply we read and keep: a NavTalk reply is a few hundred bytes.
MAX_REPLY_BYTES = 256 * 1024
MAX_MESSAGE_CHARS = 500
MAX_RETRY_AFTER = 3600.0
MAX_JSON_DEPTH = 32


@dataclass(frozen=True)
class GenerateRequest:
    """The fields of POST /generate except the license. Exactly one visual and one
    audio source; advanced parameters only when moved from their defaults."""

    video_url: str | None = None
    image_url: str | None = None
    character_name: str | None = None
    audio_url: str | None = None
    audio_base64: str | None = None
    content: str | None = None
    voice: str | None = None
    bbox_shift: int | None = None
    extra_margin: int | None = None
    parsing_mode: str | None = None
    left_cheek_width: int | None = None
    right_cheek_width: int | None = None

    def __post_init__(self):
        visuals = [f for f in ("video_url", "image_url", "character_name") if getattr(self, f)]
        audios = [f for f in ("audio_url", "audio_base64", "content") if getattr(self, f)]
        if len(visuals) != 1 or len(audios) != 1:
            raise ValueError(f"need exactly one visual and one audio source, got {visuals} and {audios}")
        if bool(self.content) != bool(self.voice):
            raise ValueError("voice goes with content, and only with content")

    def payload(self, license: str) -> dict:
        body = {"license": license}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None and value != "":
                body[field.name] = value
        return body


@dataclass(frozen=True)
class Submitted:
    task_id: str
    raw: dict


@dataclass(frozen=True)
class LicenseCheck:
    reachable: bool
    refused: bool
    status_code: int | None
    message: str


@dataclass(frozen=True)
class TaskStatus:
    status: str  # one of STATUSES
    video_url: str | None
    message: str | None
    raw: dict
    # For a failed task: the reply's `code` when it names a known category, else
    # generation_failed. Never guessed from the message's words.
    category: str = Failure.GENERATION_FAILED


class NavTalkError(Exception):
    def __init__(self, message: str, *, permanent: bool, category: str, status_code: int | None = None,
                 raw: str | dict | None = None, retry_after: float | None = None,
                 maybe_received: bool = False):
        super().__init__(message)
        # True when the request may have reached the upstream without us seeing the
        # answer (read timeout, connection dropped mid-call): resending could duplicate.
        self.maybe_received = maybe_received
        self.message = message
        self.permanent = permanent
        self.category = category
        self.status_code = status_code
        self.raw = raw
        self.retry_after = retry_after

    @property
    def reply(self) -> dict:
        """What the upstream said, for the job's record (never contains the license)."""
        return {"http_status": self.status_code, "body": self.raw, "error": self.message}


def _category_for_status(code: int, body=None) -> str:
    # A refusal whose per-field errors name the license is about the license, whatever
    # its status (a strict upstream answers 400 with {"errors": {"license": …}}).
    if code in (401, 403) or (400 <= code < 500 and isinstance(body, dict)
                              and isinstance(body.get("errors"), dict) and "license" in body["errors"]):
        return "auth"
    if code == 429:
        return "rate_limited"
    if code == 404:
        return "not_found"
    if code in (400, 422):
        return "invalid_input"
    if code == 408:
        return "timeout"
    return "upstream_error" if code >= 500 else "invalid_input"


def _retry_after(response) -> float | None:
    """Seconds the upstream asks us to wait; None for a missing or unreadable header."""
    value = (response.headers.get("Retry-After") or "").strip()[:100]
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
            seconds = parsed.timestamp() - time.time()
        except (TypeError, ValueError, OverflowError, IndexError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _depth(value, limit: int, depth: int = 0) -> int:
    if depth > limit:
        return depth
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((_depth(v, limit, depth + 1) for v in children), default=depth)


def _clean(value, depth: int = 0):
    """A parsed reply made safe to store: no NUL or lone surrogate in any string."""
    if isinstance(value, str):
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_clean(str(k)): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value]
    return value


def _parse(text: str):
    """The reply as JSON (a dict, list, …), or None if it is not JSON we can keep."""
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    if _depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        return None
    return _clean(body)


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def _short(value) -> str:
    """A reply value as a short single-line text for a message."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + "…"


def _message(body) -> str | None:
    """The human message in a reply, if it has one as text."""
    if not isinstance(body, dict):
        return None
    for key in ("message", "error", "msg", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return _short(value)
    return None


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request provably never reached the upstream (no connection made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, urllib3.exceptions.NewConnectionError)
    return isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema))


class NavTalkClient:
    def __init__(self, generate_url: str, query_status_url: str, *,
                 connect_timeout: float = 5.0, read_timeout: float = 30.0):
        self.generate_url = generate_url
        self.query_status_url = query_status_url
        self.timeout = (connect_timeout, read_timeout)
        self._local = threading.local()  # one Session per thread: pooled, and thread safe

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["User-Agent"] = "navtalk-portal/0.1"
        return session

    def _read(self, response, deadline: float) -> tuple[bytes, bool]:
        """At most MAX_REPLY_BYTES of the body, read before `deadline` (a body that
        drips is cut off). Returns (data, complete)."""
        data = bytearray()
        try:
            # read1: at most one socket read per call, so a dripping body meets the check.
            while chunk := response.raw.read1(16 * 1024, decode_content=True):
                data += chunk
                if len(data) > MAX_REPLY_BYTES or time.monotonic() > deadline:
                    return bytes(data[:MAX_REPLY_BYTES]), False
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
            return bytes(data), False
        finally:
            response.close()
        return bytes(data), True

    def _call(self, method: str, url: str, license: str, **kwargs) -> dict:
        scrub = Scrubber(license)
        started = time.monotonic()
        try:
            response = self.session.request(method, url, timeout=self.timeout, allow_redirects=False, stream=True,
                                            **kwargs)
        except requests.RequestException as exc:
            not_sent = _never_sent(exc)
            timeout = isinstance(exc, requests.Timeout)
            what = "Timed out" if timeout else "Lost the connection"
            if not_sent:
                what = "Could not connect"
            raise NavTalkError(f"{what} talking to the upstream ({type(exc).__name__})", permanent=False,
                               category="timeout" if timeout else "upstream_error",
                               maybe_received=not not_sent) from None
        code = response.status_code
        data, complete = self._read(response, started + sum(self.timeout))
        # An upstream that echoes the license back (in an error message, say, in any case
        # or encoding) must not get it into our records: all we keep of a reply is scrubbed.
        text = scrub.text(data.decode("utf-8", "replace").replace("\x00", ""))
        body = scrub.value(_parse(text)) if complete else None
        raw = body if isinstance(body, dict) else text[:2000]
        if 300 <= code < 400:
            raise NavTalkError(f"The upstream answered with a redirect (HTTP {code}), which is not followed",
                               permanent=False, category="upstream_error", status_code=code, raw=raw)
        if code >= 400:
            raise NavTalkError(
                _message(body) or f"The upstream answered HTTP {code}",
                permanent=400 <= code < 500 and code not in (408, 429),
                category=_category_for_status(code, body), status_code=code, raw=raw,
                retry_after=_retry_after(response),
            )
        if not complete:
            raise NavTalkError(f"The upstream's reply was larger than {MAX_REPLY_BYTES // 1024} KB or too slow",
                               permanent=False, category="upstream_error", status_code=code, raw=text[:2000])
        if not isinstance(body, dict):
            raise NavTalkError("The upstream's reply was not a JSON object", permanent=False,
                               category="upstream_error", status_code=code, raw=raw)
        return body

    def check_license(self, license: str) -> "LicenseCheck":
        """POST /generate with the license alone: a request no upstream can turn into a
        task (no visual, no audio), so nothing is made or billed. What the answer proves:
        a refusal naming the license (401/403, or errors about `license`) proves the key is
        refused; any other 4xx only that the upstream did not object to the license."""
        try:
            self._call("POST", self.generate_url, license, json={"license": license})
        except NavTalkError as exc:
            return LicenseCheck(reachable=exc.status_code is not None, refused=exc.category == "auth",
                                status_code=exc.status_code, message=exc.message)
        return LicenseCheck(reachable=True, refused=False, status_code=200,
                            message="The upstream accepted an empty request")

    def generate(self, license: str, request: GenerateRequest) -> Submitted:
        body = self._call("POST", self.generate_url, license, json=request.payload(license))
        task_id = body.get("task_id")
        if isinstance(task_id, int) and not isinstance(task_id, bool):
            task_id = str(task_id)
        if not isinstance(task_id, str) or not task_id.strip() or len(task_id) > 200 or not task_id.isprintable():
            raise NavTalkError("The upstream's reply had no usable task_id", permanent=False,
                               category="upstream_error", status_code=200, raw=body)
        return Submitted(task_id=task_id, raw=body)

    def query_status(self, license: str, task_id: str) -> TaskStatus:
        body = self._call("GET", self.query_status_url, license, params={"license": license, "task_id": task_id})
        status = body.get("status")
        if not isinstance(status, str) or status not in STATUSES:
            raise NavTalkError(f"The upstream reported an unknown status {_short(status)}", permanent=False,
                               category="upstream_error", status_code=200, raw=body)
        video_url = body.get("video_url") or None
        if status == "done" and not _usable_url(video_url):
            raise NavTalkError("The upstream said done but gave no usable video_url", permanent=False,
                               category="upstream_error", status_code=200, raw=body)
        if status != "done":
            video_url = video_url if _usable_url(video_url) else None
        category = failure_from_code(body.get("code")) if status == "failed" else Failure.GENERATION_FAILED
        return TaskStatus(status=status, video_url=video_url, message=_message(body), raw=body, category=category)


def _usable_url(value) -> bool:
    return (isinstance(value, str) and len(value) <= 2000 and value.isprintable()
            and value.lower().startswith(("http://", "https://")) and " " not in value)
