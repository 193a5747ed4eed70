"""Read-side queries for the pages. Every query on jobs starts from `team_jobs(team)`.

History and gallery page with a keyset cursor on (created_at, id), the order of the
`job_team_created` / `job_team_status_created` indexes, so page 4,000 of a 100k-row
history costs what page 1 does (no OFFSET, no COUNT).
"""

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone

from navtalk.scrub import Scrubber

from .models import Character, Job, method_label

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _methods() -> dict[int, tuple[str, str]]:
    """NavTalk method number -> (visual_type, audio_type)."""
    return {Job(visual_type=v, audio_type=a).method: (v, a) for v in Job.Visual.values for a in Job.Audio.values}


METHODS = dict(sorted(_methods().items()))
METHOD_LABELS = {n: method_label(v, a) for n, (v, a) in METHODS.items()}


def team_jobs(team):
    return Job.objects.filter(team=team)


def job_for(team, code) -> Job:
    """The team's job with this code, or 404 (also for another team's job)."""
    return get_object_or_404(team_jobs(team).select_related("created_by", "license_key"), code=code)


def secret_masker(job: Job):
    """A function that masks the job's license secret in a text, should an upstream have
    echoed it into an error or an event (the secret must never reach a page)."""
    key = job.license_key if job.license_key_id else None
    try:
        secret = key.secret if key is not None else ""
    except Exception:  # an undecryptable key: nothing to mask with
        secret = ""
    if not secret:
        return lambda text: text
    scrubber = Scrubber(secret, hint=key.masked)  # any case or common encoding (navtalk.scrub)
    return lambda text: scrubber.text(text) if isinstance(text, str) else text


def job_events(job: Job) -> list:
    mask = secret_masker(job)
    events = list(job.events.order_by("created_at", "id"))
    for event in events:
        event.message = mask(event.message)
    return events


def redacted_failure(job: Job, mask=None) -> dict:
    """The failure text and upstream reply, secret masked."""
    mask = mask or secret_masker(job)
    reply = job.upstream_reply
    if reply is not None:
        reply = _mask_value(reply, mask)
    return {"error_message": mask(job.error_message), "upstream_reply": reply}


def _mask_value(value, mask, depth: int = 0):
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict) and depth < 64:
        return {mask(str(k)): _mask_value(v, mask, depth + 1) for k, v in value.items()}
    if isinstance(value, list) and depth < 64:
        return [_mask_value(v, mask, depth + 1) for v in value]
    return value if not isinstance(value, (dict, list)) else None


def team_members(team):
    return get_user_model().objects.filter(memberships__team=team).order_by("username")


def active_characters():
    return list(Character.objects.filter(is_active=True))


# --- keyset pages -------------------------------------------------------------------


def encode_cursor(job: Job) -> str:
    return f"{(job.created_at - EPOCH) // dt.timedelta(microseconds=1)}.{job.pk}"


def decode_cursor(value: str | None):
    """(created_at, id) from a cursor; None when missing or malformed."""
    try:
        micros, pk = (value or "").split(".")
        return EPOCH + dt.timedelta(microseconds=int(micros)), int(pk)
    except (ValueError, OverflowError):
        return None


@dataclass
class Page:
    items: list = field(default_factory=list)
    older: str | None = None  # cursor for the next (older) page
    newer: str | None = None  # cursor for the previous (newer) page
    is_first: bool = True


