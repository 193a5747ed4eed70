"""Thin Celery tasks: take ids, call services. No task sleeps while the upstream works.

Services publish these tasks by importing them (`jobs.dispatch`), so each task imports
its service when it runs: at import time the arrow goes one way only, services → tasks.
"""

from celery import shared_task


@shared_task(ignore_result=True)
def submit_job(job_id: int) -> None:
    from .submit import job_submit

    job_submit(job_id)


@shared_task(ignore_result=True)
def poll_due_jobs() -> int:
    from .polling import poll_due_jobs as poll

    return poll()


@shared_task(ignore_result=True)
def reconcile_jobs() -> dict:
    from .reconcile import reconcile

    return reconcile()


@shared_task(ignore_result=True)
def archive_job(job_id: int) -> None:
    from .archive import archive_job as archive

    archive(job_id)


@shared_task(ignore_result=True)
def notify_job_finished(job_id: int) -> None:
    from .notifications import job_finished

    job_finished(job_id)


@shared_task(ignore_result=True)
def notify_approval_decided(job_id: int) -> None:
    from .notifications import approval_decided

    approval_decided(job_id)


@shared_task(ignore_result=True)
def notify_approval_needed(job_ids: list[int]) -> None:
    from .notifications import approval_needed

    approval_needed(job_ids)


@shared_task(ignore_result=True)
def sync_characters() -> int:
    from .characters import sync

    return sync()
