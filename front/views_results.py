"""The archived copy of a job's result, served to the team's members only.

`/jobs/<code>/video.mp4` streams the archived MP4 with single-range support (browsers
seek with Range requests), `/jobs/<code>/poster.jpg` its poster frame; another team's
job, or one not archived (yet), is a 404. "Archive again" re-queues a failed archive.
"""

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import Http404
from django.shortcuts import redirect
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from accounts import audit
from accounts import permissions as perms
from accounts.permissions import permission_required
from jobs import archive, selectors
from jobs.models import Job
from lib.ranged import ranged_storage_response

PRIVATE = "private, max-age=3600"


def _archived_name(job: Job, field: str) -> str:
    file = getattr(job, field)
    if job.archive_status != Job.Archive.DONE or not file:
        raise Http404("This video has no archived copy.")
    return file.name


def _serve(request, name: str, **kwargs):
    """Streamed from media storage (the filesystem or S3) with Range support: any web
    node serves any archived copy, and a seek reads only the bytes it asks for."""
    try:
        return ranged_storage_response(request, default_storage, name, **kwargs)
    except FileNotFoundError:
        raise Http404("The archived file is missing.") from None


@require_GET
@permission_required(perms.VIEW)
def video(request, code):
    job = selectors.job_for(request.team, code)
    if request.GET.get("download") == "1":
        perms.require(request, perms.DOWNLOAD, job=job)
        if request.headers.get("Range", "bytes=0-").startswith("bytes=0-"):  # not the rest of a resumed one
            audit.record("job_downloaded", actor=request.user, team=request.team, target=f"{job.title} ({job.code})")
    name = (slugify(job.title) or "video")[:80] + ".mp4"
    return _serve(request, _archived_name(job, "archive_file"), content_type="video/mp4", cache_control=PRIVATE,
                  filename=name, attachment=request.GET.get("download") == "1")


@require_GET
@permission_required(perms.VIEW)
def poster(request, code):
    job = selectors.job_for(request.team, code)
    return _serve(request, _archived_name(job, "poster_file"), content_type="image/jpeg", cache_control=PRIVATE)


@require_POST
@permission_required(perms.RETRY_JOB)
def archive_again(request, code):
    job = selectors.job_for(request.team, code)
    perms.require(request, perms.RETRY_JOB, job=job)
    if archive.retry_archive(job):
        messages.success(request, "Archiving again. The archived copy will play here when it is ready.")
    else:
        messages.warning(request, "Only a failed archive can be started again.")
    return redirect(job)
