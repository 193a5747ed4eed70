"""The character catalog comes from the upstream: the local engine lists its built-in
characters at `ENGINE_BASE_URL/characters`, and this copies them into `Character`
(new ones are added, known ones refreshed; admins may hide or reorder them after).
Read over HTTP through the SSRF-safe fetcher: the portal never imports the engine."""

import json
import logging
import tempfile
from pathlib import Path

from django.conf import settings

from lib.fetch import FetchError, fetch_to_file

from .models import Character

log = logging.getLogger(__name__)
CATALOG_MAX_BYTES = 256 * 1024


def sync(base_url: str | None = None) -> int:
    """Upsert the engine's characters; returns how many it listed (0 when unreachable)."""
    url = f"{(base_url or settings.ENGINE_BASE_URL).rstrip('/')}/characters"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            fetched = fetch_to_file(url, Path(tmp) / "catalog.json", max_bytes=CATALOG_MAX_BYTES, timeout=10,
                                    allowed=(*settings.FETCH_ALLOWED_PRIVATE, url))  # this exact URL too
            catalog = json.loads(fetched.path.read_text())
        except (FetchError, ValueError) as exc:
            log.warning("character catalog not synced from %s: %s", url, getattr(exc, "message", exc))
            return 0
    items = catalog.get("characters") if isinstance(catalog, dict) else None
    if not isinstance(items, list):
        log.warning("character catalog from %s has no list of characters", url)
        return 0
    count = 0
    for order, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        Character.objects.update_or_create(name=item["name"][:100], defaults={
            "display_name": str(item.get("display_name") or item["name"])[:100],
            "description": str(item.get("description") or "")[:200],
            "preview": str(item.get("preview_url") or "")[:300],
            "sort_order": order,
        })
        count += 1
    return count
