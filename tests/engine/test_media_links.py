"""Engine results are served only under a signed, expiring link, privately cached: a
task id alone (or a forged, tampered or expired token) is a 404."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import signing

from engine import services
from engine.models import EngineTask, fingerprint


@pytest.fixture
def done_task(db, settings, tmp_path):
    settings.ENGINE_MEDIA_ROOT = tmp_path / "engine"
    path = Path(settings.ENGINE_MEDIA_ROOT) / "results" / "r.mp4"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100))
    return EngineTask.objects.create(license_fingerprint=fingerprint("sk-someone"), request={}, status="done",
                                     video_path="results/r.mp4")


def _path(url: str) -> str:
    return urlsplit(url).path


def test_the_signed_link_serves_the_video_privately(client, done_task):
    url = services.video_url(done_task.task_id)
    assert str(done_task.task_id) not in url
    response = client.get(_path(url))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("private")
    assert b"".join(response.streaming_content)[4:8] == b"ftyp"


@pytest.mark.parametrize("forge", [
    lambda task, url: f"/engine/media/{task.task_id}.mp4",  # the id alone, as before
    lambda task, url: _path(url).replace(".mp4", "x.mp4"),  # tampered
    lambda task, url: "/engine/media/" + signing.dumps(str(task.task_id), salt="jobs.media.public") + ".mp4",
    lambda task, url: "/engine/media/" + signing.dumps(str(task.task_id), salt=services.MEDIA_SALT,
                                                       key="not-our-secret-key-0123456789") + ".mp4",
    lambda task, url: "/engine/media/" + signing.dumps("not-a-uuid", salt=services.MEDIA_SALT) + ".mp4",
])
def test_a_forged_or_tampered_link_is_404(client, done_task, forge):
    url = services.video_url(done_task.task_id)
    assert client.get(forge(done_task, url)).status_code == 404


def test_an_expired_link_is_404(client, done_task, settings):
    url = services.video_url(done_task.task_id)
    settings.ENGINE_MEDIA_URL_MAX_AGE = -1
    assert client.get(_path(url)).status_code == 404
