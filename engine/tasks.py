"""Thin Celery tasks of the local engine (routed to queue "engine" by settings).

They take ids, and the services re-read the rows; a duplicate delivery is harmless
because `run_render` claims the task by compare-and-swap first.
"""

from celery import shared_task

from . import services


@shared_task(name="engine.tasks.render_task", acks_late=True, ignore_result=True)
def render_task(task_id: str) -> None:
    services.run_render(task_id)
