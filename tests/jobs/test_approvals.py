"""Optional approval (issue 11.7) through jobs.services: which jobs wait (length over the
team's rule by the text estimate or the uploaded audio's real length, unknown length,
a flagged member; owners/admins exempt), every transition of AWAITING_APPROVAL with its
events, the quota unit it holds and gives back, the creator told either way, audit
events, retries and batches; and per-person cap overrides used by the quota check."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEvent, Membership, Profile, Team
from jobs import notifications, reconcile, services, submit
from jobs.models import Job
from jobs.quotas import QuotaReached, team_caps
from keys.selection import key_for_team
from tests.conftest import Reply

S, R = Job.Status, Membership.Role


@pytest.fixture
def carol(alice, django_user_model):
    """A creator in alice's team, with an email and both email boxes ticked."""
    carol = django_user_model.objects.create_user("carol", password="pw-carol-123!", email="carol@example.com")
    Membership.objects.create(team=alice.teams.first(), user=carol, role=R.CREATOR)
    Profile.objects.create(user=carol, email_on_done=True, email_on_failed=True,
                           notifications_seen_at=timezone.now() - timedelta(minutes=1))
    return carol


@pytest.fixture
def admin(alice):
    Membership.objects.filter(user=alice).update(role=R.ADMIN)
    return alice


def team_of(user):
    return user.teams.first()


def rule(user, **fields):
    Team.objects.filter(pk=team_of(user).pk).update(**fields)


def create(user, content="A short line.", **inputs):
    team = team_of(user)
    fields = dict(visual_type="character", character_name="navtalk.Leo", audio_type="content", content=content,
                  voice="nova")
    fields.update(inputs)
    return services.job_create(team=team, user=user, license_key=key_for_team(team), title="approval", **fields)


def events(job):
    return list(job.events.order_by("id").values_list("from_status", "to_status"))


@pytest.mark.django_db
def test_a_job_over_the_length_waits_and_is_never_sent(upstream, carol, admin, django_capture_on_commit_callbacks):
    rule(carol, approval_over_seconds=60)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        short = create(carol, "x" * 900)  # 60 s: not over
        long = create(carol, "x" * 901)  # 61 s
    assert short.status == S.QUEUED and long.status == S.AWAITING_APPROVAL
    assert len(callbacks) == 2  # the short one dispatched; the admins told of the long one (not sent)
    assert long.approval_reason == "it is about 1 min 1 s long, over the team's 1 min 0 s without approval"
    assert events(long) == [("", S.AWAITING_APPROVAL)]
    assert "waits for a team admin's approval" in long.events.get().message
    assert long.next_poll_at is None and not long.quota_released  # holds its unit
    # Nothing sends or repairs it: a submit task finds nothing to do, the reconciler passes by.
    submit.job_submit(long.pk)
    Job.objects.filter(pk=long.pk).update(created_at=timezone.now() - timedelta(hours=1))
    reconcile.reconcile()
    assert Job.objects.get(pk=long.pk).status == S.AWAITING_APPROVAL
    assert upstream.calls("generate") == []


@pytest.mark.django_db
def test_flagged_members_and_unknown_lengths_wait_owners_and_admins_never(carol, admin):
    assert create(carol).status == S.QUEUED  # no rule: nothing waits
    Membership.objects.filter(user=carol).update(requires_approval=True)
    flagged = create(carol)
    assert flagged.status == S.AWAITING_APPROVAL
    assert flagged.approval_reason == "the team asks for approval of every video by carol"
    Membership.objects.filter(user=carol).update(requires_approval=False)
    rule(carol, approval_over_seconds=60)
    linked = create(carol, "", audio_type="audio_url", audio_url="https://example.com/a.mp3", voice="")
    assert linked.status == S.AWAITING_APPROVAL and "linked audio is not known" in linked.approval_reason
    short_file = create(carol, "", audio_type="audio_base64", audio_file="uploads/a.wav", audio_seconds=12.0,
                        voice="")
    long_file = create(carol, "", audio_type="audio_base64", audio_file="uploads/b.wav", audio_seconds=75.0,
                       voice="")
    assert short_file.status == S.QUEUED and short_file.quota_seconds == 12.0  # its real length counts
    assert long_file.status == S.AWAITING_APPROVAL and "about 1 min 15 s long" in long_file.approval_reason
    Membership.objects.filter(user=admin).update(requires_approval=True)
    assert create(admin, "x" * 2000).status == S.QUEUED  # an admin would approve it themselves


@pytest.mark.django_db
def test_approve_makes_it_queued_dispatched_and_tells_the_creator(carol, admin, django_capture_on_commit_callbacks):
    rule(carol, approval_over_seconds=10)
    job = create(carol, "x" * 300)
    before = notifications.unseen_count(carol, team_of(carol))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert services.job_approve(Job.objects.select_related("created_by", "team").get(pk=job.pk), admin)
    job.refresh_from_db()
    assert job.status == S.QUEUED and job.approval_decided_by == admin and job.approval_decided_at
    assert events(job)[-1] == (S.AWAITING_APPROVAL, S.QUEUED)
    assert "Approved by alice" in job.events.last().message
    assert job.next_poll_at is not None  # released by jobs.waiting: it is due now (dispatched)
    assert len(callbacks) >= 2  # the release (which dispatches) and the creator's notification
    assert notifications.unseen_count(carol, team_of(carol)) == before + 1
    assert notifications.approval_decided(job.pk)  # what the published task runs
    [email] = mail.outbox
    assert email.to == ["carol@example.com"] and "was approved" in email.subject
    assert AuditEvent.objects.filter(action="job_approved", actor_id=admin.pk, target__contains=str(job.code)).exists()
    assert not services.job_approve(job, admin)  # only from AWAITING_APPROVAL


