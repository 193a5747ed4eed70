"""A team admin's day in headless Chromium (issue 11): invite a viewer by link, set a
quota, read the usage dashboard; a creator at the cap sees the plain-words refusal
beside the form with everything typed kept. And approvals (11.7): a creator's long video
waits, the job page says who must approve and why, an admin approves it on the
Approvals page, and the real worker and local engine render it. Screenshots go to
tests/screenshots/team-*.png."""

import re

import pytest

from tests.browser.conftest import PASSWORD, assert_accessible, log_in, screenshot, wait_for_job

CAROL_TEXT = "Hello team, this is the weekly update from the studio."


@pytest.fixture
def team(studio, django_user_model):
    """alice owns Acme; carol is a creator in it; vera has an account but no team yet."""
    from accounts.models import Membership

    Membership.objects.filter(user=studio.alice).update(role=Membership.Role.OWNER)
    carol = django_user_model.objects.create_user("carol", email="carol@example.com", password=PASSWORD)
    Membership.objects.create(team=studio.team, user=carol, role=Membership.Role.CREATOR)
    django_user_model.objects.create_user("vera", email="vera@example.com", password=PASSWORD)
    return studio


def fill_text_job(page, text: str) -> None:
    page.locator("label.choice-tab", has_text="Built-in character").click()
    page.locator(".pick-card").first.click()
    page.locator("label.choice-tab", has_text="Type text").click()
    page.locator("#id_content").fill(text)
    page.locator('input[name="voice"][value="nova"]').check(force=True)


def test_an_admin_invites_a_viewer_sets_a_quota_and_reads_the_usage_and_a_creator_meets_the_cap(
        team, context, page):
    from jobs.models import Job

    # The owner makes a viewer's invitation link.
    log_in(page, "alice")
    page.get_by_role("link", name="Team").click()
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Make an invitation link").click()
    link = page.locator("#new-link").input_value()
    assert "/join/" in link
    screenshot(page, "team-01-invitation-link")

    # vera opens it in her own browser, logged in, and joins as a viewer.
    vera = context.browser.new_context(base_url=team.url, viewport={"width": 1280, "height": 900})
    try:
        other = vera.new_page()
        log_in(other, "vera")
        other.goto(link)
        assert "as viewer" in other.locator("main").inner_text()
        other.get_by_role("button", name="Join Acme").click()
        other.wait_for_url(re.compile(r"/gallery/$"))  # a viewer's start page
        assert other.get_by_role("link", name="Create").count() == 0
        screenshot(other, "team-02-viewer-joined")
    finally:
        vera.close()

    # The owner sets one video a day for each person.
    page.goto("/team/members/")
    assert page.locator('tr[data-member="vera"] select').input_value() == "viewer"
    page.get_by_label("Videos per day, each person").fill("1")
    page.get_by_role("button", name="Save quotas").click()
    assert "Quotas saved" in page.locator(".messages").inner_text()
    screenshot(page, "team-03-quota-set")
    assert_accessible(page, "team")

    # carol makes her one video of the day, then meets the cap with her text kept.
    carol = context.browser.new_context(base_url=team.url, viewport={"width": 1280, "height": 900})
    try:
        creator = carol.new_page()
        log_in(creator, "carol")
        fill_text_job(creator, "The first video of the day.")
        creator.get_by_role("button", name="Generate video").click()
        creator.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
        creator.goto("/")
        fill_text_job(creator, CAROL_TEXT)
        creator.get_by_role("button", name="Generate video").click()
        creator.wait_for_load_state()
        alert = creator.locator(".alert--error").inner_text()
        assert re.search(r"You have made 1 of your 1 videos allowed today, so none is left; it starts again at "
                         r"midnight \((\d+ h )?\d+ min from now\)", alert), alert
        assert creator.locator("#id_content").input_value() == CAROL_TEXT  # nothing typed is lost
        screenshot(creator, "team-04-creator-at-the-cap")
    finally:
        carol.close()
    assert Job.objects.filter(created_by__username="carol").count() == 1

    # The usage dashboard shows carol's video once it was sent.
    wait_for_job(lambda: Job.objects.filter(created_by__username="carol", submit_tries__gte=1).exists(),
                 studio=team)
    page.goto("/team/members/")
    page.get_by_role("link", name="Usage: who made how much").click()
    page.wait_for_url(re.compile(r"/team/usage/"))
    assert page.locator("h1").inner_text() == "Acme: usage"
    assert page.locator("svg").count() >= 1 and "carol" in page.locator("main").inner_text()
    screenshot(page, "team-05-usage-dashboard")


def test_a_long_video_waits_for_approval_and_renders_once_approved(team, context, page):
    from accounts.models import Team
    from jobs.models import Job

    Team.objects.filter(pk=team.team.pk).update(approval_over_seconds=3)
    carol = context.browser.new_context(base_url=team.url, viewport={"width": 1280, "height": 900})
    try:
        creator = carol.new_page()
        log_in(creator, "carol")
        fill_text_job(creator, CAROL_TEXT)  # 55 characters: about 4 s, over the 3 s rule
        creator.get_by_role("button", name="Generate video").click()
        creator.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
        job_url = creator.url
        status = creator.locator("#job-live").inner_text()
        assert "Waiting for a team admin's approval" in status
        assert "Who must approve: an owner or admin of the team (alice)" in status
        assert "it is about 4 s long, over the team's 3 s without approval" in status
        assert creator.get_by_role("button", name="Approve").count() == 0
        screenshot(creator, "team-06-awaiting-approval")
        assert_accessible(creator, "awaiting approval")

        # alice approves it from the Approvals page.
        log_in(page, "alice")
        page.get_by_role("link", name="Approvals").click()
        row = page.locator("tr[data-approval]")
        assert row.count() == 1 and "carol" in row.inner_text()
        screenshot(page, "team-07-approvals-list")
        assert_accessible(page, "approvals")
        row.get_by_role("button", name=re.compile("^Approve")).click()
        assert "approved; it is being made now" in page.locator("main").inner_text()

        # The real worker sends it to the local engine, which renders it.
        job = Job.objects.get(created_by__username="carol")
        wait_for_job(lambda: Job.objects.filter(pk=job.pk, status=Job.Status.DONE).exists(), timeout=180,
                     studio=team)
        creator.goto(job_url)
        creator.locator("video.player").wait_for()
        assert "Your video is ready." in creator.locator("#job-live").inner_text()
        assert creator.locator(".notif-count").inner_text().startswith("1")  # told: one video with news
        screenshot(creator, "team-08-approved-and-rendered")
    finally:
        carol.close()
    statuses = list(Job.objects.get(pk=job.pk).events.order_by("id").values_list("to_status", flat=True))
    assert statuses[:2] == ["awaiting_approval", "queued"] and statuses[-1] == "done"
