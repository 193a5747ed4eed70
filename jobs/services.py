"""The only code that changes `Job.status`.

Every transition is a compare-and-swap (`filter(pk=…, status=observed).update(…) == 1`)
that writes a JobEvent in the same transaction, so duplicate or concurrent tasks are
harmless: the loser's update matches no row and it stops. Tasks call in here with ids;
the HTTP goes through `jobs.client`; work is published by task name so this module never
imports `jobs.tasks` (no import circle).
"""

import base64
import logging
import random
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import archive
from .client import GenerateRequest, NavTalkClient, NavTalkError, TaskStatus, failure_category
from .media import signed_url
from .models import Job, JobEvent, LicenseKey

log = logging.getLogger(__name__)
S = Job.Status

# Longest automatic countdown before a submit is sent again (the backoff's cap, before
# jitter). jobs.checks keeps it below the broker's visibility timeout.
BACKOFF_CAP_SECONDS = 60


def poll_lease() -> timedelta:
    """A claimed poll whose worker died is claimable again after this long."""
    return timedelta(seconds=settings.POLL_LEASE_SECONDS)


def poll_round_budget() -> float:
    """Seconds into a poll round after which no new status query starts, so that the
    round (budget + one call's timeouts) ends before its claims' lease expires."""
    call = settings.NAVTALK_CONNECT_TIMEOUT + settings.NAVTALK_READ_TIMEOUT
    margin = min(5.0, 0.1 * settings.POLL_LEASE_SECONDS)
    return max(0.0, settings.POLL_LEASE_SECONDS - call - margin)


_NOT_QUERIED = object()


def dispatch_grace() -> timedelta:
    """A QUEUED job whose submit message should have run this long ago is re-dispatched."""
    return timedelta(seconds=settings.RECONCILE_DISPATCH_GRACE_SECONDS)



# --- transitions --------------------------------------------------------------------


def _transition(job: Job, to_status: str, message: str, *, data: dict | None = None, **fields) -> bool:
    """CAS from the status `job` was read with. True if this call made the change."""
    now = timezone.now()
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, status=job.status).update(status=to_status, updated_at=now, **fields)
        if updated != 1:
            return False
        JobEvent.objects.create(job_id=job.pk, attempt=job.attempt, from_status=job.status, to_status=to_status,
                                message=message, data=data, created_at=now)
    log.info("job %s: %s -> %s", job.pk, job.status, to_status)
    job.status = to_status
    for name, value in fields.items():
        if not hasattr(value, "resolve_expression"):
            setattr(job, name, value)
    return True


def _fail(job: Job, category: str, message: str, reply=None) -> bool:
    failed = _transition(
        job, S.FAILED, message, data={"category": category},
        error_category=category, error_message=message[:2000], upstream_reply=reply,
        finished_at=timezone.now(), next_poll_at=None, claim_token="",
    )
    if failed:
        transaction.on_commit(lambda: _job_finished(job.pk, S.FAILED))
    return failed


def _dispatch(job_id: int, countdown: float = 0) -> None:
    """Publish submit_job after the current transaction commits. If the broker is down
    the job stays QUEUED and the reconciler dispatches it later: nothing is lost."""

    def publish():
        try:
            current_app.send_task(
                "jobs.tasks.submit_job", args=[job_id], countdown=countdown or None,
                retry=True, retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
            )
        except Exception:
            log.warning("job %s: could not publish submit_job; the reconciler will retry", job_id, exc_info=True)

    transaction.on_commit(publish)


# --- person-facing actions ----------------------------------------------------------


def job_create(*, team, user, license_key: LicenseKey | None, title: str, **inputs) -> Job:
    """Save a job from the create form's cleaned inputs and enqueue its submission."""
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.create(team=team, created_by=user, license_key=license_key, title=title,
                                 status=S.QUEUED, queued_at=now, next_poll_at=now, created_at=now, **inputs)
        JobEvent.objects.create(job=job, to_status=S.QUEUED, message=f"Created by {user.get_username()}",
                                created_at=now)
        _dispatch(job.pk)
    return job


def job_retry(job: Job, user) -> bool:
    """A person's explicit Retry: a new attempt of the same job (the old one stays in
    the timeline). The only way out of FAILED or CANCELED."""
    if job.status not in (S.FAILED, S.CANCELED):
        return False
    now = timezone.now()
    license_key = job.team.default_key if job.team.default_key_id else job.license_key
    with transaction.atomic():
        ok = _transition(
            job, S.QUEUED, f"Retry by {user.get_username()} (attempt {job.attempt + 1})",
            attempt=F("attempt") + 1, submit_tries=0, upstream_task_id="", upstream_status="", upstream_reply=None,
            video_url="", error_category="", error_message="", queued_at=now, next_poll_at=now,
            submitting_at=None, submitted_at=None, finished_at=None, deadline_at=None, poll_count=0,
            claim_token="", license_key=license_key,
        )
        if ok:
            job.attempt += 1
            _dispatch(job.pk)
    return ok


