"""The engine's operations: the only code that changes `EngineTask.status`.

Every transition is a compare-and-swap (`filter(pk=…, status=old).update(…) == 1`), so a
duplicate or concurrent render task is harmless. The web side (licenses, counters, task
creation, status reports) never imports the renderer or the TTS; `run_render` imports
them lazily and runs only in the Celery worker.
"""

import dataclasses
import logging
import os
import subprocess
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from navtalk.contract import Failure

from . import faults
from .fetch import FetchError, fetch_to_file
from .models import EngineCallCounter, EngineLicense, EngineTask, fingerprint
from .storage import media_root, scratch, storage  # noqa: F401 (storage: used by the views too)
from .validate import InputOverCap, check_input, is_text

logger = logging.getLogger(__name__)
Status = EngineTask.Status
ORDER = {Status.STARTED: 0, Status.PROCESSING: 1, Status.DONE: 2, Status.FAILED: 2}
INJECTED_FAILURE = "Injected failure"
INTERNAL_ERROR = "Internal engine error"
LOST_TASK = "The engine lost this task while rendering (its worker stopped). Submit it again."
INSTANT_CLIP_NAME = "instant.mp4"


def redispatch_after() -> timedelta:
    """A render-mode task still STARTED this long after it was queued had its message lost
    (broker restarted, publish failed): the next status call queues it again."""
    return timedelta(seconds=settings.ENGINE_REDISPATCH_SECONDS)


# --- licenses and counters ----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Caller:
    """A known license, reduced to what the engine keeps: its fingerprint and faults."""

    fingerprint: str
    faults: faults.FaultSpec


def global_faults() -> faults.FaultSpec:
    return faults.parse(settings.ENGINE_FAULTS)


def default_seed():
    return getattr(settings, "ENGINE_FAULTS_SEED", None)


def _settings_fingerprints() -> frozenset:
    key = tuple(settings.ENGINE_LICENSES)
    if _settings_fingerprints.cache[0] != key:
        _settings_fingerprints.cache = (key, frozenset(fingerprint(x) for x in key if x))
    return _settings_fingerprints.cache[1]


_settings_fingerprints.cache = (None, frozenset())


def resolve_caller(license) -> Caller | None:
    """The Caller for a license, or None when the engine does not know it. A license row
    with a fault spec overrides the global ENGINE_FAULTS for that license."""
    if not isinstance(license, str) or not license or len(license) > 512 or not is_text(license):
        return None  # a lone surrogate ("\ud800") cannot be a license, nor be hashed
    fp = fingerprint(license)
    row = EngineLicense.objects.filter(secret_hash=fp, active=True).values_list("faults", flat=True).first()
    if row is None and fp not in _settings_fingerprints():
        return None
    return Caller(fingerprint=fp, faults=faults.parse(row) if row else global_faults())


def count_call(fp: str, field: str) -> None:
    """Add one to `field` ('generate_calls' or 'status_calls') of a license's counter."""
    if EngineCallCounter.objects.filter(pk=fp).update(**{field: F(field) + 1}):
        return
    try:
        with transaction.atomic():
            EngineCallCounter.objects.create(pk=fp, **{field: 1})
    except IntegrityError:  # created concurrently by another request
        EngineCallCounter.objects.filter(pk=fp).update(**{field: F(field) + 1})


def call_counts(fp: str) -> dict:
    row = EngineCallCounter.objects.filter(pk=fp).values("generate_calls", "status_calls").first()
    return row or {"generate_calls": 0, "status_calls": 0}


# --- tasks: creation and status -----------------------------------------------------

MEDIA_SALT = "engine.media"


def video_url(task_id) -> str:
    """The result's link: a signed, expiring token naming the task (ENGINE_MEDIA_URL_MAX_AGE),
    so knowing a task id is not enough to watch another caller's video. Every status
    report signs a fresh one."""
    token = signing.dumps(str(task_id), salt=MEDIA_SALT)
    return f"{settings.ENGINE_BASE_URL}/media/{token}.mp4"


def task_for_media_token(token: str) -> EngineTask | None:
    """The task a video_url token names, or None if it is forged, tampered or expired."""
    try:
        task_id = uuid.UUID(signing.loads(token, salt=MEDIA_SALT, max_age=settings.ENGINE_MEDIA_URL_MAX_AGE))
    except (signing.BadSignature, ValueError, TypeError, AttributeError):
        return None
    return EngineTask.objects.filter(pk=task_id).first()


