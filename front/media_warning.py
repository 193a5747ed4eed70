"""The create page's warning when the upstream could not fetch this portal's uploads."""

from django.conf import settings

from lib.addresses import is_private_host


def public_base_warning(upstream_url: str) -> str:
    if is_private_host(settings.PUBLIC_BASE_URL) and not is_private_host(upstream_url):
        return (
            f"Uploads are offered to the video service at {settings.PUBLIC_BASE_URL}, a private address "
            "it cannot reach. Use media URLs or a built-in character, or ask an admin to set PUBLIC_BASE_URL "
            "to this portal's public address."
        )
    return ""
