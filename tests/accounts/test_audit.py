"""The audit trail: every listed action, through the real pages and the admin, with actor,
team, target and address; never a secret; nothing editable; a filterable page with CSV
for the team's admins; pruned after AUDIT_RETENTION_DAYS."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent, Membership
from jobs.models import Job
from keys.models import LicenseKey
from tests.conftest import ALICE_SECRET

S = Job.Status


def actions():
    """What was recorded, besides the logins the tests' own force_login makes."""
    return list(AuditEvent.objects.exclude(action="login").order_by("id").values_list("action", flat=True))


@pytest.fixture
def owner(client, alice):
    Membership.objects.filter(user=alice).update(role=Membership.Role.OWNER)
    client.force_login(alice)
    return client


@pytest.fixture
def staff(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="pw-root-123!")
    client.force_login(root)
    return client


@pytest.mark.django_db
def test_logins_and_failed_logins_with_the_address(client, alice):
    client.post(reverse("login"), {"username": "alice", "password": "wrong"}, REMOTE_ADDR="203.0.113.9")
    client.post(reverse("login"), {"username": "alice", "password": "pw-alice-123!"}, REMOTE_ADDR="203.0.113.9")
    failed, ok = AuditEvent.objects.order_by("id")
    assert (failed.action, failed.actor_name, failed.actor_id, failed.ip) == ("login_failed", "alice", None,
                                                                              "203.0.113.9")
    assert (ok.action, ok.actor_id, ok.ip) == ("login", alice.pk, "203.0.113.9")
    assert "wrong" not in str(failed.detail)


@pytest.mark.django_db
def test_members_and_quotas(owner, alice, client, django_user_model):
    team = alice.teams.first()
    owner.post(reverse("jobs:invite"), {"role": "viewer", "days": "7"})
    link = re.search(r'value="(http[^"]+/join/[^"]+)"', owner.get(reverse("jobs:members")).content.decode()).group(1)
    dave = django_user_model.objects.create_user("dave", password="pw-dave-123!")
    client.force_login(dave)
    client.post(link)
    client.force_login(alice)
    member = Membership.objects.get(user=dave)
    owner.post(reverse("jobs:member_role", args=[member.pk]), {"role": "creator"})
    owner.post(reverse("jobs:quotas"), {"jobs_per_day": "9"})
    owner.post(reverse("jobs:member_remove", args=[member.pk]))
    assert actions() == ["member_invited", "member_added", "role_changed", "quota_changed", "member_removed"]
    role = AuditEvent.objects.get(action="role_changed")
    assert (role.actor_id, role.team_id, role.target, role.detail) == (alice.pk, team.pk, "dave",
                                                                       {"before": "viewer", "after": "creator"})
    assert AuditEvent.objects.get(action="quota_changed").detail == {"jobs_per_day": 9}
    assert AuditEvent.objects.get(action="member_added").actor_id == dave.pk


@pytest.mark.django_db
def test_jobs(owner, alice, make_job, media_root):
    job = make_job(alice, status=S.FAILED, error_category="upstream_error")
    owner.post(reverse("jobs:create"), {"bbox_shift": "0", "extra_margin": "10", "parsing_mode": "jaw",
                                        "left_cheek_width": "90", "right_cheek_width": "90",
                                        "visual_source": "image_url", "image_url": "https://example.com/p.jpg",
                                        "audio_source": "content", "content": "Audited", "voice": "ash"})
    owner.post(reverse("jobs:retry", args=[job.code]))
    owner.post(reverse("jobs:cancel", args=[job.code]))
    (media_root / "results").mkdir(parents=True)
    (media_root / "results/a.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32)
    Job.objects.filter(pk=job.pk).update(status=S.DONE, archive_status=Job.Archive.DONE, archive_file="results/a.mp4")
    owner.get(reverse("jobs:video", args=[job.code]))  # watching is not downloading
    owner.get(reverse("jobs:video", args=[job.code]) + "?download=1")
    assert actions() == ["job_created", "job_retried", "job_canceled", "job_downloaded"]
    assert all(e.team_id == alice.teams.first().pk and e.actor_id == alice.pk
               for e in AuditEvent.objects.exclude(action="login"))
    assert str(job.code) in AuditEvent.objects.get(action="job_canceled").target


@pytest.mark.django_db
def test_keys_and_other_admin_changes_never_with_the_secret(staff, alice, make_job, upstream):
    form = {"name": "Second", "secret": "sk-second-0123456789abcdefSECRET", "generate_url": upstream.generate_url,
            "query_status_url": upstream.query_status_url, "is_active": "on", "notes": ""}
    assert staff.post(reverse("admin:keys_licensekey_add"), form).status_code == 302
    key = LicenseKey.objects.get(name="Second")
    staff.post(reverse("admin:keys_licensekey_change", args=[key.pk]), {**form, "secret": "sk-third-0123456789XYZ"})
    staff.post(reverse("admin:keys_licensekey_change", args=[key.pk]), {**form, "secret": "", "is_active": ""})
    staff.post(reverse("admin:keys_licensekey_changelist"), {"action": "test_connection", "_selected_action": [key.pk]})
    job = make_job(alice)
    staff.post(reverse("admin:jobs_job_delete", args=[job.pk]), {"post": "yes"})
    recorded = [a for a in actions() if a != "admin_change"]
    assert recorded == ["key_created", "key_rotated", "key_disabled", "key_tested", "job_deleted"]
    assert actions().count("admin_change") == 3  # the admin's own log of the add and two changes
    dump = str(list(AuditEvent.objects.values()))
    for secret in ("sk-second-0123456789abcdefSECRET", "sk-third-0123456789XYZ", ALICE_SECRET):
        assert secret not in dump


@pytest.mark.django_db
def test_nothing_can_be_edited(staff, alice):
    event = audit.record("login", actor=alice)
    for change in (lambda: AuditEvent.objects.update(target="x"), lambda: AuditEvent.objects.all().delete(),
                   event.save, event.delete):
        with pytest.raises(PermissionError):
            change()
    assert staff.get(reverse("admin:accounts_auditevent_changelist")).status_code == 200
    assert staff.post(reverse("admin:accounts_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_the_page_filters_and_exports_for_admins_only(owner, alice, bob, client):
    team = alice.teams.first()
    audit.record("job_created", actor=alice, team=team, target="=HYPERLINK(evil)")
    audit.record("quota_changed", actor=alice, team=team, target="jobs_per_day")
    audit.record("job_created", actor=bob, team=bob.teams.first(), target="Globex's video")
    page = owner.get(reverse("jobs:audit") + "?action=quota_changed").content.decode()
    assert 'data-action="quota_changed"' in page and 'data-action="job_created"' not in page
    response = owner.get(reverse("jobs:audit") + "?action=job_created&format=csv")
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "'=HYPERLINK(evil)" in body and "Globex" not in body and "quota_changed" not in body
    Membership.objects.filter(user=alice).update(role=Membership.Role.CREATOR)
    assert owner.get(reverse("jobs:audit")).status_code == 403


@pytest.mark.django_db
def test_old_events_are_pruned(alice, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    AuditEvent.objects.create(action="login", actor_name="alice", created_at=timezone.now() - timedelta(days=31))
    recent = audit.record("login", actor=alice)
    assert audit.prune() == 1
    assert list(AuditEvent.objects.all()) == [recent]
    settings.AUDIT_RETENTION_DAYS = 0  # keep forever
    AuditEvent.objects.create(action="login", created_at=timezone.now() - timedelta(days=3000))
    assert audit.prune() == 0 and AuditEvent.objects.count() == 2
