"""Approvals through the REST API (issue 11.7): a job created or retried through the API
obeys the team's approval rules like one from the create page, and the API shows the
new statuses (awaiting_approval, rejected), why the job waits and the admin's comment."""

import pytest

from accounts.models import Membership, Team
from jobs import services
from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)
S = Job.Status


def test_an_api_job_waits_for_approval_and_shows_why_then_the_rejection(api_for, alice, django_user_model,
                                                                          characters):
    carol = django_user_model.objects.create_user("carol", password="pw-carol-123!")
    team = alice.teams.first()
    Membership.objects.create(team=team, user=carol, role=Membership.Role.CREATOR)
    Membership.objects.filter(user=alice).update(role=Membership.Role.OWNER)
    Team.objects.filter(pk=team.pk).update(approval_over_seconds=5)
    api = api_for(carol)
    short = api.post("jobs/", json={"visual_source": "character", "character": "navtalk.Leo",
                                    "audio_source": "content", "content": "Hi.", "voice": "nova"})
    assert short.status_code == 201 and short.json()["status"] == "queued" and short.json()["approval_reason"] == ""
    answer = api.post("jobs/", json={"visual_source": "character", "character": "navtalk.Leo",
                                     "audio_source": "content", "content": "A long welcome. " * 10, "voice": "nova"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "awaiting_approval"
    assert body["approval_reason"] == "it is about 11 s long, over the team's 5 s without approval"
    assert [e["to_status"] for e in body["events"]] == ["awaiting_approval"]
    listed = api.get("jobs/", params={"status": "awaiting_approval"}).json()["results"]
    assert [j["id"] for j in listed] == [body["id"]]
    job = Job.objects.select_related("created_by", "team").get(code=body["id"])
    services.job_reject(job, alice, "Make it shorter.")
    rejected = api.get(f"jobs/{body['id']}/").json()
    assert (rejected["status"], rejected["approval_comment"]) == ("rejected", "Make it shorter.")
    assert api.post(f"jobs/{body['id']}/retry/").status_code == 409  # terminal; duplicate it instead
    copy = api.post(f"jobs/{body['id']}/duplicate/", json={"content": "Short now."})
    assert copy.status_code == 201 and copy.json()["status"] == "queued"


def test_a_retry_through_the_api_waits_again_for_a_flagged_member(api_for, alice, make_job):
    Membership.objects.filter(user=alice).update(requires_approval=True)  # a creator (the fixture's role)
    job = make_job(alice, status=S.FAILED, error_category="upstream_error")
    answer = api_for(alice).post(f"jobs/{job.code}/retry/")
    assert answer.status_code == 200 and answer.json()["status"] == "awaiting_approval"
    assert answer.json()["approval_reason"] == "the team asks for approval of every video by alice"


def _waiting_job(team, carol, content="x" * 150):
    from keys.selection import key_for_team

    Membership.objects.filter(user=carol).update(requires_approval=True)
    return services.job_create(team=team, user=carol, license_key=key_for_team(team), title="Long welcome",
                               visual_type="character", character_name="navtalk.Leo", audio_type="content",
                               content=content, voice="nova")


def test_owners_and_admins_approve_and_reject_through_the_api_others_are_refused(
        api_for, alice, bob, django_user_model):
    team = alice.teams.first()
    carol = django_user_model.objects.create_user("carol", password="pw-carol-123!")
    vera = django_user_model.objects.create_user("vera", password="pw-vera-123!")
    Membership.objects.create(team=team, user=carol, role=Membership.Role.CREATOR)
    Membership.objects.create(team=team, user=vera, role=Membership.Role.VIEWER)
    Membership.objects.filter(user=alice).update(role=Membership.Role.ADMIN)
    first, second = _waiting_job(team, carol), _waiting_job(team, carol)
    assert first.status == second.status == S.AWAITING_APPROVAL
    refusal = "Only the team's owners and admins can approve or reject videos."
    for who in (carol, vera):  # the creator herself, a viewer: 403 in plain words
        api = api_for(who)
        for action, body in (("approve", None), ("reject", {"comment": "No."})):
            answer = api.post(f"jobs/{first.code}/{action}/", json=body)
            assert answer.status_code == 403 and answer.json() == {"errors": {"non_field_errors": [refusal]}}
    read_only = api_for(alice, scope="read").post(f"jobs/{first.code}/approve/")
    assert read_only.status_code == 403 and "read-only" in read_only.json()["errors"]["non_field_errors"][0]
    assert api_for(bob).post(f"jobs/{first.code}/approve/").status_code == 404  # another team's job
    assert Job.objects.get(pk=first.pk).status == S.AWAITING_APPROVAL

    api = api_for(alice)
    approved = api.post(f"jobs/{first.code}/approve/")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "queued"
    assert [e["to_status"] for e in approved.json()["events"]] == ["awaiting_approval", "queued"]
    again = api.post(f"jobs/{first.code}/approve/")
    assert again.status_code == 409 and list(again.json()["errors"]) == ["status"]
    assert api.post(f"jobs/{first.code}/reject/", json={"comment": "Late."}).status_code == 409

    for body in ({}, {"comment": "   "}, {"comment": 7}):
        empty = api.post(f"jobs/{second.code}/reject/", json=body)
        assert empty.status_code == 400, empty.text
        assert empty.json() == {"errors": {"comment": [
            "Say why, in a few words: the person who made the video reads it."]}}
    rejected = api.post(f"jobs/{second.code}/reject/", json={"comment": "Keep it under a minute."})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["approval_comment"]) == ("rejected",
                                                                               "Keep it under a minute.")
    job = Job.objects.get(pk=second.pk)
    assert job.status == S.REJECTED and job.approval_decided_by_id == alice.pk


def test_an_approval_past_a_cap_lowered_meanwhile_answers_429_and_the_job_keeps_waiting(
        api_for, alice, django_user_model):
    team = alice.teams.first()
    carol = django_user_model.objects.create_user("carol", password="pw-carol-123!")
    Membership.objects.create(team=team, user=carol, role=Membership.Role.CREATOR)
    Membership.objects.filter(user=alice).update(role=Membership.Role.OWNER)
    job = _waiting_job(team, carol)  # 10 s of speech
    Team.objects.filter(pk=team.pk).update(member_video_seconds_per_month=5)
    answer = api_for(alice).post(f"jobs/{job.code}/approve/")
    assert answer.status_code == 429, answer.text
    [message] = answer.json()["errors"]["non_field_errors"]
    assert message.startswith("Not approved: ") and "of your 5 s" in message
    assert Job.objects.get(pk=job.pk).status == S.AWAITING_APPROVAL
