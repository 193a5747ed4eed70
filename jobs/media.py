"""Uploaded media handed to the upstream under signed, expiring URLs.

The upstream fetches uploaded images and videos over plain HTTP without logging in, so
each is served at `PUBLIC_BASE_URL/m/<token>/` where the token is a signed, timestamped
reference to the file's (already unguessable) storage name. A token older than
MEDIA_URL_MAX_AGE, or tampered with, is a 404.
"""

import mimetypes

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.urls import reverse

SALT = "jobs.media.public"


def signed_url(storage_name: str) -> str:
    token = signing.dumps(storage_name, salt=SALT, compress=True)
    return settings.PUBLIC_BASE_URL + reverse("jobs:public_media", args=[token])


def public_media(request, token: str):
    try:
        name = signing.loads(token, salt=SALT, max_age=settings.MEDIA_URL_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        raise Http404("This link has expired or is not valid.") from None
    if not isinstance(name, str) or not name.startswith("uploads/") or not default_storage.exists(name):
        raise Http404("No such file.")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
