"""Thin Celery tasks: ids in, automation.webhooks does the work."""

from celery import shared_task


@shared_task(ignore_result=True)
def deliver_webhook(delivery_id: int) -> None:
    from .webhooks import deliver

    deliver(delivery_id)


@shared_task(ignore_result=True)
def deliver_due_webhooks() -> int:
    from .webhooks import deliver_due

    return deliver_due()
