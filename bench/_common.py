"""Shared helpers for the benchmarks: environment, databases, real processes, figures.

Each benchmark runs on the configured services: DATABASE_URL / REDIS_URL from the
environment (Postgres + Redis), else the embedded defaults (a SQLite file and the
filesystem broker) under var/bench/. A benchmark never touches the development
database (var/db.sqlite3): on SQLite it uses its own file, on Postgres pass a database
of its own (e.g. postgres://postgres@127.0.0.1:5432/navtalk_bench; it is created if
missing). Redis: pass a db of its own (e.g. redis://127.0.0.1:6379/14); only the
benchmark's queues are purged, never the whole server.
"""

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from bench import processes

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
VAR = ROOT / "var" / "bench"


JOB_LIMITS = ("JOB_RATE_PER_USER_PER_MINUTE", "JOB_RATE_PER_TEAM_PER_MINUTE", "JOB_MAX_IN_FLIGHT_PER_USER",
              "JOB_MAX_IN_FLIGHT_PER_TEAM")


def bench_env(name: str, **extra) -> dict:
    """The environment every process of a benchmark shares (the bench process too)."""
    VAR.mkdir(parents=True, exist_ok=True)
    env = os.environ.copy()
    env.setdefault("DATABASE_URL", f"sqlite:///{VAR / (name + '.sqlite3')}")
    redis_url = env.get("REDIS_URL", "")
    env.setdefault("CELERY_BROKER_URL", redis_url or "filesystem://")
    env.update({
        "VAR_DIR": str(VAR / name),
        "MEDIA_ROOT": str(VAR / name / "media"),
        "ENGINE_MEDIA_ROOT": str(VAR / name / "media" / "engine"),
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "navtalk_portal.settings",
    })
    env.setdefault("LOG_LEVEL", "WARNING")
    for limit in JOB_LIMITS:  # benchmarks create thousands of jobs as one person: limits off
        env.setdefault(limit, "0")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def backend_label(env: dict) -> str:
    db = "postgres" if env["DATABASE_URL"].startswith(("postgres", "pgsql")) else "sqlite"
    broker = "redis" if env["CELERY_BROKER_URL"].startswith("redis") else "filesystem"
    return f"{db}+{broker}"


def ensure_database(env: dict) -> None:
    """Create the Postgres database named in DATABASE_URL if it does not exist."""
    url = env["DATABASE_URL"]
    if not url.startswith(("postgres", "pgsql")):
        return
    import environ
    import psycopg

    cfg = environ.Env.db_url_config(url)
    conninfo = dict(host=cfg.get("HOST") or "127.0.0.1", port=cfg.get("PORT") or 5432, user=cfg.get("USER"),
                    password=cfg.get("PASSWORD") or None, dbname="postgres", autocommit=True)
    with psycopg.connect(**conninfo) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


def setup(name: str, *, migrate: bool = True, **extra) -> dict:
    """Prepare the database, configure Django in this process, return the shared env."""
    env = bench_env(name, **extra)
    ensure_database(env)
    Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    if migrate:
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Proc(processes.Proc):
    """tests.processes.Proc (the one process helper), logging under var/bench/logs."""

    def __init__(self, name: str, args: list, env: dict):
        log_dir = VAR / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(name, args, env, log_dir)


def start_gunicorn(env: dict, port: int, *, workers: int = 2, threads: int = 8, name: str = "gunicorn") -> Proc:
    genv = dict(env, GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS=str(workers),
                GUNICORN_THREADS=str(threads), GUNICORN_ACCESS_LOG="0")
    proc = Proc(name, [str(BIN / "gunicorn"), "navtalk_portal.wsgi", "-c", "gunicorn.conf.py"], genv)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return proc
        except OSError:
            pass
        if proc.popen.poll() is not None:
            raise RuntimeError(f"gunicorn exited early:\n{proc.output()[-4000:]}")
        time.sleep(0.2)
    proc.stop()
    raise TimeoutError("gunicorn did not answer /healthz within 60 s")


def start_worker(env: dict, *, concurrency: int = 2, queues: str = "celery", include: str | None = None) -> Proc:
    args = [PYTHON, "-m", "celery", "-A", "navtalk_portal", "worker", "-Q", queues, "-c", str(concurrency),
            "-n", f"bench-{uuid.uuid4().hex[:8]}@%h", "--without-mingle", "--without-gossip", "--loglevel", "INFO"]
    if include:
        args += ["-I", include]
    proc = Proc("worker", args, env)
    proc.wait_for("ready.")
    return proc


def start_beat(env: dict) -> Proc:
    schedule = VAR / "logs" / f"beat-{uuid.uuid4().hex[:6]}"
    proc = Proc("beat", [PYTHON, "-m", "celery", "-A", "navtalk_portal", "beat", "-s", str(schedule),
                         "--loglevel", "INFO"], env)
    proc.wait_for("beat: Starting")
    return proc


def purge_queues(*queues: str) -> None:
    """Empty the benchmark's own queues (never the whole broker)."""
    from navtalk_portal.celery import app

    with app.connection_for_write() as conn:
        for queue in queues or ("celery",):
            try:
                conn.default_channel.queue_purge(queue)
            except Exception:  # not declared yet
                pass


def percentile(values, q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    values = sorted(values)
    if not values:
        return float("nan")
    rank = max(1, min(len(values), round(q / 100 * len(values) + 0.5)))
    return values[rank - 1]


def median(values) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def load1() -> float:
    """The 1-minute load average: other work on the machine skews every figure."""
    return os.getloadavg()[0]


def keyvals(figures: dict) -> str:
    return " ".join(f"{k}={fmt(v)}" for k, v in figures.items())


def calib_ms(repeats: int = 5) -> float:
    """Milliseconds of a fixed CPU-bound loop (median of `repeats`): printed beside every
    benchmark's figures, so figures from a slower or busier machine can be compared."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i * i % 7
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def machine() -> dict:
    """calib_ms and the load averages, for the line of figures."""
    one, five, _ = os.getloadavg()
    return {"calib_ms": calib_ms(), "load1": one, "load5": five}
