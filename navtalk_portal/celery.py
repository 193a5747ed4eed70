import os

from celery import Celery

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


# --- the embedded (filesystem) broker, made safe for concurrent use -----------------------

from kombu.exceptions import ChannelError  # noqa: E402
from kombu.transport import TRANSPORT_ALIASES, filesystem  # noqa: E402


class _AtomicFilesystemChannel(filesystem.Channel):
    """kombu's filesystem channel writes a message file in place, so a consumer can take
    it while it is still empty, fail to decode it and stop the whole worker
    ("Unrecoverable error: JSONDecodeError", seen under load in tests/faults). Write the
    message under a name no consumer picks up, then rename it into place (atomic)."""

    def _put(self, queue, payload, **kwargs):
        import uuid
        from time import monotonic

        from kombu.utils.encoding import str_to_bytes
        from kombu.utils.json import dumps

        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        tmp = os.path.join(self.data_folder_out, f".part-{uuid.uuid4().hex}")  # not "<x>.<queue>.msg"
        try:
            with open(tmp, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(tmp, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc


class FilesystemTransport(filesystem.Transport):
    Channel = _AtomicFilesystemChannel


TRANSPORT_ALIASES["filesystem"] = "navtalk_portal.celery:FilesystemTransport"
