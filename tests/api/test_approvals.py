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
