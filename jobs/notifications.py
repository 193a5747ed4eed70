"""Telling people their videos finished: an in-app list and optional email.

The in-app list is a query (the person's jobs finished since they last looked), so it
needs no bookkeeping per job; email goes out once per finish because only the
transition's winner calls `job_finished`.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Exists, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile

from .models import Job

log = logging.getLogger(__name__)
FINISHED = (Job.Status.DONE, Job.Status.FAILED)


def profile_for(user) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def unseen(user, team=None):
    """The person's jobs that finished since they last opened the list."""
    seen_at = Profile.objects.filter(user=user).values_list("notifications_seen_at", flat=True).first()
    jobs = Job.objects.filter(created_by=user, status__in=FINISHED)
    if team is not None:
        jobs = jobs.filter(team=team)
    if seen_at is not None:
        jobs = jobs.filter(finished_at__gt=seen_at)
    return jobs.order_by("-finished_at")


HEADER_CAP = 99  # the header shows "99+" beyond this


def unseen_count(user, team=None, cap: int = HEADER_CAP + 1) -> int:
    """`unseen(user, team).count()` in one query (the header shows it on every page),
    counting at most `cap` rows so the query stays cheap however long the history."""
    seen_at = Profile.objects.filter(user=user).values("notifications_seen_at")[:1]
    jobs = Job.objects.filter(created_by=user, status__in=FINISHED).filter(
        Q(finished_at__gt=Subquery(seen_at)) | ~Exists(Profile.objects.filter(user=user)))
    if team is not None:
        jobs = jobs.filter(team=team)
    return jobs[:cap].count()


def earlier(user, team=None, limit: int = 10):
    """The person's finished jobs they have already seen (the list's "Earlier" part)."""
    seen_at = Profile.objects.filter(user=user).values("notifications_seen_at")[:1]
    jobs = Job.objects.filter(created_by=user, status__in=FINISHED, finished_at__lte=Subquery(seen_at))
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


def key_refused(key, team) -> int:
    """Tell the team's owners and admins (those with an email) that the video service
    refused one of the team's license keys. Returns how many were emailed; never raises."""
    from accounts.models import Membership

    admins = (Membership.objects.filter(team=team, role__in=[Membership.Role.OWNER, Membership.Role.ADMIN])
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
