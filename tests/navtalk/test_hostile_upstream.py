"""A hostile upstream, over real HTTP on loopback: whatever shape its replies take on
/generate and /query_status, the job ends in a terminal state with a category, nothing
it sends keeps the license, and other keys' jobs (another team, a healthy upstream)
are polled and finished in the same round as if nothing happened."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import polling, submit
from jobs.models import Job
from keys.selection import key_for_team
from navtalk.contract import Failure
from tests.conftest import ALICE_SECRET, Reply, TestUpstream

S = Job.Status
DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE = b'{"status": "processing", "pad": "' + b"x" * (5 * 1024 * 1024) + b'"}'

# Shapes that break the contract in every way we could think of; each is served on both
# endpoints (what makes sense for /generate is also served to /query_status).
SHAPES = {
    "retry-after-garbage": Reply(429, {"message": "slow"}, headers={"Retry-After": "garbage"}),
    "retry-after-bad-date": Reply(503, {"message": "x"}, headers={"Retry-After": "Wed, 99 Foo 2026 99:99:99"}),
    "retry-after-nan": Reply(429, {"message": "x"}, headers={"Retry-After": "nan"}),
    "retry-after-huge": Reply(429, {"message": "x"}, headers={"Retry-After": "1e400"}),
    "4xx-message-object": Reply(400, {"status": "error", "message": {"text": "no", "n": [1, 2]}}),
    "4xx-message-number": Reply(422, {"status": "error", "message": 42}),
    "4xx-message-list": Reply(400, {"message": ["a", {"b": None}]}),
    "4xx-body-list": Reply(400, [1, 2, 3]),
    "4xx-huge": Reply(400, raw=b'{"message": "' + b"m" * (3 * 1024 * 1024) + b'"}'),
    "5xx-html": Reply(502, raw=b"<html><body>Bad gateway</body></html>"),
    "200-list": Reply(200, [{"status": "done"}]),
    "200-string": Reply(200, "done"),
    "200-number": Reply(200, 7),
    "200-null": Reply(200, None),
    "200-empty": Reply(200, raw=b""),
    "200-html": Reply(200, raw=b"<!doctype html><p>hello"),
    "200-truncated": Reply(200, raw=b'{"status": "sta'),
    "200-nan": Reply(200, raw=b'{"status": NaN, "task_id": Infinity}'),
    "200-non-utf8": Reply(200, raw=b'\xff\xfe{"status": "\xc3\x28", "task_id": "\xe2\x82"}'),
    "200-lone-surrogate": Reply(200, raw=b'{"status": "failed", "message": "\\ud800", "detail": "\\udfff"}'),
    "200-nul": Reply(200, raw=b'{"status": "failed", "message": "a\\u0000b", "a\\u0000": 1}'),
    "200-deep": Reply(200, raw=DEEP),
    "200-deep-inside": Reply(200, raw=b'{"status": "failed", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    "200-huge": Reply(200, raw=HUGE),
    "status-number": Reply(200, {"status": 5, "task_id": 5.5}),
    "status-list": Reply(200, {"status": ["done"], "task_id": ["t"]}),
    "status-object": Reply(200, {"status": {"done": True}, "task_id": {"id": "t"}}),
    "task-id-huge": Reply(200, {"status": "started", "task_id": "t" * 100_000}),
    "task-id-newline": Reply(200, {"status": "started", "task_id": "t\n1"}),
    "task-id-bool": Reply(200, {"status": "started", "task_id": True}),
    "done-video-number": Reply(200, {"status": "done", "video_url": 5}),
    "done-video-object": Reply(200, {"status": "done", "video_url": {"u": "https://x"}}),
    "done-video-javascript": Reply(200, {"status": "done", "video_url": "javascript:alert(1)"}),
    "done-video-huge": Reply(200, {"status": "done", "video_url": "https://x/" + "a" * 10_000}),
    "failed-message-object": Reply(200, {"status": "failed", "message": {"a": 1}, "code": {"x": 1}}),
    "failed-code-list": Reply(200, {"status": "failed", "message": 3, "code": ["face_not_found"]}),
    "redirect-private": Reply(302, {"status": "done"}, headers={"Location": "http://127.0.0.1:9/generate"}),
    "redirect-307": Reply(307, raw=b"", headers={"Location": "http://[::1]:9/x"}),
    "slow-headers": Reply(200, {"status": "done", "video_url": "https://x/v.mp4", "task_id": "t"}, delay=2.5),
    "slow-body": Reply(200, {"status": "done", "video_url": "https://cdn.example/v.mp4", "task_id": "t"}, drip=0.1),
}


@pytest.fixture
def hostile(alice):
    """A second upstream that alice's team key (only) points at."""
    server = TestUpstream()
    key = key_for_team(alice.teams.first())
    key.generate_url, key.query_status_url = server.generate_url, server.query_status_url
    key.save()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def short_timeouts(settings):
    settings.NAVTALK_CONNECT_TIMEOUT = 1.0
    settings.NAVTALK_READ_TIMEOUT = 1.0
    settings.SUBMIT_MAX_ATTEMPTS = 1


