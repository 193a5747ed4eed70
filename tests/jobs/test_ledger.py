"""The usage ledger: one row per /generate actually sent (resubmits and Retry count
again), one duration per job attempt, append-only everywhere, and usage per team, person
and key over a period in one indexed query."""

from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from jobs import archive, ledger, selectors, services, submit
from jobs.models import AppendOnlyError, Job, UsageEntry
from tests.conftest import Reply  # (re-exported there, wherever it lives)
from tests.jobs.test_archive import done_job, video_server  # noqa: F401 (fixtures)

S = Job.Status
WAV = b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80>\x00\x00\x00}\x00\x00\x02\x00\x10\x00data" \
      b"\x00\x00\x00\x00"


def send(job):
    """Run job_submit as the worker would (again while the job is queued for a resubmit)."""
    submit.job_submit(job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_the_ledger_counts_every_generate_actually_sent(upstream, alice, make_job, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    text = make_job(alice, content="Twelve chars")
    upstream.script("generate", Reply(status=503, body={"message": "busy"}))
    assert send(text).status == S.QUEUED  # 503: provably nothing created, sent again later
    assert send(text).status == S.STARTED

    audio = make_job(alice, audio_type="audio_base64", content="")
    audio.audio_file.save("voice.wav", ContentFile(WAV))
    upstream.script("generate", Reply(status=400, body={"message": "bad image"}))
    assert send(audio).status == S.FAILED
    services.job_retry(audio, alice)  # a person's Retry: a second attempt, billed again
    assert send(audio).status == S.STARTED

    never_sent = make_job(alice)
    Job.objects.filter(pk=never_sent.pk).update(license_key=None)
    assert send(never_sent).status == S.FAILED  # no key: no /generate, nothing recorded

    sent = upstream.calls("generate")
    rows = UsageEntry.objects.filter(kind="generate")
    assert rows.count() == len(sent) == 4
    assert [(r.job_id, r.attempt) for r in rows.order_by("id")] == [(text.pk, 1), (text.pk, 1), (audio.pk, 1),
                                                                    (audio.pk, 2)]
    first = rows.order_by("id").first()
    assert (first.team_id, first.user_id, first.key_id, first.method) == (text.team_id, alice.pk,
                                                                          text.license_key_id, text.method)
    assert first.text_chars == len("Twelve chars") and first.audio_bytes is None
    assert rows.order_by("id").last().audio_bytes == len(WAV)


@pytest.mark.django_db
def test_a_result_is_recorded_once_per_attempt(alice, make_job):
    job = make_job(alice, status=S.DONE)
    ledger.record_result(job, 7.5)
    ledger.record_result(job, 7.5)  # a repeated report adds nothing
    ledger.record_result(job, None)  # no duration known: nothing
    job.attempt = 2
    ledger.record_result(job, 8.0)
    assert sorted(UsageEntry.objects.filter(kind="result").values_list("attempt", "video_seconds")) == \
        [(1, 7.5), (2, 8.0)]


@pytest.mark.django_db
def test_the_archiver_records_the_results_duration(done_job):  # noqa: F811 (the fixture)
    job = done_job()
    archive.schedule(job.pk)
    archive.archive_job(job.pk)
    [row] = UsageEntry.objects.filter(kind="result", job_id=job.pk)
    assert row.video_seconds == pytest.approx(2.0, abs=0.1) and row.key_id == job.license_key_id


@pytest.mark.django_db
def test_the_ledger_cannot_be_changed_by_code_or_in_the_admin(alice, make_job, client, django_user_model):
    job = make_job(alice)
    entry = ledger.record_generate(job, job.license_key)
    for change in (lambda: UsageEntry.objects.update(method=1), lambda: UsageEntry.objects.all().delete(),
                   entry.save, entry.delete, lambda: UsageEntry.objects.bulk_update([entry], ["method"])):
        with pytest.raises(AppendOnlyError):
            change()
    job.delete()  # the job goes; its usage stays
    assert UsageEntry.objects.filter(pk=entry.pk).exists()

    staff = django_user_model.objects.create_superuser("root", password="pw-root-123!")
    client.force_login(staff)
    admin = site._registry[UsageEntry]
    assert not admin.has_change_permission(None) and not admin.has_delete_permission(None)
    assert client.get(reverse("admin:jobs_usageentry_changelist")).status_code == 200
    assert client.post(reverse("admin:jobs_usageentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert UsageEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db
def test_the_database_refuses_changes_on_postgresql(alice, make_job):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    from django.db import DatabaseError, transaction

    entry = ledger.record_generate(make_job(alice), alice.teams.first().team_keys.first().key)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE jobs_usageentry SET method = 1 WHERE id = %s", [entry.pk])


@pytest.mark.django_db
def test_usage_per_period_and_person_or_key_is_one_indexed_query(alice, bob, make_job,
                                                                  django_assert_num_queries, django_user_model):
    team = alice.teams.first()
    carol = django_user_model.objects.create_user("carol")
    team.members.add(carol)
    now = timezone.now().replace(hour=12)
    jobs = [make_job(alice), make_job(alice), make_job(carol, team=team), make_job(bob)]
    for job in jobs:
        ledger.record_generate(job, job.license_key)
    ledger.record_result(jobs[0], 10.0)
    ledger.record_result(jobs[2], 4.5)
    old = make_job(alice)
    ledger.record_generate(old, old.license_key)
    since = now - timedelta(days=1)

    with django_assert_num_queries(1):
        rows = list(selectors.usage(team=team, period="day", by="user", since=since))
    per_user = {r["user_id"]: (r["generates"], r["video_seconds"]) for r in rows}
    assert per_user == {alice.pk: (3, 10.0), carol.pk: (1, 4.5)}  # bob's team is not counted

    key = jobs[0].license_key
    [month] = selectors.usage(key=key, period="month", by="key")
    assert (month["key_id"], month["generates"], month["video_seconds"]) == (key.pk, 4, 14.5)
    [week] = selectors.usage(team=team, period="week")
    assert week["period"] <= now and week["generates"] == 4
    assert selectors.usage(team=team, since=now + timedelta(days=1)).count() == 0

    if connection.vendor == "sqlite":
        plan = selectors.usage(team=team, since=since, by="user").explain()
        assert "usage_team_time" in plan

    # The daily sums the dashboard reads agree with the ledger.
    daily = {r["user_id"]: (r["generates"], r["video_seconds"])
             for r in selectors.usage_by_day(team, since=since.date(), by="user")}
    assert daily == per_user
