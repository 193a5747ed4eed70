"""The usage dashboard: server-rendered SVG charts per person and per key from the
ledger, success rate, generation times, commonest failures, a CSV of the period; owners
and admins only; a query count that does not grow with the rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from jobs import ledger
from jobs.models import Job, UsageEntry

S = Job.Status


@pytest.fixture
def owner(client, alice):
    Membership.objects.filter(user=alice).update(role=Membership.Role.OWNER)
    client.force_login(alice)
    return client


def grow(alice, make_job, total: int, django_user_model=None):
    """Bring alice's team to `total` jobs sent (a ledger row each), a third with a result."""
    team = alice.teams.first()
    have = Job.objects.filter(team=team).count()
    now = timezone.now()
    for i in range(have, total):
        status = [S.DONE, S.DONE, S.FAILED][i % 3]
        job = make_job(alice, status=status, error_category="face_not_found" if status == S.FAILED else "",
                       submitted_at=now - timedelta(seconds=100), finished_at=now - timedelta(seconds=60 - i % 30))
        ledger.record_generate(job, job.license_key)
        if status == S.DONE:
            ledger.record_result(job, 5.0)


@pytest.mark.django_db
def test_the_page_shows_usage_per_person_and_key(owner, alice, make_job, django_user_model):
    carol = django_user_model.objects.create_user("<b>carol</b>")
    Membership.objects.create(team=alice.teams.first(), user=carol)
    grow(alice, make_job, 6)
    job = make_job(carol, status=S.DONE)
    ledger.record_generate(job, job.license_key)
    page = owner.get(reverse("jobs:usage")).content.decode()
    assert page.count('<svg class="chart"') == 4
    assert "<title>alice, " in page and "&lt;b&gt;carol&lt;/b&gt;" in page and "<b>carol</b>" not in page
    assert "Acme key" in page  # the key's name, never its secret
    assert "sk-alice" not in page
    assert "71 %" in page  # 5 made, 2 failed
    assert ">42 s<" in page and "90 % within 43 s" in page  # alice's: 40, 41, 43, 44 s


@pytest.mark.django_db
def test_the_csv_has_the_ledger_of_the_period(owner, alice, bob, make_job):
    grow(alice, make_job, 3)
    other = make_job(bob)
    ledger.record_generate(other, other.license_key)
    old = make_job(alice)
    UsageEntry.objects.create(kind="generate", team_id=old.team_id, user_id=alice.pk, job_id=old.pk, method=9,
                              created_at=timezone.now() - timedelta(days=40))
    response = owner.get(reverse("jobs:usage") + "?days=30&format=csv")
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("time,kind,person_id")
    assert len(lines) == 1 + 3 + 2  # three sends and two results; not bob's, not 40 days ago


@pytest.mark.django_db
def test_creators_and_viewers_cannot_see_it(client, alice):
    for role in (Membership.Role.CREATOR, Membership.Role.VIEWER):
        Membership.objects.filter(user=alice).update(role=role)
        client.force_login(alice)
        assert client.get(reverse("jobs:usage")).status_code == 403


@pytest.mark.django_db
def test_it_runs_the_same_queries_for_10_and_200_jobs(owner, alice, make_job):
    url = reverse("jobs:usage")
    counts = []
    for total in (10, 200):
        grow(alice, make_job, total)
        owner.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert owner.get(url).status_code == 200
        counts.append(len(captured.captured_queries))
    # 13: the header's count of videos awaiting the owner's approval is one query more
    assert counts[0] == counts[1] <= 13