def create_task(caller: Caller, cleaned: dict) -> EngineTask:
    """Save a validated request as a STARTED task; in render mode queue its rendering
    once the row is committed. Instant mode queues nothing."""
    task_id = uuid.uuid4()
    flags = faults.task_faults(caller.faults, task_id, default_seed())
    request = {k: v for k, v in cleaned.items() if k not in ("audio_bytes", "audio_kind")}
    input_audio = ""
    if "audio_bytes" in cleaned:
        request["audio_base64"] = {"kind": cleaned["audio_kind"], "bytes": len(cleaned["audio_bytes"])}
        if not flags["instant"]:  # instant mode never reads it: keep benchmarks off the disk
            from django.core.files.base import ContentFile

            input_audio = storage().save(f"inputs/{task_id}.{cleaned['audio_kind']}",
                                         ContentFile(cleaned["audio_bytes"]))
    now = timezone.now()
    task = EngineTask.objects.create(
        task_id=task_id, license_fingerprint=caller.fingerprint, request=request, input_audio=input_audio,
        created=now, enqueued=None if flags["instant"] else now, **flags,
    )
    if not task.instant:
        transaction.on_commit(lambda: enqueue_render(task_id))
    return task


def enqueue_render(task_id) -> None:
    from .tasks import render_task

    try:
        render_task.delay(str(task_id))
    except Exception:  # the broker is down: the next status call re-dispatches it
        logger.exception("engine: could not queue render of task %s", task_id)


def find_task(fp: str, task_id) -> EngineTask | None:
    """The task if it exists *and* belongs to this license (else None: 404 either way)."""
    try:
        task_id = uuid.UUID(str(task_id))
    except ValueError:
        return None
    return EngineTask.objects.filter(pk=task_id, license_fingerprint=fp).first()


def derive_status(task: EngineTask, now) -> tuple[str, str]:
    """(status, message) as the engine reports it, before per-call faults: the stored
    status, held back by the task's latency; in instant mode, from the clock alone."""
    elapsed = (now - task.created).total_seconds()
    clock = Status.DONE
    if task.latency and elapsed < task.latency:
        clock = Status.STARTED if elapsed < 0.1 * task.latency else Status.PROCESSING
    if task.instant:
        if clock == Status.DONE and task.never_finish:
            return Status.PROCESSING, ""
        if clock == Status.DONE and task.inject_failure:
            return Status.FAILED, INJECTED_FAILURE
        return clock, ""
    if ORDER[task.status] > ORDER[clock]:
        return clock, ""
    return task.status, task.message


def report(task: EngineTask, spec: faults.FaultSpec, now=None) -> dict:
    """The body of a query_status answer for this task."""
    now = now or timezone.now()
    _heal(task, now)
    status, message = derive_status(task, now)
    if task.instant and status in EngineTask.COMPLETE_STATUSES and task.status != status:
        # Record the clock's verdict once, so the admin and the media view agree.
        finished = task.created + timedelta(seconds=task.latency)
        EngineTask.objects.filter(pk=task.pk, status__in=[Status.STARTED, Status.PROCESSING]).update(
            status=status, message=message, started=task.created + timedelta(seconds=0.1 * task.latency),
            finished=finished)
    if status == Status.PROCESSING and faults.goes_backwards(spec, default_seed()):
        status = Status.STARTED
    if status == Status.DONE:
        return {"status": "done", "video_url": video_url(task.task_id)}
    if status == Status.FAILED:
        code = task.failure_code if task.status == Status.FAILED and task.failure_code else Failure.GENERATION_FAILED
        return {"status": "failed", "message": message or INTERNAL_ERROR, "code": str(code)}
    return {"status": str(status)}


def _heal(task: EngineTask, now) -> None:
    """Repair a render-mode task that lost its message or its worker (see the model)."""
    if task.instant:
        return
    if task.status == Status.STARTED and (task.enqueued is None or now - task.enqueued > redispatch_after()):
        if EngineTask.objects.filter(pk=task.pk, status=Status.STARTED, enqueued=task.enqueued).update(
                enqueued=now):
            logger.warning("engine: task %s was never picked up; queueing it again", task.task_id)
            task.enqueued = now
            enqueue_render(task.task_id)
    elif task.status == Status.PROCESSING and not task.never_finish and task.started:
        limit = timedelta(seconds=getattr(settings, "CELERY_TASK_TIME_LIMIT", 600) + 60)
        if now - task.started > limit and _finish(task.task_id, Status.FAILED, LOST_TASK):
            task.status, task.message = Status.FAILED, LOST_TASK


