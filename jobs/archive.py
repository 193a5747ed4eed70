"""Archiving finished videos: the portal keeps its own copy of each result.

Upstream URLs expire or move; the archived copy is what the gallery plays (falling back
to the upstream URL until it exists). This module owns `Job.archive_*` the way services
own `Job.status`: every change is a conditional UPDATE, so duplicate tasks are harmless.

    ""  ──(job done, ARCHIVE_RESULTS)──► pending ──► archiving ──► done
                                            ▲            │
                                            └─(backoff)──┴──► failed (permanent error,
                                                                or ARCHIVE_MAX_TRIES)
"""

import logging
import os
import random
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import F
from django.utils import timezone

from lib import storage as stored
from lib.addresses import is_private_host
from lib.fetch import FetchError, fetch_to_file

from . import ledger, tasks
from .dispatch import publish_on_commit
from .models import Job

log = logging.getLogger(__name__)
A = Job.Archive
LEASE = timedelta(minutes=5)  # an `archiving` claim older than this was abandoned


def schedule(job_id: int) -> None:
    """Called once when a job becomes DONE."""
    if not settings.ARCHIVE_RESULTS:
        return
    now = timezone.now()
    if Job.objects.filter(pk=job_id, status=Job.Status.DONE, archive_status=A.NONE).update(
            archive_status=A.PENDING, archive_next_at=now, archive_tries=0, archive_error="") == 1:
        publish_on_commit(tasks.archive_job, job_id)


def archive_job(job_id: int) -> None:
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, archive_status=A.PENDING, archive_next_at__lte=now + timedelta(seconds=1)
                                 ).update(archive_status=A.ARCHIVING, archive_tries=F("archive_tries") + 1,
                                          archive_next_at=now + LEASE)
    if claimed != 1:
        return
    job = Job.objects.get(pk=job_id)
    try:
        video_name, poster_name, duration = _fetch_and_store(job)
    except FetchError as exc:
        _archive_failed(job, _explained(job, exc), permanent=exc.permanent)
        return
    except MediaProbeError as exc:
        _archive_failed(job, str(exc), permanent=True)
        return
    if Job.objects.filter(pk=job_id, archive_status=A.ARCHIVING).update(
            archive_status=A.DONE, archive_file=video_name, poster_file=poster_name,
            video_duration=duration, archive_next_at=None, archive_error="") == 1:
        ledger.record_result(job, duration)
    log.info("job %s archived", job_id)


def _fetch_and_store(job: Job) -> tuple[str, str, float | None]:
    """Fetch the result into a temporary file of this node (VAR_DIR/tmp), make its poster
    there, then stream both into media storage (lib.storage.upload: the filesystem or S3,
    multipart): a 500 MB result never sits in memory. Returns the stored names
    (poster "" when the video has no duration) and the duration."""
    scratch = Path(settings.VAR_DIR) / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix=f"archive-{job.code.hex}-") as tmp:
        video, poster = Path(tmp) / "video.mp4", Path(tmp) / "poster.jpg"
        fetch_to_file(job.video_url, video, max_bytes=settings.ARCHIVE_MAX_MB * 2**20,
                      timeout=settings.ARCHIVE_TIMEOUT_SECONDS, allowed=settings.FETCH_ALLOWED_PRIVATE,
                      min_rate=settings.FETCH_MIN_BYTES_PER_SECOND, min_rate_seconds=settings.FETCH_MIN_RATE_SECONDS)
        duration = extract_poster(video, poster)
        video_name = stored.upload(default_storage, f"results/{job.code.hex}.mp4", video)
        poster_name = stored.upload(default_storage, f"posters/{job.code.hex}.jpg", poster) if duration is not None \
            else ""
    return video_name, poster_name, duration


def _explained(job: Job, exc: FetchError) -> str:
    """The fetcher's words, plus what fixes it when the video service's link is on a
    private address (an upstream on the same network, a local engine elsewhere): the
    portal never fetches from one unless an admin allows exactly that source."""
    if exc.kind != "unreachable" or not is_private_host(job.video_url):
        return exc.message
    parts = urlsplit(job.video_url)
    source = f"{parts.scheme}://{parts.netloc}{parts.path.rsplit('/', 1)[0]}/"
    return (f"{exc.message} The video service's link is on a private address, which the portal downloads "
            f"from only when an admin allows that exact source: add {source} to the setting "
            "FETCH_ALLOWED_PRIVATE, restart, then press Archive again. Until then the video plays from "
            "the video service's own link.")


