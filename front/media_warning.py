"""The create page's warning when the upstream could not fetch this portal's uploads."""

from django.conf import settings
from django.core.files.storage import default_storage

from lib.addresses import is_private_host
from lib.storage import is_s3


def public_base_warning(upstream_url: str) -> str:
    if is_s3(default_storage):  # uploads are offered as presigned links to the bucket
        endpoint = settings.S3_ENDPOINT_URL
        if endpoint and is_private_host(endpoint) and not is_private_host(upstream_url):
            return (
                f"Uploads are offered to the video service from the file storage at {endpoint}, a private "
                "address it cannot reach. Use media URLs or a built-in character, or ask an admin to make "
                "S3_ENDPOINT_URL an address the video service can reach."
            )
        return ""
    if is_private_host(settings.PUBLIC_BASE_URL) and not is_private_host(upstream_url):
        return (
            f"Uploads are offered to the video service at {settings.PUBLIC_BASE_URL}, a private address "
            "it cannot reach. Use media URLs or a built-in character, or ask an admin to set PUBLIC_BASE_URL "
            "to this portal's public address."
        )
    return ""
