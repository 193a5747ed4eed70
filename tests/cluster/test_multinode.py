"""Several machines: two web nodes (gunicorn), two workers, two engine workers and two
beats, each with a private VAR_DIR, MEDIA_ROOT and ENGINE_MEDIA_ROOT (no shared folder),
on one PostgreSQL, one Redis and one SeaweedFS. The nine methods go through the web nodes
alternately; then one of each is SIGKILLed mid-flight (the active beat included) and the
engine's lost render is picked up by a replacement engine machine. Every job is done,
/generate was sent once per job, and the archived copies play the same from the surviving
web node and from a new one."""

import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings

from bench._common import free_port, start_gunicorn
from bench.processes import process_env, purge_broker, start_beat, start_worker, wait_until
from cluster.beat import LEASE
from cluster.leases import holder_of
from engine.models import EngineCallCounter, fingerprint
from jobs.models import Job
from keys.selection import key_for_team
from tests.front.test_e2e_studio import FACE, face_mp4, logged_in, speech_wav, submit

pytestmark = [pytest.mark.e2e, pytest.mark.storage, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not (settings.CELERY_BROKER_URL.startswith("redis")
                                      and settings.DATABASES["default"]["ENGINE"].endswith("postgresql")),
                                 reason="several machines share PostgreSQL and Redis, not a file or a folder"),
              pytest.mark.skipif(not os.environ.get("S3_ENDPOINT_URL"),
                                 reason="80 s: runs in CI's third configuration (S3_ENDPOINT_URL set)")]