def _archive_failed(job: Job, message: str, *, permanent: bool) -> None:
    if permanent or job.archive_tries >= settings.ARCHIVE_MAX_TRIES:
        Job.objects.filter(pk=job.pk, archive_status=A.ARCHIVING).update(
            archive_status=A.FAILED, archive_error=message, archive_next_at=None)
        log.warning("job %s: archive failed: %s", job.pk, message)
        return
    delay = min(2 ** job.archive_tries * 5, 600) * random.uniform(0.8, 1.2)
    if Job.objects.filter(pk=job.pk, archive_status=A.ARCHIVING).update(
            archive_status=A.PENDING, archive_error=message,
            archive_next_at=timezone.now() + timedelta(seconds=delay)) == 1:
        publish_on_commit(tasks.archive_job, job.pk, countdown=delay)


def retry_archive(job: Job) -> bool:
    """A person's 'archive again' after a failed archive."""
    if Job.objects.filter(pk=job.pk, status=Job.Status.DONE, archive_status=A.FAILED).update(
            archive_status=A.PENDING, archive_tries=0, archive_next_at=timezone.now()) != 1:
        return False
    publish_on_commit(tasks.archive_job, job.pk)
    return True


def reconcile_archives(now=None) -> int:
    """Re-publish archives whose message was lost, and reclaim abandoned claims."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.RECONCILE_DISPATCH_GRACE_SECONDS)
    Job.objects.filter(archive_status=A.ARCHIVING, archive_next_at__lt=now).update(
        archive_status=A.PENDING, archive_next_at=now)
    count = 0
    for job_id in Job.objects.filter(archive_status=A.PENDING, archive_next_at__lt=now - grace
                                     ).values_list("pk", flat=True)[:500]:
        if Job.objects.filter(pk=job_id, archive_status=A.PENDING).update(archive_next_at=now) == 1:
            publish_on_commit(tasks.archive_job, job_id)
            count += 1
    return count


class MediaProbeError(Exception):
    pass


POSTER_AT = (0.0, 0.15, 0.3, 0.5, 0.7)  # where in the video poster candidates are taken


def _poster_score(image) -> float:
    """How well a frame stands for the video: contrast (a face, a scene), not a black or
    washed-out frame (a fade-in, a title card). The standard deviation of its brightness,
    halved when its mean is near black or white."""
    from PIL import ImageStat

    stat = ImageStat.Stat(image.convert("L").resize((64, 64)))
    mean, spread = stat.mean[0], stat.stddev[0]
    return spread * (0.5 if mean < 30 or mean > 225 else 1.0)


def _candidate_frames(container, stream, duration):
    """The first decodable frame, then one after each seek to POSTER_AT of the duration."""
    import av

    first = next(container.decode(stream), None)
    if first is None:
        return
    yield first.to_image()
    if not duration or stream.time_base is None:
        return
    for share in POSTER_AT[1:]:
        try:
            container.seek(int(share * duration / stream.time_base), stream=stream)
            frame = next(container.decode(stream), None)
        except av.error.FFmpegError:
            continue
        if frame is not None:
            yield frame.to_image()


def extract_poster(video: Path, poster: Path) -> float | None:
    """Write the most representative of a few frames as a JPEG poster (atomically) and
    return the video's duration."""
    import av  # heavy; only the worker that archives needs it

    try:
        with av.open(str(video)) as container:
            if not container.streams.video:
                raise MediaProbeError("The downloaded file has no video stream.")
            stream = container.streams.video[0]
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            candidates = list(_candidate_frames(container, stream, duration))
            if not candidates:
                raise MediaProbeError("The downloaded video has no frames.")
            image = max(candidates, key=_poster_score)
    except av.error.FFmpegError as exc:
        raise MediaProbeError(f"The downloaded file is not a playable video ({exc.__class__.__name__}).") from None
    poster.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=poster.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            image.convert("RGB").save(out, format="JPEG", quality=85)
        os.replace(tmp, poster)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return duration
