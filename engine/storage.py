"""The engine's own storage, read from its settings at call time (never the portal's
STORAGES, and no portal import): ENGINE_MEDIA_ROOT on the filesystem, or S3 when
ENGINE_S3_BUCKET is set, under ENGINE_S3_PREFIX. Inputs, results, the instant clip and
voice samples live there, so an engine worker on another machine reads what the web node
wrote; ENGINE_MEDIA_ROOT/tmp is this node's scratch space either way."""

from pathlib import Path

from django.conf import settings


def media_root() -> Path:
    """This node's local folder (scratch space, and the files when storage is the filesystem)."""
    return Path(settings.ENGINE_MEDIA_ROOT)


def storage():
    """The engine's storage (see the module's docstring); S3 clients are kept per setting."""
    if not settings.ENGINE_S3_BUCKET:
        from django.core.files.storage import FileSystemStorage

        return FileSystemStorage(location=media_root())
    from lib.storage import s3_options

    key = (settings.ENGINE_S3_ENDPOINT_URL, settings.ENGINE_S3_BUCKET, settings.ENGINE_S3_ACCESS_KEY_ID,
           settings.ENGINE_S3_SECRET_ACCESS_KEY, settings.ENGINE_S3_REGION, settings.ENGINE_S3_PREFIX,
           settings.ENGINE_MEDIA_URL_MAX_AGE)
    cached = _S3.get(key)
    if cached is None:
        from storages.backends.s3 import S3Storage

        cached = _S3[key] = S3Storage(**s3_options(
            endpoint_url=key[0], bucket=key[1], access_key=key[2], secret_key=key[3], region=key[4],
            location=key[5], url_max_age=key[6]))
    return cached


_S3: dict = {}


def scratch() -> Path:
    """This node's scratch folder (downloads and renders before they are stored)."""
    folder = media_root() / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
