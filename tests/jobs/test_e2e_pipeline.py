"""The job pipeline with a real Celery worker and beat on the real broker.

The upstream is the scriptable test upstream over real HTTP; the browser-level flow
through the local engine is in test_e2e_studio.py.
"""

import pytest

from bench.processes import process_env, purge_broker, running, start_beat, start_worker, wait_until
from jobs import services
from jobs.models import Job
from keys.selection import key_for_team
from tests.support.http import Reply

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_it_takes_jobs_from_the_form_service_to_done_through_real_processes(upstream, alice, tmp_path):
    purge_broker()
    upstream.script("query_status", Reply(body={"status": "processing"}))
    upstream.default_status = {"status": "done", "video_url": "https://cdn.example/v.mp4"}
    env = process_env(POLL_INTERVAL_SECONDS="0.5", JOB_EXPECTED_SECONDS="1")
    with running(lambda: start_worker(env, tmp_path, queues="celery"), lambda: start_beat(env, tmp_path)) as procs:
        jobs = [services.job_create(team=alice.teams.first(), user=alice, license_key=key_for_team(alice.teams.first()),
                                    title=f"job {i}", visual_type="character", character_name="navtalk.Leo",
                                    audio_type="content", content="Hello", voice="nova") for i in range(3)]
        try:
            wait_until(lambda: Job.objects.filter(status=Job.Status.DONE).count() == 3, timeout=60)
        except AssertionError:
            print(procs[0].output()[-3000:], procs[1].output()[-2000:])
            raise
    assert len(upstream.calls("generate")) == 3
    task_ids = {c["json"]["content"] for c in upstream.calls("generate")}
    assert task_ids == {"Hello"}
    for job in jobs:
        job.refresh_from_db()
        assert job.video_url == "https://cdn.example/v.mp4"
        assert list(job.events.values_list("to_status", flat=True))[-1] == Job.Status.DONE
