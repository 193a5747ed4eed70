"""Licenses and call counters of the engine: checked first, stored only as a
fingerprint, never logged; a task is visible only with its own license."""

import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.models import EngineCallCounter, EngineLicense, fingerprint
from tests.engine.api_support import ALICE, BOB, GOOD, license_with

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine")]


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
