"""The polling schedule learns durations from what polls can prove: a job found done at
its first poll is censored (true duration ≤ that moment), never a duration. Checked with
a deterministic simulation of the poller against the pure schedule functions."""

import random
import statistics

import pytest

from jobs import schedule
from jobs.schedule import Estimate


def simulate(durations, *, history=(), tick=0.5):
    """Run jobs one after another through the schedule; returns (lateness, calls) per job.
    `history` seeds the key's recent finished jobs as (lo, hi) intervals, newest first."""
    observed = list(history)
    results = []
    for duration in durations:
        estimate = Estimate.from_observations(observed[: schedule.HISTORY_JOBS])
        t, calls, last_pending = 0.0, 0, None
        t = tick * -(-schedule.first_poll_delay(estimate) // tick)  # the poller's next tick
        while True:
            calls += 1
            if t >= duration:
                results.append((t - duration, calls))
                observed.insert(0, (last_pending or 0.0, t))
                break
            last_pending = t
            t += schedule.next_poll_delay(t, estimate)
            t = tick * -(-t // tick)
            assert calls < 200
    return results


def p95(values):
    return sorted(values)[int(0.95 * (len(values) - 1))]


@pytest.fixture(autouse=True)
def adaptive(settings):
    settings.POLL_FIXED_SECONDS = 0
    settings.POLL_INTERVAL_SECONDS = 0.5
    random.seed(4)


def test_a_job_found_done_at_its_first_poll_counts_as_at_most_that_long():
    censored = Estimate.from_observations([(0.0, 17.0)] * 5)
    assert censored.cdf(2.0) == pytest.approx(2 / 17)  # mass at 2 s: early polls stay possible
    measured = Estimate.from_observations([(16.5, 17.0)] * 5)
    assert measured.cdf(10.0) < 0.07  # only the small prior says anything about 10 s
    assert measured.cdf(16.5) < 0.15 < 0.9 < measured.cdf(17.0)


def test_a_cold_start_polls_early_and_geometrically():
    estimate = Estimate()
    times, t = [], 0.0
    while t < 20:
        t += schedule.next_poll_delay(t, estimate)
        times.append(round(t, 2))
    assert times[0] == 1.0
    gaps = [round(b - a, 6) for a, b in zip(times, times[1:], strict=False)]
    assert gaps == sorted(gaps) and max(gaps) <= schedule.COLD_MAX_STEP


def test_it_learns_that_the_upstream_got_faster_within_a_few_jobs():
    """The newcomer's report: renders of 2–4 s, shown as done 13–17 s late, because the
    schedule had learned 17 s from jobs that were all done at their first poll."""
    stale = [(0.0, 17.0)] * 50  # fifty jobs seen done at their first poll, at 17 s
    results = simulate([2.0, 2.5, 3.0, 4.0, 1.8, 2.2, 3.5, 2.0] * 3, history=stale)
    late = [lateness for lateness, _ in results]
    assert max(late[3:]) <= 2.0, late  # from the fourth job on, seen within 2 s
    assert statistics.median(late) <= 1.0


def test_it_meets_the_targets_on_lognormal_latencies_with_a_shift():
    rng = random.Random(7)
    before = [min(30.0, max(2.0, rng.lognormvariate(2.95, 0.35))) for _ in range(120)]  # median ~19 s
    after = [2.0] * 120
    results = simulate(before + after)
    late_before = [late for late, _ in results[:120]]
    late_after = [late for late, _ in results[120:]]
    assert p95(late_before) <= 2.0 and p95(late_after) <= 2.0, (p95(late_before), p95(late_after))
    assert p95(late_before[:20]) <= 2.0  # the cold start too


def test_long_steady_jobs_need_few_status_calls():
    results = simulate([30.0] * 60)
    calls = [c for _, c in results[10:]]
    assert statistics.mean(calls) <= 6 and max(late for late, _ in results[10:]) <= 2.0


def test_a_fixed_interval_replaces_the_schedule_when_set(settings):
    settings.POLL_FIXED_SECONDS = 2.5
    known = Estimate.from_observations([(29.0, 30.0)] * 10)
    assert schedule.first_poll_delay(known) == 2.5 and schedule.next_poll_delay(12.0, Estimate()) == 2.5
