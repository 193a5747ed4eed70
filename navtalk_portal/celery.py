import os

from celery import Celery

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
