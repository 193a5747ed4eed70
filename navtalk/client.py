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


def _category_for_status(code: int) -> str:
    if code in (401, 403):
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
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _scrub(text: str, license: str) -> str:
    if not license or len(license) < 4:
        return text
    hint = f"…{license[-4:]}"
    return text.replace(license, hint).replace(json.dumps(license)[1:-1], hint)


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

    def _call(self, method: str, url: str, license: str, **kwargs) -> dict:
        try:
            response = self.session.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            not_sent = _never_sent(exc)
            timeout = isinstance(exc, requests.Timeout)
            what = "Timed out" if timeout else "Lost the connection"
            if not_sent:
                what = "Could not connect"
            raise NavTalkError(f"{what} talking to the upstream ({type(exc).__name__})", permanent=False,
                               category="timeout" if timeout else "upstream_error",
                               maybe_received=not not_sent) from None
        # An upstream that echoes the license back (in an error message, say) must not
        # get it into our records: everything we keep of a reply is scrubbed first.
        text = _scrub(response.text, license)
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if response.status_code >= 400:
            message = (body or {}).get("message") if isinstance(body, dict) else None
            code = response.status_code
            raise NavTalkError(
                message or f"The upstream answered HTTP {code}",
                permanent=400 <= code < 500 and code not in (408, 429),
                category=_category_for_status(code), status_code=code,
                raw=body if isinstance(body, dict) else text[:2000],
                retry_after=_retry_after(response),
            )
        if not isinstance(body, dict):
            raise NavTalkError("The upstream's reply was not JSON", permanent=False, category="upstream_error",
                               status_code=response.status_code, raw=text[:2000])
        return body

    def generate(self, license: str, request: GenerateRequest) -> Submitted:
        body = self._call("POST", self.generate_url, license, json=request.payload(license))
        task_id = body.get("task_id")
        if not task_id or not isinstance(task_id, str):
            raise NavTalkError("The upstream's reply had no task_id", permanent=False,
                               category="upstream_error", status_code=200, raw=body)
        return Submitted(task_id=task_id, raw=body)

    def query_status(self, license: str, task_id: str) -> TaskStatus:
        body = self._call("GET", self.query_status_url, license, params={"license": license, "task_id": task_id})
        status = body.get("status")
        if status not in STATUSES:
            raise NavTalkError(f"The upstream reported an unknown status {status!r}", permanent=False,
                               category="upstream_error", status_code=200, raw=body)
        video_url = body.get("video_url") or None
        if status == "done" and not video_url:
            raise NavTalkError("The upstream said done but gave no video_url", permanent=False,
                               category="upstream_error", status_code=200, raw=body)
        message = next((body[k] for k in ("message", "error", "msg", "detail") if isinstance(body.get(k), str)), None)
        category = failure_from_code(body.get("code")) if status == "failed" else Failure.GENERATION_FAILED
        return TaskStatus(status=status, video_url=video_url, message=message, raw=body, category=category)
