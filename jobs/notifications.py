"""Telling people their videos finished: an in-app list and optional email.

The in-app list is a query (the person's jobs finished, or approved or not approved by
a team admin, since they last looked), so it needs no bookkeeping per job; email goes
out once per finish or decision because only the transition's winner publishes it.
"""

import logging
from datetime import UTC, datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection
from django.db.models import Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile
from accounts.permissions import MANAGERS

from .models import Job

log = logging.getLogger(__name__)
FINISHED = (Job.Status.DONE, Job.Status.FAILED)


def profile_for(user) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def _noticed(since=None):
    """Jobs with news for their creator: finished (since `since`), or decided on by an
    approver (since `since`). Each side has its partial index."""
    if since is None:
        return Q(status__in=FINISHED) | Q(approval_decided_at__isnull=False)
    return Q(status__in=FINISHED, finished_at__gt=since) | Q(approval_decided_at__gt=since)


def unseen(user, team=None):
    """The person's jobs that finished, or were approved or not, since they last opened the list."""
    seen_at = Profile.objects.filter(user=user).values_list("notifications_seen_at", flat=True).first()
    jobs = Job.objects.filter(_noticed(seen_at), created_by=user)
    if team is not None:
        jobs = jobs.filter(team=team)
    return jobs.order_by(Coalesce("finished_at", "approval_decided_at").desc(nulls_last=True))


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # "never looked": everything counts
HEADER_CAP = 99  # the header shows "99+" beyond this


def unseen_count(user, team=None, cap: int = HEADER_CAP + 1) -> int:
    """`unseen(user, team).count()` in one query (the header shows it on every page),
    counting at most `cap` rows so the query stays cheap however long the history: the
    finished jobs and the decided ones are two index range scans (their partial indexes)
    joined by UNION (a job in both counts once), not one OR that scans the team's jobs."""
    since = Coalesce(Subquery(Profile.objects.filter(user=user).values("notifications_seen_at")[:1]),
                     Value(EPOCH))
    mine = Job.objects.filter(created_by=user) if team is None else Job.objects.filter(created_by=user, team=team)
    finished = mine.filter(status__in=FINISHED, finished_at__gt=since).order_by().values("pk")
    decided = mine.filter(approval_decided_at__gt=since).order_by().values("pk")
    if connection.features.supports_slicing_ordering_in_compound:  # PostgreSQL: each branch a backward
        # scan of its partial index from the newest, stopping at `since` or at `cap` rows.
        finished = finished.order_by("-finished_at")[:cap]
        decided = decided.order_by("-approval_decided_at")[:cap]
    return finished.union(decided).order_by()[:cap].count()


def earlier(user, team=None, limit: int = 10):
    """The person's finished jobs they have already seen (the list's "Earlier" part)."""
    seen_at = Profile.objects.filter(user=user).values("notifications_seen_at")[:1]
    jobs = Job.objects.filter(created_by=user, status__in=FINISHED + (Job.Status.REJECTED,),
                              finished_at__lte=Subquery(seen_at))
    if team is not None:
        jobs = jobs.filter(team=team)
    return jobs.order_by("-finished_at")[:limit]


def mark_seen(user) -> None:
    Profile.objects.update_or_create(user=user, defaults={"notifications_seen_at": timezone.now()})


def job_finished(job_id: int) -> bool:
    """Email the creator if they asked for it. Returns whether an email was sent."""
    job = Job.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None or job.status not in FINISHED or not job.created_by.email:
        return False
    profile = Profile.objects.filter(user=job.created_by).first()
    wanted = profile and (profile.email_on_done if job.status == Job.Status.DONE else profile.email_on_failed)
    if not wanted:
        return False
    url = settings.PUBLIC_BASE_URL + reverse("jobs:detail", args=[job.code])
    if job.status == Job.Status.DONE:
        subject = f"Your video “{job.title}” is ready"
        body = f"Your video “{job.title}” is ready to watch and download:\n\n{url}\n"
    else:
        subject = f"Your video “{job.title}” failed"
        body = f"Your video “{job.title}” could not be made.\n\n{job.error_message}\n{job.hint}\n\n{url}\n"
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [job.created_by.email])
    log.info("job %s: notification email sent", job_id)
    return True


