"""Signed webhooks: when a job ends (done, failed, canceled), each of its team's active
endpoints gets a POST of the job as JSON, signed after Standard Webhooks
(https://www.standardwebhooks.com): headers `webhook-id`, `webhook-timestamp` and
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the endpoint's
`whsec_…` secret.

The database is the source of truth: an event is a WebhookDelivery row, published to a
worker after commit and swept by beat (`deliver_due`) should a message be lost. A send is
claimed by compare-and-swap, goes through the one SSRF-safe fetcher (lib.fetch.post; only
public receivers, or WEBHOOK_ALLOWED_PRIVATE), and is retried on WEBHOOK_RETRY_SCHEDULE
(about a day). An endpoint whose attempts fail WEBHOOK_DISABLE_AFTER_FAILURES times in a
row is disabled, and the team's owners and admins and the site admins are told.

A job created through the API may name its own receiver (`webhook_url`, a JobWebhook):
it gets that job's events the same way (same fetcher, retries, log), signed with a secret
made for that job alone and shown once in the create answer; it is never disabled (it
lives as long as its job) and its failures do not count against the team's endpoints.

Hooked on JobEvent rows (every status change writes one, in jobs.services), so jobs/ knows
nothing of webhooks.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid

from django.conf import settings
from django.core.mail import mail_admins, send_mail
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from jobs import selectors
from jobs.dispatch import publish_on_commit
from jobs.models import Job
from lib.fetch import FetchError, post

from .models import JobWebhook, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)
EVENTS = {Job.Status.DONE: "job.done", Job.Status.FAILED: "job.failed", Job.Status.CANCELED: "job.canceled"}
CLAIM_SECONDS = 120  # a claimed send not finished by then may be sent again (a killed worker)
D = WebhookDelivery.Status


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def retry_schedule() -> list[float]:
    """Seconds to wait before each retry (the first send is at once)."""
    return [float(s) for s in str(settings.WEBHOOK_RETRY_SCHEDULE).split(",") if s.strip()]


def job_payload(job: Job, event: str) -> dict:
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    mask = selectors.secret_masker(job)
    return {"type": event, "timestamp": timezone.now().isoformat(), "data": {
        "id": str(job.code), "title": job.title, "status": job.status, "method": job.method,
        "method_label": job.method_label, "attempt": job.attempt, "created_by": job.created_by.get_username(),
        "created_at": job.created_at.isoformat(), "finished_at": job.finished_at and job.finished_at.isoformat(),
        "error_category": job.error_category, "error_message": mask(job.error_message),
        "url": base + job.get_absolute_url(), "api_url": base + reverse("api:job", args=[job.code]),
    }}


def _queue(endpoint: WebhookEndpoint | None, event: str, payload: dict, job=None, job_hook=None) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, job_hook=job_hook, job=job, event=event,
                                              payload=payload, msg_id=f"msg_{uuid.uuid4().hex}",
                                              next_attempt_at=timezone.now())
    from . import tasks

    publish_on_commit(tasks.deliver_webhook, delivery.pk)
    return delivery


def job_ended(event_row) -> None:
    """A JobEvent was written: queue the job's event for the team's active endpoints."""
    name = EVENTS.get(event_row.to_status)
    if not name:
        return
    endpoints = list(WebhookEndpoint.objects.filter(team__jobs__pk=event_row.job_id, is_active=True))
    hook = JobWebhook.objects.filter(job_id=event_row.job_id).first()
    if not endpoints and hook is None:
        return
    job = Job.objects.select_related("created_by", "license_key").get(pk=event_row.job_id)
    payload = job_payload(job, name)
    for endpoint in endpoints:
        _queue(endpoint, name, payload, job=job)
    if hook is not None:
        _queue(None, name, payload, job=job, job_hook=hook)


def send_test(endpoint: WebhookEndpoint, user) -> WebhookDelivery:
    payload = {"type": "test", "timestamp": timezone.now().isoformat(),
               "data": {"message": f"A test event sent by {user.get_username()} from the portal."}}
    return _queue(endpoint, "test", payload)


def deliver(delivery_id: int) -> str | None:
    """Send one due delivery once (claimed by compare-and-swap); returns its new status."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status=D.PENDING, next_attempt_at__lte=now).update(
        next_attempt_at=now + dt.timedelta(seconds=CLAIM_SECONDS), attempts=F("attempts") + 1)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint", "job_hook").get(pk=delivery_id)
    endpoint = delivery.receiver
    if not getattr(endpoint, "is_active", True):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=D.FAILED, finished_at=now, next_attempt_at=None,
                                                              last_error="The endpoint is disabled.")
        return D.FAILED
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    stamp = int(time.time())
    headers = {"Content-Type": "application/json", "webhook-id": delivery.msg_id, "webhook-timestamp": str(stamp),
               "webhook-signature": sign(endpoint.secret, delivery.msg_id, stamp, body)}
    status, error = None, ""
    try:
        answer = post(endpoint.url, body, headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                      allowed=settings.WEBHOOK_ALLOWED_PRIVATE)
        status = answer.status
        if not 200 <= status < 300:
            error = f"The receiver answered HTTP {status}."
    except FetchError as exc:
        error = exc.message
    return _record(delivery, endpoint, status, error)


