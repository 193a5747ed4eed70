from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Video jobs"

    def ready(self):
        from celery.signals import worker_ready

        # checks registers the broker-timing check; waiting hears a job's end to send
        # the jobs waiting their turn
        from . import checks, waiting  # noqa: F401

        worker_ready.connect(_sync_characters_at_start, weak=False)


def _sync_characters_at_start(sender=None, **kwargs):
    """A starting worker refreshes the character catalog from the upstream (the engine's
    web process may still be starting: the task retries through the broker if so)."""
    from . import tasks
    from .dispatch import publish

    publish(tasks.sync_characters, countdown=5)
