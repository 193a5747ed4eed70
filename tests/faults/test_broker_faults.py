"""The broker fails: Redis killed and restarted empty with jobs in flight; the broker is
down when a person submits the form.

Both tests run their own redis-server on a spare port (never the shared one) in every
configuration, and point the worker, beat and this process's publisher at it.
"""

import time

import pytest
from django.urls import reverse

from bench.processes import running, start_beat, start_worker
from jobs.models import Character, Job
from tests.faults.conftest import create_jobs, dump, fast_env, publisher_on, statuses, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
S = Job.Status


def test_it_finishes_every_job_when_redis_restarts_empty(alice, team_key, fault_upstream, own_redis, tmp_path):
    """Kill Redis with 100 jobs in flight and restart it empty: 100/100 terminal through
    the reconciler, 0 duplicate /generate."""
    fault_upstream.latency = 3
    fault_upstream.status_delay = 0.2
    env = fast_env(CELERY_BROKER_URL=own_redis.url)
    with publisher_on(own_redis.url), running(lambda: start_beat(env, tmp_path),
                                              lambda: start_worker(env, tmp_path, queues="celery")) as procs:
        jobs = create_jobs(alice, "redis", 100)
        wait_until(lambda: Job.objects.filter(status__in=Job.ACTIVE_STATUSES).count() >= 20, 60, interval=0.05,
                   message="20 jobs accepted upstream")
        own_redis.kill()
        in_flight = Job.objects.filter(status__in=Job.IN_FLIGHT_STATUSES).count()
        queued = Job.objects.filter(status=S.QUEUED).count()
        time.sleep(2)
        own_redis.start()  # empty: every message it held is gone
        assert in_flight >= 50 and queued > 0
        try:
            wait_until(lambda: sum(statuses(jobs).get(s, 0) for s in Job.TERMINAL_STATUSES) == 100, 90,
                       message="100/100 terminal")
        except AssertionError:
            print(statuses(jobs), dump(*procs))
            raise
        assert all(p.popen.poll() is None for p in procs)  # nobody crashed on the way
    assert statuses(jobs) == {S.DONE: 100}
    assert fault_upstream.generates_per_label() == {f"redis#{i}": 1 for i in range(100)}


def test_the_form_succeeds_while_the_broker_is_down_and_the_job_runs_once_it_is_back(
        alice, team_key, fault_upstream, own_redis, client, tmp_path):
    """Broker down at submit: the form still succeeds; the job is dispatched once the
    broker is back."""
    Character.objects.get_or_create(name="navtalk.Leo", defaults={"display_name": "Leo"})
    client.force_login(alice)
    fault_upstream.latency = 1
    env = fast_env(CELERY_BROKER_URL=own_redis.url)
    with publisher_on(own_redis.url), running(lambda: start_beat(env, tmp_path),
                                              lambda: start_worker(env, tmp_path, queues="celery")) as procs:
        own_redis.kill()
        started = time.monotonic()
        response = client.post(reverse("jobs:create"), {
            "visual_source": "character", "character": "navtalk.Leo", "audio_source": "content",
            "content": "down#0", "voice": "nova"})
        took = time.monotonic() - started
        assert response.status_code == 302, response.content[:2000]
        job = Job.objects.get()
        assert response["Location"] == reverse("jobs:detail", args=[job.code])
        assert took < 10 and job.status == S.QUEUED
        time.sleep(3)  # longer than the dispatch grace: nothing can run while the broker is down
        job.refresh_from_db()
        assert job.status == S.QUEUED and fault_upstream.calls("generate") == []
        own_redis.start()
        try:
            wait_until(lambda: Job.objects.get(pk=job.pk).status == S.DONE, 60, message="job done")
        except AssertionError:
            print(Job.objects.get(pk=job.pk).status, dump(*procs))
            raise
    assert fault_upstream.generates_per_label() == {"down#0": 1}
