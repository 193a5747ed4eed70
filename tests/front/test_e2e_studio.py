"""End to end: the create form → a real Celery worker and beat → the local engine over
real HTTP → done → the gallery plays the video. All nine NavTalk methods, each through
the same form a person uses (multipart POST with CSRF, logged in)."""

import io
import re
import time
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import av
import numpy as np
import pytest
import requests

from bench.media import speech_wav
from bench.processes import process_env, purge_broker, running, start_beat, start_worker
from jobs.models import Job
from keys.models import LicenseKey
from keys.selection import key_for_team
from tests.support.http import Routes, raw

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
FACE = ROOT / "engine" / "characters" / "ava.jpg"


def face_mp4(seconds: float = 1.2) -> bytes:
    from PIL import Image

    image = Image.open(FACE).convert("RGB")
    image = image.resize((image.width // 2 * 2 // 2, image.height // 2 * 2 // 2))
    frame = np.asarray(image)
    frame = frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2]
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = frame.shape[1], frame.shape[0], "yuv420p"
        for _ in range(int(25 * seconds)):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))
    return buf.getvalue()


@pytest.fixture
def media_server():
    wav, mp4 = speech_wav(), face_mp4()
    server = Routes({"/face.mp4": raw(mp4, headers={"Content-Type": "video/mp4"}),
                     "/face.jpg": raw(FACE.read_bytes(), headers={"Content-Type": "image/jpeg"}),
                     "/speech.wav": raw(wav, headers={"Content-Type": "audio/wav"})})
    server.wav, server.mp4 = wav, mp4
    yield server
    server.close()


@pytest.fixture
def studio(live_server, settings, alice, characters, tmp_path, media_server):
    """The portal and its engine on the live server, with real worker + beat processes."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.ENGINE_BASE_URL = live_server.url + "/engine"
    settings.FETCH_ALLOWED_PRIVATE = (live_server.url + "/engine/media/",)
    # The engine may fetch the portal's signed media and the test's loopback media server
    # (with media on S3, as in CI's third configuration: the bucket's uploads).
    settings.ENGINE_FETCH_ALLOWED_PRIVATE = (live_server.url + "/m/", media_server.url) + (
        (f"{settings.S3_ENDPOINT_URL}/{settings.S3_BUCKET}/uploads/",) if settings.S3_BUCKET else ())
    key = key_for_team(alice.teams.first())
    key.generate_url = live_server.url + "/engine/generate"
    key.query_status_url = live_server.url + "/engine/query_status"
    key.secret = settings.ENGINE_LICENSES[0]
    key.save()
    purge_broker()
    env = process_env(POLL_INTERVAL_SECONDS="0.5", JOB_EXPECTED_SECONDS="4",
                      ENGINE_FETCH_ALLOWED_PRIVATE=",".join(settings.ENGINE_FETCH_ALLOWED_PRIVATE),
                      FETCH_ALLOWED_PRIVATE=",".join(settings.FETCH_ALLOWED_PRIVATE))
    with running(lambda: start_worker(env, tmp_path, queues="celery,engine", concurrency=2),
                 lambda: start_beat(env, tmp_path)) as procs:
        yield live_server, procs


def logged_in(base: str) -> requests.Session:
    session = requests.Session()
    session.get(base + "/login/")
    response = session.post(base + "/login/", data={"username": "alice", "password": "pw-alice-123!",
                                                    "csrfmiddlewaretoken": session.cookies["csrftoken"]},
                            headers={"Referer": base + "/login/"})
    assert response.ok and "/login/" not in response.url
    return session


def submit(session: requests.Session, base: str, data: dict, files: dict | None = None) -> str:
    page = session.get(base + "/")
    assert page.status_code == 200
    data = {"csrfmiddlewaretoken": session.cookies["csrftoken"], **data}
    response = session.post(base + "/", data=data, files=files, headers={"Referer": base + "/"},
                            allow_redirects=False)
    assert response.status_code == 302, re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)', response.text)
    return response.headers["Location"]


def test_it_makes_a_video_with_each_of_the_nine_methods_from_form_to_gallery(studio, media_server):
    server, procs = studio
    base, m = server.url, media_server
    session = logged_in(base)
    speak = {"audio_source": "content", "content": "Hello, this is a short test.", "voice": "nova"}
    cases = {
        1: ({"visual_source": "video_url", "video_url": m.url + "/face.mp4", "audio_source": "audio_url",
             "audio_url": m.url + "/speech.wav"}, None),
        2: ({"visual_source": "video_file", "audio_source": "audio_file"},
            {"video_file": ("face.mp4", m.mp4, "video/mp4"), "audio_file": ("speech.wav", m.wav, "audio/wav")}),
        3: ({"visual_source": "video_url", "video_url": m.url + "/face.mp4", **speak}, None),
        4: ({"visual_source": "image_file", **speak}, {"image_file": ("face.jpg", FACE.read_bytes(), "image/jpeg")}),
        5: ({"visual_source": "image_url", "image_url": m.url + "/face.jpg", "audio_source": "audio_url",
             "audio_url": m.url + "/speech.wav"}, None),
        6: ({"visual_source": "image_url", "image_url": m.url + "/face.jpg", "audio_source": "audio_file"},
            {"audio_file": ("speech.wav", m.wav, "audio/wav")}),
        7: ({"visual_source": "character", "character": "navtalk.Ava", "audio_source": "audio_url",
             "audio_url": m.url + "/speech.wav"}, None),
        8: ({"visual_source": "character", "character": "navtalk.Leo", "audio_source": "audio_file"},
            {"audio_file": ("speech.wav", m.wav, "audio/wav")}),
        9: ({"visual_source": "character", "character": "navtalk.Sam", **speak}, None),
    }
    locations = {}
    for method, (data, files) in cases.items():
        locations[method] = submit(session, base, {**data, "title": f"Method {method}"}, files)

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if not Job.objects.filter(status__in=Job.IN_FLIGHT_STATUSES).exists():
            break
        time.sleep(1)
    jobs = {job.title: job for job in Job.objects.all()}
    summary = {t: (j.status, j.error_message) for t, j in jobs.items()}
    if any(j.status != Job.Status.DONE for j in jobs.values()):
        print(procs[0].output()[-5000:])
    assert all(j.status == Job.Status.DONE for j in jobs.values()), summary
    assert {j.method for j in jobs.values()} == set(range(1, 10))

    # The detail page shows the player; the gallery lists every video, and each plays.
    detail = session.get(urljoin(base, locations[9]))
    assert "<video" in detail.text and "Method 9" in detail.text
    gallery = session.get(base + "/gallery/").text
    for title in jobs:
        assert title in gallery
    sources = {unescape(s) for s in re.findall(r'<(?:video|source)[^>]+src="([^"]+)"', gallery)}
    assert len(sources) >= 9
    for src in sources:
        video = session.get(urljoin(base, src))
        assert video.status_code == 200 and video.content[4:8] == b"ftyp", src
    # The license never reached a page or the worker's log.
    secret = LicenseKey.objects.get(pk=jobs["Method 1"].license_key_id).secret
    assert secret not in gallery and secret not in detail.text
    assert secret not in procs[0].output()
