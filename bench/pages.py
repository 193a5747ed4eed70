"""Page times at 100k jobs: history (page 1 and page 2,000), gallery, job detail, status fragment,
the usage dashboard (30 and 90 days; its ledger is seeded from the jobs, a row per job
sent and one per finished video).

    .venv/bin/python bench/pages.py [--jobs 100000] [--requests 100] [--runs 3] [--reseed]

Seeds the jobs over 3 teams with bulk_create (once; reused while the counts match),
then times each page through Django's test Client in this process: server time, the
whole request/response cycle (middleware, queries, template) without a network.
History page 2,000 is reached the way the pager does it, with the keyset cursor of the
row that ends page 1,999 (`?after=…`). Each run times --requests requests per page after
a warm-up; the last line gives the medians over runs of each page's p50 and p95 (ms).
"""

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as c  # noqa: E402

TEAMS = (("pages A", 0.6), ("pages B", 0.25), ("pages C", 0.15))  # team A holds page 2,000
PER_PAGE = 25


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reseed", action="store_true")
    return parser.parse_args()


def seed(total: int, reseed: bool):
    """The 3 teams with their jobs (and two events per job); returns team A's person."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Membership, Team
    from jobs.models import Job, JobEvent
    from keys.models import LicenseKey
    from keys.selection import assign_key

    User = get_user_model()
    counts = {name: int(total * share) for name, share in TEAMS}
    counts[TEAMS[0][0]] += total - sum(counts.values())
    existing = {t.name: t.jobs.count() for t in Team.objects.filter(name__in=counts)}
    if not reseed and existing == counts:
        print(f"# reusing seeded data: {counts}", flush=True)
        return _with_ledger(User.objects.get(username="pages-a"))
    started = time.monotonic()
    Team.objects.filter(name__in=counts).delete()
    User.objects.filter(username__startswith="pages-").delete()
    key = LicenseKey.objects.filter(name="pages key").first()
    if key is None:
        key = LicenseKey(name="pages key", generate_url="http://127.0.0.1:9/generate",
                         query_status_url="http://127.0.0.1:9/query_status")
        key.secret = "sk-pages-benchmark-0000000000"
        key.save()
    rng = random.Random(6)
    now = timezone.now()
    statuses = [Job.Status.DONE] * 80 + [Job.Status.FAILED] * 12 + [Job.Status.CANCELED] * 4 + \
               [Job.Status.PROCESSING] * 2 + [Job.Status.QUEUED] * 2
    for index, (name, count) in enumerate(counts.items()):
        team = Team.objects.create(name=name)
        assign_key(team, key)
        people = [User.objects.create_user(username=f"pages-{'abc'[index]}{'' if i == 0 else i}",
                                           password="pages-benchmark-pw") for i in range(4)]
        for person in people:
            Membership.objects.create(team=team, user=person)
        batch = 5000
        for offset in range(0, count, batch):
            jobs = []
            for i in range(offset, min(count, offset + batch)):
                created = now - timedelta(seconds=(count - i) * 365 * 86400 / count)
                status = rng.choice(statuses)
                done = status == Job.Status.DONE
                jobs.append(Job(
                    team=team, created_by=rng.choice(people), license_key=key, title=f"Campaign video {i}",
                    visual_type="character", character_name="navtalk.Leo", audio_type="content",
                    content="Welcome to our spring campaign.", voice="nova", status=status,
                    upstream_task_id=f"task-{name[-1]}-{i}", upstream_status=status if done else "",
                    video_url=f"https://cdn.example.com/{name[-1]}/{i}.mp4" if done else "",
                    error_category="generation_failed" if status == Job.Status.FAILED else "",
                    error_message="Injected failure" if status == Job.Status.FAILED else "",
                    created_at=created, queued_at=created, submitted_at=created + timedelta(seconds=2),
                    finished_at=created + timedelta(seconds=14) if status in Job.TERMINAL_STATUSES else None,
                    next_poll_at=created + timedelta(seconds=20) if status in Job.IN_FLIGHT_STATUSES else None,
                ))
            with transaction.atomic():
                made = Job.objects.bulk_create(jobs)
                events = []
                for job in made:
                    events.append(JobEvent(job=job, to_status="queued", message="Created", created_at=job.created_at))
                    events.append(JobEvent(job=job, from_status="queued", to_status=job.status,
                                           message="Seeded", created_at=job.created_at + timedelta(seconds=14)))
                JobEvent.objects.bulk_create(events)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE jobs_job; ANALYZE jobs_jobevent;")
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"# seeded {total} jobs ({counts}) in {time.monotonic() - started:.1f}s", flush=True)
    return _with_ledger(User.objects.get(username="pages-a"))


def _with_ledger(person):
    """The usage ledger of the seeded teams (once), and `person` made the owner of team A
    (the dashboard is for owners and admins)."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Membership, Team
    from jobs.models import Job, UsageDay, UsageEntry

    Membership.objects.filter(user=person).update(role=Membership.Role.OWNER)
    teams = list(Team.objects.filter(name__in=[name for name, _ in TEAMS]))
    if UsageDay.objects.filter(team_id__in=[t.pk for t in teams]).exists():
        return person
    have_ledger = UsageEntry.objects.filter(team_id__in=[t.pk for t in teams]).exists()  # seeded before UsageDay
    started = time.monotonic()
    days: dict = {}
    for team in teams:
        rows = Job.objects.filter(team=team).values_list("pk", "created_by_id", "license_key_id", "created_at",
                                                         "status", "finished_at")
        batch = []
        for pk, user_id, key_id, created, status, finished in rows.iterator(chunk_size=5000):
            common = dict(team_id=team.pk, user_id=user_id, key_id=key_id, job_id=pk, method=9)
            batch.append(UsageEntry(kind="generate", created_at=created, text_chars=31, **common))
            day = days.setdefault((timezone.localdate(created), team.pk, user_id, key_id or 0), [0, 0.0])
            day[0] += 1
            if status == Job.Status.DONE:
                batch.append(UsageEntry(kind="result", created_at=finished, video_seconds=6.5, **common))
                day[1] += 6.5
            if have_ledger:
                batch = []
            elif len(batch) >= 10000:
                with transaction.atomic():
                    UsageEntry.objects.bulk_create(batch)
                batch = []
        with transaction.atomic():
            UsageEntry.objects.bulk_create(batch)
    UsageDay.objects.bulk_create([UsageDay(day=d, team_id=t, user_id=u, key_id=k, generates=g, video_seconds=s)
                                  for (d, t, u, k), (g, s) in days.items()], batch_size=5000)
    print(f"# seeded the usage ledger in {time.monotonic() - started:.1f}s", flush=True)
    return person


