"""Media through Django's storage API only, streamed: never `.path()`, never a whole file
in memory, on the filesystem (FileSystemStorage) and on S3-compatible object storage
(django-storages' S3Storage) alike.

Django's `Storage` has no ranged read, and django-storages' `S3File` downloads the whole
object (into memory by default) on the first read; so the three operations that must
stay flat in memory for a 500 MB video — stat, read a byte range, download to a local
file — use the S3 object directly when the storage is S3 (`storage.bucket`), and plain
`open()` + `seek()` through the storage otherwise. Saving a local file: `storage.save()`
on the filesystem; on S3 a multipart upload *by file name*, which reads each part from
disk as it is sent (`storage.save()` reads up to 10 parts ahead into memory: +110 MB for
a 500 MB result, measured by bench/storage_memory.py).

`s3_options(...)` builds the S3Storage options the settings use for the portal's media
(`STORAGES["default"]`) and the local engine's own storage (engine.storage.storage()).
"""

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.core.files import File

CHUNK = 256 * 1024


def s3_options(*, endpoint_url: str, bucket: str, access_key: str, secret_key: str, region: str,
               location: str = "", url_max_age: int = 3600) -> dict:
    """OPTIONS for storages.backends.s3.S3Storage: a private bucket (no ACL, no public
    URLs: every link is presigned and expires), path-style addressing (MinIO, SeaweedFS,
    and AWS alike), SigV4."""
    return {
        "endpoint_url": endpoint_url or None,
        "bucket_name": bucket,
        "access_key": access_key,
        "secret_key": secret_key,
        "region_name": region or None,
        "location": location.strip("/"),
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": url_max_age,
        "file_overwrite": True,  # names are unique (job codes, task ids) or deliberately the same
        "signature_version": "s3v4",
        "addressing_style": "path",
        # Multipart uploads of 8 MiB parts, 4 at a time.
        "transfer_config": _transfer_config(),
    }


def _transfer_config():
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=8 * 2**20, multipart_chunksize=8 * 2**20, max_concurrency=4)


def is_s3(storage) -> bool:
    return hasattr(storage, "bucket") and hasattr(storage, "_normalize_name")


def _s3_object(storage, name: str):
    from storages.utils import clean_name

    return storage.bucket.Object(storage._normalize_name(clean_name(name)))


@dataclass(frozen=True)
class Stat:
    size: int
    modified: datetime
    etag: str


def stat(storage, name: str) -> Stat:
    """Size, modification time and a strong validator of a stored file, in one request
    on S3. Raises FileNotFoundError when there is no such file."""
    if is_s3(storage):
        from botocore.exceptions import ClientError

        obj = _s3_object(storage, name)
        try:
            obj.load()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(name) from None
            raise
        tag = (obj.e_tag or "").strip('"')
        return Stat(size=obj.content_length, modified=obj.last_modified, etag=f'"{tag}-{obj.content_length:x}"')
    if not storage.exists(name):
        raise FileNotFoundError(name)
    size = storage.size(name)
    modified = storage.get_modified_time(name)
    return Stat(size=size, modified=modified, etag=f'"{int(modified.timestamp() * 1e6):x}-{size:x}"')


def iter_range(storage, name: str, start: int = 0, length: int | None = None, chunk: int = CHUNK):
    """Yield the bytes [start, start + length) of a stored file (to the end when length
    is None), a chunk at a time."""
    if is_s3(storage):
        if length == 0:
            return
        args = {}
        if start or length is not None:
            args["Range"] = f"bytes={start}-" + ("" if length is None else str(start + length - 1))
        body = _s3_object(storage, name).get(**args)["Body"]
        try:
            yield from body.iter_chunks(chunk)
        finally:
            body.close()
        return
    with storage.open(name, "rb") as handle:
        handle.seek(start)
        left = length
        while left is None or left > 0:
            data = handle.read(chunk if left is None else min(chunk, left))
            if not data:
                break
            if left is not None:
                left -= len(data)
            yield data


def download(storage, name: str, dest: Path) -> Path:
    """Copy a stored file to a local path (streamed). FileNotFoundError if missing."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if is_s3(storage):
        from botocore.exceptions import ClientError

        try:
            _s3_object(storage, name).download_file(str(dest))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(name) from None
            raise
        return dest
    if not storage.exists(name):
        raise FileNotFoundError(name)
    with storage.open(name, "rb") as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, CHUNK)
    return dest


def upload(storage, name: str, source: Path, *, replace: bool = True) -> str:
    """Save a local file under `name` (streamed) and return the stored name. With
    `replace`, an existing file of that name is replaced (the filesystem backend would
    otherwise pick another name)."""
    if is_s3(storage):  # by file name: boto3 reads each part from disk as it sends it
        import mimetypes

        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        _s3_object(storage, name).upload_file(str(source), ExtraArgs={"ContentType": content_type},
                                              Config=storage.transfer_config)
        return name
    if replace and storage.exists(name):
        storage.delete(name)
    with open(source, "rb") as handle:
        return storage.save(name, File(handle, name=Path(name).name))
