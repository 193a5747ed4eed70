"""A playable sample of each of the 11 voices, so people hear a voice before they spend
a generation on it.

Each sample is rendered once by the local engine's offline TTS (engine.tts.synthesize)
into MEDIA_ROOT/voices/<name>.wav and served from there afterwards. The first request
renders it under a file lock (one render however many web processes ask at once), in a
child process, like the engine's instant clip: the web process stays numpy-free.
`manage.py voice_samples` renders them all ahead of time.
"""

import fcntl
import logging
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from lib.ranged import ranged_file_response
from navtalk.contract import VOICES

log = logging.getLogger(__name__)
TEXT = "Hello, I'm {name}. This is how I sound when I read your text aloud."
_SCRIPT = ("import sys; from pathlib import Path; from engine.tts import synthesize; "
           "synthesize(sys.argv[1], sys.argv[2], Path(sys.argv[3]))")


class SampleError(Exception):
    pass


def sample_path(name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "voices" / f"{name}.wav"


def _synthesize(name: str, out: Path) -> None:
    """Render one sample into `out` (atomically: synthesize writes a .part, then renames)."""
    try:
        subprocess.run([sys.executable, "-c", _SCRIPT, TEXT.format(name=name.capitalize()), name, str(out)],
                       cwd=settings.BASE_DIR, check=True, timeout=120, capture_output=True)
    except (subprocess.SubprocessError, OSError) as exc:
        stderr = (getattr(exc, "stderr", b"") or b"").decode(errors="replace")[-2000:]
        log.error("voice sample %s could not be rendered: %s %s", name, exc, stderr)
        raise SampleError(name) from exc


def ensure_sample(name: str) -> Path:
    """The sample's path, rendering it first if it does not exist yet."""
    if name not in VOICES:
        raise ValueError(f"unknown voice {name!r}")
    path = sample_path(name)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not path.exists():  # someone else rendered it while we waited
            _synthesize(name, path)
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


def render_all() -> list[str]:
    """Render every missing sample; returns the names rendered now."""
    made = [name for name in VOICES if not sample_path(name).exists()]
    for name in made:
        ensure_sample(name)
    return made

