"""Key pools against the local engine: a license the engine refuses (auth) is key 1, a
good one key 2. The refused key is marked and skipped, the job goes to key 2, the team's
admins are told once, and a job stays on the key that accepted it."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from engine import faults
from engine.models import EngineLicense
from jobs import polling, services, submit
from jobs.models import Job, UsageEntry
from keys.admin import LicenseKeyForm
from keys.models import LicenseKey, TeamKey
from keys.selection import key_for_team

pytestmark = pytest.mark.django_db(transaction=True)
S = Job.Status


@pytest.fixture
def engine(settings, live_server, tmp_path):
    settings.ENGINE_LICENSES = ["sk-engine-unused-0123456789"]
    settings.ENGINE_FAULTS = "mode=instant"
    settings.ENGINE_MEDIA_ROOT = tmp_path / "engine-media"
    settings.ENGINE_BASE_URL = live_server.url + "/engine"
    faults.reset_rngs()
    return live_server.url + "/engine"


def engine_key(base, name, *, accepted=True):
    """A portal key for an engine license; a refused one is a license the engine has
    withdrawn (it answers 401, NavTalk's auth error)."""
    _row, secret = EngineLicense.issue(name, active=accepted)
    key = LicenseKey(name=name, generate_url=base + "/generate", query_status_url=base + "/query_status")
    key.secret = secret
    key.save()
    return key


@pytest.fixture
def pool(engine, alice):
    team = alice.teams.first()
    TeamKey.objects.filter(team=team).delete()
    refused, good = engine_key(engine, "Refused licence", accepted=False), engine_key(engine, "Good licence")
    TeamKey.objects.create(team=team, key=refused, position=0)
    TeamKey.objects.create(team=team, key=good, position=1)
    Membership.objects.filter(user=alice).update(role=Membership.Role.OWNER)
    alice.email = "alice@example.com"
    alice.save()
    return team, refused, good


def create(alice, team, i=0):
    return services.job_create(team=team, user=alice, license_key=key_for_team(team), title=f"pool {i}",
                               visual_type="character", character_name="navtalk.Leo", audio_type="content",
                               content="Hello from the pool.", voice="nova")


def sent(job):
    submit.job_submit(job.pk)
    return Job.objects.select_related("license_key").get(pk=job.pk)


def test_an_auth_error_on_key_1_sends_jobs_to_key_2(pool, alice):
    team, refused, good = pool
    first = create(alice, team, 1)
    assert first.license_key == refused  # nothing known against it yet
    first = sent(first)
    assert (first.status, first.license_key) == (S.QUEUED, good)  # refused: nothing made, moved on
    assert "was refused; sending with the team's next key “Good licence”" in first.events.last().message
    first = sent(first)
    assert (first.status, first.license_key) == (S.STARTED, good)
    assert LicenseKey.objects.get(pk=refused.pk).auth_failed_at is not None

    second = sent(create(alice, team, 2))
    assert (second.status, second.license_key) == (S.STARTED, good)  # straight to key 2
    assert list(UsageEntry.objects.filter(kind="generate").values_list("key_id", flat=True).order_by("id")) == \
        [refused.pk, good.pk, good.pk]  # key 1 was tried once

    [email] = mail.outbox  # the admins are told once
    assert email.to == ["alice@example.com"] and "“Refused licence”" in email.subject
    assert refused.secret not in email.body and good.secret not in email.body

    # An admin fixes key 1 (saving it lets new jobs try it again); accepted jobs stay put.
    form = LicenseKeyForm({"name": refused.name, "secret": "", "generate_url": refused.generate_url,
                           "query_status_url": refused.query_status_url, "is_active": "on", "notes": ""},
                          instance=LicenseKey.objects.get(pk=refused.pk))
    assert form.is_valid(), form.errors
    form.save()
    assert key_for_team(team) == refused
    Job.objects.filter(pk=first.pk).update(next_poll_at=timezone.now())
    polling.poll_due_jobs()
    first.refresh_from_db()
    assert first.license_key == good and first.status in (S.STARTED, S.PROCESSING, S.DONE)


def test_with_no_other_key_the_job_fails_as_refused(engine, alice):
    team = alice.teams.first()
    TeamKey.objects.filter(team=team).delete()
    TeamKey.objects.create(team=team, key=engine_key(engine, "Only", accepted=False), position=0)
    job = sent(create(alice, team))
    assert (job.status, job.error_category) == (S.FAILED, "auth")


def test_disabled_and_spent_keys_are_skipped(pool, alice, client):
    team, refused, good = pool
    LicenseKey.objects.filter(pk=refused.pk).update(is_active=False)
    assert key_for_team(team) == good
    LicenseKey.objects.filter(pk=refused.pk).update(is_active=True)
    LicenseKey.objects.filter(pk=good.pk).update(monthly_budget_seconds=5)
    LicenseKey.objects.filter(pk=refused.pk).update(monthly_budget_seconds=0)
    assert key_for_team(team, spent=lambda key: 0) == good  # key 1's budget is 0: spent
    assert key_for_team(team, spent=lambda key: 5) is None
    assert key_for_team(team) == refused  # without spend figures, budgets are not judged

    client.force_login(alice)  # the Team page says which key is used and why not the others
    page = client.get(reverse("jobs:members")).content.decode()
    assert "Used its budget for this month" in page and "In use for new videos." in page
    assert refused.secret not in page and good.secret not in page
