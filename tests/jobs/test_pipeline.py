"""The job's life through jobs.services, against a test upstream over real HTTP."""

import base64
import threading
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone

from jobs import polling, reconcile, services, submit
from jobs.models import Job
from tests.conftest import ALICE_SECRET, Reply

S = Job.Status
WAV = b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80>\x00\x00\x00}\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00"


def _nine_methods():
    return {
        1: dict(visual_type="video", visual_url="https://e.com/v.mp4", audio_type="audio_url", audio_url="https://e.com/a.mp3"),
        2: dict(visual_type="video", visual_url="https://e.com/v.mp4", audio_type="audio_base64"),
        3: dict(visual_type="video", visual_url="https://e.com/v.mp4", audio_type="content", content="Hi there", voice="nova"),
        4: dict(visual_type="image", visual_url="https://e.com/p.jpg", audio_type="content", content="Hi there", voice="echo"),
        5: dict(visual_type="image", visual_url="https://e.com/p.jpg", audio_type="audio_url", audio_url="https://e.com/a.wav"),
        6: dict(visual_type="image", visual_url="https://e.com/p.jpg", audio_type="audio_base64"),
        7: dict(visual_type="character", character_name="navtalk.Leo", audio_type="audio_url", audio_url="https://e.com/a.mp3"),
        8: dict(visual_type="character", character_name="navtalk.Leo", audio_type="audio_base64"),
        9: dict(visual_type="character", character_name="navtalk.Leo", audio_type="content", content="Hi there", voice="fable"),
    }


EXPECTED = {
    1: {"video_url": "https://e.com/v.mp4", "audio_url": "https://e.com/a.mp3"},
    2: {"video_url": "https://e.com/v.mp4", "audio_base64": base64.b64encode(WAV).decode()},
    3: {"video_url": "https://e.com/v.mp4", "content": "Hi there", "voice": "nova"},
    4: {"image_url": "https://e.com/p.jpg", "content": "Hi there", "voice": "echo"},
    5: {"image_url": "https://e.com/p.jpg", "audio_url": "https://e.com/a.wav"},
    6: {"image_url": "https://e.com/p.jpg", "audio_base64": base64.b64encode(WAV).decode()},
    7: {"character_name": "navtalk.Leo", "audio_url": "https://e.com/a.mp3"},
    8: {"character_name": "navtalk.Leo", "audio_base64": base64.b64encode(WAV).decode()},
    9: {"character_name": "navtalk.Leo", "content": "Hi there", "voice": "fable"},
}


