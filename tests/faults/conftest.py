"""Tools for the fault suite: a fault-scripting upstream over real HTTP, our own
redis-server and PostgreSQL cluster (never the shared ones), short pipeline timings for
the worker and beat processes, and a switch for the test process's Celery publisher.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from pathlib import Path

import kombu.pools
import pytest

from bench.processes import process_env, purge_broker, wait_until  # noqa: F401 (re-exported)
from keys.selection import key_for_team
from tests.support.http import LoopbackServer, Reply, Request

# Small timings for worker and beat processes: a fault test runs in seconds.
FAST = dict(
    POLL_INTERVAL_SECONDS="0.5", RECONCILE_INTERVAL_SECONDS="1", RECONCILE_DISPATCH_GRACE_SECONDS="2",
    JOB_EXPECTED_SECONDS="1", POLL_LEASE_SECONDS="5", POLL_BATCH_SIZE="64", POLL_CONCURRENCY="64",
    NAVTALK_CONNECT_TIMEOUT="1",
    NAVTALK_READ_TIMEOUT="3", ARCHIVE_RESULTS="False", LOG_LEVEL="INFO", CELERY_TASK_LOGS="True",
    # Fault tests create dozens of jobs as one person: the creation limits are off there too.
    JOB_RATE_PER_USER_PER_MINUTE="0", JOB_RATE_PER_TEAM_PER_MINUTE="0", JOB_MAX_IN_FLIGHT_PER_USER="0",
    JOB_MAX_IN_FLIGHT_PER_TEAM="0",
)


def fast_env(**extra) -> dict:
    return process_env(**{**FAST, **extra})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the upstream ---------------------------------------------------------------------


class FaultUpstream(LoopbackServer):
    """A NavTalk over real HTTP whose behaviour is scripted per case.

    A job's `content` is "<case>#<n>"; /generate answers the case's scripted replies in
    order, then accepts with task id "<case>-<n>-<k>". /query_status answers the task's
    case's scripted status replies in order, then `done` once `latency` seconds have
    passed since the /generate (else `processing`), or the case's `forever` reply.
    Unknown task ids get 404. Every request is logged with its time; concurrent status
    calls are counted per task id (`max_in_flight`).
    """

    def __init__(self, latency: float = 1.0, status_delay: float = 0.0):
        self.latency = latency
        self.status_delay = status_delay
        self.lock = threading.Lock()
        self.log: list[dict] = []
        self.created: dict[str, float] = {}
        self.task_case: dict[str, str] = {}
        self.generate_scripts: dict[str, deque] = defaultdict(deque)
        self.status_scripts: dict[str, deque] = defaultdict(deque)  # per case, shared by its tasks
        self.forever: dict[str, Reply] = {}
        self.in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight: dict[str, int] = defaultdict(int)
        self.total_in_flight = 0
        self.video_fetches: dict[str, int] = defaultdict(int)
        self._counter = 0
        super().__init__(self._respond, http11=True, after=self._sent, backlog=256)

    def _respond(self, request: Request) -> Reply:
        if request.method == "POST":
            return self._generate(request.json if isinstance(request.json, dict) else {})
        if request.path.startswith("/video/"):
            with self.lock:
                self.video_fetches[request.path] += 1
            return Reply(raw=b"not a video")
        return self._status(request.query.get("task_id", ""))

    def _generate(self, body: dict) -> Reply:
        label = str(body.get("content") or body.get("audio_url") or "")
        case = label.split("#")[0]
        with self.lock:
            script = self.generate_scripts[case]
            reply = script.popleft() if script else None
            if reply is None:
                self._counter += 1
                task_id = f"{label.replace('#', '-')}-{self._counter}"  # URL-safe
                self.created[task_id] = time.monotonic()
                self.task_case[task_id] = case
                reply = Reply(body={"status": "started", "task_id": task_id})
            self.log.append({"endpoint": "generate", "t": time.monotonic(), "label": label,
                             "case": case, "http": reply.status, "json": body})
        return reply

    def _status(self, task_id: str) -> Reply:
        with self.lock:
            self.in_flight[task_id] += 1
            self.total_in_flight += 1
            self.max_in_flight[task_id] = max(self.max_in_flight[task_id], self.in_flight[task_id])
            case = self.task_case.get(task_id)
            script = self.status_scripts[case] if case is not None else None
            reply = script.popleft() if script else None
            if reply is None:
                if case is None:
                    reply = Reply(status=404, body={"status": "error", "message": "Task not found"})
                elif case in self.forever:
                    reply = self.forever[case]
                elif time.monotonic() - self.created[task_id] >= self.latency:
                    reply = Reply(body={"status": "done", "video_url": f"{self.url}/video/{task_id}.mp4"})
                else:
                    reply = Reply(body={"status": "processing"})
            self.log.append({"endpoint": "query_status", "t": time.monotonic(), "task_id": task_id,
                             "case": case, "http": reply.status})
        if not reply.delay and self.status_delay:
            reply = _delayed(reply, self.status_delay)
        return reply

    def _sent(self, request: Request, reply: Reply) -> None:
        if request.method == "GET" and not request.path.startswith("/video/"):
            with self.lock:
                task_id = request.query.get("task_id", "")
                self.in_flight[task_id] -= 1
                self.total_in_flight -= 1

    def script(self, case: str, *, generate=(), status=(), forever: Reply | None = None):
        with self.lock:
            self.generate_scripts[case].extend(generate)
            self.status_scripts[case].extend(status)
            if forever is not None:
                self.forever[case] = forever

    def calls(self, endpoint: str, case: str | None = None) -> list[dict]:
        with self.lock:
            return [r for r in self.log if r["endpoint"] == endpoint and (case is None or r["case"] == case)]

    def generates_per_label(self, accepted_only: bool = False) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for call in self.calls("generate"):
            if not accepted_only or call["http"] == 200:
                counts[call["label"]] += 1
        return counts



def _delayed(reply: Reply, delay: float) -> Reply:
    """The same reply, sent after `delay` seconds (a slow upstream)."""
    return Reply(reply.status, body=reply.body, headers=reply.headers, raw=reply.raw, delay=delay,
                 drip=reply.drip, content_type=reply.content_type)


@pytest.fixture
def fault_upstream():
    server = FaultUpstream()
    yield server
    server.close()


@pytest.fixture
def team_key(alice, fault_upstream):
    """alice's team key, pointed at the fault upstream."""
    key = key_for_team(alice.teams.first())
    key.generate_url = fault_upstream.url + "/generate"
    key.query_status_url = fault_upstream.url + "/query_status"
    key.save()
    return key


