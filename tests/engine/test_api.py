"""The local engine's HTTP API (engine/): NavTalk's contract over real HTTP.

Calls go through pytest-django's live server with `requests`. Most tests run the engine
in instant mode (no Celery, state from the clock); the render path is exercised by a
real filesystem broker (a message is queued, nothing renders in the request) and by
calling the render service in-process on real inputs served over loopback HTTP.
"""

import base64
import io
import json
import logging
import threading
import time
import uuid
import wave
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from engine import faults, services, validate as contract
from engine.fetch import FetchError, fetch_to_file
from engine.models import EngineCallCounter, EngineLicense, EngineTask, fingerprint
from engine.views import parse_range

ALICE = "sk-engine-alice-0123456789SECRET"
BOB = "sk-engine-bob-9876543210SECRET"
LEO = "navtalk.Leo"

pytestmark = pytest.mark.django_db(transaction=True)


# --- fixtures and helpers -------------------------------------------------------------

def wav_bytes(seconds=0.5, rate=16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(autouse=True)
def engine(settings, tmp_path, live_server):
    """Alice's license is in ENGINE_LICENSES; the engine runs instant and fault-free
    unless a test says otherwise; its media go to a fresh folder."""
    settings.ENGINE_LICENSES = [ALICE]
    settings.ENGINE_FAULTS = "mode=instant"
    settings.ENGINE_MEDIA_ROOT = tmp_path / "engine-media"
    settings.ENGINE_BASE_URL = live_server.url + "/engine"
    faults.reset_rngs()
    return live_server


class Api:
    def __init__(self, base):
        self.base = base
        self.session = requests.Session()

    def generate(self, body=None, raw=None, **fields):
        if raw is not None:
            return self.session.post(self.base + "/generate", data=raw,
                                     headers={"Content-Type": "application/json"}, timeout=30)
        payload = {"license": ALICE, **fields} if body is None else body
        return self.session.post(self.base + "/generate", json=payload, timeout=30)

    def status(self, task_id, license=ALICE):
        return self.session.get(self.base + "/query_status", params={"license": license, "task_id": task_id},
                                timeout=30)

    def stats(self, license=ALICE):
        return self.session.get(self.base + "/stats", params={"license": license}, timeout=30)


@pytest.fixture
def api(live_server):
    return Api(live_server.url + "/engine")


class Files:
    """A loopback HTTP server with scripted paths: path -> (status, body, headers, drip)."""

    def __init__(self):
        self.routes = {}
        files = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                status, body, headers, drip = files.routes.get(self.path, (404, b"not found", {}, 0))
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    if "Content-Length" not in headers and not drip:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if drip:  # send a byte at a time, slowly
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(drip)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, path, body: bytes, status=200, headers=None, drip=0.0) -> str:
        self.routes[path] = (status, body, headers or {}, drip)
        return self.url + path


@pytest.fixture
def files(settings):
    server = Files()
    settings.ENGINE_FETCH_ALLOWED_PRIVATE = (server.url,)  # this loopback origin only
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def broker(tmp_path):
    """A real kombu filesystem broker in a temporary folder; yields a function that
    returns the messages queued so far (decoded bodies with their headers)."""
    from navtalk_portal.celery import app

    folder = tmp_path / "broker"
    folder.mkdir()
    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.broker_url = "filesystem://"
    app.conf.broker_transport_options = {"data_folder_in": str(folder), "data_folder_out": str(folder),
                                         "control_folder": str(tmp_path / "control"), "store_processed": False}
    _reset_producers(app)

    def messages():
        found = []
        for path in sorted(folder.iterdir()):
            envelope = json.loads(path.read_text())
            found.append({"task": envelope["headers"]["task"], "args": envelope["headers"]["argsrepr"],
                          "routing_key": envelope["properties"]["delivery_info"]["routing_key"]})
        return found

    yield messages
    app.conf.broker_url, app.conf.broker_transport_options = saved
    _reset_producers(app)


def _reset_producers(app):
    """Make Celery open new connections with the current broker settings."""
    app._pool = None
    app.amqp._producer_pool = None


def license_with(faults_spec: str, name="bench") -> str:
    _, secret = EngineLicense.issue(name, faults=faults_spec)
    return secret


def poll(api, task_id, until=("done", "failed"), timeout=10.0, license=ALICE):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.status(task_id, license).json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] in until:
            return body, seen
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} stuck; statuses seen: {seen}")