@pytest.fixture
def media_server():
    files = {"/face.mp4": (face_mp4(), "video/mp4"), "/face.jpg": (FACE.read_bytes(), "image/jpeg"),
             "/speech.wav": (speech_wav(), "audio/wav")}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body, kind = files.get(self.path, (b"", "text/plain"))
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    httpd.url, httpd.files = f"http://127.0.0.1:{httpd.server_port}", files
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_nine_methods_through_two_web_nodes_survive_a_kill_of_one_of_each(s3_media, media_server, alice,
                                                                          characters, tmp_path):
    purge_broker()
    ports = [free_port() for _ in range(3)]
    webs = [f"http://127.0.0.1:{port}" for port in ports]
    shared = dict(  # what the machines share: the secrets; database and broker come from process_env
        SECRET_KEY=settings.SECRET_KEY, LICENSE_ENCRYPTION_KEYS=",".join(settings.LICENSE_ENCRYPTION_KEYS),
        ENGINE_LICENSES=",".join(settings.ENGINE_LICENSES), **s3_media.env(s3_media.bucket),
        FETCH_ALLOWED_PRIVATE=",".join(f"{w}/engine/media/" for w in webs),
        ENGINE_FETCH_ALLOWED_PRIVATE=f"{s3_media.endpoint_url}/{s3_media.bucket}/uploads/,{media_server.url}",
        ENGINE_FAULTS="latency=25",  # renders finish at once; the engine reports done after 25 s
        POLL_INTERVAL_SECONDS="0.5", POLL_LEASE_SECONDS="15", NAVTALK_CONNECT_TIMEOUT="2",
        NAVTALK_READ_TIMEOUT="5", BROKER_VISIBILITY_TIMEOUT="20", CELERY_TASK_TIME_LIMIT="18",
        CELERY_TASK_SOFT_TIME_LIMIT="15", BEAT_LEASE_SECONDS="3", LOG_LEVEL="INFO")

    def node(name, **extra):
        own = tmp_path / name
        return process_env(**shared, VAR_DIR=str(own / "var"), MEDIA_ROOT=str(own / "media"),
                           ENGINE_MEDIA_ROOT=str(own / "engine"), **extra)

    key = key_for_team(alice.teams.first())
    key.generate_url, key.query_status_url = webs[0] + "/engine/generate", webs[0] + "/engine/query_status"
    key.secret = settings.ENGINE_LICENSES[0]
    key.save()
    procs = []
    try:
        web_a = start_gunicorn(node("web-a", PUBLIC_BASE_URL=webs[0], ENGINE_BASE_URL=webs[0] + "/engine"),
                               ports[0], workers=1, threads=8, name="web-a")
        web_b = start_gunicorn(node("web-b", PUBLIC_BASE_URL=webs[1], ENGINE_BASE_URL=webs[1] + "/engine"),
                               ports[1], workers=1, threads=8, name="web-b")
        procs += [web_a, web_b]
        workers = [start_worker(node(f"worker-{i}"), tmp_path, queues="celery", concurrency=2) for i in (1, 2)]
        engines = [start_worker(node(f"engine-{i}"), tmp_path, queues="engine", concurrency=1) for i in (1, 2)]
        beats = [start_beat(node(f"beat-{i}"), tmp_path) for i in (1, 2)]
        procs += workers + engines + beats

        session = logged_in(webs[0])  # one login: the session is in the shared database
        speak = {"audio_source": "content", "content": "Hello, this is a short test.", "voice": "nova"}
        m, wav, mp4 = media_server.url, media_server.files["/speech.wav"][0], media_server.files["/face.mp4"][0]
        cases = {
            1: ({"visual_source": "video_url", "video_url": m + "/face.mp4", "audio_source": "audio_url",
                 "audio_url": m + "/speech.wav"}, None),
            2: ({"visual_source": "video_file", "audio_source": "audio_file"},
                {"video_file": ("face.mp4", mp4, "video/mp4"), "audio_file": ("speech.wav", wav, "audio/wav")}),
            3: ({"visual_source": "video_url", "video_url": m + "/face.mp4", **speak}, None),
            4: ({"visual_source": "image_file", **speak},
                {"image_file": ("face.jpg", FACE.read_bytes(), "image/jpeg")}),
            5: ({"visual_source": "image_url", "image_url": m + "/face.jpg", "audio_source": "audio_url",
                 "audio_url": m + "/speech.wav"}, None),
            6: ({"visual_source": "image_url", "image_url": m + "/face.jpg", "audio_source": "audio_file"},
                {"audio_file": ("speech.wav", wav, "audio/wav")}),
            7: ({"visual_source": "character", "character": "navtalk.Ava", "audio_source": "audio_url",
                 "audio_url": m + "/speech.wav"}, None),
            8: ({"visual_source": "character", "character": "navtalk.Leo", "audio_source": "audio_file"},
                {"audio_file": ("speech.wav", wav, "audio/wav")}),
            9: ({"visual_source": "character", "character": "navtalk.Sam", **speak}, None),
        }
        for method, (data, files) in cases.items():  # uploads on node A and node B in turn
            submit(session, webs[method % 2], {**data, "title": f"Method {method}"}, files)
        wait_until(lambda: Job.objects.filter(status__in=[Job.Status.STARTED, Job.Status.PROCESSING]).count() == 9,
                   90, message="all nine accepted by the engine")

        leader = next(b for b in beats if holder_of(LEASE) and holder_of(LEASE) in b.output())
        for proc in (leader, workers[0], engines[0], web_b):  # one of each, mid-flight
            proc.signal(signal.SIGKILL)
            proc.popen.wait(10)
        # A replacement engine machine, once the killed one's message is past the visibility
        # timeout (kombu sweeps for those when a worker starts): it renders what was lost.
        time.sleep(21)
        procs.append(start_worker(node("engine-3"), tmp_path, queues="engine", concurrency=1))
        try:
            wait_until(lambda: Job.objects.filter(status=Job.Status.DONE, archive_status="done").count() == 9,
                       180, interval=1, message="nine done and archived")
        except AssertionError:
            print({j.title: (j.status, j.error_message, j.archive_status, j.archive_error)
                   for j in Job.objects.all()})
            for proc in procs:
                print(proc.name, proc.log_path.read_text(errors="replace")[-2500:])
            raise
        assert EngineCallCounter.objects.get(pk=fingerprint(settings.ENGINE_LICENSES[0])).generate_calls == 9
        assert any("schedules now" in b.output() for b in beats if b is not leader)  # the standby took over

        web_c = start_gunicorn(node("web-c", PUBLIC_BASE_URL=webs[2], ENGINE_BASE_URL=webs[2] + "/engine"),
                               ports[2], workers=1, threads=4, name="web-c")
        procs.append(web_c)
        for job in Job.objects.all():
            path = f"/jobs/{job.code}/video.mp4"
            on_a, on_c = session.get(webs[0] + path), session.get(webs[2] + path)
            assert on_a.status_code == on_c.status_code == 200 and on_a.content == on_c.content
            assert on_a.content[4:8] == b"ftyp"
            part = session.get(webs[2] + path, headers={"Range": "bytes=0-99"})
            assert part.status_code == 206 and part.content == on_a.content[:100]
    finally:
        for proc in reversed(procs):
            proc.stop()
        purge_broker()