def targets(user) -> dict:
    """The URL of each timed page."""
    from django.urls import reverse

    from jobs import selectors
    from jobs.models import Job

    team = user.teams.get(name=TEAMS[0][0])
    ordered = Job.objects.filter(team=team).order_by("-created_at", "-id")
    last_of_page_1999 = ordered[1999 * PER_PAGE - 1]
    done = ordered.filter(status=Job.Status.DONE)[500]
    in_flight = ordered.filter(status=Job.Status.PROCESSING)[50]
    return {
        "history_page1": reverse("jobs:history"),
        "history_page2000": reverse("jobs:history") + "?after=" + selectors.encode_cursor(last_of_page_1999),
        "gallery": reverse("jobs:gallery"),
        "detail": reverse("jobs:detail", args=[done.code]),
        "status": reverse("jobs:status", args=[in_flight.code]),
        "usage_30d": reverse("jobs:usage"),
        "usage_90d": reverse("jobs:usage") + "?days=90",
    }


def time_page(client, url: str, n: int) -> list[float]:
    for _ in range(5):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return times


def check_page_2000(client, url: str) -> None:
    """Page 2,000 shows rows 49,976-50,000 of the history (not page 1 again)."""
    from jobs.models import Job

    html = client.get(url).content.decode()
    team_jobs = Job.objects.filter(team__name=TEAMS[0][0]).order_by("-created_at", "-id")
    expected = team_jobs[1999 * PER_PAGE].title
    assert f">{expected}<" in html, f"page 2000 does not start with {expected!r}"


def main():
    args = parse_args()
    env = c.setup("pages")
    from django.test import Client  # no setup_test_environment: templates render as in production
    user = seed(args.jobs, args.reseed)
    urls = targets(user)
    client = Client()
    client.force_login(user)
    check_page_2000(client, urls["history_page2000"])
    print(f"# backend={c.backend_label(env)} jobs={args.jobs} requests={args.requests} runs={args.runs}", flush=True)
    runs = []
    for run in range(1, args.runs + 1):
        figures = {}
        for name, url in urls.items():
            times = time_page(client, url, args.requests)
            figures[f"{name}_p50_ms"] = c.percentile(times, 50)
            figures[f"{name}_p95_ms"] = c.percentile(times, 95)
        figures["history_page2000_over_page1"] = figures["history_page2000_p50_ms"] / figures["history_page1_p50_ms"]
        runs.append(figures)
        print(f"run={run} " + c.keyvals(figures) + " " + c.keyvals(c.machine()), flush=True)
    last = {k: c.median([r[k] for r in runs]) for k in runs[0]}
    last.update(jobs=args.jobs, runs=len(runs), backend=c.backend_label(env), **c.machine())
    print(c.keyvals(last), flush=True)


if __name__ == "__main__":
    main()
