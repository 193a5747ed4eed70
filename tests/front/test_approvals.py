"""Approvals on the pages (issue 11.7): the create form and a batch hold the jobs the
team's rules say (an uploaded file by its real length), the job page says who must
approve and why, owners/admins approve or reject (with a comment) from the Approvals
page or the job page, creators and viewers are refused (403); a rejected job can be
duplicated with everything kept. The rules and each member's own caps are set on the
Team and Approvals pages, audited, refused above the staff ceiling beside the field."""

import io
import re
import wave

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import AuditEvent, Membership, Team
from jobs import services
from jobs.models import Job
from keys.selection import key_for_team
from tests.front.create_support import error_beside, post

S, R = Job.Status, Membership.Role
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


@pytest.fixture
def carol(alice, django_user_model):
    carol = django_user_model.objects.create_user("carol", password="pw-carol-123!")
    Membership.objects.create(team=alice.teams.first(), user=carol, role=R.CREATOR)
    Membership.objects.filter(user=alice).update(role=R.ADMIN)
    return carol


def team_of(user):
    return user.teams.first()


def waiting_job(user, content="Please approve this one."):
    Membership.objects.filter(user=user).update(requires_approval=True)
    team = team_of(user)
    return services.job_create(team=team, user=user, license_key=key_for_team(team), title="Needs a yes",
                               visual_type="character", character_name="navtalk.Leo", audio_type="content",
                               content=content, voice="nova")


def seconds_of_wav(seconds: float) -> SimpleUploadedFile:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * int(8000 * seconds))
    return SimpleUploadedFile("speech.wav", buf.getvalue(), content_type="audio/wav")


def test_an_uploaded_audio_over_the_length_waits_by_its_real_length(client, carol, characters):
    Team.objects.filter(pk=team_of(carol).pk).update(approval_over_seconds=2)
    client.force_login(carol)
    short = post(client, visual_source="character", character="navtalk.Leo", audio_source="audio_file",
                 audio_file=seconds_of_wav(1.5))
    long = post(client, visual_source="character", character="navtalk.Leo", audio_source="audio_file",
                audio_file=seconds_of_wav(3.0))
    assert short.status_code == long.status_code == 302
    first, second = Job.objects.order_by("id")
    assert (first.status, round(first.audio_seconds, 1)) == (S.QUEUED, 1.5)
    assert (second.status, round(second.audio_seconds, 1)) == (S.AWAITING_APPROVAL, 3.0)
    assert second.quota_seconds == pytest.approx(3.0)
    page = client.get(long.url, follow=True).content.decode()
    assert "It waits for a team admin&#x27;s approval" in page
    assert "Who must approve:</strong> an owner or admin of the team (alice)" in page
    assert "it is about 3 s long, over the team&#x27;s 2 s without approval" in page
    assert reverse("jobs:approve", args=[second.code]) not in page  # a creator has no Approve button
    assert reverse("jobs:cancel", args=[second.code]) in page  # but may withdraw it


@pytest.mark.parametrize("role", [R.CREATOR, R.VIEWER])
def test_creators_and_viewers_cannot_approve_or_reject(client, carol, alice, role):
    job = waiting_job(carol)
    Membership.objects.filter(user=alice).update(role=role)
    client.force_login(alice)
    for url, data in ((reverse("jobs:approve", args=[job.code]), {}),
                      (reverse("jobs:reject", args=[job.code]), {"comment": "no"})):
        response = client.post(url, data)
        assert response.status_code == 403
        assert "Only the team&#x27;s owners and admins can approve or reject videos." in response.content.decode()
    assert client.get(reverse("jobs:approvals")).status_code == 403
    assert Job.objects.get(pk=job.pk).status == S.AWAITING_APPROVAL


def test_the_approvals_list_approves_and_rejects_with_a_comment(client, alice, carol):
    first, second = waiting_job(carol, "First text."), waiting_job(carol, "Second text.")
    client.force_login(alice)
    page = client.get(reverse("jobs:approvals")).content.decode()
    assert "2 videos waiting" in page and page.count("The team asks for approval of every video by carol") == 2
    back = {"next": reverse("jobs:approvals")}
    response = client.post(reverse("jobs:approve", args=[first.code]), back, follow=True)
    assert "approved; it is being made now" in response.content.decode()
    assert Job.objects.get(pk=first.pk).status == S.QUEUED
    response = client.post(reverse("jobs:reject", args=[second.code]), {**back, "comment": ""}, follow=True)
    assert "is still waiting: Say why" in response.content.decode()
    assert Job.objects.get(pk=second.pk).status == S.AWAITING_APPROVAL
    client.post(reverse("jobs:reject", args=[second.code]), {**back, "comment": "Use the new logo first."})
    assert Job.objects.get(pk=second.pk).status == S.REJECTED
    assert "1 video waiting" not in client.get(reverse("jobs:approvals")).content.decode()
    assert list(AuditEvent.objects.filter(action__in=["job_approved", "job_rejected"]).order_by("id")
                .values_list("action", "actor_name")) == [("job_approved", "alice"), ("job_rejected", "alice")]


