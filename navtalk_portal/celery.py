import logging
import os

from celery import Celery
from celery.signals import after_setup_logger

from navtalk_portal import brokers  # noqa: F401  registers the fixed broker transports

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navtalk_portal.settings")

app = Celery("navtalk_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _ensure_broker_folders(sender, **kwargs):
    """The filesystem broker needs its folders to exist before anyone publishes."""
    from pathlib import Path

    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        folder = (sender.conf.broker_transport_options or {}).get(key)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)


class RoutineLinesAtDebug(logging.Filter):
    """Celery logs every task received and succeeded, and beat every task it sends, at
    INFO: with a poller running twice a second that is hundreds of lines a minute, and
    `make run`'s first login scrolls away. These lines pass only when the logger is at
    DEBUG or with CELERY_TASK_LOGS=True; the poller itself logs a summary a minute
    (jobs.polling)."""

    ROUTINE = ("Task %(name)s[%(id)s] received", "Task %(name)s[%(id)s] succeeded",
               "Scheduler: Sending due task")

    def filter(self, record):
        if record.levelno != logging.INFO or not isinstance(record.msg, str):
            return True
        if record.msg.startswith(self.ROUTINE):
            from django.conf import settings

            return getattr(settings, "CELERY_TASK_LOGS", False) or logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


@after_setup_logger.connect
def _quiet_routine_lines(logger, **kwargs):
    for name in ("celery.worker.strategy", "celery.app.trace", "celery.beat"):
        target = logging.getLogger(name)
        if not any(isinstance(f, RoutineLinesAtDebug) for f in target.filters):
            target.addFilter(RoutineLinesAtDebug())
