"""Voice samples on the create page: a short spoken sentence per voice, so people hear
a voice before they spend a job on it.

The samples come from the local engine over HTTP (`ENGINE_BASE_URL/voices/<voice>.wav`,
through the SSRF-safe fetcher), exactly as the portal reaches any upstream: the portal
never imports the engine's TTS. Each is fetched once into media storage (under a lease
in the database, so concurrent first requests on any machine fetch once) and served
from there with Range support.
"""

import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from cluster.leases import LeaseBusy, held
from lib import storage as stored
from lib.fetch import FetchError, fetch_to_file
from lib.ranged import ranged_storage_response
from navtalk.contract import VOICES

log = logging.getLogger(__name__)
SAMPLE_MAX_BYTES = 5 * 2**20
LOCK_SECONDS = 200  # longer than one fetch (timeout 150 s); a dead holder's lock lapses then


class SampleError(Exception):
    pass


def sample_name(name: str) -> str:
    """The sample's name in media storage (the filesystem or S3)."""
    return f"voices/{name}.wav"


def sample_source(name: str) -> str:
    return f"{settings.ENGINE_BASE_URL}/voices/{name}.wav"


def _fetch(name: str) -> None:
    """Download one sample to a temporary file of this node, then store it."""
    scratch = Path(settings.VAR_DIR) / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="voice-") as tmp:
        out = Path(tmp) / f"{name}.wav"
        try:
            fetched = fetch_to_file(sample_source(name), out, max_bytes=SAMPLE_MAX_BYTES, timeout=150,
                                    allowed=(*settings.FETCH_ALLOWED_PRIVATE, sample_source(name)))
        except FetchError as exc:
            log.error("voice sample %s could not be fetched from the engine: %s", name, exc.message)
            raise SampleError(name) from exc
        if fetched.content_type != "audio/wav":
            log.error("voice sample %s: the engine answered %s, not audio/wav", name, fetched.content_type)
            raise SampleError(name)
        stored.upload(default_storage, sample_name(name), out)


def ensure_sample(name: str) -> str:
    """The sample's storage name, fetching it first if it is not stored yet. Concurrent
    first requests, on any machine, fetch it once: they wait on a lease in the database
    (cluster.leases), not on a lock of this machine."""
    if name not in VOICES:
        raise ValueError(f"unknown voice {name!r}")
    stored_name = sample_name(name)
    if default_storage.exists(stored_name):
        return stored_name
    try:
        with held(f"voice-sample:{name}", seconds=LOCK_SECONDS, wait=LOCK_SECONDS):
            if not default_storage.exists(stored_name):  # someone else fetched it while we waited
                _fetch(name)
    except LeaseBusy:
        raise SampleError(name) from None
    return stored_name


@require_GET
@login_required
def voice_sample(request, name):
    if name not in VOICES:
        raise Http404("No such voice.")
    try:
        stored_name = ensure_sample(name)
        response = ranged_storage_response(request, default_storage, stored_name, content_type="audio/wav",
                                           cache_control="private, max-age=86400")
    except (SampleError, FileNotFoundError):
        return HttpResponse("This voice sample could not be made right now. Try again in a minute.",
                            status=503, content_type="text/plain")
    response["X-Content-Type-Options"] = "nosniff"
    return response


def fetch_all() -> list[str]:
    """Fetch every missing sample; returns the names fetched now."""
    made = [name for name in VOICES if not default_storage.exists(sample_name(name))]
    for name in made:
        ensure_sample(name)
    return made
