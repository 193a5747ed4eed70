"""A batch under the default limits: it counts as one creation action against the
per-minute limits, every row against the quotas (all or nothing), and its rows wait their
turn behind the in-flight limits instead of being refused; each job that ends lets the
next ones go (jobs.waiting)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from automation.models import Batch, Preset
from jobs import limits, services, waiting
from jobs.limits import JobLimitReached
from jobs.models import Job
from keys.selection import key_for_team

pytestmark = pytest.mark.django_db

ROW = dict(visual_type="character", character_name="navtalk.Leo", audio_type="content", voice="nova")


@pytest.fixture
def default_limits(settings):
    settings.JOB_RATE_PER_USER_PER_MINUTE, settings.JOB_RATE_PER_TEAM_PER_MINUTE = 10, 30
    settings.JOB_MAX_IN_FLIGHT_PER_USER, settings.JOB_MAX_IN_FLIGHT_PER_TEAM = 10, 30


def sent():
    """Jobs released to be sent (QUEUED with a due time) or further along."""
    return Job.objects.filter(status__in=Job.IN_FLIGHT_STATUSES).exclude(limits.WAITING).count()


def batch_of(user, n, start=0):
    team = user.teams.first()
    return waiting.create_all(team=team, user=user, license_key=key_for_team(team),
                              rows=[{**ROW, "title": f"Row {i}", "content": f"Hi {i}"} for i in range(start, start + n)])


def test_a_25_row_batch_is_sent_under_the_default_limits_ten_at_a_time(
        logged_in, alice, characters, default_limits, django_capture_on_commit_callbacks):
    out = io.StringIO()
    csv.writer(out).writerows([["name"]] + [[f"Customer {i}"] for i in range(25)])
    logged_in.post("/batches/", {"file": SimpleUploadedFile("c.csv", out.getvalue().encode())})
    batch = Batch.objects.get()
    batch.template = "Hello {name}!"
    batch.preset = Preset.objects.create(team=batch.team, name="Leo", visual_type="character",
                                         character_name="navtalk.Leo", voice="nova")
    batch.save()
    answer = logged_in.post(f"/batches/{batch.pk}/submit/", follow=True)
    assert "25 videos are being made" in answer.content.decode(), answer.content.decode()[-1500:]
    assert Job.objects.count() == 25 and batch.rows.filter(job=None).count() == 0
    assert sent() == 10 and Job.objects.filter(limits.WAITING).count() == 15
    assert Job.objects.values("created_at").distinct().count() == 1  # one action
    first = [r.job.content for r in batch.rows.select_related("job").order_by("number")[:10]]
    assert set(Job.objects.exclude(limits.WAITING).values_list("content", flat=True)) == set(first)
    # Three end: three more go, the oldest waiting rows first.
    with django_capture_on_commit_callbacks(execute=True):
        for job in Job.objects.exclude(limits.WAITING).order_by("pk")[:3]:
            assert services.transition(job, Job.Status.DONE, "Done")
    assert sent() == 10 and Job.objects.filter(status=Job.Status.DONE).count() == 3
    assert Job.objects.filter(limits.WAITING).count() == 12
    assert min(Job.objects.filter(limits.WAITING).values_list("pk", flat=True)) > \
        max(Job.objects.exclude(limits.WAITING).values_list("pk", flat=True))


def test_a_batch_is_one_action_against_the_per_minute_limit_and_waiting_rows_are_not_in_flight(
        alice, settings, default_limits):
    settings.JOB_RATE_PER_USER_PER_MINUTE = 3
    batch_of(alice, 12)
    batch_of(alice, 12, start=12)
    assert Job.objects.count() == 24 and sent() == 10
    batch_of(alice, 1, start=24)  # the third action of the minute
    with pytest.raises(JobLimitReached, match="You have created 3 videos in the last minute"):
        batch_of(alice, 1, start=25)
    assert Job.objects.count() == 25


def test_the_in_flight_limit_holds_single_jobs_but_not_a_batch(alice, default_limits):
    batch_of(alice, 10)
    team = alice.teams.first()
    with pytest.raises(JobLimitReached, match="You already have 10 videos in progress"):
        services.job_create(team=team, user=alice, license_key=key_for_team(team), title="one", content="Hi", **ROW)
    batch_of(alice, 5, start=10)  # queues behind instead of being refused
    assert Job.objects.filter(limits.WAITING).count() == 5


def test_the_team_limit_is_shared_and_the_reconciler_releases_what_a_lost_message_left(
        alice, settings, default_limits, django_user_model):
    from accounts.models import Membership
    from jobs.reconcile import reconcile

    settings.JOB_MAX_IN_FLIGHT_PER_TEAM = 12
    carol = django_user_model.objects.create_user("carol", password="pw-carol-123!")
    Membership.objects.create(team=alice.teams.first(), user=carol)
    batch_of(alice, 8)
    batch_of(carol, 8, start=8)
    assert Job.objects.filter(created_by=alice).exclude(limits.WAITING).count() == 8
    assert Job.objects.filter(created_by=carol).exclude(limits.WAITING).count() == 4  # the team's 12
    Job.objects.filter(created_by=alice).update(status=Job.Status.DONE)  # ended without a JobEvent: no signal
    assert reconcile()["released"] == 4 and sent() == 8


def test_the_quota_still_counts_every_row_all_or_nothing(alice, default_limits):
    team = alice.teams.first()
    team.jobs_per_day = 20
    team.save()
    with pytest.raises(JobLimitReached, match="videos allowed today"):
        batch_of(alice, 25)
    assert not Job.objects.exists()
    assert len(batch_of(alice, 20)) == 20
