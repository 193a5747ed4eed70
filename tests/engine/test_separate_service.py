"""The engine runs as its own service (ENGINE_ONLY=1): its own process, its own database
with none of the portal's tables, its own URLs; the portal's client reaches it over
real HTTP exactly as it reaches NavTalk."""

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from bench.processes import ROOT, Proc
from navtalk.client import GenerateRequest, NavTalkClient

pytestmark = pytest.mark.e2e
LICENSE = "sk-engine-only-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def engine_service(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "CELERY_"))}
    env.update({
        "ENGINE_ONLY": "1", "VAR_DIR": str(tmp_path / "var"), "MEDIA_ROOT": str(tmp_path / "media"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'engine.sqlite3'}", "ENGINE_LICENSES": LICENSE,
        "ENGINE_FAULTS": "mode=instant,latency=0.5", "ENGINE_BASE_URL": base + "/engine",
        "CELERY_BROKER_URL": "filesystem://localhost/", "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "4", "DJANGO_SETTINGS_MODULE": "navtalk_portal.settings",
    })
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    proc = Proc("engine-only", [sys.executable, "-m", "gunicorn", "navtalk_portal.wsgi", "-c", "gunicorn.conf.py"],
                env, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert proc.popen.poll() is None, proc.output()[-3000:]
                assert time.monotonic() < deadline, "the engine did not answer /healthz"
                time.sleep(0.2)
        yield base, tmp_path / "engine.sqlite3"
    finally:
        proc.stop()


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_engine_runs_alone_with_its_own_tables_and_answers_the_portals_client(engine_service):
    base, database = engine_service
    with sqlite3.connect(database) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"engine_enginetask", "engine_enginelicense", "engine_enginecallcounter"} <= tables
    assert not {t for t in tables if t.startswith(("jobs_", "accounts_", "keys_", "auth_"))}

    client = NavTalkClient(base + "/engine/generate", base + "/engine/query_status", read_timeout=10)
    task = client.generate(LICENSE, GenerateRequest(character_name="navtalk.Leo", content="Hello.", voice="nova"))
    deadline = time.monotonic() + 20
    status = client.query_status(LICENSE, task.task_id)
    while status.status != "done" and time.monotonic() < deadline:
        time.sleep(0.2)
        status = client.query_status(LICENSE, task.task_id)
    assert status.status == "done" and status.video_url.startswith(base + "/engine/")

    assert status_of(base + "/engine/characters") == 200
    for portal_path in ("/", "/history/", "/admin/", "/login/"):
        assert status_of(base + portal_path) == 404, portal_path
