"""Render mode: one message on the engine queue, duplicate deliveries harmless, lost
messages and workers repaired, the render service on real inputs, a real worker."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from engine import services
from engine.models import EngineTask, fingerprint
from tests.engine.api_support import ALICE, GOOD, LEO, b64, poll, wav_bytes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine")]


# --- render mode: the queue and the service ----------------------------------------------

def test_render_mode_queues_one_message_on_the_engine_queue(api, settings, broker):
    settings.ENGINE_FAULTS = ""
    data = wav_bytes()
    response = api.generate(character_name=LEO, audio_base64=b64(data))
    task_id = response.json()["task_id"]

    assert broker() == [{"task": "engine.tasks.render_task", "args": repr((task_id,)), "routing_key": "engine"}]
    task = EngineTask.objects.get(pk=task_id)
    assert task.status == "started" and not task.instant
    assert (Path(settings.ENGINE_MEDIA_ROOT) / task.input_audio).read_bytes() == data
    assert task.input_audio == f"inputs/{task_id}.wav"
    assert api.status(task_id).json() == {"status": "started"}


def test_duplicate_deliveries_are_harmless(settings):
    task = EngineTask.objects.create(license_fingerprint=fingerprint(ALICE), request=GOOD, inject_failure=True)
    services.run_render(task.task_id)
    task.refresh_from_db()
    assert (task.status, task.message) == ("failed", "Injected failure")
    finished = task.finished

    services.run_render(task.task_id)
    task.refresh_from_db()
    assert (task.status, task.finished) == ("failed", finished)


def test_a_task_never_finishing_stays_processing_in_render_mode():
    task = EngineTask.objects.create(license_fingerprint=fingerprint(ALICE), request=GOOD, never_finish=True)
    services.run_render(task.task_id)
    task.refresh_from_db()
    assert task.status == "processing" and task.started is not None


def test_latency_holds_back_a_rendered_result(api):
    now = timezone.now()
    task = EngineTask.objects.create(license_fingerprint=fingerprint(ALICE), request=GOOD, status="done",
                                     video_path="results/x.mp4", latency=30, created=now - timedelta(seconds=1))
    assert api.status(task.task_id).json() == {"status": "started"}
    EngineTask.objects.filter(pk=task.pk).update(created=now - timedelta(seconds=10))
    assert api.status(task.task_id).json() == {"status": "processing"}
    EngineTask.objects.filter(pk=task.pk).update(created=now - timedelta(seconds=31))
    assert api.status(task.task_id).json()["status"] == "done"


def test_a_lost_message_is_queued_again(api, broker):
    old = timezone.now() - timedelta(minutes=10)
    task = EngineTask.objects.create(license_fingerprint=fingerprint(ALICE), request=GOOD, created=old, enqueued=old)
    assert api.status(task.task_id).json() == {"status": "started"}
    assert api.status(task.task_id).json() == {"status": "started"}
    assert [m["args"] for m in broker()] == [repr((str(task.task_id),))]  # once, not per call


def test_a_task_whose_worker_died_ends_failed(api):
    old = timezone.now() - timedelta(hours=2)
    task = EngineTask.objects.create(license_fingerprint=fingerprint(ALICE), request=GOOD, status="processing",
                                     created=old, started=old)
    body = api.status(task.task_id).json()
    assert body == {"status": "failed", "message": services.LOST_TASK, "code": "generation_failed"}


def _renderer():
    """The renderer must exist for these tests: an ImportError fails them loudly."""
    import engine.renderer

    return engine.renderer


def _probe(path: Path) -> dict:
    import av

    with av.open(str(path)) as container:
        return {"video": len(container.streams.video), "audio": len(container.streams.audio),
                "duration": float(container.duration or 0) / 1e6}


def test_the_render_service_renders_a_character_with_tts(api, settings):
    _renderer()
    settings.ENGINE_FAULTS = ""
    task = EngineTask.objects.create(license_fingerprint=fingerprint(ALICE),
                                     request={"character_name": LEO, "content": "Hello there.", "voice": "echo"})
    services.run_render(task.task_id)
    task.refresh_from_db()
    assert (task.status, task.message) == ("done", "")
    out = Path(settings.ENGINE_MEDIA_ROOT) / task.video_path
    assert task.video_path == f"results/{task.task_id}.mp4"
    probe = _probe(out)
    assert probe["video"] == 1 and probe["audio"] == 1 and probe["duration"] > 0.3

    body = api.status(task.task_id).json()
    assert body["status"] == "done" and body["video_url"].startswith(f"{settings.ENGINE_BASE_URL}/media/")
    assert requests.get(body["video_url"], timeout=30).content == out.read_bytes()


def test_the_render_service_fetches_an_image_and_audio_over_http(settings, files):
    renderer = _renderer()
    settings.ENGINE_FAULTS = ""
    image = files.add("/face.jpg", renderer.character_image("navtalk.Ava").read_bytes())
    audio = files.add("/voice.wav", wav_bytes(0.6))
    task = EngineTask.objects.create(license_fingerprint=fingerprint(ALICE),
                                     request={"image_url": image, "audio_url": audio, "bbox_shift": 2})
    services.run_render(task.task_id)
    task.refresh_from_db()
    assert (task.status, task.message) == ("done", "")
    assert _probe(Path(settings.ENGINE_MEDIA_ROOT) / task.video_path)["video"] == 1


def test_the_render_service_explains_a_missing_input(settings, files):
    _renderer()
    task = EngineTask.objects.create(license_fingerprint=fingerprint(ALICE),
                                     request={"image_url": files.url + "/gone.jpg", "content": "Hi.", "voice": "ash"})
    services.run_render(task.task_id)
    task.refresh_from_db()
    assert (task.status, task.failure_code) == ("failed", "media_unreachable")
    assert task.message == "Could not download image_url: HTTP 404. Make sure the link is public."


def test_the_render_service_explains_a_picture_without_a_face(settings, files):
    _renderer()
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 140, 200)).save(buffer, "PNG")
    task = EngineTask.objects.create(license_fingerprint=fingerprint(ALICE), request={
        "image_url": files.add("/sky.png", buffer.getvalue()), "content": "Hi.", "voice": "ash"})
    services.run_render(task.task_id)
    task.refresh_from_db()
    assert (task.status, task.failure_code) == ("failed", "face_not_found")
    assert "face" in task.message.lower() and task.message != services.INTERNAL_ERROR
    assert services.report(task, services.global_faults())["code"] == "face_not_found"


# --- a real worker on the engine queue -----------------------------------------------------

@pytest.mark.e2e
def test_a_real_worker_renders_a_generated_task(api, settings, tmp_path):
    """POST /generate in render mode -> message on the real broker -> a Celery worker
    consuming only the "engine" queue renders it -> query_status says done."""
    from bench.processes import process_env, running, start_worker

    settings.ENGINE_FAULTS = ""
    # No purge: stale engine messages name tasks this database does not have, and the
    # worker's claim (a CAS on status) ignores them.
    env = process_env()
    with running(lambda: start_worker(env, tmp_path, queues="engine", concurrency=1)) as (worker,):
        task_id = api.generate(character_name=LEO, content="Hello from the worker.", voice="coral").json()["task_id"]
        try:
            body, seen = poll(api, task_id, timeout=240)
        except AssertionError:
            print(worker.output()[-4000:])
            raise
    assert body["status"] == "done", (body, worker.output()[-3000:])
    assert seen[0] in ("started", "processing")
    response = requests.get(body["video_url"], headers={"Range": "bytes=0-11"}, timeout=30)
    assert response.status_code == 206 and response.content[4:8] == b"ftyp"