def _record(delivery, endpoint, status, error) -> str:
    now = timezone.now()
    if not error:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=D.SUCCEEDED, last_status=status, last_error="",
                                                              finished_at=now, next_attempt_at=None)
        if isinstance(endpoint, WebhookEndpoint):
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        return D.SUCCEEDED
    schedule = retry_schedule()
    done = delivery.attempts > len(schedule)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=D.FAILED if done else D.PENDING, last_status=status, last_error=error[:300],
        finished_at=now if done else None,
        next_attempt_at=None if done else now + dt.timedelta(seconds=schedule[delivery.attempts - 1]))
    if not isinstance(endpoint, WebhookEndpoint):  # a job's own receiver: never disabled
        return D.FAILED if done else D.PENDING
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    endpoint.refresh_from_db(fields=["consecutive_failures", "is_active"])
    if endpoint.is_active and endpoint.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES:
        _disable(endpoint, error)
    return D.FAILED if done else D.PENDING


def _disable(endpoint: WebhookEndpoint, error: str) -> None:
    reason = (f"Disabled after {endpoint.consecutive_failures} failed attempts in a row; the last: {error}")[:300]
    if not WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
            is_active=False, disabled_at=timezone.now(), disabled_reason=reason):
        return  # another worker disabled it first
    log.warning("webhook endpoint %s of team %s disabled: %s", endpoint.pk, endpoint.team_id, reason)
    from accounts.models import Membership

    managers = Membership.objects.filter(team_id=endpoint.team_id, role__in=["owner", "admin"]).select_related("user")
    emails = sorted({m.user.email for m in managers if m.user.email})
    subject = f"Webhook disabled: {endpoint.url[:80]}"
    text = (f"The portal stopped sending job events to {endpoint.url} for your team.\n{reason}\n\n"
            "Fix the receiver, then enable the webhook again on the portal's Webhooks page.")
    transaction.on_commit(lambda: _notify(subject, text, emails))


def _notify(subject: str, text: str, emails: list[str]) -> None:
    try:
        if emails:
            send_mail(subject, text, None, emails)
        mail_admins(subject, text)
    except Exception:  # mail is a courtesy: the page and the log say it too
        log.warning("could not email about a disabled webhook", exc_info=True)


def deliver_due(limit: int = 200) -> int:
    """Beat's sweep: send what is due (retries, and sends whose message was lost)."""
    due = list(WebhookDelivery.objects.filter(status=D.PENDING, next_attempt_at__lte=timezone.now())
               .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    return sum(1 for pk in due if deliver(pk) is not None)


def attach_to_job(job: Job, url: str) -> str:
    """Give `job` its own receiver (the API's `webhook_url`); returns its new signing
    secret, which only the create answer shows."""
    hook = JobWebhook(job=job, url=url)
    secret = hook.secret = new_secret()
    hook.save()
    return secret