def job_cancel(job: Job, user) -> bool:
    """Stop tracking a job. NavTalk has no cancel call: an upstream task keeps running."""
    if job.status not in Job.IN_FLIGHT_STATUSES:
        return False
    return _transition(job, S.CANCELED, f"Canceled by {user.get_username()}",
                       finished_at=timezone.now(), next_poll_at=None, claim_token="")


# --- submission ---------------------------------------------------------------------


def client_for(key: LicenseKey) -> NavTalkClient:
    return NavTalkClient(key.generate_url, key.query_status_url,
                         connect_timeout=settings.NAVTALK_CONNECT_TIMEOUT, read_timeout=settings.NAVTALK_READ_TIMEOUT)


def build_request(job: Job) -> GenerateRequest:
    """The documented fields for this job (uploads become signed URLs / base64)."""
    fields: dict = {}
    visual_url = job.visual_url or (signed_url(job.visual_file.name) if job.visual_file else "")
    if job.visual_type == Job.Visual.VIDEO:
        fields["video_url"] = visual_url
    elif job.visual_type == Job.Visual.IMAGE:
        fields["image_url"] = visual_url
    else:
        fields["character_name"] = job.character_name
    if job.audio_type == Job.Audio.URL:
        fields["audio_url"] = job.audio_url
    elif job.audio_type == Job.Audio.FILE:
        with job.audio_file.open("rb") as fh:
            fields["audio_base64"] = base64.b64encode(fh.read()).decode()
    else:
        fields["content"], fields["voice"] = job.content, job.voice
    for name, default in Job.ADVANCED_DEFAULTS.items():
        if name in job.params and job.params[name] != default:
            fields[name] = job.params[name]
    return GenerateRequest(**fields)


def max_countdown() -> float:
    """Longest countdown handed to the broker. A worker holds an ETA message unacked, and a
    broker with a visibility timeout (Redis) redelivers it after that long; longer waits
    (a big Retry-After) are left to the reconciler, which dispatches a QUEUED job once its
    next_poll_at has passed."""
    return settings.BROKER_VISIBILITY_TIMEOUT / 2


def _backoff(tries: int, retry_after: float | None = None) -> float:
    delay = min(2 ** tries, BACKOFF_CAP_SECONDS) * random.uniform(0.8, 1.2)
    return max(delay, retry_after or 0)


def job_submit(job_id: int) -> None:
    """Send /generate for a QUEUED job, at most once: SUBMITTING is claimed first, so a
    duplicate or concurrent task finds nothing to do."""
    job = Job.objects.select_related("license_key").filter(pk=job_id).first()
    if job is None or job.status != S.QUEUED:
        return
    now = timezone.now()
    if not _transition(job, S.SUBMITTING, "Sending to the video service", submitting_at=now,
                       submit_tries=F("submit_tries") + 1):
        return
    job.submit_tries += 1
    key = job.license_key
    if key is None or not key.is_active:
        _fail(job, "configuration", "No active license key is set for this team.")
        return
    try:
        request = build_request(job)
    except (OSError, ValueError) as exc:
        _fail(job, "invalid_input", f"The job's inputs could not be prepared: {exc}")
        return
    try:
        submitted = client_for(key).generate(key.secret, request)
    except NavTalkError as exc:
        _submit_failed(job, exc)
        return
    now = timezone.now()
    LicenseKey.objects.filter(pk=key.pk).update(last_used_at=now)
    _transition(
        job, S.STARTED, "Accepted by the video service", data={"task_id": submitted.task_id},
        upstream_task_id=submitted.task_id, upstream_status="started", upstream_reply=submitted.raw,
        submitted_at=now, deadline_at=now + timedelta(seconds=settings.JOB_DEADLINE_SECONDS),
        next_poll_at=now + timedelta(seconds=first_poll_delay(expected_duration(key.pk))),
    )


def _submit_failed(job: Job, exc: NavTalkError) -> None:
    if exc.permanent:
        _fail(job, exc.category, exc.message, exc.reply)
    elif exc.maybe_received or (exc.status_code is not None and 200 <= exc.status_code < 300):
        # The upstream may have created a task we never heard of (no answer, or a 2xx
        # answer we could not read): sending again could generate (and bill) twice, so
        # a person decides (Retry).
        _fail(job, "interrupted", f"{exc.message}; the job may not have been received.", exc.reply)
    elif job.submit_tries >= settings.SUBMIT_MAX_ATTEMPTS:
        _fail(job, exc.category, f"{exc.message} (gave up after {job.submit_tries} tries)", exc.reply)
    else:
        delay = _backoff(job.submit_tries, exc.retry_after)
        now = timezone.now()
        if _transition(job, S.QUEUED, f"{exc.message}; trying again in {delay:.0f} s",
                       data={"category": exc.category, "retry_in": round(delay, 1)},
                       upstream_reply=exc.reply, queued_at=now, next_poll_at=now + timedelta(seconds=delay)):
            if delay <= max_countdown():
                _dispatch(job.pk, countdown=delay)