def test_a_rejected_job_says_why_and_duplicates_with_everything_kept(client, alice, carol):
    job = waiting_job(carol, "Every word here stays.")
    client.force_login(alice)
    client.post(reverse("jobs:reject", args=[job.code]), {"comment": "Say it shorter."})
    client.force_login(carol)
    page = client.get(job.get_absolute_url()).content.decode()
    assert "alice did not approve this video" in page and "Say it shorter." in page
    assert reverse("jobs:duplicate", args=[job.code]) in page and reverse("jobs:retry", args=[job.code]) not in page
    duplicate = client.get(reverse("jobs:duplicate", args=[job.code])).content.decode()
    assert "Every word here stays." in duplicate
    notes = client.get(reverse("jobs:notifications")).content.decode()
    assert "was not approved by alice" in notes


def test_history_filters_jobs_awaiting_approval(client, alice, carol):
    waiting_job(carol)
    client.force_login(alice)
    page = client.get(reverse("jobs:history"), {"status": S.AWAITING_APPROVAL}).content.decode()
    assert "Needs a yes" in page and "Awaiting approval" in page


def test_the_approval_rule_and_a_members_own_caps_are_set_and_audited(client, alice, carol):
    Team.objects.filter(pk=team_of(alice).pk).update(max_jobs_per_day=10)
    client.force_login(alice)
    response = client.post(reverse("jobs:approval_rules"), {"approval_over_seconds": "90"}, follow=True)
    assert "videos longer than 90 s wait for approval" in response.content.decode()
    assert Team.objects.get(pk=team_of(alice).pk).approval_over_seconds == 90
    member = Membership.objects.get(user=carol)
    url = reverse("jobs:member_settings", args=[member.pk])
    prefix = f"m{member.pk}-"
    response = client.post(url, {prefix + "jobs_per_day": "11", prefix + "video_seconds_per_month": "300",
                                 prefix + "requires_approval": "on"})
    assert response.status_code == 400  # above the staff ceiling: said beside the field, what was typed kept
    assert "more than the 10 the portal's staff allow" in (error_beside(response, prefix + "jobs_per_day") or "")
    assert re.search(rf'name="{prefix}video_seconds_per_month" value="300"', response.content.decode())
    client.post(url, {prefix + "jobs_per_day": "4", prefix + "video_seconds_per_month": "",
                      prefix + "requires_approval": "on"})
    member.refresh_from_db()
    assert (member.jobs_per_day, member.video_seconds_per_month, member.requires_approval) == (4, None, True)
    page = client.get(reverse("jobs:members")).content.decode()
    assert f'name="{prefix}jobs_per_day" value="4"' in page
    actions = list(AuditEvent.objects.exclude(action="login").order_by("id").values_list("action", "target"))
    assert actions == [("approval_settings_changed", "videos longer than"), ("quota_changed", "carol"),
                       ("approval_settings_changed", "carol")]
    client.force_login(carol)
    assert client.post(url, {prefix + "jobs_per_day": "99"}).status_code == 403


def test_a_batch_holds_its_rows_for_approval(client, alice, carol, characters):
    from tests.front.test_batches import csv_file, upload

    Membership.objects.filter(user=carol).update(requires_approval=True)
    client.force_login(carol)
    batch = upload(client, csv_file([["text"], ["One"], ["Two"], ["Three"]]))
    from automation.models import Preset

    preset = Preset.objects.create(team=team_of(carol), name="Leo", visual_type="character",
                                   character_name="navtalk.Leo", voice="nova")
    client.post(f"/batches/{batch.pk}/", {"map_content": "text", "preset": preset.pk, "template": ""})
    response = client.post(f"/batches/{batch.pk}/submit/", follow=True)
    assert "3 wait for a team admin&#x27;s approval" in response.content.decode()
    assert set(Job.objects.values_list("status", flat=True)) == {S.AWAITING_APPROVAL}