# --- the nine combinations -----------------------------------------------------------

VISUALS = {"video_url": "https://example.com/video.mp4", "image_url": "https://example.com/photo.jpg",
           "character_name": LEO}
AUDIOS = {"audio_url": {"audio_url": "https://example.com/audio.mp3"},
          "audio_base64": {"audio_base64": b64(wav_bytes())},
          "content": {"content": "Welcome to NavTalk.", "voice": "nova"}}


@pytest.mark.parametrize("visual", VISUALS)
@pytest.mark.parametrize("audio", AUDIOS)
def test_it_accepts_each_of_the_nine_combinations(api, visual, audio):
    response = api.generate(**{visual: VISUALS[visual]}, **AUDIOS[audio])

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "started"
    task = EngineTask.objects.get(pk=uuid.UUID(body["task_id"]))
    assert task.license_fingerprint == fingerprint(ALICE)
    assert task.request[visual] == VISUALS[visual]
    assert "license" not in task.request
    assert ALICE not in json.dumps(task.request)
    if audio == "audio_base64":
        assert task.request["audio_base64"] == {"kind": "wav", "bytes": len(wav_bytes())}


def test_it_accepts_the_advanced_parameters_at_their_limits(api):
    for low_high in (dict(bbox_shift=-9, extra_margin=0, left_cheek_width=50, right_cheek_width=50,
                          parsing_mode="raw"),
                     dict(bbox_shift=9, extra_margin=50, left_cheek_width=150, right_cheek_width=150,
                          parsing_mode="jaw")):
        response = api.generate(character_name=LEO, content="Hi.", voice="ash", **low_high)
        assert response.status_code == 200, response.text
        task = EngineTask.objects.get(pk=response.json()["task_id"])
        assert {k: task.request[k] for k in low_high} == low_high


def test_it_accepts_a_whole_float_and_any_voice_case(api):
    response = api.generate(character_name="NAVTALK.leo", content="Hi.", voice="Shimmer", bbox_shift=3.0)
    assert response.status_code == 200, response.text
    task = EngineTask.objects.get(pk=response.json()["task_id"])
    assert task.request == {"character_name": LEO, "content": "Hi.", "voice": "shimmer", "bbox_shift": 3}


@pytest.mark.parametrize("voice", contract.VOICES)
def test_it_accepts_every_voice(api, voice):
    assert api.generate(character_name=LEO, content="Hi.", voice=voice).status_code == 200


# --- validation ------------------------------------------------------------------------

GOOD = {"character_name": LEO, "content": "Welcome to NavTalk.", "voice": "nova"}


def _without(*keys, **extra):
    body = {k: v for k, v in GOOD.items() if k not in keys}
    body.update(extra)
    return body


