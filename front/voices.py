"""Voice samples on the create page: a short spoken sentence per voice, so people hear
a voice before they spend a job on it.

The samples come from the local engine over HTTP (`ENGINE_BASE_URL/voices/<voice>.wav`,
through the SSRF-safe fetcher), exactly as the portal reaches any upstream: the portal
never imports the engine's TTS. Each is fetched once into media storage (under a lock,
so concurrent first requests fetch once) and served from there with Range support.
"""

import fcntl
import logging
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from lib.fetch import FetchError, fetch_to_file
from lib.ranged import ranged_file_response
from navtalk.contract import VOICES

log = logging.getLogger(__name__)
SAMPLE_MAX_BYTES = 5 * 2**20


class SampleError(Exception):
    pass


def sample_path(name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "voices" / f"{name}.wav"


def sample_source(name: str) -> str:
    return f"{settings.ENGINE_BASE_URL}/voices/{name}.wav"


def _fetch(name: str, out: Path) -> None:
    """Download one sample into `out` (the fetcher writes a .part, then renames)."""
    try:
        fetched = fetch_to_file(sample_source(name), out, max_bytes=SAMPLE_MAX_BYTES, timeout=150,
                                allowed=(*settings.FETCH_ALLOWED_PRIVATE, sample_source(name)))
    except FetchError as exc:
        log.error("voice sample %s could not be fetched from the engine: %s", name, exc.message)
        raise SampleError(name) from exc
    if fetched.content_type != "audio/wav":
        out.unlink(missing_ok=True)
        log.error("voice sample %s: the engine answered %s, not audio/wav", name, fetched.content_type)
        raise SampleError(name)


def ensure_sample(name: str) -> Path:
    """The sample's path, fetching it first if it is not here yet."""
    if name not in VOICES:
        raise ValueError(f"unknown voice {name!r}")
    path = sample_path(name)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not path.exists():  # someone else fetched it while we waited
            _fetch(name, path)
    return path


@require_GET
@login_required
def voice_sample(request, name):
    if name not in VOICES:
        raise Http404("No such voice.")
    try:
        path = ensure_sample(name)
    except SampleError:
        return HttpResponse("This voice sample could not be made right now. Try again in a minute.",
                            status=503, content_type="text/plain")
    response = ranged_file_response(request, path, content_type="audio/wav", cache_control="private, max-age=86400")
    response["X-Content-Type-Options"] = "nosniff"
    return response


def fetch_all() -> list[str]:
    """Fetch every missing sample; returns the names fetched now."""
    made = [name for name in VOICES if not sample_path(name).exists()]
    for name in made:
        ensure_sample(name)
    return made
