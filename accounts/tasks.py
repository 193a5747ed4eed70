"""The accounts app's periodic work (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task


@shared_task(ignore_result=True)
def prune_audit() -> int:
    from .audit import prune

    return prune()