def media_file(task: EngineTask) -> str | None:
    """The storage name of the MP4 to serve for a task, or None while it is not done."""
    status, _ = derive_status(task, timezone.now())
    if status != Status.DONE:
        return None
    if task.instant:
        return instant_clip()
    return task.video_path or None


def instant_clip() -> str:
    """The ready-made clip instant mode hands out (its storage name), made once per engine
    storage by the renderer's make_instant_clip in a child process (the web process stays
    numpy-free) into this node's scratch folder, then stored."""
    store = storage()
    if store.exists(INSTANT_CLIP_NAME):
        return INSTANT_CLIP_NAME
    tmp = scratch() / f".{os.getpid()}-{uuid.uuid4().hex}.mp4"
    script = ("import sys; from pathlib import Path; from engine.renderer import make_instant_clip; "
              "make_instant_clip(Path(sys.argv[1]))")
    try:
        subprocess.run([sys.executable, "-c", script, str(tmp)], cwd=settings.BASE_DIR, check=True,
                       timeout=300, capture_output=True)
        if not store.exists(INSTANT_CLIP_NAME):  # concurrent makers: the first stored wins
            from lib.storage import upload

            upload(store, INSTANT_CLIP_NAME, tmp)
    except (subprocess.SubprocessError, OSError) as exc:
        stderr = getattr(exc, "stderr", b"") or b""
        logger.error("engine: could not make the instant clip: %s %s", exc, stderr.decode(errors="replace")[-2000:])
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return INSTANT_CLIP_NAME


# --- rendering (Celery worker only) ---------------------------------------------------

def _finish(task_id, status, message="", video_path="", code: Failure | str = "") -> bool:
    if status == Status.FAILED and not code:
        code = Failure.GENERATION_FAILED
    return EngineTask.objects.filter(pk=task_id, status__in=[Status.STARTED, Status.PROCESSING]).update(
        status=status, message=message, video_path=video_path, failure_code=str(code), finished=timezone.now()) == 1


def _suffix(url: str, allowed: tuple, default: str) -> str:
    suffix = Path(urlsplit(url).path).suffix.lower()
    return suffix if suffix in allowed else default


def _redelivered() -> bool:
    """Whether the render message being handled was delivered before and not acknowledged:
    its worker died (the broker gives a lost worker's message back: at once when a pool
    process dies, after the visibility timeout when the whole worker or machine does),
    since a living render ends within the task time limit, below that timeout."""
    from celery import current_task

    request = getattr(current_task, "request", None)
    return bool(request and (getattr(request, "delivery_info", None) or {}).get("redelivered"))


def run_render(task_id) -> None:
    """Claim a STARTED task and render it. A second delivery finds it claimed and returns,
    unless it is the lost worker's message given back (engine worker killed mid-render):
    then it claims the PROCESSING task again (compare-and-swap on `started`) and renders."""
    claimed = EngineTask.objects.filter(pk=task_id, status=Status.STARTED).update(
        status=Status.PROCESSING, started=timezone.now())
    if claimed != 1 and _redelivered():
        seen = EngineTask.objects.filter(pk=task_id, status=Status.PROCESSING).values_list("started", flat=True).first()
        claimed = EngineTask.objects.filter(pk=task_id, status=Status.PROCESSING, started=seen).update(
            started=timezone.now()) if seen else 0
        if claimed:
            logger.warning("engine: task %s was being rendered by a worker that stopped; rendering it again", task_id)
    if claimed != 1:
        logger.info("engine: task %s already claimed or finished; ignoring this delivery", task_id)
        return
    task = EngineTask.objects.get(pk=task_id)
    if task.never_finish:
        return  # injected fault: stays PROCESSING forever
    if task.inject_failure:
        _finish(task_id, Status.FAILED, INJECTED_FAILURE)
        return
    from celery.exceptions import SoftTimeLimitExceeded

    try:
        from .renderer import FaceNotFound, MediaError
    except ImportError:
        logger.exception("engine: the renderer cannot be imported; task %s fails", task_id)
        _finish(task_id, Status.FAILED, INTERNAL_ERROR)
        return
    try:
        relative = _render_and_store(task)
    except FetchError as exc:
        _finish(task_id, Status.FAILED, str(exc) or type(exc).__name__, code=Failure.MEDIA_UNREACHABLE)
    except InputOverCap as exc:
        _finish(task_id, Status.FAILED, str(exc), code=Failure.INVALID_INPUT)
    except FaceNotFound as exc:
        _finish(task_id, Status.FAILED, str(exc) or type(exc).__name__, code=Failure.FACE_NOT_FOUND)
    except MediaError as exc:
        _finish(task_id, Status.FAILED, str(exc) or type(exc).__name__, code=Failure.INVALID_INPUT)
    except ValueError as exc:  # the TTS explains bad text in words a person can act on
        _finish(task_id, Status.FAILED, f"Text to speech failed: {exc}", code=Failure.INVALID_INPUT)
    except SoftTimeLimitExceeded:
        _finish(task_id, Status.FAILED, "Rendering took too long. Use a shorter clip (under 30 seconds).",
                code=Failure.TIMEOUT)
    except Exception:
        logger.exception("engine: render of task %s failed", task_id)
        _finish(task_id, Status.FAILED, INTERNAL_ERROR)
    else:
        _finish(task_id, Status.DONE, video_path=relative)


