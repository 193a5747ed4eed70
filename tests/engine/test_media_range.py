"""The engine's results with single-range requests, and its admin."""

from pathlib import Path

import pytest
import requests

from engine import services
from engine.models import EngineLicense, EngineTask, fingerprint
from engine.views import parse_range
from tests.engine.api_support import ALICE, GOOD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine")]


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
