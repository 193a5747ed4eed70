"""Start real Celery worker and beat processes, shared by the end-to-end and fault tests
and the benchmarks (which must not import tests/).

They run `celery -A navtalk_portal …` as separate processes on the same broker and the
same (test) database as the test process, so what they do is what production does.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(**extra) -> dict:
    env = os.environ.copy()
    env.update({
        "DATABASE_URL": test_database_url(),
        "VAR_DIR": str(settings.VAR_DIR),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "ENGINE_MEDIA_ROOT": str(settings.ENGINE_MEDIA_ROOT),
        "PUBLIC_BASE_URL": settings.PUBLIC_BASE_URL,
        "ENGINE_BASE_URL": settings.ENGINE_BASE_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Proc:
    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}-{uuid.uuid4().hex[:6]}.log"
        self.log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.output()[-4000:]}")
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} did not print {text!r} within {timeout}s:\n{self.output()[-4000:]}")

    def signal(self, sig, group: bool = True) -> None:
        """Signal the process group (group=True: e.g. SIGKILL of a worker and its pool) or
        only the main process, as a supervisor's stop does. A SIGTERM sent to a Celery
        worker's pool children as well can leave billiard's pool hanging at exit."""
        if self.popen.poll() is None:
            if group:
                os.killpg(self.popen.pid, sig)
            else:
                self.popen.send_signal(sig)

    def stop(self, timeout: float = 20) -> None:
        self.signal(signal.SIGTERM, group=False)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)  # whatever is left of the group
        except ProcessLookupError:
            pass
        self.popen.wait(10)
        self.log.close()


def start_worker(env: dict, log_dir: Path, queues: str = "celery,engine", concurrency: int = 2) -> Proc:
    proc = Proc("worker", [sys.executable, "-m", "celery", "-A", "navtalk_portal", "worker", "-Q", queues,
                           "-c", str(concurrency), "-n", f"test-{uuid.uuid4().hex[:8]}@%h", "--without-mingle",
                           "--without-gossip", "--loglevel", "INFO"], env, log_dir)
    proc.wait_for("ready.")
    return proc


def start_beat(env: dict, log_dir: Path) -> Proc:
    schedule = log_dir / f"beat-{uuid.uuid4().hex[:6]}"
    proc = Proc("beat", [sys.executable, "-m", "celery", "-A", "navtalk_portal", "beat", "-s", str(schedule),
                         "--loglevel", "INFO"], env, log_dir)
    proc.wait_for("beat: Starting")
    return proc


@contextmanager
def running(*procs_factories):
    procs = []
    try:
        for factory in procs_factories:
            procs.append(factory())
        yield procs
    finally:
        for proc in reversed(procs):
            proc.stop()


def purge_broker() -> None:
    from navtalk_portal.celery import app

    with app.connection_for_write() as conn:
        for queue in ("celery", "engine"):
            try:
                conn.default_channel.queue_purge(queue)
            except Exception:  # the queue may not exist yet
                pass


def wait_until(predicate, timeout=60, interval=0.2, message="condition"):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{message} not met within {timeout}s")