def _polled_job(make_job, user, task_id, *, deadline_in: float):
    now = timezone.now()
    return make_job(user, status=S.STARTED, upstream_task_id=task_id, submitted_at=now, next_poll_at=now,
                    deadline_at=now + timedelta(seconds=deadline_in))


def _assert_terminal_and_clean(job):
    job.refresh_from_db()
    assert job.status == S.FAILED, (job.status, job.error_message)
    assert job.error_category in {f.value for f in Failure}
    assert job.hint
    for kept in (job.error_message, str(job.upstream_reply)):
        assert ALICE_SECRET.lower() not in kept.lower()
    assert len(job.error_message) <= 2000


@pytest.mark.django_db
@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_no_status_reply_crashes_the_round_or_delays_another_key(upstream, hostile, alice, bob, make_job, shape):
    poisoned = _polled_job(make_job, alice, "t-a", deadline_in=-1)  # past its deadline: one round decides
    healthy = _polled_job(make_job, bob, "t-b", deadline_in=600)
    hostile.script("query_status", SHAPES[shape])
    upstream.script("query_status", Reply(body={"status": "done", "video_url": "https://cdn.example/b.mp4"}))
    polling.poll_due_jobs()
    healthy.refresh_from_db()
    assert healthy.status == S.DONE
    _assert_terminal_and_clean(poisoned)


@pytest.mark.django_db
@pytest.mark.parametrize("shape", [s for s in SHAPES if not s.startswith(("done-", "failed-"))])
def test_no_generate_reply_crashes_a_submit(upstream, hostile, alice, bob, make_job, shape):
    poisoned, healthy = make_job(alice, status=S.QUEUED), make_job(bob, status=S.QUEUED)
    hostile.script("generate", SHAPES[shape])
    submit.job_submit(poisoned.pk)
    submit.job_submit(healthy.pk)
    healthy.refresh_from_db()
    assert healthy.status == S.STARTED
    _assert_terminal_and_clean(poisoned)


@pytest.mark.django_db
def test_a_hostile_upstream_never_delays_the_healthy_teams_jobs(upstream, hostile, alice, bob, make_job):
    """Same poller, two keys, two teams: the healthy team's jobs finish in the first
    round, within a fraction of the time the hostile upstream takes to answer."""
    poisoned = [_polled_job(make_job, alice, f"t-a{i}", deadline_in=-1) for i in range(6)]
    healthy = [_polled_job(make_job, bob, f"t-b{i}", deadline_in=600) for i in range(6)]
    hostile.script("query_status", SHAPES["retry-after-garbage"], SHAPES["4xx-message-object"],
                   SHAPES["200-deep"], SHAPES["slow-body"], SHAPES["slow-headers"], SHAPES["200-non-utf8"])
    upstream.script("query_status", *[Reply(body={"status": "done", "video_url": f"https://cdn.example/{i}.mp4"})
                                      for i in range(6)])
    started = timezone.now()
    t0 = time.monotonic()
    assert polling.poll_due_jobs() == 12
    assert time.monotonic() - t0 < 5  # a drip-fed body is cut off by the call's total timeout
    for job in healthy:
        job.refresh_from_db()
        assert job.status == S.DONE
        assert (job.finished_at - started).total_seconds() < 1.0  # not held behind the slow ones
    for job in poisoned:
        _assert_terminal_and_clean(job)
