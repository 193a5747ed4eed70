"""Burst throughput of the job pipeline: N jobs through one worker process.

    .venv/bin/python bench/polling.py [--jobs 1000] [--latency 10] [--runs 3] [--baseline sleep]

Starts the upstream (the local engine in its "instant" fault mode, served by gunicorn on
a spare loopback port: it answers in milliseconds and reports done `latency` seconds
after /generate), one Celery worker (concurrency 2) and beat, on the configured database
and broker (DATABASE_URL / REDIS_URL, else SQLite + the filesystem broker). Each run
creates N jobs through `services.job_create` and waits until all are terminal.

Figures per run, then a last line of medians over the runs:
- ratio = (last done - last submitted) / latency: 1.0 is the physical limit of a burst
  (the last job accepted upstream cannot finish before `latency` after it).
  "submitted" is `submitted_at` (the upstream accepted the job), "done" `finished_at`.
- status_calls_per_job: /query_status calls the engine counted, per job.
- p95_visible_after_done_s: finished_at (our row) - the engine's done time for that task
  (its created + latency), the 95th percentile over the run's jobs.
- --baseline sleep: the same jobs through `bench.naive` (a task per job sleeping in a
  loop), reported with the speed-up of the real design. A baseline run that would outlast
  --baseline-timeout stops there and its wall time is extrapolated from the jobs it
  finished (flagged `baseline_extrapolated=1`).

Before the first run, --warmup jobs (default 10) give the schedule the recent history it
predicts from, as a team's earlier jobs would; --warmup 0 measures a cold start.
"""

import argparse
import json
import sys
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as c  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--baseline", choices=["sleep"], default=None)
    parser.add_argument("--baseline-timeout", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=None, help="per run; default latency*6 + jobs*0.2 + 60")
    dist = parser.add_argument_group("--latency-dist (bench/latency_dist.py): varying latencies and a shift")
    dist.add_argument("--latency-dist", action="store_true")
    dist.add_argument("--arrival", type=float, default=0.5, help="seconds between two jobs")
    dist.add_argument("--median", type=float, default=20.0)
    dist.add_argument("--sigma", type=float, default=0.45)
    dist.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.latency_dist and "--jobs" not in sys.argv:
        args.jobs = 120
    return args


class Bench:
    def __init__(self, args, env, port):
        from django.contrib.auth import get_user_model

        from accounts.models import Membership, Team
        from engine.models import EngineLicense
        from keys.models import LicenseKey
        from keys.selection import assign_key

        self.args, self.env = args, env
        self.base = f"http://127.0.0.1:{port}"
        tag = uuid.uuid4().hex[:8]
        _, self.license = EngineLicense.issue(f"bench-{tag}", faults=f"mode=instant,latency={args.latency:g}")
        self.key = LicenseKey(name=f"bench {tag}", generate_url=self.base + "/engine/generate",
                              query_status_url=self.base + "/engine/query_status")
        self.key.secret = self.license
        self.key.save()
        self.team = Team.objects.create(name=f"bench {tag}")
        assign_key(self.team, self.key)
        self.user = get_user_model().objects.create_user(username=f"bench-{tag}", password=uuid.uuid4().hex)
        Membership.objects.create(team=self.team, user=self.user)

    def stats(self) -> dict:
        url = f"{self.base}/engine/stats?license={self.license}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)

    def create(self, n: int) -> tuple[int, int, float]:
        from jobs import services

        started = time.monotonic()
        ids = [services.job_create(team=self.team, user=self.user, license_key=self.key, title=f"bench {i}",
                                   visual_type="character", character_name="navtalk.Leo", audio_type="content",
                                   content="Hello from the benchmark.", voice="nova").pk for i in range(n)]
        return ids[0], ids[-1], time.monotonic() - started

    def wait(self, first: int, last: int, n: int, timeout: float) -> bool:
        from jobs.models import Job

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            terminal = Job.objects.filter(pk__gte=first, pk__lte=last, status__in=Job.TERMINAL_STATUSES).count()
            if terminal >= n:
                return True
            time.sleep(0.25)
        return False

    def run(self, n: int, timeout: float) -> dict:
        """One burst of n jobs; returns its figures."""
        from django.utils import timezone

        before = self.stats()
        t0 = timezone.now()
        first, last, create_s = self.create(n)
        finished = self.wait(first, last, n, timeout)
        figures = self.figures(first, last, n, t0, before)
        figures.update(create_s=create_s, finished_in_time=int(finished))
        return figures

    def figures(self, first, last, n, t0, before) -> dict:
        from datetime import timedelta

        from engine.models import EngineTask
        from jobs.models import Job

        rows = list(Job.objects.filter(pk__gte=first, pk__lte=last).values(
            "status", "created_at", "submitted_at", "finished_at", "upstream_task_id", "poll_count"))
        after = self.stats()
        latency = self.args.latency
        task_ids = [r["upstream_task_id"] for r in rows if r["upstream_task_id"]]
        upstream_done = {str(t["task_id"]): t["created"] + timedelta(seconds=t["latency"])
                         for t in EngineTask.objects.filter(pk__in=task_ids).values("task_id", "created", "latency")}
        done = [r for r in rows if r["status"] == Job.Status.DONE]
        submitted = [r["submitted_at"] for r in rows if r["submitted_at"]]
        finished = [r["finished_at"] for r in rows if r["finished_at"]]
        lags = [(r["finished_at"] - upstream_done[r["upstream_task_id"]]).total_seconds()
                for r in done if r["upstream_task_id"] in upstream_done]
        last_done = max((r["finished_at"] for r in done), default=None)
        last_submitted = max(submitted, default=None)
        ratio = ((last_done - last_submitted).total_seconds() / latency) if last_done and last_submitted else None
        return {
            "jobs": n,
            "done": len(done),
            "latency_s": latency,
            "wall_s": (max(finished) - t0).total_seconds() if len(finished) == n else float("nan"),
            "ratio": ratio if ratio is not None else float("nan"),
            "status_calls_per_job": (after["status_calls"] - before["status_calls"]) / n,
            "generate_calls": after["generate_calls"] - before["generate_calls"],
            "p95_visible_after_done_s": c.percentile(lags, 95),
            "p50_visible_after_done_s": c.percentile(lags, 50),
            "max_visible_after_done_s": max(lags, default=float("nan")),
            "submit_spread_s": (last_submitted - t0).total_seconds() if last_submitted else float("nan"),
        }

    def cancel_leftovers(self) -> int:
        """Cancel this bench team's unfinished jobs (a stopped baseline run leaves some)."""
        from jobs import services
        from jobs.models import Job

        count = 0
        for job in Job.objects.filter(team=self.team, status__in=Job.IN_FLIGHT_STATUSES):
            count += services.job_cancel(job, self.user)
        return count


