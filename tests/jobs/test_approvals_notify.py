"""The team's owners and admins are told when a video starts waiting for their approval
(issue 11.7): an email, published as a task once the job is saved (jobs.dispatch), to
those who opted into email about their videos (the creators' opt-in), one for a job or a
whole batch, naming who made it and why it waits, linking to the Approvals page, and
never naming a license key."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Membership, Profile
from jobs import services, waiting
from jobs.models import Job
from keys.selection import key_for_team
from navtalk_portal.celery import app
from tests.conftest import ALICE_SECRET

S, R = Job.Status, Membership.Role
pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    """Published tasks run in this process when published (Celery's eager mode): the
    published message and its arguments are what runs."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def team(alice, django_user_model):
    """alice (owner, opted into email), dave (admin, not opted in), erin (admin, opted in,
    without an address), carol (a creator whose every video waits)."""
    team = alice.teams.first()
    Membership.objects.filter(user=alice).update(role=R.OWNER)
    alice.email = "alice@example.com"
    alice.save()
    Profile.objects.create(user=alice, email_on_failed=True)
    for name, role, email, opted in (("dave", R.ADMIN, "dave@example.com", False), ("erin", R.ADMIN, "", True),
                                     ("carol", R.CREATOR, "carol@example.com", True)):
        user = django_user_model.objects.create_user(name, password=f"pw-{name}-123!", email=email)
        Membership.objects.create(team=team, user=user, role=role, requires_approval=name == "carol")
        Profile.objects.create(user=user, email_on_done=opted, notifications_seen_at=timezone.now()
                               - timedelta(minutes=1))
    return team


def inputs(content="A welcome for every new customer."):
    return dict(visual_type="character", character_name="navtalk.Leo", audio_type="content", content=content,
                voice="nova")


def test_a_held_job_emails_the_opted_in_owners_and_admins_once_committed(team, eager,
                                                                       django_capture_on_commit_callbacks):
    carol = team.members.get(username="carol")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = services.job_create(team=team, user=carol, license_key=key_for_team(team), title="Welcome Ada",
                                  **inputs())
    assert job.status == S.AWAITING_APPROVAL and mail.outbox == []  # nothing before the commit
    for callback in callbacks:
        callback()
    [email] = mail.outbox
    assert email.to == ["alice@example.com"]  # dave did not opt in; erin has no address; carol is no admin
    assert email.subject == "“Welcome Ada” waiting for your approval in Acme"
    assert "“Welcome Ada” by carol: the team asks for approval of every video by carol" in email.body
    assert "/team/approvals/" in email.body
    assert ALICE_SECRET not in email.body + email.subject and "sk-" not in email.body


def test_a_batch_sends_one_email_and_an_admin_s_own_video_none(team, eager, django_capture_on_commit_callbacks):
    carol, alice = team.members.get(username="carol"), team.members.get(username="alice")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.job_create(team=team, user=alice, license_key=key_for_team(team), title="Mine", **inputs())
    assert len(callbacks) == 1  # its submission only (not run here)
    rows = [inputs(f"Welcome, customer {i}.") | {"title": f"Row {i}"} for i in range(12)]
    with django_capture_on_commit_callbacks(execute=True):
        jobs = waiting.create_all(team=team, user=carol, license_key=key_for_team(team), rows=rows)
    assert {job.status for job in jobs} == {S.AWAITING_APPROVAL}
    [email] = mail.outbox
    assert email.subject == "12 videos waiting for your approval in Acme"
    assert email.body.count("by carol: ") == 10 and "- and 2 more" in email.body


def test_a_retry_that_waits_again_emails_them_and_a_decided_job_is_left_out(team, eager, make_job,
                                                                           django_capture_on_commit_callbacks):
    carol, alice = team.members.get(username="carol"), team.members.get(username="alice")
    failed = make_job(carol, title="Failed once", status=S.FAILED, error_category="upstream_error")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.job_retry(failed, carol)
    assert failed.status == S.AWAITING_APPROVAL
    [email] = mail.outbox
    assert "“Failed once” by carol" in email.body
    from jobs import notifications

    assert services.job_reject(Job.objects.select_related("team", "created_by").get(pk=failed.pk), alice, "No.")
    assert notifications.approval_needed([failed.pk]) == 0  # no longer waiting: nobody is bothered
