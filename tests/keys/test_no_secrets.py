"""No page, fragment, admin screen or log line ever carries a license secret or its ciphertext."""

import logging

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from jobs import submit
from jobs.models import Job, JobEvent
from keys.models import LicenseKey
from keys.selection import use_only
from tests.front.create_support import DEFAULT_SLIDERS, png
from tests.support.http import Reply

SECRET = "sk-test-SECRET-1234567890abcdef"
S = Job.Status


pytestmark = pytest.mark.usefixtures("media_root")  # tests/conftest.py


@pytest.fixture
def key(alice, upstream):
    key = LicenseKey(name="Distinctive", generate_url=upstream.generate_url, query_status_url=upstream.query_status_url)
    key.secret = SECRET
    key.save()
    team = alice.teams.get()
    use_only(team, key)
    return key


@pytest.fixture
def jobs(alice, key, make_job):
    made = {status: make_job(alice, title=f"In {status}", status=status) for status in S.values}
    failed = made[S.FAILED]
    # An upstream that echoes the license back in its error must not leak it either.
    Job.objects.filter(pk=failed.pk).update(
        error_category="auth", error_message=f"license {SECRET} is not valid",
        upstream_reply={"http_status": 401, "body": {"message": f"license {SECRET} is not valid"}})
    Job.objects.filter(pk=made[S.DONE].pk).update(video_url="https://cdn.example.com/v.mp4",
                                                  finished_at=timezone.now())
    for job in made.values():
        JobEvent.objects.create(job=job, to_status=job.status, message="event")
    return made


@pytest.fixture
def admin_user(db):
    return User.objects.create_superuser("root", password="root-pw-123!")


def assert_clean(response, key):
    assert response.status_code == 200, response.status_code
    text = response.content.decode()
    assert SECRET not in text
    assert key.secret_encrypted not in text
    assert key.secret_encrypted[:40] not in text


@pytest.mark.django_db
def test_no_portal_page_shows_the_secret(client, alice, key, jobs):
    client.force_login(alice)
    urls = [reverse("jobs:create"), reverse("jobs:history"), reverse("jobs:gallery")]
    for job in jobs.values():
        urls += [reverse("jobs:detail", args=[job.code]), reverse("jobs:status", args=[job.code]),
                 reverse("jobs:duplicate", args=[job.code])]
    for url in urls:
        assert_clean(client.get(url), key)
    failed = client.get(reverse("jobs:detail", args=[jobs[S.FAILED].code])).content.decode()
    assert "license sk-…cdef is not valid" in failed  # masked, not dropped
    # A rejected form re-renders without the secret too.
    assert_clean(client.post(reverse("jobs:create"), {**DEFAULT_SLIDERS, "visual_source": "image_url"}), key)


@pytest.mark.django_db
def test_no_admin_page_shows_the_secret(client, admin_user, alice, key, jobs, upstream):
    client.force_login(admin_user)
    team = alice.teams.get()
    failed = jobs[S.FAILED]
    urls = [
        reverse("admin:keys_licensekey_changelist"), reverse("admin:keys_licensekey_change", args=[key.pk]),
        reverse("admin:keys_licensekey_add"), reverse("admin:keys_licensekey_history", args=[key.pk]),
        reverse("admin:accounts_team_changelist"), reverse("admin:accounts_team_change", args=[team.pk]),
        reverse("admin:jobs_job_changelist"), reverse("admin:jobs_job_change", args=[failed.pk]),
        reverse("admin:jobs_job_change", args=[jobs[S.DONE].pk]),
    ]
    for url in urls:
        assert_clean(client.get(url), key)
    # The masked hint is what the admin sees.
    assert "sk-…cdef" in client.get(reverse("admin:keys_licensekey_changelist")).content.decode()
    assert "license sk-…cdef is not valid" in client.get(
        reverse("admin:jobs_job_change", args=[failed.pk])).content.decode()

    # The "Test connection" result page, with an upstream that echoes the license.
    upstream.script("query_status", Reply(401, {"message": f"license {SECRET} refused"}))
    response = client.post(reverse("admin:keys_licensekey_changelist"),
                           {"action": "test_connection", "_selected_action": [key.pk]}, follow=True)
    assert_clean(response, key)
    assert "Distinctive: license REFUSED: the status service rejected it (HTTP 401" in response.content.decode()
    # Saving the change form without a new secret does not echo anything either.
    response = client.post(reverse("admin:keys_licensekey_change", args=[key.pk]), {
        "name": "Distinctive", "secret": "", "generate_url": key.generate_url,
        "query_status_url": "not a url", "is_active": "on", "notes": ""})
    assert_clean(response, key)  # re-rendered with an error, secret field blank


@pytest.mark.django_db
def test_logs_never_carry_the_secret(client, alice, key, upstream, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(alice)
    upstream.script("generate", Reply(401, {"message": f"license {SECRET} refused"}))
    response = client.post(reverse("jobs:create"), {
        **DEFAULT_SLIDERS, "visual_source": "image_file", "image_file": png(), "audio_source": "content",
        "content": "Hello", "voice": "nova"})
    assert response.status_code == 302
    job = Job.objects.get()
    submit.job_submit(job.pk)  # the submission attempt: real HTTP to the test upstream
    assert upstream.calls("generate")[0]["json"]["license"] == SECRET  # it really was sent…
    job.refresh_from_db()
    assert job.status == S.FAILED
    assert_clean(client.get(reverse("jobs:detail", args=[job.code])), key)
    assert caplog.records, "expected some log records"
    for record in caplog.records:
        text = record.getMessage()
        assert SECRET not in text and key.secret_encrypted not in text  # …but never logged
