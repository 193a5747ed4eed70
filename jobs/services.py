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

from . import approvals, archive, limits, quotas, tasks, waiting
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


def job_create(*, team, user, license_key, title: str, policy: approvals.Policy | None = None,
               waits_turn_at=None, **inputs) -> Job:
    """Save a job from the create form's cleaned inputs and enqueue its submission, or
    hold it AWAITING_APPROVAL when the team's rules say so (jobs.approvals; `policy`:
    read once by a caller creating many, e.g. a batch). Raises limits.JobLimitReached
    (nothing saved) when the person or the team is at a rate or concurrency limit, or
    quotas.QuotaReached at a quota or a key's budget; both checked under row locks
    (person, team, key), so they hold under concurrency. A held job holds its quota unit
    as a queued one does.

    `waits_turn_at` (one instant for all rows of a batch, whose caller checked the
    per-minute limits once, jobs.waiting.create_all): the job is created at that instant,
    not checked against the limits, and waits its turn (limits.WAITING) to be sent."""
    with transaction.atomic():
        if waits_turn_at is None:  # (a batch's caller holds these locks already)
            limits.lock(team, user)
        # The pool's choice (keys.selection: disabled, refused or spent keys are skipped).
        license_key = key_for_team(team, spent=quotas.key_month_seconds) or license_key
        quotas.lock_key(license_key)
        if waits_turn_at is None:
            limits.check(team, user)
        now = waits_turn_at or timezone.now()
        audio_type, content = inputs.get("audio_type", ""), inputs.get("content") or ""
        seconds = quotas.estimate_seconds(audio_type, content, inputs.get("audio_seconds"))
        quotas.check(team, user, license_key, seconds, now)
        policy = approvals.policy_for(team, user) if policy is None else policy
        reason = approvals.reasons(policy, creator_name=user.get_username(), audio_type=audio_type, content=content,
                                   audio_seconds=inputs.get("audio_seconds"))
        status = S.AWAITING_APPROVAL if reason else S.QUEUED
        job = Job.objects.create(team=team, created_by=user, license_key=license_key, title=title,
                                 status=status, queued_at=now, created_at=now, quota_at=now,
                                 next_poll_at=None if reason or waits_turn_at else now,
                                 quota_seconds=seconds, approval_reason=reason, **inputs)
        JobEvent.objects.create(job=job, to_status=status, message=f"Created by {user.get_username()}"
                                + (f"; waits for a team admin's approval: {reason}" if reason else
                                   "; waits its turn (sent as the in-flight limits leave room)" if waits_turn_at
                                   else ""),
                                data={"approval_reason": reason} if reason else None, created_at=now)
        audit.record("job_created", actor=user, team=team, target=f"{job.title} ({job.code})")
        if not reason and waits_turn_at is None:
            dispatch_submit(job.pk)
        elif reason and waits_turn_at is None:  # (a batch tells the admins once, jobs.waiting.create_all)
            publish_on_commit(tasks.notify_approval_needed, [job.pk])
    return job


def _take_unit_again(job: Job, license_key, now) -> None:
    """Inside the caller's transaction: lock the person, team and key (limits' order) and
    check the caps for this job's unit at `now`, not counting the unit it held before
    (limits.JobLimitReached / quotas.QuotaReached)."""
    limits.lock(job.team, job.created_by)
    quotas.lock_key(license_key)
    quotas.check(job.team, job.created_by, license_key, job.quota_seconds or 0.0, now, exclude=job.pk)


def job_retry(job: Job, user, *, waits_turn: bool = False) -> bool:
    """A person's explicit Retry: a new attempt of the same job (the old one stays in
    the timeline). The only way out of FAILED or CANCELED. It is sent (and billed) again,
    so the team's approval rules apply again (unless an owner or admin presses Retry).

    `waits_turn` (a batch's failed rows retried together): it waits its turn behind the
    in-flight limits (limits.WAITING) instead of being sent at once; the caller runs
    jobs.waiting.release afterwards."""
    if job.status not in (S.FAILED, S.CANCELED):
        return False
    now = timezone.now()
    license_key = key_for_team(job.team, spent=quotas.key_month_seconds) or job.license_key
    with transaction.atomic():
        _take_unit_again(job, license_key, now)  # sent again, so it takes a unit again
        reason = approvals.reasons(approvals.policy_for(job.team, job.created_by, actor=user),
                                   creator_name=job.created_by.get_username(), audio_type=job.audio_type,
                                   content=job.content, audio_seconds=job.audio_seconds)
        ok = transition(
            job, S.AWAITING_APPROVAL if reason else S.QUEUED,
            f"Retry by {user.get_username()} (attempt {job.attempt + 1})"
            + (f"; waits for a team admin's approval: {reason}" if reason else
               "; waits its turn (sent as the in-flight limits leave room)" if waits_turn else ""),
            data={"approval_reason": reason} if reason else None,
            attempt=F("attempt") + 1, submit_tries=0, upstream_task_id="", upstream_status="", upstream_reply=None,
            video_url="", error_category="", error_message="", queued_at=now,
            next_poll_at=None if reason or waits_turn else now,
            submitting_at=None, submitted_at=None, finished_at=None, deadline_at=None, poll_count=0,
            last_pending_s=None, claim_token="", license_key=license_key, quota_at=now, quota_released=False,
            approval_reason=reason, approval_decided_by=None, approval_decided_at=None, approval_comment="",
        )
        if ok:
            job.attempt += 1
            audit.record("job_retried", actor=user, team=job.team_id, target=f"{job.title} ({job.code})",
                         attempt=job.attempt)
            if reason:
                publish_on_commit(tasks.notify_approval_needed, [job.pk])
            elif not waits_turn:
                dispatch_submit(job.pk)
    return ok


