"""Thin Celery tasks: take ids, call services. No task sleeps while the upstream works."""

from celery import shared_task

from . import archive, notifications, services


@shared_task(ignore_result=True)
def submit_job(job_id: int) -> None:
    services.job_submit(job_id)


@shared_task(ignore_result=True)
def poll_due_jobs() -> int:
    return services.poll_due_jobs()


@shared_task(ignore_result=True)
def reconcile_jobs() -> dict:
    return services.reconcile()


@shared_task(ignore_result=True)
def archive_job(job_id: int) -> None:
    archive.archive_job(job_id)


@shared_task(ignore_result=True)
def notify_job_finished(job_id: int) -> None:
    notifications.job_finished(job_id)
