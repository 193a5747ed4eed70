"""Sending a job to the upstream: POST /generate, at most once per attempt.

SUBMITTING is claimed (compare-and-swap) before the call, so a duplicate or concurrent
task finds nothing to do. A transient error that provably created no upstream task
(5xx, 429, connection refused) backs off and resubmits; one that may have reached the
upstream fails as *interrupted*, so a person decides whether to send it again.
"""

import base64
import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from keys.models import LicenseKey
from keys.selection import key_for_team, mark_auth_failed
from navtalk import contract
from navtalk.client import GenerateRequest, NavTalkClient, NavTalkError

from . import ledger, notifications, quotas, services
from .media import signed_url
from .models import Job
from .schedule import expected_duration, first_poll_delay
from .services import fail, transition

S = Job.Status
log = logging.getLogger(__name__)

# Longest automatic countdown before a submit is sent again (the backoff's cap, before
# jitter). jobs.checks keeps it below the broker's visibility timeout.
BACKOFF_CAP_SECONDS = 60


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
    for name, default in contract.PARAM_DEFAULTS.items():
        if name in job.params and job.params[name] != default:
            fields[name] = job.params[name]
    return GenerateRequest(**fields)


def max_countdown() -> float:
    """Longest countdown handed to the broker. A worker holds an ETA message unacked, and a
    broker with a visibility timeout (Redis) redelivers it after that long; longer waits
    (a big Retry-After) are left to the reconciler, which dispatches a QUEUED job once its
    next_poll_at has passed."""
    return settings.BROKER_VISIBILITY_TIMEOUT / 2


def backoff(tries: int, retry_after: float | None = None) -> float:
    delay = min(2 ** tries, BACKOFF_CAP_SECONDS) * random.uniform(0.8, 1.2)
    return max(delay, retry_after or 0)


def job_submit(job_id: int) -> None:
    """Send /generate for a QUEUED job, at most once: SUBMITTING is claimed first, so a
    duplicate or concurrent task finds nothing to do."""
    job = Job.objects.select_related("license_key").filter(pk=job_id).first()
    if job is None or job.status != S.QUEUED:
        return
    now = timezone.now()
    if not transition(job, S.SUBMITTING, "Sending to the video service", submitting_at=now,
                       submit_tries=F("submit_tries") + 1):
        return
    job.submit_tries += 1
    key = job.license_key
    if key is None or not key.is_active:
        fail(job, "configuration", "No active license key is set for this team.")
        return
    try:
        request = build_request(job)
    except (OSError, ValueError) as exc:
        fail(job, "invalid_input", f"The job's inputs could not be prepared: {exc}")
        return
    ledger.record_generate(job, key)  # before the call: one whose answer is lost counts too
    try:
        submitted = client_for(key).generate(key.secret, request)
    except NavTalkError as exc:
        if exc.category == contract.Failure.AUTH and _next_key(job, key, exc):
            return
        _submit_failed(job, exc)
        return
    except Exception as exc:  # a reply no code path expected: this job fails alone, with a category
        log.exception("job %s: submitting raised", job.pk)
        fail(job, "interrupted", f"The upstream's reply could not be read ({type(exc).__name__}); "
                                 "the job may have been received.")
        return
    now = timezone.now()
    LicenseKey.objects.filter(pk=key.pk).update(last_used_at=now, auth_failed_at=None)
    transition(
        job, S.STARTED, "Accepted by the video service", data={"task_id": submitted.task_id},
        upstream_task_id=submitted.task_id, upstream_status="started", upstream_reply=submitted.raw,
        submitted_at=now, deadline_at=now + timedelta(seconds=settings.JOB_DEADLINE_SECONDS),
        next_poll_at=now + timedelta(seconds=first_poll_delay(expected_duration(key.pk), job.pk)),
    )


def _next_key(job: Job, key: LicenseKey, exc: NavTalkError) -> bool:
    """The upstream refused the license (nothing was created). Note it (the team's admins
    are told, once), and send the job again with the team's next usable key, if any."""
    if mark_auth_failed(key):
        notifications.key_refused(key, job.team)
    following = key_for_team(job.team, spent=quotas.key_month_seconds)
    if following is None or following.pk == key.pk:
        return False
    now = timezone.now()
    if transition(job, S.QUEUED, f"The license “{key.name}” was refused; sending with the team's next key "
                                 f"“{following.name}”", data={"category": exc.category}, license_key=following,
                  upstream_reply=exc.reply, queued_at=now, next_poll_at=now):
        services.dispatch_submit(job.pk)
    return True


def _submit_failed(job: Job, exc: NavTalkError) -> None:
    if exc.permanent:
        fail(job, exc.category, exc.message, exc.reply)
    elif exc.maybe_received or (exc.status_code is not None and 200 <= exc.status_code < 300):
        # The upstream may have created a task we never heard of (no answer, or a 2xx
        # answer we could not read): sending again could generate (and bill) twice, so
        # a person decides (Retry).
        fail(job, "interrupted", f"{exc.message}; the job may not have been received.", exc.reply)
    elif job.submit_tries >= settings.SUBMIT_MAX_ATTEMPTS:
        fail(job, exc.category, f"{exc.message} (gave up after {job.submit_tries} tries)", exc.reply)
    else:
        delay = backoff(job.submit_tries, exc.retry_after)
        now = timezone.now()
        if transition(job, S.QUEUED, f"{exc.message}; trying again in {delay:.0f} s",
                       data={"category": exc.category, "retry_in": round(delay, 1)},
                       upstream_reply=exc.reply, queued_at=now, next_poll_at=now + timedelta(seconds=delay)):
            if delay <= max_countdown():
                services.dispatch_submit(job.pk, countdown=delay)  # one place to observe it
