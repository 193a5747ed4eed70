"""The batch poller: claims due jobs, asks the upstream about them concurrently, and
applies each answer (through the services' transitions) as it arrives."""

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from navtalk.client import NavTalkError, TaskStatus

from .models import Job
from .schedule import expected_duration, forget, next_poll_delay, surprisingly_early
from .services import fail, job_finished, transition
from .submit import backoff, client_for

S = Job.Status
_NOT_QUERIED = object()
log = logging.getLogger(__name__)


def _unreadable(exc: Exception) -> NavTalkError:
    """What a reply no code path expected becomes: a transient upstream error (the job
    backs off and is polled again until its deadline), never a crashed round."""
    return NavTalkError(f"The upstream's reply could not be read ({type(exc).__name__})", permanent=False,
                        category="upstream_error")


def poll_lease() -> timedelta:
    """A claimed poll whose worker died is claimable again after this long."""
    return timedelta(seconds=settings.POLL_LEASE_SECONDS)


def poll_round_budget() -> float:
    """Seconds into a poll round after which no new status query starts, so that the
    round (budget + one call's timeouts) ends before its claims' lease expires."""
    call = settings.NAVTALK_CONNECT_TIMEOUT + settings.NAVTALK_READ_TIMEOUT
    margin = min(5.0, 0.1 * settings.POLL_LEASE_SECONDS)
    return max(0.0, settings.POLL_LEASE_SECONDS - call - margin)


def _claim_due(now, limit: int) -> list[Job]:
    """Claim up to `limit` due jobs with one conditional UPDATE; a concurrent poller's
    UPDATE matches none of the same rows (their next_poll_at moved past now)."""
    due_ids = list(Job.objects.filter(status__in=Job.ACTIVE_STATUSES, next_poll_at__lte=now)
                   .order_by("next_poll_at").values_list("pk", flat=True)[:limit])
    if not due_ids:
        return []
    token = uuid.uuid4().hex
    Job.objects.filter(pk__in=due_ids, status__in=Job.ACTIVE_STATUSES, next_poll_at__lte=now).update(
        next_poll_at=now + poll_lease(), claim_token=token)
    return list(Job.objects.select_related("license_key").filter(claim_token=token))


def poll_due_jobs(now=None) -> int:
    """Query every due job's status concurrently and apply the answers. Returns how many
    jobs were polled. Holds a worker slot for one round of HTTP calls, never a job's life."""
    now = now or timezone.now()
    jobs = _claim_due(now, settings.POLL_BATCH_SIZE)
    if not jobs:
        return 0
    secrets, clients = {}, {}
    for job in jobs:
        if job.license_key_id and job.license_key_id not in secrets:
            secrets[job.license_key_id] = job.license_key.secret
            # One client per key and round: each pool thread keeps its connection alive.
            clients[job.license_key_id] = client_for(job.license_key)

    # Start no query after the round's budget: a claim must outlive the round (no second
    # poller may query a job meanwhile), and a short lease lets a crashed worker's jobs be
    # polled again soon. Jobs left over are released for the next round.
    budget_end = time.monotonic() + poll_round_budget()

    def query(job):
        if time.monotonic() > budget_end:
            return _NOT_QUERIED
        if job.license_key_id is None:
            return NavTalkError("The job's license key was deleted", permanent=True, category="configuration")
        try:
            return clients[job.license_key_id].query_status(secrets[job.license_key_id], job.upstream_task_id)
        except NavTalkError as exc:
            return exc
        except Exception as exc:  # one poisoned key or reply never aborts the round
            log.exception("job %s: polling raised", job.pk)
            return _unreadable(exc)

    with ThreadPoolExecutor(max_workers=min(settings.POLL_CONCURRENCY, len(jobs))) as pool:
        futures = {pool.submit(query, job): job for job in jobs}
        # Apply each answer as it arrives (here, in this thread: one DB connection), so a
        # finished job is visible without waiting for the round's slowest call.
        for future in as_completed(futures):
            job, result = futures[future], future.result()
            if result is _NOT_QUERIED:
                Job.objects.filter(pk=job.pk, claim_token=job.claim_token).update(claim_token="", next_poll_at=now)
            else:
                _apply_safely(job, result, now)
    _summary.add(len(jobs))
    return len(jobs)


