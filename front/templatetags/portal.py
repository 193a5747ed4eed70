"""Small template helpers for the portal's pages."""

import json
from urllib.parse import urlsplit

from django import template
from django.core import signing
from django.urls import reverse

from accounts.permissions import allowed
from jobs.media import SALT
from navtalk.contract import CIRCLED

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """42 -> "42 s", 185 -> "3 min 05 s", 3700 -> "1 h 01 min"."""
    try:
        seconds = max(0, int(seconds))
    except (TypeError, ValueError):
        return ""
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@register.filter
def circled(number) -> str:
    try:
        return CIRCLED[int(number) - 1]
    except (TypeError, ValueError, IndexError):
        return ""


@register.filter
def json_pretty(value) -> str:
    """A stored reply as indented JSON (never Python's dict notation)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@register.filter
def method_short(job) -> str:
    """"Photo + audio link": the method in people's words."""
    return job.method_label


@register.filter
def http_url(value) -> str:
    """The URL if it is http(s), else "" (never put javascript: into an href or src)."""
    value = str(value or "")
    return value if urlsplit(value).scheme in ("http", "https") else ""


@register.filter
def media_link(storage_name) -> str:
    """A signed, expiring, site-relative link to an uploaded file (for the person's browser)."""
    name = str(storage_name or "")
    if not name:
        return ""
    return reverse("jobs:public_media", args=[signing.dumps(name, salt=SALT, compress=True)])


@register.filter
def file_ext(storage_name) -> str:
    name = str(storage_name or "")
    return name.rsplit(".", 1)[-1].upper() if "." in name else ""


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some keys replaced (None or "" removes a key)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        params.pop(key, None)
        if value not in (None, ""):
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


# --- results: the archived copy first, the upstream link as the fallback -----------------


def _archived(job) -> bool:
    return job.archive_status == "done" and bool(job.archive_file)


@register.filter
def play_url(job) -> str:
    """Where the browser plays a done job's video: the archived copy, else the upstream URL."""
    if _archived(job):
        return reverse("jobs:video", args=[job.code])
    return http_url(job.video_url)


@register.filter
def poster_url(job) -> str:
    return reverse("jobs:poster", args=[job.code]) if _archived(job) and job.poster_file else ""


@register.filter
def download_url(job) -> str:
    if _archived(job):
        return reverse("jobs:video", args=[job.code]) + "?download=1"
    return http_url(job.video_url)


@register.filter
def is_live(job) -> bool:
    """Still changing by itself: in flight, or being archived."""
    return job.is_in_flight or (job.status == "done" and job.archive_status in ("pending", "archiving"))


@register.filter
def clock(seconds) -> str:
    """A video's length as players show it (whole seconds, rounded down, at least 1 for
    any video): 7.8 -> "0:07", 125 -> "2:05", 3725 -> "1:02:05"."""
    try:
        value = float(seconds)
        seconds = max(1, int(value)) if value > 0 else 0
    except (TypeError, ValueError):
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@register.filter
def range_ends(help_text) -> list[str]:
    """"blend: narrow ↔ wide" -> ["narrow", "wide"] (the words under a slider's two ends)."""
    text = str(help_text or "")
    if "↔" not in text:
        return []
    left, right = (part.strip() for part in text.split("↔", 1))
    return [left.split(":", 1)[-1].strip(), right]


@register.simple_tag(takes_context=True)
def may(context, action: str, job=None) -> bool:
    """`{% may "retry_job" job as can_retry %}`: the current role's answer for this job
    (accounts.permissions), so a page shows only the buttons a person may use."""
    request = context.get("request")
    return allowed(getattr(request, "role", None), action, user=getattr(request, "user", None), job=job)