def expected_now(key_id) -> str:
    from jobs import schedule

    schedule._expected_cache.clear()
    return schedule.describe(schedule.expected_duration(key_id))


def use_naive_dispatch() -> None:
    """Jobs created from now on are published to the naive task instead of submit_job."""
    from celery import current_app
    from django.db import transaction

    from jobs import services

    def dispatch(job_id, countdown=0):
        transaction.on_commit(lambda: current_app.send_task("bench.naive.submit_and_wait", args=[job_id]))

    services.dispatch_submit = dispatch


def cancel_all_in_flight() -> None:
    """Jobs an earlier, interrupted benchmark left in flight would be polled too."""
    from django.contrib.auth import get_user_model

    from jobs import services
    from jobs.models import Job

    user = get_user_model()(username="bench")
    for job in Job.objects.filter(status__in=Job.IN_FLIGHT_STATUSES, team__name__startswith="bench "):
        services.job_cancel(job, user)


def main():
    args = parse_args()
    if args.latency_dist:
        from bench import latency_dist

        latency_dist.main(args)
        return
    port = c.free_port()
    base = f"http://127.0.0.1:{port}"
    env = c.setup("polling", PUBLIC_BASE_URL=base, ENGINE_BASE_URL=base + "/engine")
    cancel_all_in_flight()
    c.purge_queues("celery")
    timeout = args.timeout or args.latency * 6 + args.jobs * 0.2 + 60
    print(f"# backend={c.backend_label(env)} upstream=engine(mode=instant,latency={args.latency:g},gunicorn "
          f"{base}) worker_concurrency={args.concurrency} jobs={args.jobs} runs={args.runs}", flush=True)
    procs = []
    results, baseline = [], []
    try:
        procs.append(c.start_gunicorn(env, port, workers=2, threads=8, name="engine"))
        bench = Bench(args, env, port)
        procs.append(c.start_worker(env, concurrency=args.concurrency))
        procs.append(c.start_beat(env))
        if args.warmup:
            first, last, _ = bench.create(args.warmup)
            bench.wait(first, last, args.warmup, args.latency * 4 + 60)
            print(f"# warmup: {args.warmup} jobs; schedule: {expected_now(bench.key.pk)}", flush=True)
        for i in range(1, args.runs + 1):
            figures = bench.run(args.jobs, timeout)
            results.append(figures)
            print(f"run={i} mode=batch " + c.keyvals(figures) +
                  f" {c.keyvals(c.machine())} # schedule: {expected_now(bench.key.pk)}", flush=True)
        for proc in reversed(procs[1:]):
            proc.stop()
        del procs[1:]
        if args.baseline == "sleep":
            c.purge_queues("celery")
            use_naive_dispatch()
            procs.append(c.start_worker(env, concurrency=args.concurrency, include="bench.naive"))
            for i in range(1, args.runs + 1):
                figures = bench.run(args.jobs, args.baseline_timeout)
                if not figures["finished_in_time"]:
                    # Stopped early: extrapolate the wall time from the jobs finished so far.
                    figures["wall_s"] = args.baseline_timeout * args.jobs / max(figures["done"], 1)
                    figures["extrapolated"] = 1
                    procs[-1].stop()
                    c.purge_queues("celery")
                    bench.cancel_leftovers()
                    procs[-1] = c.start_worker(env, concurrency=args.concurrency, include="bench.naive")
                baseline.append(figures)
                print(f"run={i} mode=naive-sleep " + c.keyvals(figures) + f" load1={c.load1():.2f}", flush=True)
    finally:
        for proc in reversed(procs):
            proc.stop()
        c.purge_queues("celery")

    keys = ["jobs", "done", "latency_s", "wall_s", "ratio", "status_calls_per_job", "generate_calls",
            "p95_visible_after_done_s"]
    last = {k: c.median([r[k] for r in results]) for k in keys}
    last["jobs"], last["latency_s"] = args.jobs, args.latency
    last["done"] = int(last["done"])
    last["generate_calls"] = int(last["generate_calls"])
    interval = float(env.get("POLL_INTERVAL_SECONDS", 0.5))
    last["p95_visible_over_poll_interval"] = last["p95_visible_after_done_s"] / interval
    last.update(runs=len(results), backend=c.backend_label(env), upstream="engine-instant", **c.machine())
    if baseline:
        base_wall = c.median([r["wall_s"] for r in baseline])
        last.update(baseline_wall_s=base_wall, speedup=base_wall / last["wall_s"],
                    baseline_extrapolated=int(any(r.get("extrapolated") for r in baseline)))
    print(c.keyvals(last), flush=True)


if __name__ == "__main__":
    main()