class _Summary:
    """One INFO line a minute at most about the poller's work (details are at DEBUG), so
    that a running studio's log stays readable."""

    EVERY_SECONDS = 60.0

    def __init__(self):
        self.since = time.monotonic()
        self.rounds = self.queries = 0

    def add(self, queries: int) -> None:
        self.rounds += 1
        self.queries += queries
        elapsed = time.monotonic() - self.since
        if elapsed >= self.EVERY_SECONDS:
            log.info("poller: %d status queries in %d rounds over the last %.0f s", self.queries, self.rounds, elapsed)
            self.since, self.rounds, self.queries = time.monotonic(), 0, 0


_summary = _Summary()


def _apply_safely(job: Job, result, now) -> None:
    """apply_status, but an answer that cannot be applied (a reply the database refuses,
    say) fails that job alone, with a category, instead of the whole round."""
    try:
        apply_status(job, result)
    except Exception as exc:
        log.exception("job %s: applying the upstream's answer raised", job.pk)
        try:
            job.refresh_from_db(fields=["status"])
            if job.status in Job.ACTIVE_STATUSES:
                fail(job, "upstream_error", f"The upstream's reply could not be used ({type(exc).__name__}).")
        except Exception:
            log.exception("job %s: could not record the failure; releasing the claim", job.pk)
            Job.objects.filter(pk=job.pk, claim_token=job.claim_token).update(claim_token="", next_poll_at=now)


def _look_again_if_faster(job: Job, now, estimate) -> None:
    """A job done much sooner than its key's recent ones (`estimate`, read before this
    job counted): the upstream may have got faster, so the key's other jobs in flight
    are polled at the next tick instead of at the times the old estimate gave them (one
    UPDATE; jobs claimed by a poll round are left alone)."""
    if job.submitted_at is None or job.license_key_id is None:
        return
    if not surprisingly_early((now - job.submitted_at).total_seconds(), estimate):
        return
    forget(job.license_key_id)
    Job.objects.filter(license_key_id=job.license_key_id, status__in=Job.ACTIVE_STATUSES, claim_token="",
                       next_poll_at__gt=now + timedelta(seconds=1)).update(next_poll_at=now)


def apply_status(job: Job, result: TaskStatus | NavTalkError) -> None:
    now = timezone.now()
    token = job.claim_token
    if isinstance(result, TaskStatus) and result.status == "done":
        before = expected_duration(job.license_key_id)
        if transition(job, S.DONE, "Video ready", upstream_status="done", upstream_reply=result.raw,
                       video_url=result.video_url, finished_at=now, next_poll_at=None, claim_token="",
                       poll_count=F("poll_count") + 1):
            transaction.on_commit(lambda: job_finished(job.pk, S.DONE))
            _look_again_if_faster(job, now, before)
        return
    if isinstance(result, TaskStatus) and result.status == "failed":
        message = result.message or "The video service reported the generation failed."
        fail(job, result.category, message, result.raw)
        return
    if isinstance(result, NavTalkError) and result.permanent:
        category = "not_found" if result.status_code == 404 else result.category
        fail(job, category, result.message, result.reply)
        return
    if job.deadline_at and now >= job.deadline_at:
        minutes = settings.JOB_DEADLINE_SECONDS // 60
        fail(job, "timeout", f"No result after {minutes} minutes; stopped waiting.",
              result.reply if isinstance(result, NavTalkError) else result.raw)
        return
    elapsed = (now - job.submitted_at).total_seconds() if job.submitted_at else 0.0
    delay = next_poll_delay(elapsed, expected_duration(job.license_key_id))
    fields = {"next_poll_at": now + timedelta(seconds=delay), "claim_token": "", "poll_count": F("poll_count") + 1}
    if isinstance(result, NavTalkError):
        delay = max(delay, result.retry_after or 0, backoff(min(job.poll_count, 5)))
        fields.update(next_poll_at=now + timedelta(seconds=delay), upstream_reply=result.reply)
    else:
        # Still running `elapsed` seconds in: the lower end of its duration (jobs.schedule).
        fields.update(upstream_status=result.status, upstream_reply=result.raw, last_pending_s=elapsed)
        if result.status == "processing" and job.status == S.STARTED:
            if transition(job, S.PROCESSING, "Rendering", **fields):
                return
    # No status change: just reschedule, if our claim still holds.
    Job.objects.filter(pk=job.pk, claim_token=token, status=job.status).update(**fields)
