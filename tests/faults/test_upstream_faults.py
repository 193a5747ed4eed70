"""Upstream faults, through real worker and beat processes: each ends in the right state
with the right failure category and hint, and backoff and Retry-After are honoured
(counted on the upstream's request log)."""

import pytest

from bench.processes import start_beat, start_worker
from jobs.hints import hint_for
from jobs.models import Job
from tests.faults.conftest import create_jobs, dump, fast_env, wait_until
from tests.support.http import Reply

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
S = Job.Status
DEADLINE = 14

R429 = Reply(status=429, body={"message": "Too many requests"}, headers={"Retry-After": "3"})
R429_SHORT = Reply(status=429, body={"message": "Too many requests"}, headers={"Retry-After": "1"})
R500 = Reply(status=500, body={"message": "Internal error"})
SLOW = Reply(body={"status": "processing"}, delay=2.5)  # beyond NAVTALK_READ_TIMEOUT=1.5
ACCEPT_SLOWLY = Reply(body={"status": "started", "task_id": "late"}, delay=2.5)

# case: (generate replies, status replies, forever reply, expected status, expected category)
CASES = {
    "ok": ((), (), None, S.DONE, ""),
    "status429": ((), (R429,), None, S.DONE, ""),
    "generate429": ((R429,), (), None, S.DONE, ""),
    "generate429always": ((R429_SHORT,) * 3, (), None, S.FAILED, "rate_limited"),
    "status500": ((), (R500, R500), None, S.DONE, ""),
    "generate500always": ((R500,) * 3, (), None, S.FAILED, "upstream_error"),
    "generate502html": ((Reply(status=502, raw=b"<html>Bad gateway</html>"),), (), None, S.DONE, ""),
    "statustimeout": ((), (SLOW,), None, S.DONE, ""),
    "generatetimeout": ((ACCEPT_SLOWLY,), (), None, S.FAILED, "interrupted"),
    "statusmalformed": ((), (Reply(raw=b"<html>oops"), Reply(raw=b'{"status": ')), None, S.DONE, ""),
    "generatemalformed": ((Reply(raw=b"<html>ok</html>"),), (), None, S.FAILED, "interrupted"),
    "unknown": ((), (Reply(status=404, body={"status": "error", "message": "Task not found"}),), None,
                S.FAILED, "not_found"),
    "backwards": ((), tuple(Reply(body={"status": s}) for s in ("processing", "started", "processing")), None,
                  S.DONE, ""),
    "never": ((), (), Reply(body={"status": "processing"}), S.FAILED, "timeout"),
    "noface": ((), (Reply(body={"status": "failed", "message": "Face not found in the image", "code": "face_not_found"}),), None,
               S.FAILED, "face_not_found"),
    "badlicense": ((Reply(status=401, body={"status": "error", "message": "Invalid license"}),), (), None,
                   S.FAILED, "auth"),
    "badinput": ((Reply(status=400, body={"status": "error", "message": "image_url is not an image"}),), (),
                 None, S.FAILED, "invalid_input"),
}


def gaps(calls) -> list[float]:
    times = [c["t"] for c in calls]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_each_upstream_fault_ends_in_the_right_state(alice, team_key, fault_upstream, tmp_path):
    fault_upstream.latency = 1.5
    for case, (generate, status, forever, _, _) in CASES.items():
        fault_upstream.script(case, generate=generate, status=status, forever=forever)
    env = fast_env(NAVTALK_READ_TIMEOUT="1.5", JOB_DEADLINE_SECONDS=str(DEADLINE), SUBMIT_MAX_ATTEMPTS="3",
                   POLL_MAX_BACKOFF_SECONDS="3")
    procs = [start_worker(env, tmp_path, queues="celery"), start_beat(env, tmp_path)]
    try:
        jobs = {case: create_jobs(alice, case, 1)[0] for case in CASES}
        try:
            wait_until(lambda: not Job.objects.filter(status__in=Job.IN_FLIGHT_STATUSES).exists(), DEADLINE + 30,
                       message="every job terminal")
        except AssertionError:
            print(list(Job.objects.values_list("title", "status")), dump(*procs))
            raise
    finally:
        for proc in reversed(procs):
            proc.stop()

    for case, (_, _, _, status, category) in CASES.items():
        job = Job.objects.get(pk=jobs[case].pk)
        assert (case, job.status, job.error_category) == (case, status, category)
        if category:
            assert job.hint == hint_for(category, job) and job.hint and job.error_message
            assert job.upstream_reply is not None or category == "interrupted"
    calls = fault_upstream.calls
    # Retry-After honoured, on /query_status and on /generate.
    assert len(calls("query_status", "status429")) >= 2 and gaps(calls("query_status", "status429"))[0] >= 2.9
    assert len(calls("generate", "generate429")) == 2 and gaps(calls("generate", "generate429"))[0] >= 2.9
    # Backoff: 2^tries s (±20 %) between submits, at least the Retry-After; gives up after 3 tries.
    assert len(calls("generate", "generate429always")) == 3
    first, second = gaps(calls("generate", "generate429always"))
    assert first >= 1.6 and second >= 3.2
    assert len(calls("generate", "generate500always")) == 3
    # Polls back off on errors: 1 s, then 2 s (±20 %).
    first, second = gaps(calls("query_status", "status500"))[:2]
    assert first >= 0.8 and second >= 1.6
    # A /generate that may have been received is never sent again.
    assert len(calls("generate", "generatetimeout")) == 1
    assert len(calls("generate", "generatemalformed")) == 1
    assert len(calls("generate", "generate502html")) == 2
    # A task that never finishes is polled sparsely until the deadline, then given up.
    assert len(calls("query_status", "never")) <= DEADLINE
    # Status going backwards never moves the job backwards.
    backwards = Job.objects.get(pk=jobs["backwards"].pk)
    assert list(backwards.events.values_list("to_status", flat=True)) == [
        S.QUEUED, S.SUBMITTING, S.STARTED, S.PROCESSING, S.DONE]
    # No job was sent twice.
    assert all(n == 1 for n in fault_upstream.generates_per_label(accepted_only=True).values())