@pytest.mark.parametrize("method", range(1, 10))
def test_it_sends_the_exact_json_for_each_method(upstream, alice, make_job, method, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    fields = _nine_methods()[method]
    job = make_job(alice, **fields)
    if fields["audio_type"] == "audio_base64":
        job.audio_file.save("voice.wav", ContentFile(WAV))
    assert job.method == method
    submit.job_submit(job.pk)
    [call] = upstream.calls("generate")
    assert call["json"] == {"license": ALICE_SECRET, **EXPECTED[method]}
    job.refresh_from_db()
    assert (job.status, job.upstream_task_id) == (S.STARTED, "t-1")


def test_it_sends_only_moved_advanced_parameters(upstream, alice, make_job):
    job = make_job(alice, params={"bbox_shift": -4, "parsing_mode": "raw", "extra_margin": 10})
    submit.job_submit(job.pk)
    [call] = upstream.calls("generate")
    assert call["json"] == {"license": ALICE_SECRET, "character_name": "navtalk.Leo", "content": "Welcome to NavTalk.",
                            "voice": "nova", "bbox_shift": -4, "parsing_mode": "raw"}


def test_it_offers_uploads_under_a_signed_expiring_url(upstream, alice, make_job, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    job = make_job(alice, visual_type="image", visual_url="")
    job.visual_file.save("face.png", ContentFile(b"\x89PNG\r\n\x1a\nfake"))
    submit.job_submit(job.pk)
    image_url = upstream.calls("generate")[0]["json"]["image_url"]
    assert image_url.startswith(settings.PUBLIC_BASE_URL + "/m/")
    path = image_url[len(settings.PUBLIC_BASE_URL):]
    response = client.get(path)  # anonymous: the upstream does not log in
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x89PNG\r\n\x1a\nfake"
    assert job.visual_file.name.split("/")[-1] not in image_url  # the storage name is not in the URL
    assert client.get(path[:-5] + "x" + path[-4:]).status_code == 404  # tampered
    settings.MEDIA_URL_MAX_AGE = -1
    assert client.get(path).status_code == 404  # expired


def test_it_submits_once_however_often_the_task_runs(upstream, alice, make_job):
    job = make_job(alice)
    for _ in range(3):
        submit.job_submit(job.pk)
    assert len(upstream.calls("generate")) == 1
    assert list(job.events.values_list("to_status", flat=True)) == [S.SUBMITTING, S.STARTED]


@pytest.mark.django_db(transaction=True)
def test_it_submits_once_when_tasks_race(upstream, alice, make_job):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race is exercised on PostgreSQL (CI sets DATABASE_URL)")
    job = make_job(alice)
    upstream.script("generate", Reply(body={"status": "started", "task_id": "only"}, delay=0.3))
    barrier = threading.Barrier(4)

    def run():
        barrier.wait()
        try:
            submit.job_submit(job.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(upstream.calls("generate")) == 1
    job.refresh_from_db()
    assert job.status == S.STARTED


def _started(upstream, alice, make_job, **fields):
    job = make_job(alice, **fields)
    submit.job_submit(job.pk)
    job.refresh_from_db()
    Job.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    return job


def test_it_walks_started_processing_done(upstream, alice, make_job):
    job = _started(upstream, alice, make_job)
    upstream.script("query_status", Reply(body={"status": "processing"}))
    assert polling.poll_due_jobs() == 1
    job.refresh_from_db()
    assert job.status == S.PROCESSING and job.next_poll_at > timezone.now()
    assert polling.poll_due_jobs() == 0  # not due yet
    Job.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    upstream.script("query_status", Reply(body={"status": "done", "video_url": "https://cdn/v.mp4"}))
    polling.poll_due_jobs()
    job.refresh_from_db()
    assert (job.status, job.video_url, job.next_poll_at) == (S.DONE, "https://cdn/v.mp4", None)
    assert list(job.events.values_list("to_status", flat=True)) == [S.SUBMITTING, S.STARTED, S.PROCESSING, S.DONE]
    assert [c["query"]["task_id"] for c in upstream.calls("query_status")] == ["t-1", "t-1"]


def test_it_fails_with_category_reply_and_hint(upstream, alice, make_job):
    job = _started(upstream, alice, make_job)
    upstream.script("query_status", Reply(body={"status": "failed", "message": "Face not found: no face detected", "code": "face_not_found"}))
    polling.poll_due_jobs()
    job.refresh_from_db()
    assert (job.status, job.error_category) == (S.FAILED, "face_not_found")
    assert job.upstream_reply == {"status": "failed", "message": "Face not found: no face detected", "code": "face_not_found"}
    assert "Pick another character" in job.hint  # a character job: advice that fits a character


def test_it_fails_a_task_the_upstream_does_not_know(upstream, alice, make_job):
    job = _started(upstream, alice, make_job)
    upstream.script("query_status", Reply(status=404, body={"status": "error", "message": "Task not found"}))
    polling.poll_due_jobs()
    job.refresh_from_db()
    assert (job.status, job.error_category) == (S.FAILED, "not_found")


def test_it_backs_off_on_429_honouring_retry_after(upstream, alice, make_job):
    job = _started(upstream, alice, make_job)
    upstream.script("query_status", Reply(status=429, body={"message": "slow"}, headers={"Retry-After": "40"}))
    before = timezone.now()
    polling.poll_due_jobs()
    job.refresh_from_db()
    assert job.status == S.STARTED
    assert job.next_poll_at >= before + timedelta(seconds=40)
    assert job.upstream_reply["http_status"] == 429


def test_it_keeps_polling_through_5xx_and_malformed_replies(upstream, alice, make_job):
    job = _started(upstream, alice, make_job)
    upstream.script("query_status", Reply(status=500, body={"message": "boom"}), Reply(raw=b"<html>"))
    for _ in range(2):
        polling.poll_due_jobs()
        Job.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    job.refresh_from_db()
    assert job.status == S.STARTED and job.poll_count == 2


def test_it_gives_up_at_the_deadline(upstream, alice, make_job):
    job = _started(upstream, alice, make_job)
    Job.objects.filter(pk=job.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    polling.poll_due_jobs()
    job.refresh_from_db()
    assert (job.status, job.error_category) == (S.FAILED, "timeout")


def test_it_does_not_resend_when_generate_timed_out(upstream, alice, make_job, settings):
    settings.NAVTALK_READ_TIMEOUT = 0.5
    job = make_job(alice)
    upstream.script("generate", Reply(body={"status": "started", "task_id": "x"}, delay=1.5))
    submit.job_submit(job.pk)
    job.refresh_from_db()
    assert (job.status, job.error_category) == (S.FAILED, "interrupted")
    submit.job_submit(job.pk)
    assert len(upstream.calls("generate")) == 1


def test_it_requeues_after_a_5xx_on_generate(upstream, alice, make_job):
    job = make_job(alice)
    upstream.script("generate", Reply(status=503, body={"message": "busy"}))
    submit.job_submit(job.pk)
    job.refresh_from_db()
    assert job.status == S.QUEUED and job.next_poll_at > timezone.now()
    submit.job_submit(job.pk)
    job.refresh_from_db()
    assert job.status == S.STARTED and len(upstream.calls("generate")) == 2


def test_it_fails_permanently_on_401(upstream, alice, make_job):
    job = make_job(alice)
    upstream.script("generate", Reply(status=401, body={"status": "error", "message": "Invalid license"}))
    submit.job_submit(job.pk)
    job.refresh_from_db()
    assert (job.status, job.error_category, job.error_message) == (S.FAILED, "auth", "Invalid license")


def test_it_claims_each_due_job_for_one_poller(upstream, alice, make_job):
    jobs = [_started(upstream, alice, make_job) for _ in range(5)]
    now = timezone.now()
    first = polling._claim_due(now, 3)
    second = polling._claim_due(now, 10)
    assert len(first) == 3 and len(second) == 2
    assert {j.pk for j in first}.isdisjoint({j.pk for j in second})
    assert polling._claim_due(now, 10) == []
    assert {j.pk for j in first + second} == {j.pk for j in jobs}


def test_the_reconciler_repairs_what_lost_messages_leave(upstream, alice, make_job):
    old = timezone.now() - timedelta(minutes=5)
    queued = make_job(alice)
    Job.objects.filter(pk=queued.pk).update(next_poll_at=old)
    stuck = make_job(alice)
    Job.objects.filter(pk=stuck.pk).update(status=S.SUBMITTING, submitting_at=old)
    fresh = make_job(alice)
    Job.objects.filter(pk=fresh.pk).update(status=S.SUBMITTING, submitting_at=timezone.now())
    counts = reconcile.reconcile()
    assert counts["redispatched"] == 1 and counts["interrupted"] == 1
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert (stuck.status, stuck.error_category) == (S.FAILED, "interrupted")
    assert fresh.status == S.SUBMITTING
    assert upstream.calls("generate") == []  # the reconciler never sends /generate itself


def test_retry_is_a_new_attempt_that_keeps_the_old_one(upstream, alice, make_job):
    job = make_job(alice)
    upstream.script("generate", Reply(status=400, body={"message": "bad image"}))
    submit.job_submit(job.pk)
    job.refresh_from_db()
    assert job.status == S.FAILED
    assert services.job_retry(job, alice)
    job.refresh_from_db()
    assert (job.status, job.attempt, job.error_category) == (S.QUEUED, 2, "")
    submit.job_submit(job.pk)
    job.refresh_from_db()
    assert job.status == S.STARTED
    events = list(job.events.values_list("attempt", "to_status"))
    assert events[:3] == [(1, S.SUBMITTING), (1, S.FAILED), (1, S.QUEUED)] or (1, S.FAILED) in events
    assert (2, S.STARTED) in events
    assert not services.job_retry(job, alice)  # only failed/canceled jobs can be retried


def test_a_canceled_job_is_not_polled(upstream, alice, make_job):
    job = _started(upstream, alice, make_job)
    assert services.job_cancel(job, alice)
    assert polling.poll_due_jobs() == 0
    job.refresh_from_db()
    assert job.status == S.CANCELED


def test_a_poll_round_starts_no_query_past_its_budget(upstream, alice, make_job, settings):
    # A lease shorter than one call's timeouts leaves no budget: the round must release
    # its claims unqueried rather than query after the lease could have expired.
    settings.POLL_LEASE_SECONDS = 1
    job = _started(upstream, alice, make_job)
    polling.poll_due_jobs()
    job.refresh_from_db()
    assert upstream.calls("query_status") == []
    assert (job.claim_token, job.status, job.poll_count) == ("", S.STARTED, 0)
    assert job.next_poll_at <= timezone.now()
    settings.POLL_LEASE_SECONDS = 90
    polling.poll_due_jobs()
    assert len(upstream.calls("query_status")) == 1
