#!/usr/bin/env python
"""Soak the job pipeline: N jobs spread over M minutes with injected upstream faults.

    .venv/bin/python bench/soak.py --jobs 1000 --minutes 5 --fault-rate 0.1

Everything runs in a throwaway directory on the embedded defaults (SQLite, filesystem
broker; `--broker redis://…` to use Redis): the local engine (`engine/`, instant mode)
served by gunicorn with fault injection (ENGINE_FAULTS: 429 + Retry-After, 5xx and
malformed replies at `fault-rate` of all calls, failed tasks, tasks that never finish
and so time out at the deadline, status going backwards), and real Celery worker and
beat processes. Worker memory (VmRSS of the worker and its pool) is read from /proc at
the start and the end. The last line is

    jobs=… done=… failed=… lost=0 duplicates=0 generate_calls=… status_calls_per_job=… rss_start_mb=… rss_end_mb=…

lost: jobs not terminal after the grace period; duplicates: jobs the engine created more
than one task for (more than one accepted /generate).
"""

import argparse
import os
import secrets
import shutil
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _common as c  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """VmRSS of a process and all its descendants, in MB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


def fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def fault_spec(rate: float, latency: float) -> str:
    per_call = rate / 3
    return (f"mode=instant,latency={latency},rate_429={per_call:.4f},retry_after=1,rate_5xx={per_call:.4f},"
            f"malformed_rate={per_call:.4f},fail_rate={rate / 2:.4f},never_finish_rate={rate / 20:.4f},"
            f"backwards_rate={rate:.4f},seed=7")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=2)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--latency", type=float, default=3.0, help="seconds each engine task takes")
    parser.add_argument("--deadline", type=int, default=60, help="JOB_DEADLINE_SECONDS for the run")
    parser.add_argument("--broker", default="filesystem://")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory (logs, database)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    port = free_port()
    license = "sk-soak-" + secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "navtalk_portal.settings", "VAR_DIR": str(tmp), "MEDIA_ROOT": str(tmp / "media"),
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", "CELERY_BROKER_URL": args.broker,
        "PUBLIC_BASE_URL": base, "ENGINE_BASE_URL": base + "/engine", "ENGINE_LICENSES": license,
        "ENGINE_FAULTS": fault_spec(args.fault_rate, args.latency), "JOB_EXPECTED_SECONDS": str(args.latency),
        "JOB_DEADLINE_SECONDS": str(args.deadline), "POLL_INTERVAL_SECONDS": "1", "RECONCILE_INTERVAL_SECONDS": "5",
        "RECONCILE_DISPATCH_GRACE_SECONDS": "10", "POLL_MAX_BACKOFF_SECONDS": "10", "NAVTALK_CONNECT_TIMEOUT": "2",
        "NAVTALK_READ_TIMEOUT": "10", "POLL_BATCH_SIZE": "100", "POLL_CONCURRENCY": "16", "POLL_LEASE_SECONDS": "30",
        "ARCHIVE_RESULTS": "False", "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
        # Production mode: with DEBUG=True Django keeps the last 9000 queries per process,
        # which would show up as worker memory growth that production never has.
        "DEBUG": "False", "SECRET_KEY": secrets.token_hex(32), "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "False", "LICENSE_ENCRYPTION_KEYS": fernet_key(),
        # One person creates every soak job: the job-creation limits are off.
        "JOB_RATE_PER_USER_PER_MINUTE": "0", "JOB_RATE_PER_TEAM_PER_MINUTE": "0",
        "JOB_MAX_IN_FLIGHT_PER_USER": "0", "JOB_MAX_IN_FLIGHT_PER_TEAM": "0",
    })
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count, Sum

    from accounts.models import Membership, Team
    from bench.processes import Proc, start_beat, start_worker
    from engine.models import EngineCallCounter, EngineTask
    from jobs import services
    from jobs.models import Job
    from keys.models import LicenseKey
    from keys.selection import assign_key

    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User

    user = User.objects.create_user("soak", password="pw-soak-123!")
    key = LicenseKey(name="Soak", generate_url=base + "/engine/generate",
                     query_status_url=base + "/engine/query_status")
    key.secret = license
    key.save()
    team = Team.objects.create(name="Soak")
    assign_key(team, key)
    Membership.objects.create(team=team, user=user)

    print(f"soak: {args.jobs} jobs over {args.minutes} min, faults {env['ENGINE_FAULTS']}, dir {tmp}", flush=True)
    procs = []
    try:
        procs.append(Proc("engine", [sys.executable, "-m", "gunicorn", "navtalk_portal.wsgi", "-b", f"127.0.0.1:{port}",
                                     "-k", "gthread", "-w", "2", "--threads", "8", "--timeout", "60"], env, tmp))
        procs[0].wait_for("Booting worker", 60)
        worker = start_worker(env, tmp, queues="celery", concurrency=2)
        procs += [worker, start_beat(env, tmp)]
        time.sleep(2)
        rss_start = rss_mb(worker.popen.pid)
        started = time.monotonic()
        interval = args.minutes * 60 / max(1, args.jobs)
        next_report = started + 30
        for i in range(args.jobs):
            # One reading per decision: a slow machine that falls behind its schedule
            # submits at once instead of asking sleep() for a negative time.
            while (wait := started + i * interval - time.monotonic()) > 0:
                time.sleep(min(0.05, wait))
            services.job_create(team=team, user=user, license_key=key, title=f"soak {i}", visual_type="character",
                                character_name="navtalk.Leo", audio_type="content", content=f"soak#{i}", voice="nova")
            if time.monotonic() >= next_report:
                next_report += 30
                counts = dict(Job.objects.values_list("status").annotate(n=Count("pk")))
                print(f"  t={time.monotonic() - started:5.0f}s created={i + 1} {counts} "
                      f"worker_rss_mb={rss_mb(worker.popen.pid):.1f}", flush=True)
        grace_until = time.monotonic() + args.deadline + 90
        while time.monotonic() < grace_until and Job.objects.filter(status__in=Job.IN_FLIGHT_STATUSES).exists():
            time.sleep(1)
        rss_end = rss_mb(worker.popen.pid)
        crashed = [p.name for p in procs if p.popen.poll() is not None]
    finally:
        for proc in reversed(procs):
            proc.stop()

    counts = dict(Job.objects.values_list("status").annotate(n=Count("pk")))
    categories = dict(Job.objects.filter(status=Job.Status.FAILED).values_list("error_category")
                      .annotate(n=Count("pk")))
    lost = sum(counts.get(s, 0) for s in Job.IN_FLIGHT_STATUSES)
    per_job = Counter(EngineTask.objects.values_list("request__content", flat=True))
    duplicates = sum(1 for n in per_job.values() if n > 1)
    calls = EngineCallCounter.objects.aggregate(g=Sum("generate_calls"), s=Sum("status_calls"))
    print(f"failed by category: {categories}; crashed processes: {crashed or 'none'}; "
          f"took {time.monotonic() - started:.0f}s", flush=True)
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"jobs={args.jobs} done={counts.get('done', 0)} failed={counts.get('failed', 0)} lost={lost} "
          f"duplicates={duplicates} generate_calls={calls['g'] or 0} "
          f"status_calls_per_job={(calls['s'] or 0) / max(1, args.jobs):.1f} "
          f"rss_start_mb={rss_start:.1f} rss_end_mb={rss_end:.1f} " + c.keyvals(c.machine()))


if __name__ == "__main__":
    main()
