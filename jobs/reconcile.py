"""Repairs what lost messages or killed workers left behind (beat, every ~60 s)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import archive, services, waiting
from .models import Job
from .services import fail

log = logging.getLogger(__name__)
S = Job.Status


def dispatch_grace() -> timedelta:
    """A QUEUED job whose submit message should have run this long ago is re-dispatched."""
    return timedelta(seconds=settings.RECONCILE_DISPATCH_GRACE_SECONDS)


def reconcile(now=None) -> dict:
    """Repair what lost messages or killed workers left behind (runs every ~60 s).

    - QUEUED past its due time by RECONCILE_DISPATCH_GRACE_SECONDS: its submit message was lost (broker
      down at submit, restarted Redis): publish it again. Duplicates are harmless.
    - SUBMITTING for longer than a /generate call can take: the worker died during the
      call, so we cannot know whether the upstream received it. Rule: never resend on our
      own (at most one /generate per job); fail it as `interrupted` so a person can Retry.
    - STARTED/PROCESSING with no next_poll_at: schedule a poll now.
    - Jobs waiting their turn (a batch's rows, jobs.waiting): send those the limits leave room for.
    """
    now = now or timezone.now()
    counts = {"redispatched": 0, "interrupted": 0, "rescheduled": 0}
    stale_queued = Job.objects.filter(status=S.QUEUED, next_poll_at__lt=now - dispatch_grace())
    for job_id in stale_queued.values_list("pk", flat=True)[:1000]:
        if Job.objects.filter(pk=job_id, status=S.QUEUED).update(next_poll_at=now) == 1:
            services.dispatch_submit(job_id)
            counts["redispatched"] += 1
    call_limit = settings.NAVTALK_CONNECT_TIMEOUT + settings.NAVTALK_READ_TIMEOUT + 30
    stuck = Job.objects.filter(status=S.SUBMITTING, submitting_at__lt=now - timedelta(seconds=call_limit))
    for job in stuck[:1000]:
        if fail(job, "interrupted", "The portal stopped while sending this job to the video service."):
            counts["interrupted"] += 1
    counts["rescheduled"] = Job.objects.filter(status__in=Job.ACTIVE_STATUSES, next_poll_at__isnull=True).update(
        next_poll_at=now)
    counts["archives"] = archive.reconcile_archives(now)
    counts["released"] = waiting.release_all()
    if any(counts.values()):
        log.info("reconcile: %s", counts)
    return counts