def job_cancel(job: Job, user) -> bool:
    """Stop tracking a job. NavTalk has no cancel call: an upstream task keeps running."""
    if job.status not in Job.IN_FLIGHT_STATUSES + Job.WAITING_STATUSES:
        return False
    # Canceled before it was sent: nothing was made, the quota unit is given back.
    release = {"quota_released": True} if job.status in (S.QUEUED, S.AWAITING_APPROVAL) else {}
    with transaction.atomic():
        canceled = transition(job, S.CANCELED, f"Canceled by {user.get_username()}",
                              finished_at=timezone.now(), next_poll_at=None, claim_token="", **release)
        if canceled:
            audit.record("job_canceled", actor=user, team=job.team_id, target=f"{job.title} ({job.code})")
    return canceled


# --- approval (jobs.approvals says which jobs wait) ----------------------------------------


class ApprovalRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def job_approve(job: Job, user) -> bool:
    """A team owner/admin approves a job AWAITING_APPROVAL: it becomes QUEUED and is
    dispatched after commit (once the in-flight limits leave room, jobs.waiting). Its
    quota unit moves to now (like a Retry) and the caps are checked again (without its
    own unit), so caps lowered meanwhile still hold (limits.JobLimitReached /
    quotas.QuotaReached, nothing changed)."""
    if job.status != S.AWAITING_APPROVAL:
        return False
    now = timezone.now()
    license_key = key_for_team(job.team, spent=quotas.key_month_seconds) or job.license_key
    with transaction.atomic():
        _take_unit_again(job, license_key, now)
        # Approved, it waits its turn behind the in-flight limits like a batch's row
        # (jobs.waiting: QUEUED with no due time), and is sent at once when there is room.
        ok = transition(job, S.QUEUED, f"Approved by {user.get_username()}", data={"approved_by": user.pk},
                        license_key=license_key, queued_at=now, next_poll_at=None, quota_at=now,
                        approval_decided_by=user, approval_decided_at=now)
        if ok:
            audit.record("job_approved", actor=user, team=job.team_id, target=f"{job.title} ({job.code})",
                         creator=job.created_by.get_username())
            transaction.on_commit(lambda: waiting.release(job.team_id))  # dispatches it (on commit) if room
            publish_on_commit(tasks.notify_approval_decided, job.pk)
    return ok


def job_reject(job: Job, user, comment: str) -> bool:
    """A team owner/admin rejects a job AWAITING_APPROVAL, saying why (`comment`, required):
    REJECTED, terminal. Its inputs stay (Duplicate and edit starts from them); its quota
    unit is given back (nothing was sent)."""
    comment = (comment or "").strip()
    if not comment:
        raise ApprovalRefused("Say why, in a few words: the person who made the video reads it.")
    if job.status != S.AWAITING_APPROVAL:
        return False
    now = timezone.now()
    with transaction.atomic():
        ok = transition(job, S.REJECTED, f"Not approved by {user.get_username()}: {comment[:1000]}",
                        data={"rejected_by": user.pk}, finished_at=now, next_poll_at=None, quota_released=True,
                        approval_decided_by=user, approval_decided_at=now, approval_comment=comment[:2000])
        if ok:
            audit.record("job_rejected", actor=user, team=job.team_id, target=f"{job.title} ({job.code})",
                         creator=job.created_by.get_username(), comment=comment[:500])
            publish_on_commit(tasks.notify_approval_decided, job.pk)
    return ok


# --- side effects of finishing -------------------------------------------------------


def job_finished(job_id: int, status: str) -> None:
    """Side effects of DONE/FAILED, run once: only the transition's winner gets here."""
    if status == S.DONE:
        archive.schedule(job_id)
    publish(tasks.notify_job_finished, job_id)