def approval_decided(job_id: int) -> bool:
    """Email the creator that a team admin approved their video (it is being made now) or
    did not (with the admin's comment), if they asked for email about their videos (either
    box on the notifications page). Returns whether an email was sent."""
    job = Job.objects.select_related("created_by", "approval_decided_by").filter(pk=job_id).first()
    if job is None or job.approval_decided_at is None or not job.created_by.email:
        return False
    profile = Profile.objects.filter(user=job.created_by).first()
    if not (profile and (profile.email_on_done or profile.email_on_failed)):
        return False
    url = settings.PUBLIC_BASE_URL + reverse("jobs:detail", args=[job.code])
    who = job.approval_decided_by.get_username() if job.approval_decided_by else "A team admin"
    if job.status == Job.Status.REJECTED:
        subject = f"Your video “{job.title}” was not approved"
        body = (f"{who} did not approve your video “{job.title}”, so it was not made. They wrote:\n\n"
                f"{job.approval_comment}\n\nEverything you entered is kept: open the video and choose "
                f"“Duplicate and edit” to change it and send it again.\n\n{url}\n")
    else:
        subject = f"Your video “{job.title}” was approved"
        body = f"{who} approved your video “{job.title}”; it is being made now.\n\n{url}\n"
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [job.created_by.email])
    except OSError:
        log.warning("job %s: the approval email could not be sent", job_id)
        return False
    log.info("job %s: approval decision emailed", job_id)
    return True


def approval_needed(job_ids: list[int]) -> int:
    """Email the team's owners and admins who asked for email about their videos (either
    box on the notifications page, the creators' opt-in) that videos wait for their
    approval: one email for a job or a whole batch, naming the jobs (title, who made it,
    why it waits) and linking to the Approvals page. Jobs decided meanwhile are left out.
    Returns how many people were emailed; never raises, never names a license."""
    from accounts.models import Membership

    jobs = list(Job.objects.filter(pk__in=job_ids, status=Job.Status.AWAITING_APPROVAL)
                .select_related("created_by", "team").order_by("created_at", "id"))
    if not jobs:
        return 0
    team = jobs[0].team
    emails = sorted(set(
        Membership.objects.filter(team=team, role__in=MANAGERS)
        .filter(Q(user__portal_profile__email_on_done=True) | Q(user__portal_profile__email_on_failed=True))
        .exclude(user__email="").values_list("user__email", flat=True)))
    if not emails:
        return 0
    shown = 10
    lines = [f"- “{job.title}” by {job.created_by.get_username()}: {job.approval_reason}" for job in jobs[:shown]]
    if len(jobs) > shown:
        lines.append(f"- and {len(jobs) - shown} more")
    what = f"“{jobs[0].title}”" if len(jobs) == 1 else f"{len(jobs)} videos"
    subject = f"{what} waiting for your approval in {team.name}"
    body = (f"{'This video waits' if len(jobs) == 1 else 'These videos wait'} for a team owner's or admin's "
            "approval before anything is sent:\n\n" + "\n".join(lines)
            + f"\n\nApprove or reject {'it' if len(jobs) == 1 else 'them'} on the Approvals page:\n\n"
            f"{settings.PUBLIC_BASE_URL}{reverse('jobs:approvals')}\n")
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, emails)
    except OSError:
        log.warning("jobs %s await approval: the admins' email could not be sent", job_ids[:10])
        return 0
    log.info("%d job(s) await approval: %d admin(s) emailed", len(jobs), len(emails))
    return len(emails)


def key_refused(key, team) -> int:
    """Tell the team's owners and admins (those with an email) that the video service
    refused one of the team's license keys. Returns how many were emailed; never raises."""
    from accounts.models import Membership

    admins = (Membership.objects.filter(team=team, role__in=MANAGERS)
              .exclude(user__email="").values_list("user__email", flat=True))
    emails = sorted(set(admins))
    if not emails:
        return 0
    subject = f"The video service refused the license “{key.name}” of {team.name}"
    body = (f"The video service refused the license key “{key.name}” ({key.masked}) when {team.name} sent a "
            "video. New videos now use the team's next key, if it has one. Check the key in the portal's admin "
            f"(saving it lets new videos try it again):\n\n{settings.PUBLIC_BASE_URL}/admin/keys/licensekey/\n")
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, emails)
    except OSError:
        log.warning("key %s refused: the admins' email could not be sent", key.pk)
        return 0
    log.info("key %s refused: %d admin(s) emailed", key.pk, len(emails))
    return len(emails)