# --- polling ------------------------------------------------------------------------

_expected_cache: dict = {}
# How long a key's prediction is reused. Short, so a burst's first finished jobs teach
# the schedule of the jobs still in flight (one small indexed query per key and process).
EXPECTED_TTL_SECONDS = 5.0


class Expected(float):
    """A predicted submit→done duration in seconds: the median of a key's recent jobs,
    carrying their spread too (`early` = 10th, `late` = 90th percentile). `known` is
    False when there is too little history and the value is JOB_EXPECTED_SECONDS."""

    def __new__(cls, typical: float, early: float | None = None, late: float | None = None, known: bool = True):
        value = super().__new__(cls, typical)
        value.early = typical if early is None else early
        value.late = typical if late is None else late
        value.known = known
        return value


def _as_expected(expected) -> Expected:
    return expected if isinstance(expected, Expected) else Expected(float(expected), known=False)


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def expected_duration(license_key_id: int | None) -> Expected:
    """What this key's recent jobs predict (cached for EXPECTED_TTL_SECONDS).

    Durations are submitted_at→finished_at as we saw them, i.e. the upstream's time plus
    our polling lag; the schedule starts polling densely just before `early`, so the lag
    does not feed back into ever later polls."""
    cached = _expected_cache.get(license_key_id)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    # Index job_key_done: WHERE license_key_id = … AND status = 'done' ORDER BY finished_at DESC.
    rows = (Job.objects.filter(license_key_id=license_key_id, status=S.DONE, submitted_at__isnull=False)
            .order_by("-finished_at").values_list("submitted_at", "finished_at", "poll_count")[:50])
    durations = sorted((done - sent).total_seconds() for sent, done, _ in rows if done)
    if len(durations) >= 3:
        early = _quantile(durations, 0.1)
        if sum(polls <= 1 for *_, polls in rows) >= 0.9 * len(rows):
            # Nearly every job was done at its first poll, so the durations may be our own
            # lateness (a stalled poller, a slower past) rather than the upstream's: probe
            # 10% earlier, so the estimate comes down geometrically instead of staying up.
            early *= 0.9
        value = Expected(statistics.median(durations), early, _quantile(durations, 0.9))
    else:
        value = Expected(settings.JOB_EXPECTED_SECONDS, known=False)
    _expected_cache[license_key_id] = (time.monotonic() + EXPECTED_TTL_SECONDS, value)
    return value


def dense_step(expected) -> float:
    """The gap between polls around the expected finish: one poller tick, or wider for
    long jobs whose durations spread (at most 5% of the expected duration)."""
    expected = _as_expected(expected)
    spread = max(0.0, expected.late - expected.early)
    return max(settings.POLL_INTERVAL_SECONDS, min(0.05 * expected, spread / 3))


def _dense_window(expected) -> tuple[float, float, float]:
    """(start, end, step) of dense polling, in seconds after submission."""
    expected = _as_expected(expected)
    step = dense_step(expected)
    if expected.known:
        # Half a step before the earliest usual finish: some jobs are seen early (and
        # answer processing), which keeps `early` from creeping up with our own lag.
        return max(step, expected.early - step / 2), expected.late + step, step
    return 0.9 * expected - step, 1.3 * expected, step


def first_poll_delay(expected) -> float:
    """With history, the first poll lands in the dense window (often one call is enough);
    without, halfway to the guess."""
    expected = _as_expected(expected)
    if expected.known:
        return _dense_window(expected)[0]
    return max(1.0, 0.5 * expected)


def next_poll_delay(elapsed: float, expected) -> float:
    """Sparse while far from the expected finish, dense around it, backing off after."""
    start, end, step = _dense_window(expected)
    if elapsed < start - step:
        return max(step, start - elapsed)
    if elapsed < end:
        return step * random.uniform(0.9, 1.1)
    overdue = elapsed - end
    delay = min(settings.POLL_MAX_BACKOFF_SECONDS, max(step, 0.25 * overdue + step))
    return delay * random.uniform(0.9, 1.1)


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

    with ThreadPoolExecutor(max_workers=min(settings.POLL_CONCURRENCY, len(jobs))) as pool:
        futures = {pool.submit(query, job): job for job in jobs}
        # Apply each answer as it arrives (here, in this thread: one DB connection), so a
        # finished job is visible without waiting for the round's slowest call.
        for future in as_completed(futures):
            job, result = futures[future], future.result()
            if result is _NOT_QUERIED:
                Job.objects.filter(pk=job.pk, claim_token=job.claim_token).update(claim_token="", next_poll_at=now)
            else:
                apply_status(job, result)
    return len(jobs)