INVALID = [
    ("no visual", _without("character_name"), "visual", "Give one visual source: video_url, image_url or character_name"),
    ("two visuals", _without(image_url="https://example.com/a.jpg"), "visual",
     "Give only one visual source, not image_url and character_name"),
    ("three visuals", _without(image_url="https://e.com/a.jpg", video_url="https://e.com/v.mp4"), "visual",
     "Give only one visual source, not video_url and image_url and character_name"),
    ("no audio", _without("content", "voice"), "audio", "Give one audio source"),
    ("two audios", _without(audio_url="https://example.com/a.mp3"), "audio",
     "Give only one audio source, not audio_url and content"),
    ("content without voice", _without("voice"), "voice", "voice is required with content. Choose one of: alloy"),
    ("voice without content", _without("content", audio_url="https://example.com/a.mp3"), "voice",
     "voice is only used with content"),
    ("unknown voice", _without(voice="robot"), "voice", "Unknown voice 'robot'. Choose one of: alloy, ash"),
    ("unknown character", _without(character_name="navtalk.Nobody"), "character_name",
     "Unknown character 'navtalk.Nobody'. Available characters: navtalk.Leo"),
    ("bbox_shift too big", _without(bbox_shift=10), "bbox_shift", "bbox_shift must be a whole number from -9 to 9 (got 10)"),
    ("bbox_shift too small", _without(bbox_shift=-10), "bbox_shift", "from -9 to 9 (got -10)"),
    ("bbox_shift fraction", _without(bbox_shift=1.5), "bbox_shift", "must be a whole number"),
    ("bbox_shift string", _without(bbox_shift="3"), "bbox_shift", "must be a whole number"),
    ("bbox_shift bool", _without(bbox_shift=True), "bbox_shift", "must be a whole number"),
    ("extra_margin too big", _without(extra_margin=51), "extra_margin", "extra_margin must be a whole number from 0 to 50"),
    ("extra_margin negative", _without(extra_margin=-1), "extra_margin", "from 0 to 50 (got -1)"),
    ("parsing_mode", _without(parsing_mode="chin"), "parsing_mode", "parsing_mode must be \"jaw\" or \"raw\" (got 'chin')"),
    ("left cheek low", _without(left_cheek_width=49), "left_cheek_width", "left_cheek_width must be a whole number from 50 to 150"),
    ("right cheek high", _without(right_cheek_width=151), "right_cheek_width", "from 50 to 150 (got 151)"),
    ("ftp url", _without("character_name", image_url="ftp://example.com/a.jpg"), "image_url",
     "image_url must start with http:// or https://"),
    ("file url", _without("character_name", video_url="file:///etc/passwd"), "video_url",
     "video_url must start with http:// or https://"),
    ("url without scheme", _without("content", "voice", audio_url="example.com/a.mp3"), "audio_url",
     "audio_url must start with http:// or https://"),
    ("url without host", _without("character_name", image_url="https:///a.jpg"), "image_url", "has no host name"),
    ("url not a string", _without("character_name", image_url=["https://e.com/a.jpg"]), "image_url",
     "image_url must be a string"),
    ("bad base64", _without("content", "voice", audio_base64="not base64!!"), "audio_base64",
     "audio_base64 is not valid base64"),
    ("base64 not audio", _without("content", "voice", audio_base64=b64(b"hello, this is plain text")), "audio_base64",
     "does not decode to a known audio file (WAV, MP3, OGG, FLAC or M4A)"),
    ("content too long", _without(content="x" * 5001), "content", "content is 5001 characters; the limit is 5000"),
    ("content blank", _without(content="   "), "content", "content must be the text to speak"),
    ("unknown field", _without(audioUrl="https://e.com/a.mp3"), "audioUrl", "Unknown field. Accepted fields: license"),
]


@pytest.mark.parametrize("name,body,field,message", INVALID, ids=[case[0] for case in INVALID])
def test_it_refuses_invalid_requests_with_a_message(api, name, body, field, message):
    response = api.generate(body={"license": ALICE, **body})

    assert response.status_code == 400, response.text
    reply = response.json()
    assert reply["status"] == "error"
    assert message in reply["errors"][field]
    assert message in reply["message"]
    assert EngineTask.objects.count() == 0


def test_it_lists_every_problem_at_once(api):
    reply = api.generate(character_name=LEO, content="Hi.", voice="robot", bbox_shift=99).json()
    assert set(reply["errors"]) == {"voice", "bbox_shift"}
    assert reply["message"].startswith("The request has 2 problems:")


def test_it_refuses_a_body_that_is_not_json(api):
    response = api.generate(raw=b"license=sk-x&character_name=navtalk.Leo")
    assert response.status_code == 400
    assert "must be JSON" in response.json()["message"]

    response = api.generate(raw=b'["a", "list"]')
    assert response.status_code == 400
    assert response.json()["message"] == "The request body must be a JSON object."


def test_it_answers_405_to_other_methods(api):
    response = api.session.get(api.base + "/generate")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["status"] == "error"


@pytest.mark.parametrize("data,kind", [
    (wav_bytes(), "wav"), (b"ID3\x04\x00" + b"\x00" * 20, "mp3"), (b"\xff\xfb\x90\x64" + b"\x00" * 20, "mp3"),
    (b"OggS\x00\x02" + b"\x00" * 20, "ogg"), (b"fLaC\x00\x00\x00\x22" + b"\x00" * 20, "flac"),
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + b"\x00" * 20, "m4a"),
])
def test_it_accepts_base64_audio_of_each_container(api, data, kind):
    assert contract.audio_kind(data) == kind
    response = api.generate(character_name=LEO, audio_base64=b64(data))
    assert response.status_code == 200, response.text
    assert EngineTask.objects.get(pk=response.json()["task_id"]).request["audio_base64"]["kind"] == kind


