"""Batches at 1,000 rows: server time to upload, preview and submit a spreadsheet, and the
batch page's time once it is sent.

    .venv/bin/python bench/batch.py [--rows 1000] [--requests 30]

Runs in this process through Django's test Client (the whole request/response cycle:
middleware, queries, templates; submit publishes each job to the configured broker), on
the benchmark's own database (bench/_common). Job creation limits are the defaults: the
batch is one action against the per-minute limits and its rows wait their turn behind
the in-flight limits (jobs.waiting), so submit publishes the first ten. Prints
`rows=… upload_s=… preview_s=… submit_server_s=… page_p50_ms=… page_p95_ms=…` with calib_ms and the load.
"""

import argparse
import csv
import io
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as c  # noqa: E402

DEFAULT_LIMITS = dict(zip(c.JOB_LIMITS, ("10", "30", "10", "30"), strict=True))  # settings.py's


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    env = c.setup("batch", BATCH_MAX_ROWS=str(max(1000, args.rows)), **DEFAULT_LIMITS)
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from accounts.models import Membership, Team
    from automation.models import Batch
    from jobs.models import Character
    from keys.models import LicenseKey
    from keys.selection import assign_key

    tag = uuid.uuid4().hex[:8]
    user = get_user_model().objects.create_user(f"batch-{tag}", password="bench-pw-123!")
    team = Team.objects.create(name=f"batch {tag}")
    Membership.objects.create(team=team, user=user, role="owner")
    key = LicenseKey(name=f"batch key {tag}", generate_url="http://127.0.0.1:9/generate",
                     query_status_url="http://127.0.0.1:9/query_status")
    key.secret = "sk-bench-batch"
    key.save()
    assign_key(team, key)
    Character.objects.get_or_create(name="navtalk.Leo", defaults={"display_name": "Leo"})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "character", "voice"])
    writer.writerows([f"Customer {i}", "navtalk.Leo", "nova"] for i in range(args.rows))
    client = Client()
    client.force_login(user)
    print(f"# backend={c.backend_label(env)} rows={args.rows}", flush=True)

    started = time.perf_counter()
    answer = client.post("/batches/", {"file": SimpleUploadedFile("bench.csv", out.getvalue().encode())})
    upload_s = time.perf_counter() - started
    assert answer.status_code == 302, answer.status_code
    batch = Batch.objects.get(team=team)
    started = time.perf_counter()
    answer = client.post(f"/batches/{batch.pk}/", {"map_character": "character", "map_voice": "voice",
                                                    "map_title": "name", "template": "Welcome, {name}!"})
    preview_s = time.perf_counter() - started
    assert b"Every row is valid" in answer.content, answer.content.decode()[-3000:]
    started = time.perf_counter()
    answer = client.post(f"/batches/{batch.pk}/submit/")
    submit_s = time.perf_counter() - started
    assert answer.status_code == 302 and batch.rows.filter(job=None).count() == 0
    times = []
    for _ in range(args.requests + 3):
        started = time.perf_counter()
        assert client.get(f"/batches/{batch.pk}/").status_code == 200
        times.append((time.perf_counter() - started) * 1000)
    times = times[3:]  # warm-up
    figures = {"rows": args.rows, "upload_s": upload_s, "preview_s": preview_s, "submit_server_s": submit_s,
               "page_p50_ms": c.percentile(times, 50), "page_p95_ms": c.percentile(times, 95)}
    print(c.keyvals(figures) + " " + c.keyvals(c.machine()), flush=True)


if __name__ == "__main__":
    main()
