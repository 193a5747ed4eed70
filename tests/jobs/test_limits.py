"""Job-creation limits: per person and per team, per minute and in flight, refused in
plain words on the form, and atomic under concurrent requests."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from jobs import services
from jobs.limits import JobLimitReached
from jobs.models import Job
from keys.selection import key_for_team
from tests.front.create_support import post


def create(user, i=0):
    team = user.teams.first()
    return services.job_create(team=team, user=user, license_key=key_for_team(team), title=f"limit {i}",
                               visual_type="character", character_name="navtalk.Leo", audio_type="content",
                               content=f"text {i}", voice="nova")


@pytest.fixture
def carol(alice, django_user_model):
    """A second member of alice's team."""
    carol = django_user_model.objects.create_user("carol", password="pw-carol-123!")
    Membership.objects.create(team=alice.teams.first(), user=carol)
    return carol


@pytest.mark.django_db
def test_a_person_may_have_only_so_many_jobs_in_flight(alice, carol, settings):
    settings.JOB_MAX_IN_FLIGHT_PER_USER = 2
    create(alice, 1), create(alice, 2)
    with pytest.raises(JobLimitReached, match="You already have 2 videos in progress"):
        create(alice, 3)
    assert Job.objects.count() == 2
    create(carol)  # another person of the same team is not held back
    Job.objects.filter(created_by=alice).update(status=Job.Status.DONE)
    create(alice, 4)  # one finished: room again


@pytest.mark.django_db
def test_a_team_may_have_only_so_many_jobs_in_flight(alice, carol, settings):
    settings.JOB_MAX_IN_FLIGHT_PER_TEAM = 2
    create(alice), create(carol)
    with pytest.raises(JobLimitReached, match="Your team already has 2 videos in progress"):
        create(carol, 2)


@pytest.mark.django_db
def test_per_minute_rates_count_finished_jobs_too(alice, carol, settings):
    settings.JOB_RATE_PER_USER_PER_MINUTE = 2
    settings.JOB_RATE_PER_TEAM_PER_MINUTE = 3
    create(alice, 1), create(alice, 2)
    Job.objects.update(status=Job.Status.DONE)
    with pytest.raises(JobLimitReached, match="You have created 2 videos in the last minute"):
        create(alice, 3)
    create(carol, 1)
    with pytest.raises(JobLimitReached, match="Your team has created 3 videos in the last minute"):
        create(carol, 2)
    Job.objects.update(created_at=timezone.now() - timedelta(seconds=61))
    create(alice, 4)


@pytest.mark.django_db
def test_the_form_refuses_in_plain_words_and_keeps_the_inputs(logged_in, settings):
    settings.JOB_RATE_PER_USER_PER_MINUTE = 1
    data = {"visual_source": "image_url", "image_url": "https://example.com/p.jpg", "audio_source": "content",
            "content": "Say this again", "voice": "ash"}
    assert post(logged_in, **data).status_code == 302
    response = post(logged_in, **data)
    assert response.status_code == 429
    page = response.content.decode()
    assert "You have created 1 video in the last minute" in page and "Wait a minute" in page
    assert "Say this again" in page
    assert Job.objects.count() == 1
    assert logged_in.get(reverse("jobs:create")).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_limit_holds_when_requests_race(alice, settings):
    settings.JOB_MAX_IN_FLIGHT_PER_USER = 3
    barrier, outcomes = threading.Barrier(8), []

    def attempt(i):
        barrier.wait()
        try:
            create(alice, i)
            outcomes.append("created")
        except JobLimitReached:
            outcomes.append("refused")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["created"] * 3 + ["refused"] * 5
    assert Job.objects.filter(created_by=alice).count() == 3
