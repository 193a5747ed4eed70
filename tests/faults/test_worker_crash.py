"""Worker crashes: SIGKILL and warm shutdown (SIGTERM) with jobs in flight.

Real worker and beat processes on the configured broker and test database; the upstream
is the fault-scripting one over real HTTP.
"""

import signal
import time

import pytest

from bench.processes import start_beat, start_worker
from jobs.models import Job
from tests.faults.conftest import create_jobs, dump, fast_env, statuses, wait_until
from tests.support.http import Reply

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
S = Job.Status


def test_it_finishes_every_job_after_the_worker_is_killed_mid_flight(alice, team_key, fault_upstream, tmp_path):
    """SIGKILL while 50 jobs are upstream and a poll round is in flight, then start a new
    worker: 50/50 done, exactly one /generate per job."""
    fault_upstream.latency = 4
    fault_upstream.status_delay = 1.0  # a poll round takes a second: the kill lands inside one
    env = fast_env()
    beat = start_beat(env, tmp_path)
    procs = [beat]
    try:
        worker = start_worker(env, tmp_path, queues="celery")
        procs.append(worker)
        jobs = create_jobs(alice, "kill", 50)
        wait_until(lambda: Job.objects.filter(status__in=Job.ACTIVE_STATUSES).count() == 50, 60,
                   message="50 jobs accepted upstream")
        wait_until(lambda: fault_upstream.total_in_flight > 0, 20, interval=0.05, message="a poll round in flight")
        worker.signal(signal.SIGKILL)
        worker.popen.wait(10)
        claimed = Job.objects.exclude(claim_token="").filter(status__in=Job.ACTIVE_STATUSES).count()
        in_flight = Job.objects.filter(status__in=Job.IN_FLIGHT_STATUSES).count()
        assert claimed > 0 and in_flight > 0  # the killed round left claimed, unfinished jobs
        procs.append(start_worker(env, tmp_path, queues="celery"))
        try:
            wait_until(lambda: statuses(jobs).get(S.DONE) == 50, 60, message="50/50 done")
        except AssertionError:
            print(statuses(jobs), dump(*procs))
            raise
    finally:
        for proc in reversed(procs):
            proc.stop()
    assert fault_upstream.generates_per_label() == {f"kill#{i}": 1 for i in range(50)}


def test_a_warm_shutdown_hands_its_waiting_work_to_the_next_worker_promptly(alice, team_key, fault_upstream, tmp_path):
    """SIGTERM while the worker holds 20 submits waiting out a Retry-After: it exits
    promptly, and the next worker finishes them within seconds, not after the broker's
    visibility timeout (BROKER_VISIBILITY_TIMEOUT, an hour)."""
    fault_upstream.latency = 1
    fault_upstream.script("warm", generate=[Reply(status=503, body={"message": "busy"}, headers={"Retry-After": "4"})
                                            for _ in range(20)])
    env = fast_env(BROKER_VISIBILITY_TIMEOUT="3600")
    procs = [start_beat(env, tmp_path)]
    try:
        worker = start_worker(env, tmp_path, queues="celery")
        procs.append(worker)
        jobs = create_jobs(alice, "warm", 20)
        wait_until(lambda: Job.objects.filter(status=S.QUEUED, submit_tries=1).count() == 20, 30,
                   message="20 jobs waiting to resubmit")
        stopped_at = time.monotonic()
        worker.signal(signal.SIGTERM, group=False)  # as a supervisor stops it
        worker.popen.wait(15)  # warm shutdown does not wait for the countdowns
        print("worker exited after", time.monotonic() - stopped_at)
        procs.append(start_worker(env, tmp_path, queues="celery"))
        try:
            wait_until(lambda: statuses(jobs).get(S.DONE) == 20, 40, message="20/20 done")
        except AssertionError:
            print(statuses(jobs), dump(*procs))
            raise
        resumed_in = time.monotonic() - stopped_at
    finally:
        for proc in reversed(procs):
            proc.stop()
    assert resumed_in < 45
    assert fault_upstream.generates_per_label(accepted_only=True) == {f"warm#{i}": 1 for i in range(20)}
    assert len(fault_upstream.calls("generate")) == 40  # one refused, one accepted per job
