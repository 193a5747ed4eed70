"""When to ask the upstream about a job: the polling schedule and what it learns.

What a finished job tells us is an interval, not a duration. Its true submit→done time
lies in (lo, hi]: hi is when a poll found it done, lo when the last poll before that found
it still running (`Job.last_pending_s`), or 0 when the very first poll already found it
done. Such a first-poll-done job is censored: "done by hi" is an upper bound, and reading
it as the duration made the old schedule learn its own lateness (a 2 s render shown as
"took 17 s", learning back down only 10 % per ~20 jobs).

The estimate (`Estimate`) is a recency-weighted mixture of those intervals, each job's
weight spread uniformly over its interval: a densely polled job is a narrow interval, a
censored one spreads over everything before its first poll, which puts mass at the low
end, so the schedule keeps probing early until early polls find jobs still running. The
newest jobs weigh most (half-life HALF_LIFE_JOBS), so a change in the upstream's speed
is learned within a few jobs; every third job is also probed early (PROBE_SECONDS), and a
job found done surprisingly early makes the poller look at the key's other jobs in
flight at once (`surprisingly_early`), so a faster upstream shows within seconds.

The schedule: at elapsed t, the next poll is at the first x where the chance that the
job finished since t reaches HAZARD (sparse where nothing is likely to finish), but at
least DENSE_STEP after t (dense where much is likely); beyond the latest finish seen it
backs off. Without history (cold start) it polls early and geometrically: 1 s, then gaps
growing with the wait up to the dense step (NavTalk suggests every 2–3 s; a poll lands on
the poller's next tick, so 1.5 s gaps let a person wait up to 2 s plus the poll's own
work: measured p95 2.16 s over the first 20 jobs; 1.25 s keeps it under 2 s).
`POLL_FIXED_SECONDS` > 0 replaces all of this by a fixed interval (an operator's escape
hatch, and the benchmark's baseline).
"""

import random
import time
from dataclasses import dataclass

from django.conf import settings

from .models import Job

S = Job.Status

HISTORY_JOBS = 50  # recent finished jobs per key that the estimate reads
HALF_LIFE_JOBS = 6.0  # a job's weight halves with every this many newer jobs
MIN_HISTORY = 8  # fewer finished jobs than this: cold start
HAZARD = 0.015  # sparse jumps skip at most this share of the jobs still running
DENSE_STEP = 1.25
# A prior: one pseudo-job of this weight spread over (0, latest], so that a short history
# (a few narrow intervals) does not make the schedule skip early finishes; next to the
# ~9 total weight of a full history it adds about 3 % of early probing.
PRIOR_WEIGHT = 0.3
COLD_FIRST_POLL = 1.0
# Every PROBE_EVERY-th job is first polled PROBE_SECONDS after submission whatever the
# estimate says: an upstream that got faster is seen within seconds, not learned slowly.
PROBE_EVERY = 3
PROBE_SECONDS = 2.0
# How long a key's estimate is reused. Short, so a burst's first finished jobs teach
# the schedule of the jobs still in flight (one small indexed query per key and process).
EXPECTED_TTL_SECONDS = 2.0
_expected_cache: dict = {}


def dense_step() -> float:
    """The gap between polls where finishing is likely: short enough that a job is seen
    within ~2 s of finishing (one poller tick later at most), never below a tick."""
    return max(settings.POLL_INTERVAL_SECONDS, DENSE_STEP)