def test_it_recognises_non_audio_bytes():
    for data in (b"", b"\x89PNG\r\n\x1a\n", b"<html>", b"\xff\xd8\xff\xe0JFIF", b"RIFF\x00\x00\x00\x00AVI "):
        assert contract.audio_kind(data) is None


def test_it_decodes_data_urls_and_urlsafe_base64():
    data = wav_bytes(0.01)
    assert contract.decode_base64_audio("data:audio/wav;base64," + b64(data)) == data
    assert contract.decode_base64_audio(base64.urlsafe_b64encode(data).decode().rstrip("=")) == data


# --- licenses ------------------------------------------------------------------------

def test_it_refuses_a_missing_or_unknown_license(api):
    for body in ({**GOOD}, {**GOOD, "license": ""}, {**GOOD, "license": "sk-wrong"}, {**GOOD, "license": 42}):
        response = api.generate(body=body)
        assert response.status_code == 401, body
        assert response.json()["status"] == "error"
        assert response.json()["message"] == "Invalid license"
    assert api.status(str(uuid.uuid4()), license="sk-wrong").status_code == 401
    assert api.status(str(uuid.uuid4()), license="").json()["message"] == "Invalid license"
    assert api.stats(license="sk-wrong").status_code == 401


def test_it_checks_the_license_before_the_body(api):
    response = api.generate(body={"license": "sk-wrong", "voice": "robot"})
    assert response.status_code == 401


def test_it_accepts_active_license_rows_only(api):
    row, secret = EngineLicense.issue("bench")
    assert api.generate(body={"license": secret, **GOOD}).status_code == 200
    row.active = False
    row.save()
    assert api.generate(body={"license": secret, **GOOD}).status_code == 401


def test_it_stores_only_a_fingerprint_of_the_license():
    row, secret = EngineLicense.issue("bench", license="sk-bench-abcdef123456")
    assert row.secret_hash == fingerprint(secret) and len(row.secret_hash) == 64
    assert row.hint == "sk-…3456"
    assert secret not in json.dumps(list(EngineLicense.objects.values()), default=str)


def test_a_task_is_visible_only_with_the_license_that_created_it(api):
    _, bob = EngineLicense.issue("bob", license=BOB)
    task_id = api.generate(**GOOD).json()["task_id"]

    assert api.status(task_id).status_code == 200
    response = api.status(task_id, license=bob)
    assert response.status_code == 404
    assert response.json() == {"status": "error", "message": "Task not found"}


def test_it_answers_404_for_unknown_or_malformed_task_ids(api):
    for task_id in (str(uuid.uuid4()), "not-a-uuid", "14cb760f-05ac-4fd3-a82c-e841f2f005d0"):
        response = api.status(task_id)
        assert response.status_code == 404
        assert response.json() == {"status": "error", "message": "Task not found"}
    response = api.session.get(api.base + "/query_status", params={"license": ALICE})
    assert response.status_code == 400
    assert response.json()["errors"]["task_id"] == "task_id is required"


def test_it_never_logs_the_license(api, caplog):
    with caplog.at_level(logging.DEBUG):
        task_id = api.generate(**GOOD).json()["task_id"]
        api.status(task_id)
        api.status(str(uuid.uuid4()))
        api.generate(body={"license": ALICE, "voice": "robot"})
        api.generate(body={"license": ALICE + "x", **GOOD})
        logging.getLogger("django.server").info('"%s" 200 17', f"GET /engine/query_status?license={ALICE}&task_id=x")
    assert ALICE not in caplog.text
    assert "license=[redacted]" in caplog.text


# --- instant mode ----------------------------------------------------------------------

def test_instant_mode_follows_the_clock(api, settings):
    settings.ENGINE_FAULTS = "mode=instant,latency=0.5"
    created = time.monotonic()
    task_id = api.generate(**GOOD).json()["task_id"]

    seen = []
    while True:
        body = api.status(task_id).json()
        elapsed = time.monotonic() - created
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] == "done":
            break
        assert elapsed < 10, seen
        time.sleep(0.01)

    assert seen == ["started", "processing", "done"]
    assert elapsed >= 0.5
    assert body == {"status": "done", "video_url": body["video_url"]}
    assert body["video_url"].startswith(f"{settings.ENGINE_BASE_URL}/media/") and task_id not in body["video_url"]
    task = EngineTask.objects.get(pk=task_id)
    assert task.status == "done" and task.finished == task.created + timedelta(seconds=0.5)


