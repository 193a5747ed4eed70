"""The only code that changes `Job.status`, and the actions people take on a job.

Every transition is a compare-and-swap (`filter(pk=…, status=observed).update(…) == 1`)
that writes a JobEvent in the same transaction, so duplicate or concurrent tasks are
harmless: the loser's update matches no row and it stops. The pipeline's steps live
beside this module and change a status only through `transition` and `fail`:
`submit` (POST /generate), `polling` (GET /query_status, scheduled by `schedule`) and
`reconcile` (repairs what lost messages and killed workers left behind).
"""

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import audit
from keys.selection import key_for_team

from . import archive, limits, quotas, tasks
from .dispatch import publish, publish_on_commit
from .models import Job, JobEvent

log = logging.getLogger(__name__)
S = Job.Status


# --- transitions --------------------------------------------------------------------


def transition(job: Job, to_status: str, message: str, *, data: dict | None = None, **fields) -> bool:
    """CAS from the status `job` was read with. True if this call made the change."""
    now = timezone.now()
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, status=job.status).update(status=to_status, updated_at=now, **fields)
        if updated != 1:
            return False
        JobEvent.objects.create(job_id=job.pk, attempt=job.attempt, from_status=job.status, to_status=to_status,
                                message=message, data=data, created_at=now)
    log.debug("job %s: %s -> %s", job.pk, job.status, to_status)
    job.status = to_status
    for name, value in fields.items():
        if not hasattr(value, "resolve_expression"):
            setattr(job, name, value)
    return True


def fail(job: Job, category: str, message: str, reply=None) -> bool:
    # Failed before the upstream accepted it (and provably so: not "interrupted"): the
    # quota unit it held is given back (jobs.quotas).
    release = not job.upstream_task_id and category != "interrupted"
    failed = transition(
        job, S.FAILED, message, data={"category": category},
        error_category=category, error_message=message[:2000], upstream_reply=reply,
        finished_at=timezone.now(), next_poll_at=None, claim_token="", **({"quota_released": True} if release else {}),
    )
    if failed:
        transaction.on_commit(lambda: job_finished(job.pk, S.FAILED))
    return failed


def dispatch_submit(job_id: int, countdown: float = 0) -> None:
    """Publish submit_job after the current transaction commits. If the broker is down
    the job stays QUEUED and the reconciler dispatches it later: nothing is lost."""
    publish_on_commit(tasks.submit_job, job_id, countdown=countdown)


# --- person-facing actions ----------------------------------------------------------


def job_create(*, team, user, license_key, title: str, **inputs) -> Job:
    """Save a job from the create form's cleaned inputs and enqueue its submission.
    Raises limits.JobLimitReached (nothing saved) when the person or the team is at a
    rate or concurrency limit, or quotas.QuotaReached at a quota or a key's budget; both
    checked under row locks (person, team, key), so they hold under concurrency."""
    with transaction.atomic():
        limits.lock(team, user)
        # The pool's choice (keys.selection: disabled, refused or spent keys are skipped).
        license_key = key_for_team(team, spent=quotas.key_month_seconds) or license_key
        quotas.lock_key(license_key)
        limits.check(team, user)
        now = timezone.now()
        seconds = quotas.estimate_seconds(inputs.get("audio_type", ""), inputs.get("content") or "")
        quotas.check(team, user, license_key, seconds, now)
        job = Job.objects.create(team=team, created_by=user, license_key=license_key, title=title,
                                 status=S.QUEUED, queued_at=now, next_poll_at=now, created_at=now, quota_at=now,
                                 quota_seconds=seconds, **inputs)
        JobEvent.objects.create(job=job, to_status=S.QUEUED, message=f"Created by {user.get_username()}",
                                created_at=now)
        audit.record("job_created", actor=user, team=team, target=f"{job.title} ({job.code})")
        dispatch_submit(job.pk)
    return job


def job_retry(job: Job, user) -> bool:
    """A person's explicit Retry: a new attempt of the same job (the old one stays in
    the timeline). The only way out of FAILED or CANCELED."""
    if job.status not in (S.FAILED, S.CANCELED):
        return False
    now = timezone.now()
    license_key = key_for_team(job.team, spent=quotas.key_month_seconds) or job.license_key
    with transaction.atomic():
        # Sent again, so it takes a unit again (its creator's and team's; the key's).
        limits.lock(job.team, job.created_by)
        quotas.lock_key(license_key)
        quotas.check(job.team, job.created_by, license_key, job.quota_seconds or 0.0, now, exclude=job.pk)
        ok = transition(
            job, S.QUEUED, f"Retry by {user.get_username()} (attempt {job.attempt + 1})",
            attempt=F("attempt") + 1, submit_tries=0, upstream_task_id="", upstream_status="", upstream_reply=None,
            video_url="", error_category="", error_message="", queued_at=now, next_poll_at=now,
            submitting_at=None, submitted_at=None, finished_at=None, deadline_at=None, poll_count=0,
            last_pending_s=None, claim_token="", license_key=license_key, quota_at=now, quota_released=False,
        )
        if ok:
            job.attempt += 1
            audit.record("job_retried", actor=user, team=job.team_id, target=f"{job.title} ({job.code})",
                         attempt=job.attempt)
            dispatch_submit(job.pk)
    return ok


def job_cancel(job: Job, user) -> bool:
    """Stop tracking a job. NavTalk has no cancel call: an upstream task keeps running."""
    if job.status not in Job.IN_FLIGHT_STATUSES:
        return False
    # Canceled before it was sent: nothing was made, the quota unit is given back.
    release = {"quota_released": True} if job.status == S.QUEUED else {}
    with transaction.atomic():
        canceled = transition(job, S.CANCELED, f"Canceled by {user.get_username()}",
                              finished_at=timezone.now(), next_poll_at=None, claim_token="", **release)
        if canceled:
            audit.record("job_canceled", actor=user, team=job.team_id, target=f"{job.title} ({job.code})")
    return canceled


# --- side effects of finishing -------------------------------------------------------


def job_finished(job_id: int, status: str) -> None:
    """Side effects of DONE/FAILED, run once: only the transition's winner gets here."""
    if status == S.DONE:
        archive.schedule(job_id)
    publish(tasks.notify_job_finished, job_id)
