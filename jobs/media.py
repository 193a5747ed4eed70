"""Uploaded media handed to the upstream under signed, expiring URLs.

The upstream fetches uploaded images and videos over plain HTTP without logging in, so
each is served at `PUBLIC_BASE_URL/m/<token>/` where the token is a signed, timestamped
reference to the file's (already unguessable) storage name. A token older than
MEDIA_URL_MAX_AGE, or tampered with, is a 404. With media on S3 the upstream gets a
presigned GET of the object instead (same expiry), so the portal need not be public.
"""

import mimetypes
import posixpath

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.http import Http404
from django.urls import reverse

from lib.ranged import ranged_storage_response
from lib.storage import is_s3

SALT = "jobs.media.public"


def signed_url(storage_name: str) -> str:
    """The link the upstream fetches an upload from, valid for MEDIA_URL_MAX_AGE: on S3 a
    presigned GET of the object itself (no public portal needed), else this portal's
    `/m/<token>/` under PUBLIC_BASE_URL."""
    if is_s3(default_storage):
        return default_storage.url(storage_name, expire=settings.MEDIA_URL_MAX_AGE)
    token = signing.dumps(storage_name, salt=SALT, compress=True)
    return settings.PUBLIC_BASE_URL + reverse("jobs:public_media", args=[token])


def safe_upload_name(name) -> str | None:
    """`name` if it is a plain path inside uploads/, else None. Normalised before any
    check, so `uploads/../results/…` (even with a valid signature) is refused."""
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return None
    normal = posixpath.normpath(name)
    if normal != name or ".." in normal.split("/") or not normal.startswith("uploads/"):
        return None
    return normal


def public_media(request, token: str):
    try:
        name = signing.loads(token, salt=SALT, max_age=settings.MEDIA_URL_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        raise Http404("This link has expired or is not valid.") from None
    name = safe_upload_name(name)
    if name is None or not default_storage.exists(name):
        raise Http404("No such file.")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    try:  # streamed from storage (lib.storage), whatever the backend
        response = ranged_storage_response(request, default_storage, name, content_type=content_type,
                                           cache_control="private, max-age=300")
    except FileNotFoundError:
        raise Http404("No such file.") from None
    response["X-Robots-Tag"] = "noindex"
    return response