@dataclass(frozen=True)
class Estimate:
    """A key's recent durations as weighted intervals (lo, hi, weight), newest first."""

    intervals: tuple[tuple[float, float, float], ...] = ()

    @classmethod
    def from_observations(cls, observations) -> "Estimate":
        """`observations`: (lo, hi) per finished job, newest first."""
        intervals = [(max(0.0, min(lo, hi)), max(0.0, hi), 0.5 ** (i / HALF_LIFE_JOBS))
                     for i, (lo, hi) in enumerate(observations)]
        if intervals:
            intervals.append((0.0, max(hi for _, hi, _ in intervals), PRIOR_WEIGHT))
        return cls(tuple(intervals))

    @property
    def known(self) -> bool:
        return len(self.intervals) - 1 >= MIN_HISTORY  # not counting the prior

    @property
    def latest(self) -> float:
        return max((hi for _, hi, _ in self.intervals), default=0.0)

    def cdf(self, x: float) -> float:
        """The share of (weighted) jobs finished by x seconds."""
        total = done = 0.0
        for lo, hi, weight in self.intervals:
            total += weight
            if x >= hi:
                done += weight
            elif x > lo:
                done += weight * (x - lo) / (hi - lo)
        return done / total if total else 0.0

    def median(self) -> float:
        return self.quantile(0.5)

    def quantile(self, q: float) -> float:
        lo, hi = 0.0, self.latest
        for _ in range(40):  # bisection on the (monotone) cdf
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if self.cdf(mid) < q else (lo, mid)
        return hi


def expected_duration(license_key_id: int | None) -> Estimate:
    """What this key's recent jobs tell (cached for EXPECTED_TTL_SECONDS)."""
    cached = _expected_cache.get(license_key_id)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    # Index job_key_done: WHERE license_key_id = … AND status = 'done' ORDER BY finished_at DESC.
    rows = (Job.objects.filter(license_key_id=license_key_id, status=S.DONE, submitted_at__isnull=False,
                               finished_at__isnull=False)
            .order_by("-finished_at").values_list("submitted_at", "finished_at", "last_pending_s")[:HISTORY_JOBS])
    value = Estimate.from_observations(
        (pending or 0.0, (done - sent).total_seconds()) for sent, done, pending in rows)
    _expected_cache[license_key_id] = (time.monotonic() + EXPECTED_TTL_SECONDS, value)
    return value


def _cold_delay(elapsed: float) -> float:
    if elapsed < COLD_FIRST_POLL:
        return COLD_FIRST_POLL - elapsed
    return max(dense_step() * 2 / 3, min(dense_step(), 0.5 * elapsed))


def next_poll_delay(elapsed: float, estimate: Estimate) -> float:
    """Seconds from now (`elapsed` seconds after submission) to the next poll."""
    if settings.POLL_FIXED_SECONDS > 0:
        return settings.POLL_FIXED_SECONDS
    if not estimate.known:
        return _cold_delay(elapsed)
    step = dense_step()
    latest = estimate.latest
    if elapsed >= latest:  # later than any recent job: back off, up to the cap
        overdue = elapsed - latest
        return min(settings.POLL_MAX_BACKOFF_SECONDS, max(step, 0.25 * overdue + step)) * random.uniform(0.9, 1.1)
    done_now = estimate.cdf(elapsed)
    running = 1.0 - done_now
    goal = done_now + HAZARD * running
    # The first x after `elapsed` by which HAZARD of the jobs still running are done.
    lo, hi = elapsed, latest
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if estimate.cdf(mid) < goal else (lo, mid)
    return max(step, hi - elapsed)


def first_poll_delay(estimate: Estimate, job_id: int | None = None) -> float:
    delay = next_poll_delay(0.0, estimate)
    if job_id is not None and job_id % PROBE_EVERY == 0 and settings.POLL_FIXED_SECONDS <= 0:
        delay = min(delay, PROBE_SECONDS)  # the occasional early probe
    return delay


def surprisingly_early(duration: float, estimate: Estimate) -> bool:
    """A job done sooner than nearly all recent ones: the upstream may have got faster,
    so the key's jobs in flight should be looked at again now (jobs.polling does)."""
    return estimate.known and duration < estimate.quantile(0.1)


def forget(license_key_id) -> None:
    """Drop this process's cached estimate of a key (new evidence arrived)."""
    _expected_cache.pop(license_key_id, None)


def describe(estimate: Estimate) -> str:
    if not estimate.known:
        return "cold start"
    return (f"median {estimate.median():.2f}s, p10 {estimate.quantile(0.1):.2f}s, "
            f"p90 {estimate.quantile(0.9):.2f}s over {len(estimate.intervals)} jobs")