def test_instant_mode_serves_a_real_clip(api, settings):
    task_id = api.generate(**GOOD).json()["task_id"]
    body, _ = poll(api, task_id)
    assert body["status"] == "done"

    response = requests.get(body["video_url"], timeout=300)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "video/mp4"
    assert response.content[4:8] == b"ftyp"
    # every instant task shares one clip, made once
    clip = Path(settings.ENGINE_MEDIA_ROOT) / "instant.mp4"
    assert clip.read_bytes() == response.content


def test_instant_mode_queues_nothing(api, broker):
    api.generate(**GOOD)
    assert broker() == []


def test_media_is_404_until_done(api, settings):
    settings.ENGINE_FAULTS = "mode=instant,latency=30"
    task_id = api.generate(**GOOD).json()["task_id"]
    assert requests.get(services.video_url(task_id), timeout=10).status_code == 404
    assert requests.get(services.video_url(uuid.uuid4()), timeout=10).status_code == 404


# --- fault injection -------------------------------------------------------------------

def test_rate_429_answers_every_call_with_retry_after(api, settings):
    settings.ENGINE_FAULTS = "mode=instant,rate_429=1.0,retry_after=2"
    for _ in range(5):
        response = api.generate(**GOOD)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "2"
        assert response.json()["status"] == "error"
    assert EngineTask.objects.count() == 0  # nothing was created
    task = EngineTask.objects.create(license_fingerprint=fingerprint(ALICE), instant=True)
    response = api.status(task.task_id)
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"


def test_rate_5xx_answers_500_or_503(api, settings):
    settings.ENGINE_FAULTS = "mode=instant,rate_5xx=1.0"
    codes = {api.generate(**GOOD).status_code for _ in range(20)}
    assert codes <= {500, 503} and codes
    assert EngineTask.objects.count() == 0


def test_malformed_rate_answers_200_with_a_body_that_is_not_json(api, settings):
    settings.ENGINE_FAULTS = "mode=instant,malformed_rate=1.0"
    for response in (api.generate(**GOOD), api.status(str(uuid.uuid4()))):
        assert response.status_code == 200
        with pytest.raises(ValueError):
            response.json()


def test_fail_rate_ends_tasks_failed(api, settings):
    settings.ENGINE_FAULTS = "mode=instant,fail_rate=1.0,latency=0.2"
    task_id = api.generate(**GOOD).json()["task_id"]
    body, seen = poll(api, task_id)
    assert body == {"status": "failed", "message": "Injected failure", "code": "generation_failed"}
    assert seen[-2:] == ["processing", "failed"]


def test_never_finish_rate_keeps_tasks_processing(api, settings):
    settings.ENGINE_FAULTS = "mode=instant,never_finish_rate=1.0,latency=0.1"
    task_id = api.generate(**GOOD).json()["task_id"]
    time.sleep(0.3)
    assert api.status(task_id).json() == {"status": "processing"}
    assert EngineTask.objects.get(pk=task_id).never_finish


def test_backwards_rate_reports_started_again(api, settings):
    settings.ENGINE_FAULTS = "mode=instant,latency=20"
    task_id = api.generate(**GOOD).json()["task_id"]
    time.sleep(2.1)  # past 10% of the latency: processing
    assert api.status(task_id).json() == {"status": "processing"}
    settings.ENGINE_FAULTS = "mode=instant,latency=20,backwards_rate=1.0"
    assert api.status(task_id).json() == {"status": "started"}


def test_a_license_fault_profile_overrides_the_global_one(api):
    slow = license_with("mode=instant,rate_429=1.0,retry_after=5")
    assert api.generate(body={"license": slow, **GOOD}).status_code == 429
    assert api.generate(**GOOD).status_code == 200  # alice: global spec, no faults


def test_per_call_faults_hit_about_their_rate_and_replay_with_a_seed():
    spec = faults.parse("rate_429=0.2,rate_5xx=0.1,malformed_rate=0.05,seed=42")
    draws = [faults.call_fault(spec) for _ in range(4000)]
    assert 0.17 < draws.count("429") / 4000 < 0.23
    assert 0.08 < (draws.count("500") + draws.count("503")) / 4000 < 0.12
    assert 0.03 < draws.count("malformed") / 4000 < 0.07
    faults.reset_rngs()
    assert [faults.call_fault(spec) for _ in range(4000)] == draws


