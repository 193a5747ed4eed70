"""The request's transaction rolls back after the job was created: nothing is published
and the upstream hears nothing."""

import re
import time

import pytest
from django.db import transaction

from bench.processes import start_beat, start_worker
from jobs.models import Job
from tests.faults.conftest import create_jobs, fast_env, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class Rollback(Exception):
    pass


def test_a_rolled_back_job_publishes_nothing_and_calls_nothing(alice, team_key, fault_upstream, tmp_path):
    fault_upstream.latency = 0.5
    env = fast_env()
    worker = start_worker(env, tmp_path, queues="celery")
    beat = start_beat(env, tmp_path)
    try:
        with pytest.raises(Rollback):
            with transaction.atomic():  # the request's transaction
                create_jobs(alice, "rolled", 3)
                assert Job.objects.count() == 3
                raise Rollback
        time.sleep(3)  # longer than the reconciler's interval and grace
        assert "Task jobs.tasks.submit_job" not in worker.output()
        assert Job.objects.count() == 0 and fault_upstream.calls("generate") == []
        # The worker was listening all along: a committed job goes through.
        [job] = create_jobs(alice, "kept", 1)
        wait_until(lambda: Job.objects.get(pk=job.pk).status == Job.Status.DONE, 30, message="committed job done")
        log = worker.output()
    finally:
        beat.stop()
        worker.stop()
    assert len(re.findall(r"Task jobs.tasks.submit_job\[[^]]+\] received", log)) == 1
    assert fault_upstream.generates_per_label() == {"kept#0": 1}
