"""Writing the usage ledger (`UsageEntry`): the only code that does.

`record_generate` is called by `jobs.submit.job_submit` right before each /generate it
sends (so every call counts, also one whose answer was lost, an automatic resubmit and
a person's Retry); `record_result` by the archiver once it knows the video's duration.
Reading it is `jobs.selectors.usage`.
"""

from .models import Job, UsageEntry


def _audio_bytes(job: Job) -> int | None:
    if job.audio_type != Job.Audio.FILE or not job.audio_file:
        return None
    try:
        return job.audio_file.size
    except OSError:
        return None


def record_generate(job: Job, key) -> UsageEntry:
    return UsageEntry.objects.create(
        kind=UsageEntry.Kind.GENERATE, team_id=job.team_id, user_id=job.created_by_id, key_id=key.pk,
        job_id=job.pk, attempt=job.attempt, method=job.method, audio_bytes=_audio_bytes(job),
        text_chars=len(job.content) if job.audio_type == Job.Audio.TEXT else None)


def record_result(job: Job, duration: float | None) -> None:
    """The result's duration, once per job attempt (a repeated report adds nothing)."""
    if duration is None:
        return
    UsageEntry.objects.bulk_create([UsageEntry(
        kind=UsageEntry.Kind.RESULT, team_id=job.team_id, user_id=job.created_by_id, key_id=job.license_key_id,
        job_id=job.pk, attempt=job.attempt, method=job.method, video_seconds=duration)], ignore_conflicts=True)
