"""Notifications: the header's count of videos finished since the person last looked, the
list (opening it marks them seen), and the email preferences."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile
from jobs import notifications
from jobs.models import Job

S = Job.Status


@pytest.fixture
def finished(alice, bob, make_job):
    now = timezone.now()
    return {
        "done": make_job(alice, title="Alice done", status=S.DONE, finished_at=now, video_url="https://c.example/a.mp4"),
        "failed": make_job(alice, title="Alice failed", status=S.FAILED, finished_at=now, error_category="auth"),
        "running": make_job(alice, title="Alice running", status=S.PROCESSING),
        "canceled": make_job(alice, title="Alice canceled", status=S.CANCELED, finished_at=now),
        "bobs": make_job(bob, title="Bob done", status=S.DONE, finished_at=now),
    }


def header_count(html: str) -> str | None:
    import re

    match = re.search(r'<span class="notif-count">(\d+)<span class="visually-hidden"> new</span>', html)
    return match.group(1) if match else None


@pytest.mark.django_db
def test_the_header_counts_unseen_finished_videos(client, alice, finished):
    client.force_login(alice)
    html = client.get(reverse("jobs:history")).content.decode()
    assert header_count(html) == "2"  # done + failed; not running, canceled, or bob's
    assert 'href="/notifications/"' in html


@pytest.mark.django_db
def test_opening_the_list_shows_them_and_marks_them_seen(client, alice, finished):
    client.force_login(alice)
    html = client.get(reverse("jobs:notifications")).content.decode()
    new = html[html.index('id="new-h"'):]
    assert "Alice done" in new and "is ready" in new
    assert "Alice failed" in new and "could not be made (license rejected)" in new
    assert "Alice running" not in html and "Bob done" not in html and "Alice canceled" not in html
    assert header_count(html) is None  # seen now, so the header of this very page shows none
    again = client.get(reverse("jobs:notifications")).content.decode()
    assert "Nothing new." in again
    assert "Alice done" in again[again.index('id="earlier-h"'):]
    assert header_count(client.get(reverse("jobs:history")).content.decode()) is None


@pytest.mark.django_db
def test_a_video_finished_after_looking_counts_again(client, alice, finished, make_job):
    client.force_login(alice)
    client.get(reverse("jobs:notifications"))
    make_job(alice, title="Later", status=S.DONE, finished_at=timezone.now() + dt.timedelta(seconds=1))
    assert header_count(client.get(reverse("jobs:gallery")).content.decode()) == "1"


@pytest.mark.django_db
def test_the_count_is_one_query_and_agrees_with_the_list(alice, finished, make_job, django_assert_num_queries):
    team = alice.teams.first()
    with django_assert_num_queries(1):
        assert notifications.unseen_count(alice, team) == 2
    assert notifications.unseen_count(alice, team) == notifications.unseen(alice, team).count()
    Profile.objects.create(user=alice, notifications_seen_at=timezone.now() - dt.timedelta(hours=1))
    make_job(alice, title="Old", status=S.DONE, finished_at=timezone.now() - dt.timedelta(hours=2))
    assert notifications.unseen_count(alice, team) == notifications.unseen(alice, team).count() == 2
    notifications.mark_seen(alice)
    assert notifications.unseen_count(alice, team) == 0


@pytest.mark.django_db
def test_it_saves_the_email_preferences(client, alice):
    client.force_login(alice)
    html = client.get(reverse("jobs:notifications")).content.decode()
    assert '<label for="id_email_on_done">Email me when my video is ready</label>' in html
    assert "Your account has no email address yet" in html
    response = client.post(reverse("jobs:notifications"), {"email_on_done": "on"}, follow=True)
    assert "Email preferences saved." in response.content.decode()
    profile = Profile.objects.get(user=alice)
    assert profile.email_on_done is True and profile.email_on_failed is False


@pytest.mark.django_db
def test_it_needs_a_login(client):
    response = client.get(reverse("jobs:notifications"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_header_count_is_capped(alice, make_job):
    from django.utils import timezone

    from jobs import notifications

    team = alice.teams.first()
    for _ in range(5):
        make_job(alice, status="done", finished_at=timezone.now())
    assert notifications.unseen_count(alice, team) == 5
    assert notifications.unseen_count(alice, team, cap=3) == 3
