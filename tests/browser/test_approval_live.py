"""A job page awaiting approval updates by itself (issue 11.7): the creator keeps the page
open while a team admin decides, and the page shows the decision without a reload, the
inputs' heading reading "What will be sent" until the video is sent. Headless Chromium
against the live server; the decisions are jobs.services' (as the Approvals page makes
them); no worker is needed (an approved job stays queued, waiting to be sent)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people(live_server, django_user_model, characters):
    from accounts.models import Membership, Team
    from keys.models import LicenseKey
    from keys.selection import assign_key

    alice = django_user_model.objects.create_user("alice", password=PASSWORD)
    carol = django_user_model.objects.create_user("carol", password=PASSWORD)
    key = LicenseKey(name="Key", generate_url="http://127.0.0.1:9/generate",
                     query_status_url="http://127.0.0.1:9/query_status")
    key.secret = "sk-browser-approval-SECRET"
    key.save()
    team = Team.objects.create(name="Acme")
    assign_key(team, key)
    Membership.objects.create(team=team, user=alice, role=Membership.Role.OWNER)
    Membership.objects.create(team=team, user=carol, role=Membership.Role.CREATOR, requires_approval=True)
    return team, alice, carol


def held_job(team, carol, title):
    from jobs import services
    from keys.selection import key_for_team

    return services.job_create(team=team, user=carol, license_key=key_for_team(team), title=title,
                               visual_type="character", character_name="navtalk.Leo", audio_type="content",
                               content="Welcome to the team.", voice="nova")


def fresh(job):
    from jobs.models import Job

    return Job.objects.select_related("team", "created_by").get(pk=job.pk)


def test_the_page_of_a_job_awaiting_approval_shows_the_decision_without_a_reload(people, page):
    from jobs import services

    team, alice, carol = people
    approved, rejected = held_job(team, carol, "To approve"), held_job(team, carol, "To reject")
    log_in(page, "carol")
    status, heading = page.locator("#job-live [data-part=status]"), page.locator("[data-inputs-heading]")

    page.goto(rejected.get_absolute_url())
    expect(status).to_contain_text("Waiting for a team admin's approval")
    expect(heading).to_have_text("What will be sent")
    services.job_reject(fresh(rejected), alice, "Please say it in fewer words.")
    expect(status).to_contain_text("Not approved", timeout=12_000)  # polled every 5 s while it waits
    expect(page.locator("#job-live")).to_contain_text("They wrote: “Please say it in fewer words.”")
    expect(heading).to_have_text("What would have been sent")
    page.screenshot(path="/tmp/approvals-2-live-rejected.png", full_page=True)

    page.goto(approved.get_absolute_url())
    expect(page.locator("#job-live .badge").first).to_have_text(re.compile("awaiting", re.I))
    services.job_approve(fresh(approved), alice)
    expect(status).to_contain_text("Waiting to be sent to the video service", timeout=12_000)
    expect(page.locator("#job-live")).to_contain_text("Approved by alice")  # the timeline
    expect(heading).to_have_text("What will be sent")  # queued: not sent yet
    page.screenshot(path="/tmp/approvals-2-live-approved.png", full_page=True)
