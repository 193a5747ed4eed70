"""The engine tier on several "machines": N engine worker processes, each with a media
root of its own (no shared folder), sharing one SeaweedFS bucket, the database and the
broker. The same JOBS render-mode jobs (a photo + SECONDS of speech each: a photo clip)
for each N; prints, per N:

    engines=… jobs=… wall_s=… speedup_vs_1=… storage=s3 s3_requests_per_job=… (by type)
    queries_per_job=… (PostgreSQL transactions, n/a on SQLite) calib_ms=… load1=…

Each job is created as the engine's web side does (engine.services.create_task: the
audio is stored in the bucket, the render queued); the photo is a presigned link to the
bucket's uploads/, as the portal hands an upload to the engine. S3 requests are counted by
SeaweedFS itself (its Prometheus counters), so they include everything every process did.

    python -m bench.scale [--jobs 200] [--engines 1,2,4] [--seconds 5]

On a 2-core machine the speed-up flattens at 2: renders are CPU-bound and independent.
Set DATABASE_URL / REDIS_URL (a database and Redis db of their own) for PostgreSQL + Redis,
which is also what gives each engine its own VAR_DIR (the filesystem broker is a folder).
"""

import argparse
import base64
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import _common as c
from bench.media import speech_wav
from bench.seaweed import SeaweedFS, spare_ports

LICENSE = "sk-bench-scale-0123456789abcdef"
FACE = c.ROOT / "engine" / "characters" / "ava.jpg"


def s3_counts(metrics_port: int, bucket: str) -> dict:
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
    counts: dict = {}
    for match in re.finditer(r'^SeaweedFS_s3_request_total\{bucket="([^"]*)",code="[^"]*",type="([^"]*)"\} (\S+)$',
                             text, re.M):
        if match.group(1) == bucket:
            counts[match.group(2)] = counts.get(match.group(2), 0) + float(match.group(3))
    return counts


def transactions() -> float | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()")
        return float(cursor.fetchone()[0])


def run(n_engines: int, jobs: int, seconds: float, server: SeaweedFS, metrics_port: int, env: dict) -> dict:
    from django.core.files.base import ContentFile
    from storages.backends.s3 import S3Storage

    from engine import services, validate
    from engine.models import EngineTask
    from lib.storage import s3_options

    bucket = server.create_bucket(f"scale-{n_engines}-{os.getpid()}-{int(time.time())}")
    s3env = server.env(bucket)
    os.environ.update(s3env)
    from django.conf import settings

    for key, value in s3env.items():
        setattr(settings, key, value)
        setattr(settings, "ENGINE_" + key, value)
    uploads = S3Storage(**s3_options(endpoint_url=server.endpoint_url, bucket=bucket, access_key=server.access_key,
                                     secret_key=server.secret_key, region="us-east-1", url_max_age=3600))
    face = uploads.save("uploads/face.jpg", ContentFile(FACE.read_bytes()))
    body = {"license": LICENSE, "image_url": uploads.url(face),
            "audio_base64": base64.b64encode(speech_wav(seconds)).decode()}
    scratch = Path(tempfile.mkdtemp(prefix=f"scale-{n_engines}-", dir=c.VAR))
    private_var = env["CELERY_BROKER_URL"].startswith("redis")
    procs = []
    try:
        for i in range(n_engines):  # each "machine": its own media root (and VAR_DIR with Redis)
            node = scratch / f"engine-{i}"
            penv = dict(env, **s3env, MEDIA_ROOT=str(node / "media"), ENGINE_MEDIA_ROOT=str(node / "engine"))
            if private_var:
                penv["VAR_DIR"] = str(node / "var")
            procs.append(c.start_worker(penv, concurrency=1, queues="engine"))
        c.purge_queues("engine")
        before_s3, before_tx = s3_counts(metrics_port, bucket), transactions()
        start = time.monotonic()
        caller = services.resolve_caller(LICENSE)
        ids = []
        for _ in range(jobs):
            cleaned, errors = validate.validate_generate(body, content_max_chars=5000, audio_max_bytes=10**8)
            assert not errors, errors
            ids.append(services.create_task(caller, cleaned).task_id)
        while EngineTask.objects.filter(pk__in=ids, status__in=["started", "processing"]).exists():
            time.sleep(0.5)
        wall = time.monotonic() - start
        after_s3, after_tx = s3_counts(metrics_port, bucket), transactions()
        failed = list(EngineTask.objects.filter(pk__in=ids, status="failed").values_list("message", flat=True)[:3])
    finally:
        for proc in procs:
            proc.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    s3 = {k: (after_s3.get(k, 0) - before_s3.get(k, 0)) / jobs for k in sorted(after_s3)}
    figures = {"engines": n_engines, "jobs": jobs, "wall_s": wall, "failed": len(failed), "storage": "s3",
               "s3_requests_per_job": sum(s3.values())}
    figures.update({f"s3_{k.lower()}_per_job": v for k, v in s3.items()})
    figures["queries_per_job"] = (after_tx - before_tx) / jobs if after_tx is not None else "n/a"
    if failed:
        print("failed, e.g.:", failed, file=sys.stderr)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--engines", default="1,2,4")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    env = c.setup("scale", ENGINE_LICENSES=LICENSE, ENGINE_FAULTS="", LOG_LEVEL="WARNING")
    metrics_port = spare_ports(1)[0]
    server = SeaweedFS.start(Path(tempfile.mkdtemp(prefix="weed-", dir=c.VAR)), metrics_port=metrics_port)
    try:
        one = None
        for n in (int(x) for x in args.engines.split(",")):
            figures = run(n, args.jobs, args.seconds, server, metrics_port, env)
            one = figures["wall_s"] if n == 1 else one
            figures["speedup_vs_1"] = one / figures["wall_s"] if one else "n/a"
            figures.update(c.machine())
            print(c.keyvals(figures), flush=True)
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


if __name__ == "__main__":
    main()
