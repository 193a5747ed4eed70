"""Publishing Celery work: the one helper every caller uses, with one retry policy.

Work is published after the current transaction commits (a worker must find the rows
it is told about), by importing the task object (never by a name string). If the broker
is down the publish fails quietly: the database still says what is owed (QUEUED jobs,
pending archives) and the reconciler publishes it again later. Nothing is lost.
"""

import logging

from django.db import transaction

log = logging.getLogger(__name__)

RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}


def publish(task, *args, countdown: float | None = None) -> bool:
    """Publish `task(*args)` now. False (logged) if the broker could not take it."""
    try:
        task.apply_async(args=args, countdown=countdown or None, retry=True, retry_policy=RETRY_POLICY)
    except Exception:
        log.warning("could not publish %s%r; the reconciler will publish it again", task.name, args, exc_info=True)
        return False
    return True


def publish_on_commit(task, *args, countdown: float | None = None) -> None:
    """Publish `task(*args)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: publish(task, *args, countdown=countdown))