def test_per_task_faults_are_reproducible_and_hit_about_their_rate():
    spec = faults.parse("fail_rate=0.25,never_finish_rate=0.1,seed=3")
    ids = [uuid.UUID(int=i) for i in range(4000)]
    flags = [faults.task_faults(spec, i) for i in ids]
    assert 0.22 < sum(f["inject_failure"] for f in flags) / 4000 < 0.28
    assert 0.06 < sum(f["never_finish"] for f in flags) / 4000 < 0.09  # 10% of the 75% not failed
    assert flags == [faults.task_faults(spec, i) for i in ids]
    assert not any(f["inject_failure"] and f["never_finish"] for f in flags)


@pytest.mark.parametrize("spec,message", [
    ("latency=-1", "latency must be 0 or more"), ("fail_rate=2", "fail_rate must be from 0 to 1"),
    ("mode=slow", "mode must be one of render, instant"), ("colour=red", "unknown key 'colour'"),
    ("latency", "is not key=value"), ("rate_429=0.6,rate_5xx=0.6", "must be at most 1"),
    ("seed=x", "seed must be an integer"),
])
def test_it_explains_a_bad_fault_spec(spec, message):
    with pytest.raises(ValueError, match=message):
        faults.parse(spec)


def test_a_bad_global_fault_spec_fails_the_system_check(settings):
    from engine.apps import check_fault_spec

    settings.ENGINE_FAULTS = "latency=soon"
    errors = check_fault_spec(None)
    assert errors and "latency must be a number" in errors[0].msg


# --- counters --------------------------------------------------------------------------

def test_stats_count_calls_per_license_under_concurrency(api):
    other = license_with("mode=instant")
    task_id = api.generate(**GOOD).json()["task_id"]

    def call(_):
        return api.status(task_id).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(call, range(40))) == {200}
    api.generate(body={"license": other, **GOOD})
    api.generate(voice="robot")  # refused, but still a call

    assert api.stats().json() == {"generate_calls": 2, "status_calls": 40}
    assert api.stats(license=other).json() == {"generate_calls": 1, "status_calls": 0}
    assert EngineCallCounter.objects.get(pk=fingerprint(ALICE)).status_calls == 40


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


# --- fetch ----------------------------------------------------------------------------

def _fetch(url, tmp_path, **options):
    origin = "/".join(url.split("/")[:3])  # the link's own loopback origin, allowed explicitly
    options = {"field": "image_url", "max_bytes": 1000, "timeout": 2.0, "allowed": (origin,), **options}
    return fetch_to_file(url, tmp_path / "in.bin", **options)


def test_fetch_streams_a_file(files, tmp_path):
    path = _fetch(files.add("/a.jpg", b"\xff\xd8" + b"x" * 500), tmp_path)
    assert path.read_bytes() == b"\xff\xd8" + b"x" * 500


@pytest.mark.parametrize("status,message", [
    (404, "Could not download image_url: HTTP 404. Make sure the link is public."),
    (403, "Could not download image_url: HTTP 403. Make sure the link is public."),
    (503, "Could not download image_url: the server answered HTTP 503. Try again later"),
])
def test_fetch_explains_http_errors(files, tmp_path, status, message):
    with pytest.raises(FetchError, match=message.replace(".", r"\.")):
        _fetch(files.add("/x.jpg", b"nope", status=status), tmp_path)
    assert not (tmp_path / "in.bin").exists()


def test_fetch_refuses_a_file_too_big_by_header_or_by_stream(files, tmp_path):
    with pytest.raises(FetchError, match="larger than the"):
        _fetch(files.add("/big.jpg", b"x" * 2000), tmp_path)
    with pytest.raises(FetchError, match="larger than the"):  # no Content-Length: counted while streaming
        _fetch(files.add("/big2.jpg", b"x" * 2000, headers={"Connection": "close"}, drip=0.0001), tmp_path,
               timeout=10)
    assert not (tmp_path / "in.bin").exists()


def test_fetch_gives_up_at_the_total_time_cap(files, tmp_path):
    started = time.monotonic()
    with pytest.raises(FetchError, match="did not finish within 1 s"):
        _fetch(files.add("/slow.jpg", b"x" * 100, headers={"Connection": "close"}, drip=0.05), tmp_path,
               timeout=1.0)
    assert time.monotonic() - started < 3


