"""When to ask the upstream about a job: the polling schedule and what it learns.

Polls are sparse while a job is far from its expected finish, dense around it, and back
off after it. The expected finish is learned per license key from recent jobs.
"""

import random
import statistics
import time

from django.conf import settings

from .models import Job

S = Job.Status


_expected_cache: dict = {}
# How long a key's prediction is reused. Short, so a burst's first finished jobs teach
# the schedule of the jobs still in flight (one small indexed query per key and process).
EXPECTED_TTL_SECONDS = 5.0


class Expected(float):
    """A predicted submit→done duration in seconds: the median of a key's recent jobs,
    carrying their spread too (`early` = 10th, `late` = 90th percentile). `known` is
    False when there is too little history and the value is JOB_EXPECTED_SECONDS."""

    def __new__(cls, typical: float, early: float | None = None, late: float | None = None, known: bool = True):
        value = super().__new__(cls, typical)
        value.early = typical if early is None else early
        value.late = typical if late is None else late
        value.known = known
        return value


def _as_expected(expected) -> Expected:
    return expected if isinstance(expected, Expected) else Expected(float(expected), known=False)


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def expected_duration(license_key_id: int | None) -> Expected:
    """What this key's recent jobs predict (cached for EXPECTED_TTL_SECONDS).

    Durations are submitted_at→finished_at as we saw them, i.e. the upstream's time plus
    our polling lag; the schedule starts polling densely just before `early`, so the lag
    does not feed back into ever later polls."""
    cached = _expected_cache.get(license_key_id)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    # Index job_key_done: WHERE license_key_id = … AND status = 'done' ORDER BY finished_at DESC.
    rows = (Job.objects.filter(license_key_id=license_key_id, status=S.DONE, submitted_at__isnull=False)
            .order_by("-finished_at").values_list("submitted_at", "finished_at", "poll_count")[:50])
    durations = sorted((done - sent).total_seconds() for sent, done, _ in rows if done)
    if len(durations) >= 3:
        early = _quantile(durations, 0.1)
        if sum(polls <= 1 for *_, polls in rows) >= 0.9 * len(rows):
            # Nearly every job was done at its first poll, so the durations may be our own
            # lateness (a stalled poller, a slower past) rather than the upstream's: probe
            # 10% earlier, so the estimate comes down geometrically instead of staying up.
            early *= 0.9
        value = Expected(statistics.median(durations), early, _quantile(durations, 0.9))
    else:
        value = Expected(settings.JOB_EXPECTED_SECONDS, known=False)
    _expected_cache[license_key_id] = (time.monotonic() + EXPECTED_TTL_SECONDS, value)
    return value


def dense_step(expected) -> float:
    """The gap between polls around the expected finish: one poller tick, or wider for
    long jobs whose durations spread (at most 5% of the expected duration)."""
    expected = _as_expected(expected)
    spread = max(0.0, expected.late - expected.early)
    return max(settings.POLL_INTERVAL_SECONDS, min(0.05 * expected, spread / 3))


def _dense_window(expected) -> tuple[float, float, float]:
    """(start, end, step) of dense polling, in seconds after submission."""
    expected = _as_expected(expected)
    step = dense_step(expected)
    if expected.known:
        # Half a step before the earliest usual finish: some jobs are seen early (and
        # answer processing), which keeps `early` from creeping up with our own lag.
        return max(step, expected.early - step / 2), expected.late + step, step
    return 0.9 * expected - step, 1.3 * expected, step


def first_poll_delay(expected) -> float:
    """With history, the first poll lands in the dense window (often one call is enough);
    without, halfway to the guess."""
    expected = _as_expected(expected)
    if expected.known:
        return _dense_window(expected)[0]
    return max(1.0, 0.5 * expected)


def next_poll_delay(elapsed: float, expected) -> float:
    """Sparse while far from the expected finish, dense around it, backing off after."""
    start, end, step = _dense_window(expected)
    if elapsed < start - step:
        return max(step, start - elapsed)
    if elapsed < end:
        return step * random.uniform(0.9, 1.1)
    overdue = elapsed - end
    delay = min(settings.POLL_MAX_BACKOFF_SECONDS, max(step, 0.25 * overdue + step))
    return delay * random.uniform(0.9, 1.1)