def _render_and_store(task: EngineTask) -> str:
    """Render into this node's scratch folder (the renderer works on local paths), then
    stream the result into the engine's storage; returns its storage name."""
    from lib.storage import upload

    with tempfile.TemporaryDirectory(dir=scratch(), prefix=f"{task.task_id}-out-") as tmp:
        out_path = Path(tmp) / "result.mp4"
        _render_to(task, out_path)
        return upload(storage(), f"results/{task.task_id}.mp4", out_path)


def _render_to(task: EngineTask, out_path: Path) -> None:
    from .renderer import RenderParams, character_image, render
    from .tts import synthesize

    request = task.request
    cap = settings.ENGINE_FETCH_MAX_MB * 1024 * 1024
    fetch_options = {"max_bytes": cap, "timeout": settings.ENGINE_FETCH_TIMEOUT,
                     "allowed": settings.ENGINE_FETCH_ALLOWED_PRIVATE,
                     "min_rate": settings.FETCH_MIN_BYTES_PER_SECOND,
                     "min_rate_seconds": settings.FETCH_MIN_RATE_SECONDS}
    with tempfile.TemporaryDirectory(dir=scratch(), prefix=f"{task.task_id}-") as tmp:
        tmp = Path(tmp)
        if request.get("video_url"):
            visual_kind = "video"
            visual = fetch_to_file(request["video_url"], tmp / ("visual" + _suffix(
                request["video_url"], (".mp4", ".mov", ".webm", ".mkv", ".avi"), ".mp4")),
                field="video_url", **fetch_options)
            check_input(visual, "video", "video_url")
        elif request.get("image_url"):
            visual_kind = "image"
            visual = fetch_to_file(request["image_url"], tmp / ("visual" + _suffix(
                request["image_url"], (".jpg", ".jpeg", ".png", ".webp", ".bmp"), ".jpg")),
                field="image_url", **fetch_options)
            check_input(visual, "image", "image_url")
        else:
            visual_kind = "character"
            visual = character_image(request["character_name"])
        visemes = None
        if request.get("audio_url"):
            audio = fetch_to_file(request["audio_url"], tmp / ("audio" + _suffix(
                request["audio_url"], (".mp3", ".wav", ".ogg", ".flac", ".m4a"), ".mp3")),
                field="audio_url", **fetch_options)
            check_input(audio, "audio", "audio_url")
        elif task.input_audio:  # stored by the web node that took the request
            from lib.storage import download

            audio = download(storage(), task.input_audio, tmp / ("input" + Path(task.input_audio).suffix))
            check_input(audio, "audio", "audio_base64")
        else:
            speech = synthesize(request["content"], request["voice"], tmp / "speech.wav")
            audio, visemes = speech.wav_path, speech.visemes
        params = RenderParams(**{k: request[k] for k in (
            "bbox_shift", "extra_margin", "parsing_mode", "left_cheek_width", "right_cheek_width") if k in request})
        result = tmp / "result.mp4"
        render(visual, visual_kind, audio, result, params=params, visemes=visemes)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(result, out_path)