def test_fetch_refuses_web_pages_and_empty_files(files, tmp_path):
    with pytest.raises(FetchError, match="returned a web page"):
        _fetch(files.add("/login", b"<!DOCTYPE html><html>log in</html>"), tmp_path)
    with pytest.raises(FetchError, match="the file is empty"):
        _fetch(files.add("/empty.jpg", b""), tmp_path)


def test_fetch_explains_an_unreachable_server(tmp_path):
    with pytest.raises(FetchError, match="could not connect to the server"):
        _fetch("http://127.0.0.1:9/a.jpg", tmp_path)


def test_fetch_follows_redirects(files, tmp_path):
    files.add("/real.jpg", b"\xff\xd8real")
    url = files.add("/moved.jpg", b"", status=302, headers={"Location": "/real.jpg"})
    assert _fetch(url, tmp_path).read_bytes() == b"\xff\xd8real"


# --- media and Range ---------------------------------------------------------------------

@pytest.fixture
def result(settings):
    """A done render-mode task whose result holds 1000 known bytes."""
    data = bytes(range(256)) * 3 + bytes(232)
    task = EngineTask.objects.create(license_fingerprint=fingerprint(ALICE), request=GOOD, status="done",
                                     video_path="results/r.mp4")
    path = Path(settings.ENGINE_MEDIA_ROOT) / "results" / "r.mp4"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return services.video_url(task.task_id), data


def test_media_serves_the_whole_file(result):
    url, data = result
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["Content-Type"] == "video/mp4"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Length"] == "1000"


@pytest.mark.parametrize("header,start,end", [
    ("bytes=0-99", 0, 99), ("bytes=100-", 100, 999), ("bytes=-50", 950, 999), ("bytes=990-5000", 990, 999),
    ("bytes=-5000", 0, 999), ("bytes=999-999", 999, 999),
])
def test_media_serves_a_single_range(result, header, start, end):
    url, data = result
    response = requests.get(url, headers={"Range": header}, timeout=10)
    assert response.status_code == 206
    assert response.content == data[start:end + 1]
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/1000"
    assert response.headers["Content-Length"] == str(end - start + 1)


def test_media_answers_416_for_a_range_past_the_end(result):
    url, _ = result
    response = requests.get(url, headers={"Range": "bytes=1000-"}, timeout=10)
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */1000"


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "items=0-5", "bytes=9-3", "bytes=-"])
def test_media_ignores_ranges_it_does_not_serve(result, header):
    url, data = result
    response = requests.get(url, headers={"Range": header}, timeout=10)
    assert response.status_code == 200 and response.content == data


def test_media_honours_if_range(result):
    url, data = result
    etag = requests.head(url, timeout=10).headers["ETag"]
    assert requests.get(url, headers={"Range": "bytes=0-9", "If-Range": etag}, timeout=10).status_code == 206
    stale = requests.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old"'}, timeout=10)
    assert stale.status_code == 200 and stale.content == data


def test_parse_range_edge_cases():
    assert parse_range(None, 10) is None
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=-0", 10) == "unsatisfiable"
    assert parse_range("bytes=0-", 0) == "unsatisfiable"
    assert parse_range("bytes = 2-3", 10) == (2, 3)


# --- admin ------------------------------------------------------------------------------

def test_admins_issue_a_license_with_a_fault_profile_shown_once(admin_client, api):
    response = admin_client.post("/admin/engine/enginelicense/add/",
                                 {"name": "bench", "license": "", "faults": "mode=instant,latency=1", "active": "on"},
                                 follow=True)
    shown = [str(m) for m in response.context["messages"] if "shown only now" in str(m)]
    secret = shown[0].rsplit(" ", 1)[1]
    row = EngineLicense.objects.get(name="bench")
    assert row.secret_hash == fingerprint(secret) and row.faults == "mode=instant,latency=1"
    assert secret not in admin_client.get(f"/admin/engine/enginelicense/{row.pk}/change/").content.decode()
    assert api.generate(body={"license": secret, **GOOD}).status_code == 200

    bad = admin_client.post("/admin/engine/enginelicense/add/",
                            {"name": "typo", "license": "sk-x-12345678", "faults": "latency=soon", "active": "on"})
    assert "latency must be a number" in bad.content.decode()


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
