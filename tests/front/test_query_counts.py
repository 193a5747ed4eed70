"""The pages run a fixed number of queries, however many jobs (and events) a team has.

Each page is requested with 10 rows and again with 200: the count must be the same, and
within a fixed budget. Counts only, never timings (bench/pages.py measures time).
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job, JobEvent

S = Job.Status

# Every page: session, user, current team. Full pages add base.html's two: the person's
# teams (switcher) and the unseen-notifications count. Then history: members (filter
# form) + one page of jobs joined to their creators; gallery: the jobs in flight + one
# page of done jobs with creators; detail: the job (+ creator, key) and its events. The
# status fragment: session, user, team, the job, its events, and the unseen count (the
# header's link rides along so it updates live). Raise a budget only for a
# query that costs the same at 10 rows as at 100k.
BUDGET = {"history": 7, "history_older": 7, "gallery": 7, "detail": 7, "status": 6}


def grow(alice, make_job, total: int) -> None:
    """Bring alice's team to `total` jobs (mostly done, some in flight and failed), each
    with a couple of events, and give the first job `total` events."""
    team = alice.teams.first()
    have = Job.objects.filter(team=team).count()
    statuses = [S.DONE, S.DONE, S.DONE, S.PROCESSING, S.FAILED]
    for i in range(have, total):
        status = statuses[i % len(statuses)]
        job = make_job(alice, title=f"Job {i}", status=status,
                       video_url=f"https://cdn.example.com/{i}.mp4" if status == S.DONE else "",
                       finished_at=timezone.now() if status in Job.TERMINAL_STATUSES else None)
        JobEvent.objects.create(job=job, to_status="queued", message="Created")
        JobEvent.objects.create(job=job, from_status="queued", to_status=status, message="Moved")
    first = Job.objects.filter(team=team).order_by("id").first()
    for i in range(first.events.count(), total):
        JobEvent.objects.create(job=first, from_status="processing", to_status="processing", message=f"Poll {i}")


def url_for(page: str, alice) -> str:
    from jobs import selectors

    team = alice.teams.first()
    first = Job.objects.filter(team=team).order_by("id").first()
    if page == "history":
        return reverse("jobs:history")
    if page == "history_older":
        fifth = Job.objects.filter(team=team).order_by("-created_at", "-id")[5]
        return reverse("jobs:history") + "?status=done&after=" + selectors.encode_cursor(fifth)
    if page == "gallery":
        return reverse("jobs:gallery")
    if page == "detail":
        return reverse("jobs:detail", args=[first.code])
    return reverse("jobs:status", args=[first.code])


def queries_for(client, url: str) -> int:
    client.get(url)  # the first request of a session may save it (current team): not counted
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("page", list(BUDGET))
def test_it_runs_the_same_queries_for_10_and_200_jobs(page, logged_in, alice, make_job,
                                                       django_assert_max_num_queries):
    grow(alice, make_job, 10)
    url = url_for(page, alice)
    few = queries_for(logged_in, url)
    grow(alice, make_job, 200)
    url = url_for(page, alice)
    with django_assert_max_num_queries(BUDGET[page]):
        response = logged_in.get(url)
    assert response.status_code == 200
    many = queries_for(logged_in, url)
    assert many == few, f"{page}: {few} queries with 10 jobs, {many} with 200"


@pytest.mark.django_db
def test_it_lists_200_jobs_25_to_a_page(logged_in, alice, make_job):
    grow(alice, make_job, 200)
    html = logged_in.get(reverse("jobs:history")).content.decode()
    assert html.count('class="row-title"') == 25


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["history", "gallery", "detail"])
def test_an_owner_s_header_counts_the_videos_awaiting_approval_in_one_query(page, logged_in, alice, make_job):
    """Owners and admins see how many videos wait for their approval on every page: one
    query more than a creator's page, the same at 3 waiting jobs as at 150."""
    from accounts.models import Membership

    grow(alice, make_job, 10)
    url = url_for(page, alice)
    as_creator = queries_for(logged_in, url)
    Membership.objects.filter(user=alice).update(role=Membership.Role.OWNER)
    for i in range(3):
        make_job(alice, title=f"Waiting {i}", status=S.AWAITING_APPROVAL, approval_reason="long")
    few = queries_for(logged_in, url)
    html = logged_in.get(url).content.decode()
    assert re.search(r'href="/team/approvals/" data-approvals-link[^>]*>Approvals <span class="notif-count">3<', html)
    for i in range(147):
        make_job(alice, title=f"Waiting more {i}", status=S.AWAITING_APPROVAL, approval_reason="long")
    many = queries_for(logged_in, url)
    assert few == many == as_creator + 1, (as_creator, few, many)
    assert ">Approvals <span class=\"notif-count\">99+<" in logged_in.get(url).content.decode()