def create_jobs(user, case: str, count: int, start: int = 0) -> list:
    from jobs import services

    team = user.teams.first()
    return [services.job_create(team=team, user=user, license_key=key_for_team(team), title=f"{case} {i}",
                                visual_type="character", character_name="navtalk.Leo", audio_type="content",
                                content=f"{case}#{i}", voice="nova")
            for i in range(start, start + count)]


def statuses(jobs=None) -> dict:
    from django.db.models import Count

    from jobs.models import Job

    qs = Job.objects.all() if jobs is None else Job.objects.filter(pk__in=[j.pk for j in jobs])
    return dict(qs.values_list("status").annotate(n=Count("pk")))


def dump(*procs) -> str:
    return "\n".join(f"--- {p.name} ---\n{p.output()[-3000:]}" for p in procs)


@pytest.fixture(autouse=True)
def _clean_broker():
    purge_broker()
    yield


# --- our own redis-server ---------------------------------------------------------------


class RedisServer:
    """A throwaway redis-server on a spare port, without persistence: a restart is empty."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="fault-redis-")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.popen = None
        self.start()

    def start(self):
        self.popen = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.ping, timeout=10, message="redis-server up")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self):
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def close(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def own_redis():
    server = RedisServer()
    yield server
    server.close()


@contextmanager
def publisher_on(broker_url: str):
    """Point the test process's Celery app (used by job_create's on_commit publish) at
    another broker for the duration, then put it back."""
    from django.conf import settings

    from navtalk_portal.celery import app

    def reset():
        if app._pool is not None:
            try:
                app._pool.force_close_all()
            except Exception:
                pass
        app._pool = None
        app.amqp._producer_pool = None
        # kombu keeps producer pools in a process-wide registry keyed by connection: drop
        # them too, or the next publish to the same URL reuses a pool closed above.
        kombu.pools.reset()

    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    reset()
    app.conf.broker_url = broker_url
    app.conf.broker_transport_options = {"visibility_timeout": settings.BROKER_VISIBILITY_TIMEOUT}
    try:
        yield app
    finally:
        reset()
        app.conf.broker_url, app.conf.broker_transport_options = saved


# --- our own PostgreSQL cluster ---------------------------------------------------------

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PgCluster:
    """A throwaway PostgreSQL cluster (initdb in a temporary directory, spare port)."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="fault-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.start()
        self._pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "portal")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/portal"

    def _pg(self, tool, *args, check=True):
        return subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / tool), *args], check=check,
                              capture_output=True, text=True, timeout=120, cwd=self.dir)

    def start(self):
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60", "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                 f"-c max_connections=200", "start")

    def stop(self, mode="immediate"):
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def pg_available() -> str | None:
    if os.geteuid() != 0 and os.environ.get("USER") != "postgres":
        return "needs root (runuser) to run its own PostgreSQL cluster as the postgres user"
    if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        return f"no PostgreSQL binaries at {PG_BIN}"
    return None
