"""An engine worker killed mid-render (SIGKILL of the whole worker, as when a machine is
lost): the broker gives its unacknowledged message back after the visibility timeout, and
another engine worker, on another media root, renders the task again instead of ignoring
it as "already claimed" (which left it PROCESSING until it was failed as lost)."""

import os
import signal
import time

import pytest
from django.conf import settings

from bench.processes import process_env, purge_broker, start_worker, wait_until
from engine import services
from engine.models import EngineTask

pytestmark = [pytest.mark.e2e, pytest.mark.storage, pytest.mark.django_db(transaction=True)]


@pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis"),
                    reason="needs Redis: the filesystem broker is one machine's folder")
@pytest.mark.skipif(not os.environ.get("S3_ENDPOINT_URL"),
                    reason="25 s: runs in CI's third configuration (S3_ENDPOINT_URL set)")
def test_a_render_whose_worker_was_killed_is_rendered_by_another(s3_media, tmp_path):
    import engine.renderer  # noqa: F401 (the renderer must exist: an ImportError fails loudly)

    purge_broker()
    common = dict(ENGINE_FAULTS="", BROKER_VISIBILITY_TIMEOUT="8", CELERY_TASK_TIME_LIMIT="7",
                  CELERY_TASK_SOFT_TIME_LIMIT="6", **s3_media.env(s3_media.bucket))
    first = start_worker(process_env(ENGINE_MEDIA_ROOT=str(tmp_path / "a"), **common), tmp_path, queues="engine",
                         concurrency=1)
    task = EngineTask.objects.create(license_fingerprint="f" * 64, request={
        "character_name": "navtalk.Leo", "content": "Hello there, this is a test of a longer sentence.",
        "voice": "echo"})
    services.enqueue_render(task.task_id)
    procs = [first]
    try:
        wait_until(lambda: EngineTask.objects.get(pk=task.pk).status == "processing", 60, interval=0.05,
                   message="the first worker renders")
        first.signal(signal.SIGKILL)
        first.popen.wait(10)
        assert EngineTask.objects.get(pk=task.pk).status == "processing"  # killed mid-render
        # Kombu sweeps for messages unacknowledged past the visibility timeout when a worker
        # starts (then every 100 s): start the replacement once the message is that old.
        time.sleep(9)
        second = start_worker(process_env(ENGINE_MEDIA_ROOT=str(tmp_path / "b"), **common), tmp_path,
                              queues="engine", concurrency=1)
        procs.append(second)
        wait_until(lambda: EngineTask.objects.get(pk=task.pk).status in ("done", "failed"), 90,
                   message="the task finishes")
        task.refresh_from_db()
        assert (task.status, task.message) == ("done", ""), second.output()[-3000:]
        assert "rendering it again" in second.output()
        head = s3_media.client().head_object(Bucket=s3_media.bucket, Key=f"engine/{task.video_path}")
        assert head["ContentLength"] > 1000
    finally:
        for proc in procs:
            proc.stop()
        purge_broker()
