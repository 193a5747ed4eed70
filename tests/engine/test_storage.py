"""The local engine on S3-compatible object storage (a real SeaweedFS): the web node that
takes /generate stores the request's audio in the engine's storage; an engine worker on
another machine (another ENGINE_MEDIA_ROOT, nothing shared but the bucket) downloads it
to a temporary folder, renders, and uploads the result; any engine web node serves it
with Range from the bucket."""

import base64
import io
import wave

import pytest
import requests

from engine import services
from engine.models import EngineTask

ALICE = "sk-engine-storage-alice-0123456789"
pytestmark = [pytest.mark.storage, pytest.mark.django_db(transaction=True)]


def wav_bytes(seconds=0.6, rate=16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return buffer.getvalue()


@pytest.fixture
def engine_on_s3(s3_media, settings, live_server, tmp_path, monkeypatch):
    settings.ENGINE_LICENSES = [ALICE]
    settings.ENGINE_FAULTS = ""
    settings.ENGINE_BASE_URL = live_server.url + "/engine"
    settings.ENGINE_MEDIA_ROOT = tmp_path / "web-node"
    queued = []
    monkeypatch.setattr(services, "enqueue_render", queued.append)  # no broker: the test renders it
    return queued


def test_inputs_and_results_go_through_the_bucket(engine_on_s3, s3_media, settings, tmp_path, live_server):
    import engine.renderer  # noqa: F401 (the renderer must exist: an ImportError fails loudly)

    audio = wav_bytes()
    reply = requests.post(live_server.url + "/engine/generate", timeout=30, json={
        "license": ALICE, "character_name": "navtalk.Leo", "audio_base64": base64.b64encode(audio).decode()})
    task_id = reply.json()["task_id"]
    task = EngineTask.objects.get(pk=task_id)
    assert engine_on_s3 == [task.task_id]
    s3 = s3_media.client()
    key = f"engine/{task.input_audio}"
    assert s3.get_object(Bucket=s3_media.bucket, Key=key)["Body"].read() == audio
    assert not (tmp_path / "web-node").exists() or not any((tmp_path / "web-node").rglob("*.wav"))

    settings.ENGINE_MEDIA_ROOT = tmp_path / "worker-node"  # another machine renders it
    services.run_render(task.task_id)
    task.refresh_from_db()
    assert (task.status, task.message) == ("done", "")
    assert task.video_path == f"results/{task.task_id}.mp4"
    result = s3.get_object(Bucket=s3_media.bucket, Key=f"engine/{task.video_path}")["Body"].read()
    assert result[4:8] == b"ftyp"
    assert not list((tmp_path / "worker-node").rglob("*.mp4"))  # scratch emptied

    settings.ENGINE_MEDIA_ROOT = tmp_path / "another-web-node"
    status = requests.get(live_server.url + "/engine/query_status", params={"license": ALICE, "task_id": task_id},
                          timeout=30).json()
    assert status["status"] == "done"
    part = requests.get(status["video_url"], headers={"Range": "bytes=10-209"}, timeout=30)
    assert part.status_code == 206 and part.content == result[10:210]
    assert part.headers["Content-Range"] == f"bytes 10-209/{len(result)}"
    assert requests.get(status["video_url"], timeout=30).content == result
