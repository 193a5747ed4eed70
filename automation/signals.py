"""Every status change writes a JobEvent (jobs.services.transition): a job's end, seen
here, queues its webhooks once its transaction commits."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from jobs.models import JobEvent


@receiver(post_save, sender=JobEvent, dispatch_uid="automation-webhooks")
def job_event_saved(sender, instance, created, **kwargs):
    if created and instance.to_status in ("done", "failed", "canceled"):
        from .webhooks import job_ended

        transaction.on_commit(lambda: job_ended(instance))
