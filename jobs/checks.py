"""System checks: the Celery timings must fit inside the broker's visibility timeout.

A broker with a visibility timeout (Redis) redelivers a message that a worker has held
unacked for that long: an ETA (countdown) message waiting in a worker, or a task still
running with acks_late. Every countdown, retry delay, lease and time limit we use must
therefore stay below it, or work is delivered twice (harmless for correctness thanks to
the compare-and-swap transitions, but wasteful and confusing) or stalls. The check runs
with `manage.py check` (and `check --deploy`); `visibility_problems()` is what tests call.
"""

from django.conf import settings
from django.core import checks

# jobs.archive backs off min(2 ** tries * 5, 600) s with ±20 % jitter between tries.
ARCHIVE_BACKOFF_CAP_SECONDS = 600
JITTER = 1.2


def visibility_timeout() -> float:
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    return float(options.get("visibility_timeout") or settings.BROKER_VISIBILITY_TIMEOUT)


def timings() -> dict[str, float]:
    """Every delay the pipeline hands to the broker or holds a message for, in seconds."""
    from . import polling, submit

    call = settings.NAVTALK_CONNECT_TIMEOUT + settings.NAVTALK_READ_TIMEOUT
    waves = -(-settings.POLL_BATCH_SIZE // max(1, settings.POLL_CONCURRENCY))
    # A round starts no query after polling.poll_round_budget(); the last one started
    # may then take one call's timeouts.
    poll_round = min(waves * call, polling.poll_round_budget() + call)
    return {
        "submit backoff (submit.backoff cap + jitter)": submit.BACKOFF_CAP_SECONDS * JITTER,
        "submit countdown (submit.max_countdown)": submit.max_countdown(),
        "archive retry delay (jobs.archive cap + jitter)": ARCHIVE_BACKOFF_CAP_SECONDS * JITTER,
        "POLL_LEASE_SECONDS": settings.POLL_LEASE_SECONDS,
        "slowest poll round (budget + one call, or all waves × timeouts)": poll_round,
        "RECONCILE_INTERVAL_SECONDS": settings.RECONCILE_INTERVAL_SECONDS,
        "CELERY_TASK_TIME_LIMIT": settings.CELERY_TASK_TIME_LIMIT,
        "CELERY_TASK_SOFT_TIME_LIMIT": settings.CELERY_TASK_SOFT_TIME_LIMIT,
    }


def visibility_problems() -> list[str]:
    """Plain-words descriptions of each timing that breaks the rules (empty when fine)."""
    problems = []
    limit = visibility_timeout()
    values = timings()
    for name, value in values.items():
        if value >= limit:
            problems.append(f"{name} is {value:g} s, not below the broker's visibility timeout ({limit:g} s)")
    lease = settings.POLL_LEASE_SECONDS
    poll_round = values["slowest poll round (budget + one call, or all waves × timeouts)"]
    if lease <= poll_round:
        problems.append(f"POLL_LEASE_SECONDS ({lease:g} s) does not outlast the slowest poll round "
                        f"({poll_round:g} s): a second poller could query the same job meanwhile")
    if settings.CELERY_TASK_SOFT_TIME_LIMIT >= settings.CELERY_TASK_TIME_LIMIT:
        problems.append("CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT")
    return problems


@checks.register(checks.Tags.compatibility, deploy=False)
def check_broker_timings(app_configs=None, **kwargs):
    return [
        checks.Error(problem, id="jobs.E001",
                     hint="Lower the delay or time limit, or raise BROKER_VISIBILITY_TIMEOUT (or POLL_LEASE_SECONDS).")
        for problem in visibility_problems()
    ]