@pytest.mark.django_db
def test_reject_needs_a_comment_ends_it_keeps_its_inputs_and_gives_its_unit_back(carol, admin,
                                                                                 django_capture_on_commit_callbacks):
    rule(carol, approval_over_seconds=10, member_jobs_per_day=1)
    job = create(carol, "Every word of this long text is kept. " * 10)
    with pytest.raises(QuotaReached):
        create(carol)  # the waiting job holds carol's one unit of the day
    with pytest.raises(services.ApprovalRefused, match="Say why"):
        services.job_reject(job, admin, "   ")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.job_reject(job, admin, "Too long: split it in two, please.")
    job.refresh_from_db()
    assert (job.status, job.is_terminal, job.quota_released) == (S.REJECTED, True, True)
    assert job.content == "Every word of this long text is kept. " * 10 and job.voice == "nova"
    assert job.approval_comment == "Too long: split it in two, please." and job.finished_at
    assert events(job)[-1] == (S.AWAITING_APPROVAL, S.REJECTED)
    assert "Not approved by alice: Too long" in job.events.last().message
    create(carol)  # its unit came back
    assert not services.job_retry(job, carol)  # terminal: Duplicate and edit makes a new one
    assert notifications.approval_decided(job.pk)
    [email] = mail.outbox
    assert "was not approved" in email.subject and "Too long: split it in two" in email.body
    assert job in notifications.unseen(carol, team_of(carol))
    assert AuditEvent.objects.filter(action="job_rejected", detail__comment__startswith="Too long").exists()


@pytest.mark.django_db
def test_a_waiting_job_can_be_canceled_and_gives_its_unit_back(carol, admin):
    Membership.objects.filter(user=carol).update(requires_approval=True)
    job = create(carol)
    assert services.job_cancel(job, carol)
    job.refresh_from_db()
    assert job.status == S.CANCELED and job.quota_released
    assert not services.job_approve(job, admin)


@pytest.mark.django_db
def test_approval_checks_the_caps_again(carol, admin):
    Membership.objects.filter(user=carol).update(requires_approval=True)
    job = create(carol, "x" * 150)  # 10 s
    rule(carol, member_video_seconds_per_month=5)  # lowered while it waited
    with pytest.raises(QuotaReached, match="You have used 0 s of your 5 s"):
        services.job_approve(Job.objects.select_related("created_by", "team").get(pk=job.pk), admin)
    assert Job.objects.get(pk=job.pk).status == S.AWAITING_APPROVAL


@pytest.mark.django_db
def test_a_retry_by_the_creator_waits_again_a_retry_by_an_admin_does_not(upstream, carol, admin):
    Membership.objects.filter(user=carol).update(requires_approval=True)
    job = create(carol)
    services.job_approve(Job.objects.select_related("created_by", "team").get(pk=job.pk), admin)
    upstream.script("generate", Reply(status=400, body={"message": "bad input"}))
    submit.job_submit(job.pk)
    job = Job.objects.select_related("created_by", "team").get(pk=job.pk)
    assert job.status == S.FAILED
    assert services.job_retry(job, carol)
    job = Job.objects.select_related("created_by", "team").get(pk=job.pk)
    assert job.status == S.AWAITING_APPROVAL and job.attempt == 2 and job.approval_decided_at is None
    assert events(job)[-1] == (S.FAILED, S.AWAITING_APPROVAL)
    services.job_cancel(job, carol)
    job = Job.objects.select_related("created_by", "team").get(pk=job.pk)
    assert services.job_retry(job, admin)
    assert Job.objects.get(pk=job.pk).status == S.QUEUED


@pytest.mark.django_db
def test_a_member_override_replaces_the_team_default_under_the_ceiling(carol, alice):
    rule(carol, member_jobs_per_day=1, max_video_seconds_per_month=100)
    Membership.objects.filter(user=carol).update(jobs_per_day=3, video_seconds_per_month=500)
    caps = team_caps(Team.objects.get(pk=team_of(carol).pk), Membership.objects.get(user=carol))
    assert (caps["member_jobs"], caps["member_seconds"]) == (3, 100)  # the staff ceiling still bounds it
    create(carol), create(carol), create(carol)  # three, though the team's default is one
    with pytest.raises(QuotaReached, match="You have made 3 of your 3 videos allowed today"):
        create(carol)
    create(alice)
    with pytest.raises(QuotaReached, match="You have made 1 of your 1 videos allowed today"):
        create(alice)  # the others keep the team's default
    Membership.objects.filter(user=carol).update(jobs_per_day=None)
    with pytest.raises(QuotaReached, match="of your 1 videos"):
        create(carol)  # override removed: back to the default
