"""The usage dashboard (team owners and admins): videos and seconds of video per day, per
person and per key, from the ledger; success rate, median and p90 generation time, the
commonest failures; a CSV of the ledger for the period. A fixed number of queries,
however many jobs: grouped queries, and the time figures from the latest SAMPLE
finished videos of the period."""

import csv
import datetime as dt
import statistics

from django.contrib.auth import get_user_model
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts import permissions as perms
from accounts.permissions import permission_required
from jobs import selectors
from jobs.hints import headline_for
from jobs.models import Job, UsageEntry
from keys.models import LicenseKey

from . import svg

PERIODS = (7, 30, 90)
SAMPLE = 1000  # finished videos the time figures are computed from
CSV_MAX = 200_000


def _period(request) -> int:
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        return 30
    return days if days in PERIODS else 30


def _series(rows, field: str, value: str, names: dict) -> dict[str, dict]:
    series: dict[str, dict] = {}
    for row in rows:
        day = row["day"]
        name = names.get(row[field], f"#{row[field]}")
        series.setdefault(name, {})
        series[name][day] = series[name].get(day, 0) + round(row[value] or 0, 1)
    return svg.top_series(series)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _times(team, since) -> dict:
    # The difference is computed by the database: one number per row, not two datetimes.
    took = ExpressionWrapper(F("finished_at") - F("submitted_at"), output_field=DurationField())
    done = (Job.objects.filter(team=team, status=Job.Status.DONE, created_at__gte=since,
                               submitted_at__isnull=False, finished_at__isnull=False)
            .order_by("-created_at", "-id").annotate(took=took).values_list("took", flat=True)[:SAMPLE])
    seconds = sorted(value.total_seconds() for value in done)
    return {"median": _percentile(seconds, 50), "p90": _percentile(seconds, 90), "sampled": len(seconds)}


def _csv(team, since):
    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())
    yield writer.writerow(["time", "kind", "person_id", "key_id", "job_id", "attempt", "method", "audio_bytes",
                           "text_chars", "video_seconds"])
    rows = (UsageEntry.objects.filter(team=team, created_at__gte=since).order_by("created_at", "id")
            .values_list("created_at", "kind", "user_id", "key_id", "job_id", "attempt", "method", "audio_bytes",
                         "text_chars", "video_seconds")[:CSV_MAX])
    for row in rows.iterator(chunk_size=2000):
        yield writer.writerow([row[0].isoformat(), *("" if v is None else v for v in row[1:])])


@permission_required(perms.VIEW_USAGE)
def usage_page(request):
    team, days = request.team, _period(request)
    today = timezone.localdate()
    since = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time.min))
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(_csv(team, since), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="usage-{team.pk}-{today}-{days}d.csv"'
        return response
    by_user = list(selectors.usage_by_day(team, since=since.date(), by="user"))
    by_key = list(selectors.usage_by_day(team, since=since.date(), by="key"))
    people = dict(get_user_model().objects.filter(pk__in={r["user_id"] for r in by_user})
                  .values_list("pk", "username"))
    keys = dict(LicenseKey.objects.filter(pk__in={r["key_id"] for r in by_key}).values_list("pk", "name"))
    outcomes = Job.objects.filter(team=team, created_at__gte=since).aggregate(
        total=Count("id"), done=Count("id", filter=Q(status=Job.Status.DONE)),
        failed=Count("id", filter=Q(status=Job.Status.FAILED)))
    finished = outcomes["done"] + outcomes["failed"]
    failures = [(headline_for(row["error_category"]), row["n"]) for row in
                Job.objects.filter(team=team, created_at__gte=since, status=Job.Status.FAILED)
                .values("error_category").annotate(n=Count("id")).order_by("-n", "error_category")[:5]]
    day_list = [today - dt.timedelta(days=days - 1 - i) for i in range(days)]
    charts = []
    for title, rows, field, value, unit, names in (
            ("Videos sent per day, by person", by_user, "user_id", "generates", "", people),
            ("Seconds of video per day, by person", by_user, "user_id", "video_seconds", " s", people),
            ("Videos sent per day, by license key", by_key, "key_id", "generates", "", keys),
            ("Seconds of video per day, by license key", by_key, "key_id", "video_seconds", " s", keys)):
        series = _series(rows, field, value, names)
        charts.append({"title": title, "svg": svg.stacked_bars(day_list, series, title=title, unit=unit),
                       "legend": [(svg.swatch(i), name, round(sum(v.values()), 1))
                                  for i, (name, v) in enumerate(series.items())]})
    context = {"days": days, "periods": PERIODS, "charts": charts, "outcomes": outcomes,
               "success_rate": round(100 * outcomes["done"] / finished) if finished else None,
               "times": _times(team, since), "failures": failures, "sample": SAMPLE}
    return render(request, "team/usage.html", context)
