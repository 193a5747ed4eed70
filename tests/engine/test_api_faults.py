"""Instant mode (state from the clock) and fault injection (429, 5xx, malformed replies,
failures, never-finishing and backwards tasks), per call and per task."""

import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from engine import faults, services
from engine.models import EngineTask, fingerprint
from tests.engine.api_support import ALICE, GOOD, license_with, poll

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine")]


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
