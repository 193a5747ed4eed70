"""Live status for lists: one batched request returns the fragments of the history rows
or gallery cards still in flight, for the person's team only."""

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job

S = Job.Status


@pytest.mark.django_db
def test_history_rows_carry_their_live_state(logged_in, alice, make_job):
    running = make_job(alice, title="Running", status=S.PROCESSING)
    done = make_job(alice, title="Done one", status=S.DONE, video_url="https://c.example/v.mp4")
    html = logged_in.get(reverse("jobs:history")).content.decode()
    assert 'data-live-url="/jobs/live/?view=history"' in html
    assert f'data-live-job="{running.code}" data-live-title="Running" data-in-flight="true"' in html
    assert f'data-live-job="{done.code}" data-live-title="Done one" data-in-flight="false"' in html


@pytest.mark.django_db
def test_it_answers_for_many_jobs_in_one_request(logged_in, alice, bob, make_job):
    running = make_job(alice, title="Running", status=S.PROCESSING)
    done = make_job(alice, title="Finished", status=S.DONE, video_url="https://c.example/v.mp4")
    bobs = make_job(bob, title="Bob's", status=S.PROCESSING)
    response = logged_in.get(reverse("jobs:live"), {"view": "history",
                                                    "job": [str(running.code), str(done.code), str(bobs.code),
                                                            "not-a-uuid"]})
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert html.count("data-live-job=") == 2 and "Bob" not in html
    assert 'badge--processing">Processing' in html and 'badge--done">Done' in html
    assert "<html" not in html  # a fragment, not a page


@pytest.mark.django_db
def test_it_answers_with_gallery_cards(logged_in, alice, make_job):
    running = make_job(alice, title="Rendering one", status=S.PROCESSING)
    failed = make_job(alice, title="Broken one", status=S.FAILED)
    html = logged_in.get(reverse("jobs:live"), {"view": "gallery", "job": [str(running.code), str(failed.code)]}
                         ).content.decode()
    assert 'class="card gallery__item"' in html and "Rendering…" in html
    assert "This video could not be made." in html and "See why and retry" in html


@pytest.mark.django_db
def test_it_needs_a_login(client, alice, make_job):
    job = make_job(alice)
    response = client.get(reverse("jobs:live"), {"job": str(job.code)})
    assert response.status_code == 302


@pytest.mark.django_db
def test_the_detail_page_offers_a_team_only_share_link(logged_in, alice, make_job):
    job = make_job(alice, status=S.DONE, video_url="https://c.example/v.mp4")
    html = logged_in.get(reverse("jobs:detail", args=[job.code])).content.decode()
    assert f'data-copy-link="/jobs/{job.code}/"' in html and "Copy link" in html


@pytest.mark.django_db
def test_live_answers_carry_the_header_notification_count(logged_in, alice, make_job):
    """portal.js swaps the header's link for the one in each live answer, so the count
    follows jobs finishing while a page is open."""
    running = make_job(alice, title="Running", status=S.PROCESSING)
    html = logged_in.get(reverse("jobs:live"), {"view": "history", "job": str(running.code)}).content.decode()
    assert "data-notif-link" in html and "notif-count" not in html
    Job.objects.filter(pk=running.pk).update(status=S.DONE, finished_at=timezone.now(),
                                             video_url="https://c.example/v.mp4")
    for response in (logged_in.get(reverse("jobs:live"), {"view": "history", "job": str(running.code)}),
                     logged_in.get(reverse("jobs:status", args=[running.code]))):
        html = response.content.decode()
        assert '<span class="notif-count">1<span class="visually-hidden"> new</span></span>' in html, html
        assert html.count("data-notif-link") == 1