def keyset_page(queryset, *, after: str | None = None, before: str | None = None, per_page: int = 25) -> Page:
    """Newest first. `after` = show what is older than that cursor; `before` = newer."""
    if before and (cursor := decode_cursor(before)):
        at, pk = cursor
        # The redundant `created_at >= at` bounds the index range scan (the OR alone is
        # a filter the database applies row by row from the team's newest job).
        rows = list(queryset.filter(Q(created_at__gt=at) | Q(created_at=at, pk__gt=pk), created_at__gte=at)
                    .order_by("created_at", "id")[:per_page + 1])
        has_newer = len(rows) > per_page
        rows = rows[:per_page][::-1]
        has_older = True
    else:
        cursor = decode_cursor(after)
        if cursor:
            at, pk = cursor
            queryset = queryset.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk), created_at__lte=at)
        rows = list(queryset.order_by("-created_at", "-id")[:per_page + 1])
        has_older = len(rows) > per_page
        rows = rows[:per_page]
        has_newer = cursor is not None
    return Page(
        items=rows,
        older=encode_cursor(rows[-1]) if rows and has_older else None,
        newer=encode_cursor(rows[0]) if rows and has_newer else None,
        is_first=not has_newer,
    )


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def history(team, *, q=None, status=None, method=None, creator=None, date_from=None, date_to=None):
    """The team's jobs matching the history filters (unordered; page with keyset_page)."""
    jobs = team_jobs(team).select_related("created_by")
    if q:
        jobs = jobs.filter(Q(title__icontains=q) | Q(content__icontains=q))
    if status:
        jobs = jobs.filter(status=status)
    if method in METHODS:
        visual, audio = METHODS[method]
        jobs = jobs.filter(visual_type=visual, audio_type=audio)
    if creator:
        jobs = jobs.filter(created_by_id=creator)
    if date_from:
        jobs = jobs.filter(created_at__gte=_day_start(date_from))
    if date_to:
        jobs = jobs.filter(created_at__lt=_day_start(date_to + dt.timedelta(days=1)))
    return jobs


def gallery(team):
    return team_jobs(team).filter(status=Job.Status.DONE).exclude(video_url="").select_related("created_by")


# --- live status (jobs.views_live) and gallery placeholders ------------------------------


def jobs_by_codes(team, codes):
    """The team's jobs among `codes` (others' codes silently match nothing)."""
    return team_jobs(team).filter(code__in=codes).select_related("created_by")


def in_flight(team, limit: int = 12) -> list:
    """The team's newest jobs still being made: the gallery's placeholders."""
    return list(team_jobs(team).filter(status__in=Job.IN_FLIGHT_STATUSES).select_related("created_by")
                .order_by("-created_at", "-id")[:limit])


# --- usage (the ledger) ---------------------------------------------------------------------

USAGE_PERIODS = ("day", "week", "month")
USAGE_GROUPS = {"team": "team_id", "user": "user_id", "key": "key_id"}


def usage(*, team=None, user=None, key=None, period: str = "day", by: str = "team", since=None, until=None):
    """Usage per `period` (day / week / month) and per `by` (team / user / key), from the
    ledger: one grouped query on an indexed (team | user | key, created_at) range. Rows:
    {"period", "<by>_id", "generates", "video_seconds", "audio_bytes", "text_chars"}."""
    from django.db.models import Count, Sum
    from django.db.models.functions import Trunc

    from .models import UsageEntry

    if period not in USAGE_PERIODS or by not in USAGE_GROUPS:
        raise ValueError("period must be day, week or month; by team, user or key")
    rows = UsageEntry.objects.all()
    for name, value in (("team", team), ("user", user), ("key", key)):
        if value is not None:
            rows = rows.filter(**{name: value})
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    generate = Q(kind=UsageEntry.Kind.GENERATE)
    return (rows.annotate(period=Trunc("created_at", period)).values("period", USAGE_GROUPS[by])
            .annotate(generates=Count("id", filter=generate), video_seconds=Sum("video_seconds"),
                      audio_bytes=Sum("audio_bytes"), text_chars=Sum("text_chars"))
            .order_by("period", USAGE_GROUPS[by]))


def usage_by_day(team, *, since, by: str = "user"):
    """Daily sums for the dashboard (UsageDay): one query on days × people (or keys)."""
    from django.db.models import Sum

    from .models import UsageDay

    field = {"user": "user_id", "key": "key_id"}[by]
    return (UsageDay.objects.filter(team_id=team.pk, day__gte=since).values("day", field)
            .annotate(generates=Sum("generates"), video_seconds=Sum("video_seconds")).order_by("day", field))