def apply_status(job: Job, result: TaskStatus | NavTalkError) -> None:
    now = timezone.now()
    token = job.claim_token
    if isinstance(result, TaskStatus) and result.status == "done":
        if _transition(job, S.DONE, "Video ready", upstream_status="done", upstream_reply=result.raw,
                       video_url=result.video_url, finished_at=now, next_poll_at=None, claim_token="",
                       poll_count=F("poll_count") + 1):
            transaction.on_commit(lambda: _job_finished(job.pk, S.DONE))
        return
    if isinstance(result, TaskStatus) and result.status == "failed":
        message = result.message or "The video service reported the generation failed."
        _fail(job, failure_category(result.message), message, result.raw)
        return
    if isinstance(result, NavTalkError) and result.permanent:
        category = "not_found" if result.status_code == 404 else result.category
        _fail(job, category, result.message, result.reply)
        return
    if job.deadline_at and now >= job.deadline_at:
        minutes = settings.JOB_DEADLINE_SECONDS // 60
        _fail(job, "timeout", f"No result after {minutes} minutes; stopped waiting.",
              result.reply if isinstance(result, NavTalkError) else result.raw)
        return
    elapsed = (now - job.submitted_at).total_seconds() if job.submitted_at else 0.0
    delay = next_poll_delay(elapsed, expected_duration(job.license_key_id))
    fields = {"next_poll_at": now + timedelta(seconds=delay), "claim_token": "", "poll_count": F("poll_count") + 1}
    if isinstance(result, NavTalkError):
        delay = max(delay, result.retry_after or 0, _backoff(min(job.poll_count, 5)))
        fields.update(next_poll_at=now + timedelta(seconds=delay), upstream_reply=result.reply)
    else:
        fields.update(upstream_status=result.status, upstream_reply=result.raw)
        if result.status == "processing" and job.status == S.STARTED:
            if _transition(job, S.PROCESSING, "Rendering", **fields):
                return
    # No status change: just reschedule, if our claim still holds.
    Job.objects.filter(pk=job.pk, claim_token=token, status=job.status).update(**fields)


def _job_finished(job_id: int, status: str) -> None:
    """Side effects of DONE/FAILED, run once: only the transition's winner gets here."""
    if status == S.DONE:
        archive.schedule(job_id)
    try:
        current_app.send_task("jobs.tasks.notify_job_finished", args=[job_id], retry=True,
                              retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2})
    except Exception:
        log.warning("job %s: could not publish notify_job_finished", job_id, exc_info=True)


# --- reconciliation -----------------------------------------------------------------


def reconcile(now=None) -> dict:
    """Repair what lost messages or killed workers left behind (runs every ~60 s).

    - QUEUED past its due time by RECONCILE_DISPATCH_GRACE_SECONDS: its submit message was lost (broker
      down at submit, restarted Redis): publish it again. Duplicates are harmless.
    - SUBMITTING for longer than a /generate call can take: the worker died during the
      call, so we cannot know whether the upstream received it. Rule: never resend on our
      own (at most one /generate per job); fail it as `interrupted` so a person can Retry.
    - STARTED/PROCESSING with no next_poll_at: schedule a poll now.
    """
    now = now or timezone.now()
    counts = {"redispatched": 0, "interrupted": 0, "rescheduled": 0}
    stale_queued = Job.objects.filter(status=S.QUEUED, next_poll_at__lt=now - dispatch_grace())
    for job_id in stale_queued.values_list("pk", flat=True)[:1000]:
        if Job.objects.filter(pk=job_id, status=S.QUEUED).update(next_poll_at=now) == 1:
            _dispatch(job_id)
            counts["redispatched"] += 1
    call_limit = settings.NAVTALK_CONNECT_TIMEOUT + settings.NAVTALK_READ_TIMEOUT + 30
    stuck = Job.objects.filter(status=S.SUBMITTING, submitting_at__lt=now - timedelta(seconds=call_limit))
    for job in stuck[:1000]:
        if _fail(job, "interrupted", "The portal stopped while sending this job to the video service."):
            counts["interrupted"] += 1
    counts["rescheduled"] = Job.objects.filter(status__in=Job.ACTIVE_STATUSES, next_poll_at__isnull=True).update(
        next_poll_at=now)
    counts["archives"] = archive.reconcile_archives(now)
    if any(counts.values()):
        log.info("reconcile: %s", counts)
    return counts
