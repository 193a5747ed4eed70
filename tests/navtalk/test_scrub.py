"""An upstream that echoes the license back, in any case or common encoding: what is
stored of its reply never contains it, nor does the job page, the admin or the email."""

import base64
import json
from urllib.parse import quote

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile
from jobs import notifications, polling
from jobs.models import Job
from navtalk.scrub import Scrubber
from tests.conftest import ALICE_SECRET, Reply

SECRET = ALICE_SECRET.encode()
FORMS = {
    "verbatim": ALICE_SECRET,
    "upper": ALICE_SECRET.upper(),
    "lower": ALICE_SECRET.lower(),
    "swapcase": ALICE_SECRET.swapcase(),
    "base64": base64.b64encode(SECRET).decode(),
    "base64-urlsafe": base64.urlsafe_b64encode(b"\xfb\xff" + SECRET).decode(),
    "base64-in-a-longer-text": base64.b64encode(b"Authorization: license=" + SECRET + b";").decode(),
    "base64-offset-1": base64.b64encode(b"x" + SECRET).decode(),
    "base64-offset-2": base64.b64encode(b"xy" + SECRET).decode(),
    "base64-upper": base64.b64encode(ALICE_SECRET.upper().encode()).decode(),
    "url-encoded": "".join(f"%{b:02X}" for b in SECRET),
    "url-encoded-lower": "".join(f"%{b:02x}" for b in SECRET),
    "url-quoted": quote(ALICE_SECRET, safe=""),
    "hex": SECRET.hex(),
    "hex-upper": SECRET.hex().upper(),
    "json-escaped": "".join(f"\\u{ord(c):04x}" for c in ALICE_SECRET),
    "json-escaped-mixed": "".join(f"\\u{ord(c):04X}" if i % 2 else c for i, c in enumerate(ALICE_SECRET)),
}


def _leaks(text: str) -> list[str]:
    found = [name for name, form in FORMS.items() if form.lower() in text.lower()]
    return found + (["decoded"] if ALICE_SECRET.lower() in text.lower() else [])


@pytest.mark.parametrize("name", FORMS)
def test_the_scrubber_masks_every_form(name):
    text = f'{{"message": "bad license {FORMS[name]} (sent)"}}'
    assert _leaks(Scrubber(ALICE_SECRET).text(text)) == []


def test_the_scrubber_leaves_other_text_alone():
    text = "Face not found: the video has no face in frame 12. Try sk-other-key-123."
    assert Scrubber(ALICE_SECRET).text(text) == text


@pytest.mark.django_db
@pytest.mark.parametrize("name", FORMS)
def test_an_echoed_license_reaches_no_record_page_admin_or_email(upstream, alice, make_job, client,
                                                                  django_user_model, name):
    form = FORMS[name]
    alice.email = "alice@example.com"
    alice.save()
    Profile.objects.update_or_create(user=alice, defaults={"email_on_failed": True})
    now = timezone.now()
    job = make_job(alice, status=Job.Status.STARTED, upstream_task_id="t-1", submitted_at=now, next_poll_at=now,
                   deadline_at=now.replace(year=now.year + 1))
    raw = ('{"status": "failed", "code": "invalid_input", "message": "license FORM refused", '
           '"echo": {"FORM": ["FORM"]}}'
           .replace("FORM", form).encode())
    upstream.script("query_status", Reply(raw=raw))
    polling.poll_due_jobs()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    stored = job.error_message + json.dumps(job.upstream_reply) + str(job.upstream_reply)
    stored += "".join(e.message for e in job.events.all())
    assert _leaks(stored) == []

    client.force_login(alice)
    page = client.get(reverse("jobs:detail", args=[job.code])).content.decode()
    assert _leaks(page) == []

    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123!")
    client.force_login(admin)
    page = client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
    assert "license" in page and _leaks(page) == []

    assert notifications.job_finished(job.pk)
    [email] = mail.outbox
    assert "refused" in email.body and _leaks(email.subject + email.body) == []
