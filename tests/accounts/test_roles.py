"""Roles per membership, through the real views: every role × every action is either
done, or refused with a plain-words 403 (or not offered at all), never a 500.

alice is the person under test (her role varies); carol is a creator of the same team
who owns the jobs alice acts on unless a test says "own".
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import permissions as perms
from accounts.models import Membership
from jobs.models import Job

S, R = Job.Status, Membership.Role
ROLES = [R.OWNER, R.ADMIN, R.CREATOR, R.VIEWER]
# What each role may do, written out independently of accounts.permissions' table.
EXPECTED = {
    R.OWNER: set(perms.ACTIONS),
    R.ADMIN: set(perms.ACTIONS),
    R.CREATOR: {"create_job", "retry_job", "cancel_job", "edit_job", "download", "view"},
    R.VIEWER: {"download", "view"},
}
ON_OTHERS_JOBS = {"retry_job", "cancel_job", "edit_job"}  # creators: own jobs only


@pytest.fixture
def carol(alice, django_user_model):
    carol = django_user_model.objects.create_user("carol", password="pw-carol-123!")
    Membership.objects.create(team=alice.teams.first(), user=carol, role=R.CREATOR)
    return carol


def as_role(client, alice, role):
    Membership.objects.filter(user=alice).update(role=role)
    client.force_login(alice)
    return client


def archived(owner, make_job, media_root):
    job = make_job(owner, status=S.DONE, finished_at=timezone.now(), video_url="https://cdn.example.com/out.mp4")
    (media_root / "results").mkdir(parents=True, exist_ok=True)
    (media_root / f"results/{job.code.hex}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    Job.objects.filter(pk=job.pk).update(archive_status=Job.Archive.DONE, archive_file=f"results/{job.code.hex}.mp4")
    return job


CREATE = {"bbox_shift": "0", "extra_margin": "10", "parsing_mode": "jaw", "left_cheek_width": "90",
          "right_cheek_width": "90", "visual_source": "image_url", "image_url": "https://example.com/p.jpg",
          "audio_source": "content", "content": "Hello from the role test", "voice": "ash"}


def request_for(action, client, owner, make_job, media_root):
    """Take `action` through its real view on `owner`'s job; the response."""
    if action == "create_job":
        return client.post(reverse("jobs:create"), CREATE)
    if action == "retry_job":
        job = make_job(owner, status=S.FAILED, error_category="upstream_error", finished_at=timezone.now())
        return client.post(reverse("jobs:retry", args=[job.code]))
    if action == "cancel_job":
        job = make_job(owner, status=S.PROCESSING, upstream_task_id="t-1")
        return client.post(reverse("jobs:cancel", args=[job.code]))
    if action == "download":
        job = archived(owner, make_job, media_root)
        return client.get(reverse("jobs:video", args=[job.code]) + "?download=1")
    if action == "view":
        job = make_job(owner, status=S.FAILED, error_category="upstream_error")
        for url in (reverse("jobs:history"), reverse("jobs:gallery"), reverse("jobs:notifications"),
                    reverse("jobs:status", args=[job.code]), reverse("jobs:live") + f"?job={job.code}"):
            assert client.get(url).status_code == 200, url
        return client.get(reverse("jobs:detail", args=[job.code]))
    if action == "manage_members":
        return client.get(reverse("jobs:members"))
    if action == "manage_quotas":
        return client.post(reverse("jobs:quotas"), {"jobs_per_day": "50"})
    if action == "view_usage":
        return client.get(reverse("jobs:usage"))
    if action == "view_audit":
        return client.get(reverse("jobs:audit"))
    if action == "approve_job":  # approve one job, reject another, and see the list
        waiting = [make_job(owner, status=S.AWAITING_APPROVAL, approval_reason="test") for _ in range(2)]
        first = client.post(reverse("jobs:approve", args=[waiting[0].code]))
        second = client.post(reverse("jobs:reject", args=[waiting[1].code]), {"comment": "Too long"})
        page = client.get(reverse("jobs:approvals"))
        allowed = first.status_code == 302
        assert (second.status_code, page.status_code) == ((302, 200) if allowed else (403, 403))
        done = {Job.objects.get(pk=w.pk).status for w in waiting}
        assert done == ({S.QUEUED, S.REJECTED} if allowed else {S.AWAITING_APPROVAL})
        return first
    return None  # edit_job and manage_keys have no page in the portal yet: the rule alone is checked


@pytest.mark.django_db
@pytest.mark.parametrize("action", perms.ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_every_role_and_action_on_someone_elses_job(role, action, client, alice, carol, make_job, media_root):
    expected = action in EXPECTED[role] and not (role == R.CREATOR and action in ON_OTHERS_JOBS)
    job = make_job(carol)
    assert perms.allowed(role, action, user=alice, job=job) is expected
    response = request_for(action, as_role(client, alice, role), carol, make_job, media_root)
    if response is None:
        return
    if expected:
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == 403 and "Not allowed" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("action", sorted(ON_OTHERS_JOBS - {"edit_job"}))
@pytest.mark.parametrize("role, expected", [(R.CREATOR, True), (R.VIEWER, False)])
def test_own_jobs(role, expected, action, client, alice, carol, make_job, media_root):
    response = request_for(action, as_role(client, alice, role), alice, make_job, media_root)
    assert response.status_code == (302 if expected else 403)
    assert perms.allowed(role, "edit_job", user=alice, job=make_job(alice)) is expected


@pytest.mark.django_db
def test_retry_and_cancel_by_an_admin_change_someone_elses_job(client, alice, carol, make_job):
    as_role(client, alice, R.ADMIN)
    failed = make_job(carol, status=S.FAILED, error_category="upstream_error")
    client.post(reverse("jobs:retry", args=[failed.code]))
    failed.refresh_from_db()
    assert failed.status == S.QUEUED and failed.attempt == 2
    as_role(client, alice, R.CREATOR)
    running = make_job(carol, status=S.PROCESSING, upstream_task_id="t-1")
    assert client.post(reverse("jobs:cancel", args=[running.code])).status_code == 403
    running.refresh_from_db()
    assert running.status == S.PROCESSING


@pytest.mark.django_db
def test_a_viewer_is_not_offered_what_they_may_not_do(client, alice, carol, make_job):
    as_role(client, alice, R.VIEWER)
    failed = make_job(carol, status=S.FAILED, error_category="upstream_error")
    page = client.get(reverse("jobs:detail", args=[failed.code])).content.decode()
    assert reverse("jobs:retry", args=[failed.code]) not in page
    assert reverse("jobs:duplicate", args=[failed.code]) not in page
    history = client.get(reverse("jobs:history")).content.decode()
    assert "New video" not in history and ">Create</a>" not in history
    assert reverse("jobs:members") not in page
    # The start page (after login) of a viewer is the gallery, not a refusal.
    response = client.get(reverse("jobs:create"))
    assert response.status_code == 302 and response.url == reverse("jobs:gallery")


@pytest.mark.django_db
def test_a_creator_sees_retry_on_their_own_job_only(client, alice, carol, make_job):
    as_role(client, alice, R.CREATOR)
    mine = make_job(alice, status=S.FAILED, error_category="upstream_error")
    theirs = make_job(carol, status=S.FAILED, error_category="upstream_error")
    assert reverse("jobs:retry", args=[mine.code]) in client.get(mine.get_absolute_url()).content.decode()
    assert reverse("jobs:retry", args=[theirs.code]) not in client.get(theirs.get_absolute_url()).content.decode()


def test_an_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError):
        perms.allowed(R.OWNER, "delete_everything")
