"""Quotas and spend caps: videos per day and seconds of video per month for a team and
each member, a key's monthly budget; reserved at creation under the creation limits'
locks (a race on PostgreSQL), given back when nothing was sent, refused in plain words
(which cap, what is left, when it resets) with everything typed kept."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Team
from jobs import services, submit
from jobs.models import Job
from jobs.quotas import QuotaReached
from keys.models import LicenseKey
from keys.selection import key_for_team
from tests.conftest import Reply
from tests.front.create_support import post

S = Job.Status


def create(user, content="A short line.", i=0):
    team = user.teams.first()
    return services.job_create(team=team, user=user, license_key=key_for_team(team), title=f"quota {i}",
                               visual_type="character", character_name="navtalk.Leo", audio_type="content",
                               content=content, voice="nova")


def set_team(user, **caps):
    Team.objects.filter(pk=user.teams.first().pk).update(**caps)


@pytest.fixture
def carol(alice, django_user_model):
    carol = django_user_model.objects.create_user("carol", password="pw-carol-123!")
    Membership.objects.create(team=alice.teams.first(), user=carol)
    return carol


@pytest.mark.django_db
def test_videos_per_day_for_each_person_and_the_team(alice, carol):
    set_team(alice, member_jobs_per_day=2, jobs_per_day=3)
    create(alice), create(alice)
    with pytest.raises(QuotaReached, match=r"You have made 2 of your 2 videos allowed today, so none is left; "
                                           r"it starts again at midnight \(\d+"):
        create(alice)
    create(carol)
    with pytest.raises(QuotaReached, match="Your team has made 3 of its 3 videos allowed today"):
        create(carol)
    Job.objects.update(quota_at=timezone.now() - timedelta(days=1, hours=1))  # yesterday's
    create(alice)


@pytest.mark.django_db
def test_seconds_per_month_count_estimates_then_real_durations(alice):
    set_team(alice, member_video_seconds_per_month=10)
    first = create(alice, "x" * 150)  # typed text: 150 chars ≈ 10 s
    assert first.quota_seconds == 10
    with pytest.raises(QuotaReached, match=r"You have used 10 s of your 10 s of video this month; 0 s left, and "
                                           r"this video needs about 1 s\. It starts again on 1 "):
        create(alice)
    Job.objects.filter(pk=first.pk).update(video_duration=4.0)  # the real length, once known
    create(alice, "x" * 90)  # 6 s: exactly the room left
    with pytest.raises(QuotaReached, match="0 s left"):
        create(alice)


@pytest.mark.django_db
def test_a_staff_ceiling_bounds_what_the_team_admin_sets(alice):
    set_team(alice, max_jobs_per_day=1, member_jobs_per_day=5)
    create(alice)
    with pytest.raises(QuotaReached, match="1 videos allowed today"):
        create(alice)


@pytest.mark.django_db
def test_a_keys_monthly_budget_holds_for_all_its_teams(alice, bob):
    key = key_for_team(alice.teams.first())
    LicenseKey.objects.filter(pk=key.pk).update(monthly_budget_seconds=3)
    bob_team = bob.teams.first()
    bob_team.team_keys.all().delete()
    bob_team.team_keys.create(key=key)
    create(alice, "x" * 30)  # 2 s
    with pytest.raises(QuotaReached, match="The team's license has used 2 s of its 3 s budget"):
        create(bob, "x" * 30)
    create(bob, "x" * 15)  # 1 s fits


@pytest.mark.django_db
def test_a_unit_comes_back_when_nothing_was_sent(upstream, alice, carol):
    set_team(alice, member_jobs_per_day=1)
    refused = create(alice)
    upstream.script("generate", Reply(status=400, body={"message": "bad input"}))
    submit.job_submit(refused.pk)  # failed before the upstream accepted it
    assert Job.objects.get(pk=refused.pk).quota_released
    accepted = create(alice)  # the unit came back
    submit.job_submit(accepted.pk)
    services.fail(Job.objects.get(pk=accepted.pk), "upstream_error", "failed while rendering")
    assert not Job.objects.get(pk=accepted.pk).quota_released  # it was made (and billed): kept
    with pytest.raises(QuotaReached):
        create(alice)
    queued = create(carol)
    services.job_cancel(queued, carol)  # canceled before it was sent: given back
    assert Job.objects.get(pk=queued.pk).quota_released
    create(carol)


@pytest.mark.django_db
def test_a_retry_takes_a_unit_and_is_refused_at_the_cap(logged_in, alice):
    set_team(alice, member_jobs_per_day=1)
    job = create(alice)
    services.fail(Job.objects.get(pk=job.pk), "invalid_input", "refused")  # before acceptance: given back
    create(alice)  # so the day's one unit went to another video
    response = logged_in.post(reverse("jobs:retry", args=[job.code]), follow=True)
    assert "You have made 1 of your 1 videos allowed today" in response.content.decode()
    assert Job.objects.get(pk=job.pk).status == S.FAILED
    set_team(alice, member_jobs_per_day=2)
    logged_in.post(reverse("jobs:retry", args=[job.code]))
    job = Job.objects.get(pk=job.pk)
    assert job.status == S.QUEUED and not job.quota_released  # it holds a unit again


@pytest.mark.django_db
def test_the_form_says_which_cap_and_keeps_what_was_typed(logged_in, alice):
    set_team(alice, jobs_per_day=0)
    response = post(logged_in, visual_source="image_url", image_url="https://example.com/p.jpg",
                    audio_source="content", content="Keep every word of this", voice="ash")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Your team has made 0 of its 0 videos allowed today" in page and "starts again at midnight" in page
    assert "Keep every word of this" in page and Job.objects.count() == 0


@pytest.mark.django_db
def test_the_team_admin_sets_quotas_within_the_ceiling(client, alice, carol):
    set_team(alice, max_video_seconds_per_month=600)
    Membership.objects.filter(user=alice).update(role=Membership.Role.ADMIN)
    client.force_login(alice)
    data = {"jobs_per_day": "20", "member_jobs_per_day": "5", "video_seconds_per_month": "900",
            "member_video_seconds_per_month": ""}
    response = client.post(reverse("jobs:quotas"), data)
    assert response.status_code == 400
    assert "more than the 600 the portal&#x27;s staff allow" in response.content.decode()
    assert 'value="20"' in response.content.decode()  # kept
    data["video_seconds_per_month"] = "300"
    assert client.post(reverse("jobs:quotas"), data).status_code == 302
    team = Team.objects.get(pk=alice.teams.first().pk)
    assert (team.jobs_per_day, team.member_jobs_per_day, team.video_seconds_per_month) == (20, 5, 300)
    client.force_login(carol)  # a creator
    assert client.post(reverse("jobs:quotas"), data).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_two_submits_at_once_cannot_both_take_the_last_unit(alice, carol):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race is exercised on PostgreSQL (CI sets DATABASE_URL)")
    set_team(alice, jobs_per_day=3)
    barrier, outcomes = threading.Barrier(8), []

    def attempt(i):
        barrier.wait()
        try:
            create(alice if i % 2 else carol, i=i)
            outcomes.append("created")
        except QuotaReached:
            outcomes.append("refused")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["created"] * 3 + ["refused"] * 5
    assert Job.objects.count() == 3
