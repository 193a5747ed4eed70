"""What the engine offers besides /generate: its character catalog and a spoken sample
of each voice. The portal reads both over HTTP (never by importing the engine):

    GET /engine/characters              {"characters": [{name, display_name, description, preview_url}]}
    GET /engine/characters/<name>.jpg   a character's picture
    GET /engine/voices/<voice>.wav      a short sample of the voice (rendered once, then served)

No license is needed: the catalog is public in NavTalk's documentation too, and a
sample is one fixed sentence per voice, rendered at most once per engine media root.
"""

import fcntl
import logging
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from lib.ranged import ranged_file_response, ranged_storage_response
from lib.storage import upload
from navtalk.contract import VOICES

from . import services
from .characters import CHARACTERS

log = logging.getLogger(__name__)
SAMPLE_TEXT = "Hello, I'm {name}. This is how I sound when I read your text aloud."
_SCRIPT = ("import sys; from pathlib import Path; from engine.tts import synthesize; "
           "synthesize(sys.argv[1], sys.argv[2], Path(sys.argv[3]))")


@require_GET
def characters(request):
    items = [{"name": name, "display_name": info["display_name"], "description": info["description"],
              "preview_url": settings.ENGINE_BASE_URL + reverse("engine:character_image", args=[name])
              .removeprefix(_mount_prefix())}
             for name, info in CHARACTERS.items()]
    response = JsonResponse({"characters": items})
    response["Cache-Control"] = "public, max-age=300"
    return response


def _mount_prefix() -> str:
    """reverse() includes where the engine's URLs are mounted (/engine); ENGINE_BASE_URL too."""
    return reverse("engine:characters").removesuffix("/characters")


@require_GET
def character_image(request, name):
    info = CHARACTERS.get(name)
    if info is None:
        raise Http404("No such character.")
    return ranged_file_response(request, info["image"], content_type="image/jpeg",
                                cache_control="public, max-age=86400")


def sample_name(voice: str) -> str:
    return f"voices/{voice}.wav"


def ensure_sample(voice: str) -> str:
    """The sample's name in the engine's storage, rendering it first (in a child process:
    the web process stays free of the TTS's native library) into this node's scratch
    folder, then storing it. A file lock makes concurrent requests on one node render
    once; two nodes may both render a missing sample once, which is harmless (the same
    sentence, stored under the same name)."""
    name = sample_name(voice)
    store = services.storage()
    if store.exists(name):
        return name
    scratch = Path(settings.ENGINE_MEDIA_ROOT) / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / f"voice-{voice}.wav"
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not store.exists(name):
            subprocess.run([sys.executable, "-c", _SCRIPT, SAMPLE_TEXT.format(name=voice.capitalize()), voice,
                            str(path)], cwd=settings.BASE_DIR, check=True, timeout=120, capture_output=True)
            try:
                upload(store, name, path)
            finally:
                path.unlink(missing_ok=True)
    return name


@require_GET
def voice_sample(request, voice):
    if voice not in VOICES:
        raise Http404("No such voice.")
    try:
        name = ensure_sample(voice)
    except (subprocess.SubprocessError, OSError) as exc:
        stderr = (getattr(exc, "stderr", b"") or b"").decode(errors="replace")[-2000:]
        log.error("engine: voice sample %s could not be rendered: %s %s", voice, exc, stderr)
        return HttpResponse("This voice sample could not be made right now. Try again in a minute.",
                            status=503, content_type="text/plain")
    response = ranged_storage_response(request, services.storage(), name, content_type="audio/wav",
                                       cache_control="public, max-age=86400")
    response["X-Content-Type-Options"] = "nosniff"
    return response
