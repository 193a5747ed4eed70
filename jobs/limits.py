"""Limits on job creation, so one person (or one team) cannot starve everyone sharing a
license: how many jobs a person and a team may create per minute, and how many may be in
flight (queued, submitting, started, processing) at once. Settings, with defaults:
JOB_RATE_PER_USER_PER_MINUTE, JOB_RATE_PER_TEAM_PER_MINUTE, JOB_MAX_IN_FLIGHT_PER_USER,
JOB_MAX_IN_FLIGHT_PER_TEAM (0 turns a limit off).

`check(team, user)` runs inside `services.job_create`'s transaction after it has locked
the user's and the team's rows (`select_for_update`, always in that order), so two
requests at once cannot both see "one below the limit" and both create.

The per-minute limits count creation *actions*: the jobs one action makes share their
creation instant (a batch's rows, `services.job_create(created_at=…)`), so a previewed and
confirmed batch counts once. Jobs that wait their turn (`WAITING`, jobs.waiting: a batch's
rows not sent yet) are not counted in flight; they are sent as the in-flight limits leave
room.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Team

from .models import Job

# A job created to wait for an in-flight slot: QUEUED with no due time (jobs.waiting).
WAITING = Q(status=Job.Status.QUEUED, next_poll_at__isnull=True)


def in_flight(jobs):
    """Jobs among `jobs` in flight (queued to be sent, being sent, or being made)."""
    return jobs.filter(status__in=Job.IN_FLIGHT_STATUSES).exclude(WAITING)


def _actions(jobs) -> int:
    """Creation actions among `jobs`: jobs created together share their instant."""
    return jobs.aggregate(n=Count("created_at", distinct=True))["n"]


class JobLimitReached(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def lock(team, user) -> None:
    """Row locks that serialise job creation per person and per team (same order always)."""
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    list(Team.objects.select_for_update().filter(pk=team.pk).values_list("pk"))


def _plural(n: int) -> str:
    return f"{n} video" + ("" if n == 1 else "s")


def check(team, user, *, with_in_flight: bool = True) -> None:
    """Raise JobLimitReached, in words for a person, when a new job would exceed a limit.
    `with_in_flight=False` (a batch, whose rows wait their turn) checks the per-minute ones."""
    since = timezone.now() - timedelta(minutes=1)
    mine, ours = Job.objects.filter(created_by=user), Job.objects.filter(team=team)
    rate_user, rate_team = settings.JOB_RATE_PER_USER_PER_MINUTE, settings.JOB_RATE_PER_TEAM_PER_MINUTE
    max_user, max_team = settings.JOB_MAX_IN_FLIGHT_PER_USER, settings.JOB_MAX_IN_FLIGHT_PER_TEAM
    if not with_in_flight:
        max_user = max_team = 0
    if max_user and in_flight(mine).count() >= max_user:
        raise JobLimitReached(f"You already have {_plural(max_user)} in progress, the most one person may have "
                              "at once. Wait for one to finish (or cancel one), then create this one.")
    if max_team and in_flight(ours).count() >= max_team:
        raise JobLimitReached(f"Your team already has {_plural(max_team)} in progress, the most a team may have "
                              "at once. Wait for one to finish, then try again.")
    if rate_user and _actions(mine.filter(created_at__gte=since)) >= rate_user:
        raise JobLimitReached(f"You have created {_plural(rate_user)} in the last minute, the most one person "
                              "may create per minute. Wait a minute, then try again.")
    if rate_team and _actions(ours.filter(created_at__gte=since)) >= rate_team:
        raise JobLimitReached(f"Your team has created {_plural(rate_team)} in the last minute, the most a team "
                              "may create per minute. Wait a minute, then try again.")
