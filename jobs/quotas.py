"""Quotas and spend caps: videos per day and seconds of video per month, for a team and
for each of its members (set on the Team page within the ceilings a staff admin sets in
the admin), and seconds of video per month for a license key (its budget).

A job holds one unit from when it is created (or retried): `quota_at`, and its seconds:
the video's duration once known, until then `quota_seconds`, an estimate (typed text:
its length at CHARS_PER_SECOND; an uploaded audio file: its length, read at upload;
linked audio, or an upload whose length could not be read: 0, not known before the video
is made, so such a job is admitted while any room is left). The unit is given back when
the job fails before the upstream accepted it (`services.fail` sets `quota_released`).

`check` runs inside `services.job_create` / `job_retry`'s transaction, under the same
row locks as `jobs.limits` (person, team, then key, always in that order), so two
submits at once cannot both take the last unit.
"""

import math
from datetime import datetime, timedelta

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Membership
from keys.models import LicenseKey

from .limits import JobLimitReached
from .models import Job

CHARS_PER_SECOND = 15  # speech of typed text, for the estimate


class QuotaReached(JobLimitReached):
    """A cap would be passed; `message` says which, what is left and when it resets."""


def estimate_seconds(audio_type: str, content: str = "", audio_seconds: float | None = None) -> float:
    if audio_type == Job.Audio.TEXT:
        return float(max(1, math.ceil(len(content) / CHARS_PER_SECOND)))
    if audio_type == Job.Audio.FILE and audio_seconds:
        return float(audio_seconds)
    return 0.0


def lock_key(key) -> None:
    """After limits.lock (person, team): the key, shared by teams."""
    if key is not None:
        list(LicenseKey.objects.select_for_update().filter(pk=key.pk).values_list("pk"))


def _smallest(*values):
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _first(*values):
    return next((v for v in values if v is not None), None)


def team_caps(team, member=None) -> dict:
    """Effective caps (None: no limit): the admin's values, never above the ceilings.
    With `member` (a Membership, or a dict with its jobs_per_day/video_seconds_per_month),
    that person's own caps, set on the Team page, replace the team's member default."""
    if isinstance(member, dict):
        own_jobs, own_seconds = member.get("jobs_per_day"), member.get("video_seconds_per_month")
    else:
        own_jobs, own_seconds = getattr(member, "jobs_per_day", None), getattr(member, "video_seconds_per_month", None)
    return {
        "team_jobs": _smallest(team.jobs_per_day, team.max_jobs_per_day),
        "team_seconds": _smallest(team.video_seconds_per_month, team.max_video_seconds_per_month),
        "member_jobs": _smallest(_first(own_jobs, team.member_jobs_per_day), team.max_jobs_per_day),
        "member_seconds": _smallest(_first(own_seconds, team.member_video_seconds_per_month),
                                    team.max_video_seconds_per_month),
        "member_own": own_jobs is not None or own_seconds is not None,
    }


def day_start(now: datetime) -> datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime) -> datetime:
    return day_start(now).replace(day=1)


def next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


def usage(rows, now: datetime) -> tuple[int, float]:
    """(units taken today, video seconds taken this month) by these jobs: one query."""
    start_day, start_month = day_start(now), month_start(now)
    agg = rows.filter(quota_released=False, quota_at__gte=min(start_day, start_month)).aggregate(
        today=Count("id", filter=Q(quota_at__gte=start_day)),
        seconds=Coalesce(Sum(Coalesce(F("video_duration"), F("quota_seconds")), filter=Q(quota_at__gte=start_month)),
                         0.0))
    return agg["today"], agg["seconds"]


def key_month_seconds(key) -> float:
    """Seconds of video `key` made (or holds) this month: for keys.selection's budgets."""
    return usage(Job.objects.filter(license_key=key), timezone.now())[1]


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _until(when: datetime, now: datetime) -> str:
    left = when - now
    hours, rest = divmod(int(left.total_seconds()), 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{max(1, rest // 60)} min"


def check(team, user, key, seconds: float, now: datetime | None = None, *, exclude: int | None = None) -> None:
    """Raise QuotaReached (in plain words) when one more job of `seconds` would pass a cap
    (`exclude`: a job being retried, whose old unit it replaces). Caps are read afresh,
    under the caller's locks."""
    now = now or timezone.now()
    # The team's caps and this person's own, in one query (a batch checks once per row).
    mine = Membership.objects.filter(team_id=OuterRef("pk"), user_id=user.pk)
    team = type(team).objects.annotate(own_jobs=Subquery(mine.values("jobs_per_day")[:1]),
                                       own_seconds=Subquery(mine.values("video_seconds_per_month")[:1])).get(pk=team.pk)
    caps = team_caps(team, {"jobs_per_day": team.own_jobs, "video_seconds_per_month": team.own_seconds})
    jobs = Job.objects.exclude(pk=exclude) if exclude else Job.objects.all()
    tomorrow = day_start(now) + timedelta(days=1)
    month_end = next_month(month_start(now))
    day_reset = f"it starts again at midnight ({_until(tomorrow, now)} from now)"
    month_reset = f"it starts again on {date_format(timezone.localtime(month_end), 'j F')}"
    checks = [("You have", "your", jobs.filter(created_by=user, team=team), caps["member_jobs"],
               caps["member_seconds"]),
              ("Your team has", "its", jobs.filter(team=team), caps["team_jobs"], caps["team_seconds"])]
    for who, whose, rows, max_jobs, max_seconds in checks:
        if max_jobs is None and max_seconds is None:
            continue
        today, used = usage(rows, now)
        if max_jobs is not None and today + 1 > max_jobs:
            raise QuotaReached(f"{who} made {today} of {whose} {max_jobs} videos allowed today, so none is left; "
                               f"{day_reset}.")
        if max_seconds is not None and (used >= max_seconds or used + seconds > max_seconds):
            raise QuotaReached(f"{who} used {_clock(used)} of {whose} {_clock(max_seconds)} of video this month; "
                               f"{_clock(max_seconds - used)} left, and this video needs about {_clock(seconds)}. "
                               f"{month_reset.capitalize()}.")
    budget = LicenseKey.objects.filter(pk=key.pk).values_list("monthly_budget_seconds", flat=True).first() \
        if key is not None else None
    if budget is not None:
        _today, used = usage(jobs.filter(license_key=key), now)
        if used >= budget or used + seconds > budget:
            raise QuotaReached(f"The team's license has used {_clock(used)} of its {_clock(budget)} budget of video "
                               f"this month; {_clock(budget - used)} left, and this video needs about "
                               f"{_clock(seconds)}. {month_reset.capitalize()}; ask an admin for another license.")
